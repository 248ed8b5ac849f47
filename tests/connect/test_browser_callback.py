"""The OAuth callback reached by a browser navigation (Accept preferring text/html): a 303 into
the web app instead of JSON. Connected accounts and refusals land on the accounts page with a
notice (never the code or the state in the address); several Facebook Pages land on the choice
screen, which reads the pending choice for its own workspace only."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from postwright.domain.roles import Role
from postwright.platforms.emulator.oauth_facebook import pages_of
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.store.tables import oauth_states
from tests.support.connect_flows import (
    CONNECT,
    consent,
    count_accounts,
    query_of,
    start,
)
from tests.support.factories import Member, make_member

# what Chromium sends when it follows a link or a redirect
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8"
}


@pytest.fixture
def emulator(shared_emulator: BackgroundEmulator) -> BackgroundEmulator:
    return shared_emulator


async def _browse(
    client: httpx.AsyncClient, location: httpx.URL, headers: dict[str, str] = BROWSER
) -> httpx.Response:
    return await client.get(f"{location.path}?{location.query.decode()}", headers=headers)


async def _browse_connect(
    client: httpx.AsyncClient, member: Member, platform: str, **consent_params: str
) -> httpx.Response:
    return await _browse(
        client, await consent(await start(client, member, platform), **consent_params)
    )


def _redirect(response: httpx.Response, path: str) -> dict[str, str]:
    """The 303's target query, after checking it goes to `path` on this site."""
    assert response.status_code == 303, response.text
    assert response.headers["cache-control"] == "no-store"
    target = httpx.URL(response.headers["location"])
    assert not target.host, "a path on this site"
    assert target.path == path
    return dict(target.params)


def _choice_url(platform: str, choice_id: str) -> str:
    return f"{CONNECT}/{platform}/choices/{choice_id}"


async def test_a_browser_lands_on_the_accounts_page_with_what_connected(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    response = await _browse_connect(client, owner, "facebook", user="42", pages="1")
    assert _redirect(response, "/accounts") == {"connected": "facebook", "n": "1"}
    assert await count_accounts(runtime, "facebook") == 1


async def test_api_clients_keep_getting_json(client: httpx.AsyncClient, owner: Member) -> None:
    for accept in ("application/json", "*/*", "text/html;q=0.5, application/json"):
        url = await start(client, owner, "facebook")
        response = await _browse(client, await consent(url, pages="1"), {"Accept": accept})
        assert response.status_code == 200, (accept, response.text)
        assert len(response.json()["accounts"]) == 1
    refused = await _browse(
        client, await consent(await start(client, owner, "x"), auto="deny"), {"Accept": "*/*"}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_declined_consent_lands_on_the_accounts_page_with_the_reason(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    response = await _browse_connect(client, owner, "x", auto="deny")
    query = _redirect(response, "/accounts")
    assert query == {"connect_error": "X: the authorization was declined; nothing was connected"}
    assert await count_accounts(runtime) == 0


async def test_a_refused_exchange_and_a_replay_say_why_without_the_code(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "x")
    location = await consent(url)
    code, state = location.params["code"], location.params["state"]
    async with runtime.db.write() as conn:
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == state)
            .values(code_verifier=runtime.secretbox.seal({"v": "a-different-verifier-" + "v" * 40}))
        )
    refused = await _browse(client, location)
    message = _redirect(refused, "/accounts")["connect_error"]
    assert message.startswith("X: the token exchange was refused"), message
    assert code not in refused.headers["location"]
    assert state not in refused.headers["location"]

    replayed = await _browse(client, location)
    message = _redirect(replayed, "/accounts")["connect_error"]
    assert "already used" in message, message
    assert await count_accounts(runtime) == 0


async def test_several_pages_go_to_the_choice_screen_and_are_chosen(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    pages = pages_of("77", 3)
    response = await _browse_connect(client, owner, "facebook", user="77", pages="3")
    query = _redirect(response, "/accounts/choose")
    assert query["platform"] == "facebook"
    choice_id = query["choice"]
    assert await count_accounts(runtime) == 0, "nothing is connected before the choice"

    listed = await client.get(_choice_url("facebook", choice_id), headers=owner.headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["platform"] == "facebook"
    assert body["choice_id"] == choice_id
    assert [
        (c["external_id"], c["handle"], c["display_name"], c["connected"]) for c in body["choices"]
    ] == [(p.id, p.username, p.name, False) for p in pages]
    assert "EAAP" not in listed.text, "page tokens stay on the server"
    again = await client.get(_choice_url("facebook", choice_id), headers=owner.headers)
    assert again.json() == body, "reading a choice does not use it up"

    chosen = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": choice_id, "external_ids": [pages[1].id]},
        headers=owner.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert [a["display_name"] for a in chosen.json()["accounts"]] == [pages[1].name]
    made = await client.get(_choice_url("facebook", choice_id), headers=owner.headers)
    assert made.status_code == 404, "a choice made is no longer pending"

    # a reconnect renews the chosen Page at once: the screen lists it as already connected
    response = await _browse_connect(client, owner, "facebook", user="77", pages="3")
    second = _redirect(response, "/accounts/choose")["choice"]
    listed = await client.get(_choice_url("facebook", second), headers=owner.headers)
    assert [(c["external_id"], c["connected"]) for c in listed.json()["choices"]] == [
        (pages[1].id, True),
        (pages[0].id, False),
        (pages[2].id, False),
    ]
    assert await count_accounts(runtime, "facebook") == 1


async def test_a_choice_is_read_only_by_its_workspace_and_while_pending(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    response = await _browse_connect(client, owner, "facebook", user="78", pages="2")
    choice_id = _redirect(response, "/accounts/choose")["choice"]
    url = _choice_url("facebook", choice_id)

    stranger = await make_member(runtime, email="owner@other.example", workspace="other")
    assert stranger.workspace_id != owner.workspace_id
    found = await client.get(url, headers=stranger.headers)
    assert found.status_code == 404, found.text
    assert found.headers["content-type"].startswith("application/problem+json")
    assert "connect the account again" in found.json()["detail"]
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    assert (await client.get(url, headers=editor.headers)).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get(_choice_url("linkedin", choice_id), headers=owner.headers)
    ).status_code == 404
    assert (
        await client.get(_choice_url("facebook", "nope"), headers=owner.headers)
    ).status_code == 404
    assert (
        await client.get(_choice_url("facebook", "x" * 65), headers=owner.headers)
    ).status_code == 422

    # the authorization's own state is not a choice
    state = query_of(await start(client, owner, "facebook"))["state"]
    assert (
        await client.get(_choice_url("facebook", state), headers=owner.headers)
    ).status_code == 404

    assert (await client.get(url, headers=owner.headers)).status_code == 200
    async with runtime.db.write() as conn:
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == choice_id)
            .values(expires_at=runtime.now() - timedelta(seconds=1))
        )
    assert (await client.get(url, headers=owner.headers)).status_code == 404, "expired"
