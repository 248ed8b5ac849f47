"""Connecting Mastodon accounts against the emulated instance: app registration, OAuth with PKCE,
the callback, reconnecting, and every way it can fail without leaving a half-connected account."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from postwright.domain.errors import InvalidInput
from postwright.platforms.emulator.mastodon import DEFAULT_ACCOUNT_ID
from postwright.platforms.emulator.rules import FaultRule
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services.connect_mastodon import SCOPES, instance_origin
from postwright.settings import Settings
from postwright.store.tables import accounts, oauth_states
from tests.support.account_flows import (
    CONNECT,
    authorize,
    callback,
    client,
    credentials_of,
    emulator,
    owner,
    settings,
    token_row,
)
from tests.support.factories import Member, assert_problem, assert_violation

__all__ = ["client", "emulator", "owner", "settings"]  # fixtures


def query_of(url: str) -> dict[str, str]:
    return dict(httpx.URL(url).params)


async def start(client: httpx.AsyncClient, owner: Member, instance: str) -> str:
    response = await client.post(
        f"{CONNECT}/mastodon", json={"instance": instance}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["authorization_url"]
    return url


async def connect(
    client: httpx.AsyncClient, owner: Member, emulator: BackgroundEmulator
) -> dict[str, Any]:
    location = await authorize(await start(client, owner, emulator.url))
    response = await callback(client, location)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count_accounts(rt: Runtime) -> int:
    async with rt.db.read() as conn:
        query = select(func.count()).select_from(accounts).where(accounts.c.deleted_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def issued_tokens(emulator: BackgroundEmulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{emulator.url}/_emulator/oauth/mastodon/tokens")
    tokens: list[dict[str, Any]] = response.json()["tokens"]
    return tokens


async def test_connect_registers_an_app_and_uses_pkce(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    url = await start(client, owner, emulator.url)
    assert url.startswith(f"{emulator.url}/oauth/authorize?")
    query = query_of(url)
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/api/v1/oauth/mastodon/callback"
    assert query["scope"] == SCOPES
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    # the state row keeps the instance and client id in the clear, the rest sealed
    async with runtime.db.read() as conn:
        row = (
            await conn.execute(select(oauth_states).where(oauth_states.c.id == query["state"]))
        ).one()
    assert row.extra == {"instance": emulator.url, "client_id": query["client_id"]}
    assert row.code_verifier.startswith("v1.")
    assert row.sealed_extra.startswith("v1.")
    verifier = runtime.secretbox.open(row.code_verifier)["v"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == query["code_challenge"]

    response = await callback(client, await authorize(url))
    assert response.status_code == 200, response.text
    assert "access_token" not in response.text
    assert "client_secret" not in response.text
    [account] = response.json()["accounts"]
    host = emulator.url.removeprefix("http://")
    assert account["platform"] == "mastodon"
    assert account["handle"] == f"@user{DEFAULT_ACCOUNT_ID}@{host}"
    assert account["status"] == "active"
    assert account["options"] == {"instance_url": emulator.url}
    stored = await token_row(runtime, account["id"])
    credentials = await credentials_of(runtime, account["id"])
    assert set(credentials) == {"access_token", "client_id", "client_secret", "redirect_uri"}
    assert credentials["access_token"] not in (stored.credentials or "")
    assert stored.token_expires_at is None  # Mastodon tokens never expire
    async with runtime.db.read() as conn:
        external_id = (
            await conn.execute(
                select(accounts.c.external_id).where(accounts.c.id == uuid.UUID(account["id"]))
            )
        ).scalar_one()
    assert external_id == DEFAULT_ACCOUNT_ID
    # the token works on the instance
    async with httpx.AsyncClient() as http:
        me = await http.get(
            f"{emulator.url}/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {credentials['access_token']}"},
        )
    assert me.json()["id"] == DEFAULT_ACCOUNT_ID


async def test_reconnect_replaces_the_token_reuses_the_app_and_revokes_the_old_token(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    first = (await connect(client, owner, emulator))["accounts"][0]
    before = await credentials_of(runtime, first["id"])
    second_url = await start(client, owner, emulator.url)
    assert query_of(second_url)["client_id"] == before["client_id"], "the app is reused"
    response = await callback(client, await authorize(second_url))
    assert response.status_code == 200, response.text
    second = response.json()["accounts"][0]
    assert second["id"] == first["id"], "a reconnect must not add a second account"
    assert await count_accounts(runtime) == 1
    after = await credentials_of(runtime, first["id"])
    assert after["access_token"] != before["access_token"]
    works = {t["token"]: t["works"] for t in await issued_tokens(emulator)}
    assert works == {before["access_token"]: False, after["access_token"]: True}


async def test_a_wrong_verifier_connects_nothing(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    url = await start(client, owner, emulator.url)
    state = query_of(url)["state"]
    async with runtime.db.write() as conn:  # as if the verifier had been swapped
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == state)
            .values(code_verifier=runtime.secretbox.seal({"v": "x" * 64}))
        )
    response = await callback(client, await authorize(url))
    message = assert_violation(response, "code", "invalid_grant")
    assert "the token exchange was refused: invalid_grant" in message
    assert "nothing was connected" in message
    assert await count_accounts(runtime) == 0


async def test_a_reused_code_is_refused(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    location = await authorize(await start(client, owner, emulator.url))
    assert (await callback(client, location)).status_code == 200
    again = await callback(client, location)
    assert "already used" in assert_problem(again, 409)
    assert await count_accounts(runtime) == 1


async def test_a_mismatched_state_is_refused(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    location = await authorize(await start(client, owner, emulator.url))
    code = query_of(location)["code"]
    forged = f"/api/v1/oauth/mastodon/callback?code={code}&state=not-our-state"
    assert_violation(await client.get(forged), "state", "unknown")
    # another platform's callback with a Mastodon state
    real_state = query_of(location)["state"]
    wrong_platform = f"/api/v1/oauth/bluesky/callback?code={code}&state={real_state}"
    assert_violation(await client.get(wrong_platform), "state", "unknown")
    assert await count_accounts(runtime) == 0


async def test_a_denied_consent_connects_nothing(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    location = await authorize(await start(client, owner, emulator.url), decision="deny")
    assert query_of(location)["error"] == "access_denied"
    message = assert_violation(await callback(client, location), "error", "access_denied")
    assert "declined" in message
    assert await count_accounts(runtime) == 0


async def test_a_failing_token_endpoint_connects_nothing(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    location = await authorize(await start(client, owner, emulator.url))
    emulator.app.faults.add(
        FaultRule.model_validate(
            {
                "match": {"platform": "mastodon_oauth", "path": "/oauth/token"},
                "effect": {"status": 503},
                "count": 1,
            }
        )
    )
    message = assert_violation(await callback(client, location), "code", "server_error")
    assert "the token exchange was refused: server_error" in message
    assert await count_accounts(runtime) == 0


@pytest.mark.parametrize(
    ("instance", "why"),
    [
        ("http://mastodon.example", "https://"),
        ("https://10.0.0.8", "public host"),
        ("https://169.254.169.254", "public host"),
        ("https://app.localhost", "public host"),
        ("https://mastodon.example/@alice", "without a path"),
        ("https://user:pw@mastodon.example", "user name or password"),
        ("https://mastodon.example?x=1", "without a path"),
        ("intranet", "public host"),
    ],
)
async def test_instance_addresses_are_checked(
    client: httpx.AsyncClient, owner: Member, instance: str, why: str
) -> None:
    response = await client.post(
        f"{CONNECT}/mastodon", json={"instance": instance}, headers=owner.headers
    )
    assert why in assert_violation(response, "instance", "invalid")


async def test_an_unreachable_instance(client: httpx.AsyncClient, owner: Member) -> None:
    response = await client.post(
        f"{CONNECT}/mastodon", json={"instance": "http://127.0.0.1:9"}, headers=owner.headers
    )
    assert "could not reach" in assert_violation(response, "instance", "unreachable")


async def test_something_that_is_not_mastodon(
    client: httpx.AsyncClient, owner: Member, emulator: BackgroundEmulator
) -> None:
    emulator.app.faults.add(
        FaultRule.model_validate(
            {
                "match": {"platform": "mastodon_oauth", "path": "/api/v1/apps"},
                "effect": {"status": 404, "body": {"error": "Not Found"}},
            }
        )
    )
    response = await client.post(
        f"{CONNECT}/mastodon", json={"instance": emulator.url}, headers=owner.headers
    )
    assert "is it a Mastodon instance" in assert_violation(response, "instance", "refused")


def test_instance_origin_normalises(settings: Settings) -> None:
    strict = settings.model_copy(update={"connect_allow_http_localhost": False})
    assert instance_origin("Mastodon.Social", settings=strict) == "https://mastodon.social"
    assert instance_origin(" https://fosstodon.org/ ", settings=strict) == "https://fosstodon.org"
    assert instance_origin("https://example.org:443", settings=strict) == "https://example.org"
    assert instance_origin("https://example.org:8443", settings=strict) == (
        "https://example.org:8443"
    )
    assert instance_origin("http://127.0.0.1:8001", settings=settings) == "http://127.0.0.1:8001"
    with pytest.raises(InvalidInput, match="https://"):
        instance_origin("http://127.0.0.1:8001", settings=strict)
    with pytest.raises(InvalidInput, match="public host"):
        instance_origin("https://127.0.0.1:8001", settings=strict)
