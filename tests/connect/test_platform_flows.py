"""Each OAuth platform's whole flow against the emulator: start -> authorize -> callback ->
an active account whose credentials are sealed and hold what the platform's adapter reads."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from postwright.platforms.emulator.oauth_facebook import pages_of
from postwright.platforms.emulator.oauth_linkedin import linkedin_org_ids, linkedin_sub
from postwright.platforms.emulator.oauth_reddit import reddit_user_id
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.emulator.x import DEFAULT_USER_ID
from postwright.runtime import Runtime
from tests.support.connect_flows import (
    CONNECT,
    account_row,
    connect,
    count_accounts,
    query_of,
    start,
    stored,
)
from tests.support.factories import Member


@pytest.fixture
def emulator(shared_emulator: BackgroundEmulator) -> BackgroundEmulator:
    return shared_emulator


def _soon(hours: float) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now + timedelta(hours=hours) - timedelta(minutes=2), now + timedelta(hours=hours)


async def test_x(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "x")
    query = query_of(url)
    assert url.startswith(runtime.settings.oauth_urls["x.authorize"])
    assert query["response_type"] == "code"
    assert query["client_id"] == "pw-x-client"
    assert query["redirect_uri"] == "http://testserver/api/v1/oauth/x/callback"
    assert query["scope"] == "tweet.read tweet.write users.read media.write offline.access"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43

    response = await connect(client, owner, "x", user="1234567")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["choice_id"] is None
    assert result["choices"] == []
    [account] = result["accounts"]
    assert account["platform"] == "x"
    assert account["handle"] == "u1234567"
    assert account["status"] == "active"
    assert "x-user-" not in response.text, "no token in the answer"
    credentials = await stored(runtime, account["id"])
    assert credentials["access_token"] == "x-user-1234567"
    assert credentials["refresh_token"]
    row = await account_row(runtime, account["id"])
    assert row.external_id == "1234567"
    low, high = _soon(2)
    assert low <= row.token_expires_at <= high
    assert "x-user-1234567" not in row.credentials


async def test_x_default_user(client: httpx.AsyncClient, owner: Member) -> None:
    response = await connect(client, owner, "x")
    assert response.status_code == 200, response.text
    assert response.json()["accounts"][0]["handle"] == f"u{DEFAULT_USER_ID}"


async def test_reddit(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "reddit")
    query = query_of(url)
    assert query["duration"] == "permanent"
    assert query["scope"] == "identity submit read edit history"
    response = await connect(client, owner, "reddit", user="brand_bot")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    assert account["handle"] == "brand_bot"
    row = await account_row(runtime, account["id"])
    assert row.external_id == reddit_user_id("brand_bot")
    credentials = await stored(runtime, account["id"])
    assert credentials["access_token"]
    assert credentials["refresh_token"]
    low, high = _soon(1)
    assert low <= row.token_expires_at <= high


async def test_linkedin_member(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "linkedin")
    assert query_of(url)["scope"] == "openid profile w_member_social"
    response = await connect(client, owner, "linkedin", user="ada")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    assert account["handle"] == "Member ada"
    assert account["options"] == {"kind": "member"}
    row = await account_row(runtime, account["id"])
    assert row.external_id == f"urn:li:person:{linkedin_sub('ada')}"
    credentials = await stored(runtime, account["id"])
    assert "refresh_token" not in credentials, "only partner apps get LinkedIn refresh tokens"
    low, high = _soon(24 * 60)
    assert low <= row.token_expires_at <= high


async def test_linkedin_pages_are_a_choice(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "linkedin", {"organizations": True})
    assert query_of(url)["scope"] == (
        "openid profile w_member_social w_organization_social r_organization_admin"
    )
    response = await connect(
        client, owner, "linkedin", {"organizations": True}, user="bo", orgs="2"
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accounts"] == []
    orgs = linkedin_org_ids("bo", 2)
    assert [c["external_id"] for c in result["choices"]] == [
        f"urn:li:person:{linkedin_sub('bo')}",
        *(f"urn:li:organization:{o}" for o in orgs),
    ]
    assert await count_accounts(runtime) == 0, "nothing is connected before the choice"
    chosen = await client.post(
        f"{CONNECT}/linkedin/choose",
        json={"choice_id": result["choice_id"], "external_ids": [f"urn:li:organization:{orgs[1]}"]},
        headers=owner.headers,
    )
    assert chosen.status_code == 200, chosen.text
    [page] = chosen.json()["accounts"]
    assert page["handle"] == "company-2-bo"
    assert page["display_name"] == "Company 2 of bo"
    assert page["options"] == {"kind": "organization"}
    assert (await stored(runtime, page["id"]))["access_token"]


async def test_facebook_one_page_connects_at_once(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "facebook")
    assert query_of(url)["scope"] == (
        "pages_show_list,pages_manage_posts,pages_read_engagement,read_insights,publish_video"
    )
    response = await connect(client, owner, "facebook", user="42", pages="1")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    [page] = pages_of("42", 1)
    assert account["handle"] == page.username
    assert account["display_name"] == page.name
    row = await account_row(runtime, account["id"])
    assert row.external_id == page.id
    assert row.token_expires_at is None, "Page tokens from a long-lived user token do not expire"
    credentials = await stored(runtime, account["id"])
    assert credentials["access_token"].startswith("EAAP"), "the Page token, not the user token"
    assert set(credentials) == {"access_token"}


async def test_facebook_several_pages_the_person_chooses(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    response = await connect(client, owner, "facebook", user="77", pages="3")
    assert response.status_code == 200, response.text
    result = response.json()
    pages = pages_of("77", 3)
    assert result["accounts"] == []
    assert [c["external_id"] for c in result["choices"]] == [p.id for p in pages]
    assert all(not c["connected"] for c in result["choices"])
    assert "EAAP" not in response.text, "page tokens stay on the server"
    chosen = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": result["choice_id"], "external_ids": [pages[0].id, pages[2].id]},
        headers=owner.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert [a["display_name"] for a in chosen.json()["accounts"]] == [
        pages[0].name,
        pages[2].name,
    ]
    assert await count_accounts(runtime, "facebook") == 2

    # a reconnect renews the two connected Pages at once and offers only the third
    again = await connect(client, owner, "facebook", user="77", pages="3")
    assert again.status_code == 200, again.text
    body = again.json()
    assert sorted(a["display_name"] for a in body["accounts"]) == [pages[0].name, pages[2].name]
    assert [(c["external_id"], c["connected"]) for c in body["choices"]] == [
        (pages[0].id, True),
        (pages[2].id, True),
        (pages[1].id, False),
    ]
    assert await count_accounts(runtime, "facebook") == 2


async def test_instagram_login(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "instagram")
    assert url.startswith(runtime.settings.oauth_urls["instagram.authorize"])
    assert query_of(url)["scope"] == (
        "instagram_business_basic,instagram_business_content_publish,"
        "instagram_business_manage_insights"
    )
    response = await connect(client, owner, "instagram", user="17841400000000077")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    assert account["handle"] == "ig_000077"
    assert account["options"] == {"login": "instagram"}
    row = await account_row(runtime, account["id"])
    assert row.external_id == "17841400000000077"
    low, high = _soon(24 * 60)
    assert low <= row.token_expires_at <= high, "the long-lived token (60 days)"
    assert (await stored(runtime, account["id"]))["access_token"].startswith("IGAA")


async def test_instagram_with_facebook_login(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "instagram", {"variant": "facebook"})
    assert url.startswith(runtime.settings.oauth_urls["facebook.authorize"])
    assert "instagram_content_publish" in query_of(url)["scope"]
    response = await connect(
        client, owner, "instagram", {"variant": "facebook"}, user="9", pages="1"
    )
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    [page] = pages_of("9", 1)
    assert account["handle"] == page.instagram_username
    assert account["options"] == {"login": "facebook", "page_id": page.id}
    row = await account_row(runtime, account["id"])
    assert row.external_id == page.instagram_id
    assert row.token_expires_at is None


async def test_threads(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "threads")
    assert query_of(url)["scope"] == "threads_basic,threads_content_publish,threads_manage_insights"
    response = await connect(client, owner, "threads", user="25925112093000001")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    assert account["handle"] == "threads_000001"
    row = await account_row(runtime, account["id"])
    assert row.external_id == "25925112093000001"
    low, high = _soon(24 * 60)
    assert low <= row.token_expires_at <= high
    assert (await stored(runtime, account["id"]))["access_token"].startswith("THAA")


async def test_no_secret_in_the_logs(
    client: httpx.AsyncClient,
    owner: Member,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Instagram's long-lived exchange is a GET with the client secret and the token in the
    query, as Meta documents it: the request lines httpx logs are redacted."""
    caplog.set_level(logging.DEBUG)
    response = await connect(client, owner, "instagram")
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    secret = runtime.settings.instagram_client_secret
    assert secret is not None
    logged = caplog.text
    assert "ig_exchange_token" in logged, "the exchange was logged, redacted"
    assert "client_secret=[redacted]" in logged
    assert "callback?code=[redacted]" in logged, "the callback's code is not logged either"
    assert secret.get_secret_value() not in logged
    assert (await stored(runtime, account["id"]))["access_token"] not in logged
