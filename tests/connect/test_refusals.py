"""Every way a connect flow can fail ends in a clear 4xx problem and connects nothing: a wrong
PKCE verifier, a reused code, an unknown, mismatched, expired or replayed state, a declined
consent, wrong client credentials, a platform without configuration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from postwright.domain.roles import Role
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store.tables import oauth_states
from tests.support.connect_flows import (
    CONNECT,
    callback,
    connect,
    consent,
    count_accounts,
    query_of,
    start,
    state_row,
)
from tests.support.factories import Member, make_member


@pytest.fixture
def emulator(shared_emulator: BackgroundEmulator) -> BackgroundEmulator:
    return shared_emulator


def _problem(response: httpx.Response, status: int, *needles: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    for needle in needles:
        assert needle in detail, detail
    return detail


async def _set_verifier(rt: Runtime, state: str, verifier: str) -> None:
    async with rt.db.write() as conn:
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == state)
            .values(code_verifier=rt.secretbox.seal({"v": verifier}))
        )


@pytest.mark.parametrize("platform", ["x", "reddit", "linkedin", "facebook", "threads"])
async def test_wrong_verifier(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, platform: str
) -> None:
    url = await start(client, owner, platform)
    location = await consent(url)
    await _set_verifier(runtime, query_of(url)["state"], "a-different-verifier-" + "v" * 40)
    response = await callback(client, location)
    detail = _problem(response, 422, "token exchange was refused", "nothing was connected")
    if platform == "x":
        assert "code_verifier does not match" in detail
    assert await count_accounts(runtime) == 0


async def test_replayed_callback(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "x")
    location = await consent(url)
    first = await callback(client, location)
    assert first.status_code == 200, first.text
    again = await callback(client, location)
    _problem(again, 409, "already used", "start the connection again")
    assert await count_accounts(runtime) == 1


async def test_reused_code(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    """A code sent back with another (fresh) state is refused by the platform: codes are
    single use."""
    location = await consent(await start(client, owner, "x"))
    assert (await callback(client, location)).status_code == 200
    fresh_state = query_of(await start(client, owner, "x"))["state"]
    code = location.params["code"]
    response = await client.get(
        "/api/v1/oauth/x/callback", params={"code": code, "state": fresh_state}
    )
    _problem(response, 422, "the code was already used", "nothing was connected")
    assert await count_accounts(runtime) == 1


async def test_reused_code_on_a_graph_platform(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    location = await consent(await start(client, owner, "threads"))
    assert (await callback(client, location)).status_code == 200
    fresh_state = query_of(await start(client, owner, "threads"))["state"]
    response = await client.get(
        "/api/v1/oauth/threads/callback",
        params={"code": location.params["code"], "state": fresh_state},
    )
    _problem(response, 422, "This authorization code has been used")
    assert await count_accounts(runtime) == 1


async def test_unknown_state(client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await client.get(
        "/api/v1/oauth/x/callback", params={"code": "abc", "state": "forged"}
    )
    _problem(response, 422, "unknown")
    missing = await client.get("/api/v1/oauth/x/callback", params={"code": "abc"})
    _problem(missing, 422, "no `state`")
    assert await count_accounts(runtime) == 0


async def test_state_of_another_platform(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    url = await start(client, owner, "x")
    location = await consent(url)
    response = await client.get("/api/v1/oauth/reddit/callback", params=dict(location.params))
    _problem(response, 422, "another platform")
    row = await state_row(runtime, query_of(url)["state"])
    assert row.used_at is None, "a mismatched callback does not burn the state"
    assert (await callback(client, location)).status_code == 200


async def test_expired_state(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "x")
    state = query_of(url)["state"]
    row = await state_row(runtime, state)
    assert row.expires_at - row.created_at == timedelta(minutes=10)
    async with runtime.db.write() as conn:
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == state)
            .values(expires_at=runtime.now() - timedelta(seconds=1))
        )
    response = await callback(client, await consent(url))
    _problem(response, 422, "expired")
    assert await count_accounts(runtime) == 0


@pytest.mark.parametrize(
    ("platform", "rule"),
    [("x", "access_denied"), ("facebook", "access_denied"), ("linkedin", "user_cancelled")],
)
async def test_declined_consent(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, platform: str, rule: str
) -> None:
    url = await start(client, owner, platform)
    location = await consent(url, auto="deny")
    assert location.params["error"].startswith(rule)
    response = await callback(client, location)
    detail = _problem(response, 422, "nothing was connected")
    if rule == "access_denied":
        assert "declined" in detail
    assert response.json()["errors"][0]["field"] == "error"
    assert await count_accounts(runtime) == 0
    row = await state_row(runtime, query_of(url)["state"])
    assert row.used_at is not None, "a declined authorization cannot be finished later"


async def test_wrong_client_secret(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    runtime.settings.x_client_secret = SecretStr("not-the-secret")
    response = await connect(client, owner, "x")
    _problem(response, 422, "unauthorized_client")
    assert await count_accounts(runtime) == 0


async def test_profile_lookup_refused(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator_url: str
) -> None:
    """A token that works for the token endpoint but not for the profile call connects
    nothing either (the emulator is told to fail /2/users/me)."""
    async with httpx.AsyncClient() as control:
        rule = await control.post(
            f"{emulator_url}/_emulator/faults",
            json={"match": {"platform": "x", "path": "/2/users/me"}, "effect": {"status": 401}},
        )
        assert rule.status_code == 201, rule.text
        try:
            response = await connect(client, owner, "x")
        finally:
            await control.delete(f"{emulator_url}/_emulator/faults/{rule.json()['id']}")
    _problem(response, 422, "profile lookup was refused")
    assert await count_accounts(runtime) == 0


async def test_not_configured(database_url: str, tmp_path: Path) -> None:
    from postwright.api.app import create_app

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        public_url="http://testserver",
    )
    rt = Runtime.from_settings(settings)
    try:
        owner = await make_member(rt, email="owner@example.com")
        transport = httpx.ASGITransport(app=create_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            response = await c.post(f"{CONNECT}/x", headers=owner.headers)
            _problem(
                response,
                409,
                "X is not configured: set POSTWRIGHT_X_CLIENT_ID and POSTWRIGHT_X_CLIENT_SECRET",
            )
            instagram = await c.post(
                f"{CONNECT}/instagram", json={"variant": "facebook"}, headers=owner.headers
            )
            _problem(instagram, 409, "POSTWRIGHT_FACEBOOK_CLIENT_ID")
            listed = await c.get(CONNECT, headers=owner.headers)
            assert listed.status_code == 200, listed.text
            by_platform = {c["platform"]: c for c in listed.json()}
            assert by_platform["x"] == {
                "platform": "x",
                "configured": False,
                "setup_hint": "set POSTWRIGHT_X_CLIENT_ID and POSTWRIGHT_X_CLIENT_SECRET",
            }
            callback_response = await c.get(
                "/api/v1/oauth/x/callback", params={"code": "c", "state": "s"}
            )
            assert callback_response.status_code == 422, callback_response.text
    finally:
        await rt.close()


async def test_only_admins_connect(client: httpx.AsyncClient, runtime: Runtime) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    response = await client.post(f"{CONNECT}/x", headers=editor.headers)
    _problem(response, 403, "editor")
    anonymous = await client.post(f"{CONNECT}/x")
    assert anonymous.status_code == 401


async def test_bodies_are_checked_by_each_connector(
    client: httpx.AsyncClient, owner: Member
) -> None:
    unknown = await client.post(f"{CONNECT}/x", json={"scope": "all"}, headers=owner.headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "scope"
    variant = await client.post(
        f"{CONNECT}/instagram", json={"variant": "tiktok"}, headers=owner.headers
    )
    assert variant.status_code == 422
    assert variant.json()["errors"][0]["field"] == "variant"
    platform = await client.post(f"{CONNECT}/myspace", headers=owner.headers)
    assert platform.status_code == 422


async def test_choice_errors(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    result = (await connect(client, owner, "facebook", user="5", pages="2")).json()
    choice_id = result["choice_id"]
    assert choice_id
    first_page = result["choices"][0]["external_id"]
    bad = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": choice_id, "external_ids": ["999"]},
        headers=owner.headers,
    )
    _problem(bad, 422, "was not offered")
    other_platform = await client.post(
        f"{CONNECT}/instagram/choose",
        json={"choice_id": choice_id, "external_ids": [first_page]},
        headers=owner.headers,
    )
    _problem(other_platform, 404, "no such choice")
    stranger = await make_member(runtime, email="stranger@example.com", workspace="other")
    foreign = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": choice_id, "external_ids": [first_page]},
        headers=stranger.headers,
    )
    _problem(foreign, 404, "no such choice")
    ok = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": choice_id, "external_ids": [first_page]},
        headers=owner.headers,
    )
    assert ok.status_code == 200, ok.text
    twice = await client.post(
        f"{CONNECT}/facebook/choose",
        json={"choice_id": choice_id, "external_ids": [first_page]},
        headers=owner.headers,
    )
    _problem(twice, 409, "already made")
    assert await count_accounts(runtime) == 1
