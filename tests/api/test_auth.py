"""Password login, refresh rotation, access-token expiry, and personal API tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.runtime import Runtime
from tests.support.factories import (
    PASSWORD,
    Member,
    assert_problem,
    assert_violation,
    make_account,
    make_member,
)

LOGIN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
TOKENS = "/api/v1/tokens"
POSTS = "/api/v1/posts"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(LOGIN, json={"email": "owner@example.com", **body})


def _unauthenticated(response: httpx.Response) -> str:
    detail = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    return detail


# -- login --------------------------------------------------------------------------------


async def test_login(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    response = await _login(client, email="Owner@Example.com ", password=PASSWORD)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == runtime.settings.access_token_ttl_s
    assert pair["workspace_id"] == owner.workspace_id
    assert pair["access_token"] != pair["refresh_token"]
    posts = await client.get(POSTS, headers=_bearer(pair["access_token"]))
    assert posts.status_code == 200, posts.text
    # a refresh token is not an access token
    _unauthenticated(await client.get(POSTS, headers=_bearer(pair["refresh_token"])))


async def test_login_failure_does_not_tell_which_part_was_wrong(
    client: httpx.AsyncClient, owner: Member
) -> None:
    wrong_password = await _login(client, password="not the password")
    wrong_email = await client.post(
        LOGIN, json={"email": "nobody@example.com", "password": PASSWORD}
    )
    detail = _unauthenticated(wrong_password)
    assert _unauthenticated(wrong_email) == detail
    assert wrong_password.json() == wrong_email.json()
    assert "wrong email or password" in detail


async def test_login_body_is_validated(client: httpx.AsyncClient) -> None:
    assert_violation(await client.post(LOGIN, json={"email": "a@b.c"}), "password", "missing")
    assert_violation(
        await client.post(LOGIN, json={"email": "a@b.c", "password": "x", "remember": True}),
        "remember",
        "extra_forbidden",
    )


async def test_login_picks_the_workspace(client: httpx.AsyncClient, runtime: Runtime) -> None:
    first = await make_member(runtime, email="owner@example.com", workspace="acme")
    second = await make_member(
        runtime, email="owner@example.com", workspace="globex", role=Role.VIEWER
    )
    stranger = await make_member(runtime, email="stranger@example.com", workspace="initech")
    default = (await _login(client, password=PASSWORD)).json()
    assert default["workspace_id"] in {first.workspace_id, second.workspace_id}

    chosen = await _login(client, password=PASSWORD, workspace_id=second.workspace_id)
    assert chosen.status_code == 200, chosen.text
    token = chosen.json()["access_token"]
    assert chosen.json()["workspace_id"] == second.workspace_id
    # acting in globex, as the viewer they are there
    assert_problem(
        await client.post(
            "/api/v1/accounts", json={"platform": "sandbox", "handle": "x"}, headers=_bearer(token)
        ),
        403,
    )

    foreign = await _login(client, password=PASSWORD, workspace_id=stranger.workspace_id)
    assert "not a member" in assert_problem(foreign, 403)


# -- refresh ------------------------------------------------------------------------------


async def test_refresh_rotates(client: httpx.AsyncClient, owner: Member) -> None:
    first = (await _login(client, password=PASSWORD)).json()
    response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["workspace_id"] == owner.workspace_id
    assert (await client.get(POSTS, headers=_bearer(second["access_token"]))).status_code == 200

    reused = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert "already used" in _unauthenticated(reused)
    third = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text


async def test_unknown_or_expired_refresh_token(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    _unauthenticated(await client.post(REFRESH, json={"refresh_token": "pwr_made-up"}))
    pair = (await _login(client, password=PASSWORD)).json()
    ttl = timedelta(seconds=runtime.settings.refresh_token_ttl_s)
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + ttl + timedelta(seconds=1)
    expired = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert "expired" in _unauthenticated(expired)


async def test_refresh_after_leaving_the_workspace(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    from postwright.store import identity as identity_store

    pair = (await _login(client, password=PASSWORD)).json()
    async with runtime.db.write() as conn:
        await identity_store.remove_membership(
            conn, workspace_id=uuid.UUID(owner.workspace_id), user_id=uuid.UUID(owner.user_id)
        )
    _unauthenticated(await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]}))
    _unauthenticated(await client.get(POSTS, headers=_bearer(pair["access_token"])))
    _unauthenticated(await client.get(POSTS, headers=owner.headers))


# -- access tokens ------------------------------------------------------------------------


async def test_expired_access_token(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    token = (await _login(client, password=PASSWORD)).json()["access_token"]
    assert (await client.get(POSTS, headers=_bearer(token))).status_code == 200
    ttl = timedelta(seconds=runtime.settings.access_token_ttl_s)
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + ttl + timedelta(seconds=1)
    detail = _unauthenticated(await client.get(POSTS, headers=_bearer(token)))
    assert "expired" in detail
    # API tokens without an expiry keep working
    assert (await client.get(POSTS, headers=owner.headers)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer"}, id="empty"),
        pytest.param({"Authorization": "Basic b3duZXI6cGFzcw=="}, id="basic"),
        pytest.param({"Authorization": "Bearer not-a-jwt"}, id="garbage"),
        pytest.param({"Authorization": "Bearer pw_unknown"}, id="unknown-api-token"),
        pytest.param(
            {
                "Authorization": "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
            },
            id="bad-signature",
        ),
    ],
)
async def test_bad_credentials(
    client: httpx.AsyncClient, owner: Member, headers: dict[str, str]
) -> None:
    _unauthenticated(await client.get(POSTS, headers=headers))


async def test_forged_token_for_another_workspace(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    """A correctly signed access token for a workspace the user is not in is refused."""
    from postwright.auth.tokens import encode_access_token

    stranger = await make_member(runtime, email="s@example.com", workspace="globex")
    token = encode_access_token(
        secret=runtime.secret_key,
        user_id=uuid.UUID(owner.user_id),
        workspace_id=uuid.UUID(stranger.workspace_id),
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )
    _unauthenticated(await client.get(POSTS, headers=_bearer(token)))


# -- API tokens ---------------------------------------------------------------------------


async def test_api_token_is_shown_once(client: httpx.AsyncClient, owner: Member) -> None:
    response = await client.post(TOKENS, json={"name": "ci"}, headers=owner.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["token"]
    assert secret.startswith("pw_")
    assert secret.startswith(created["prefix"])
    assert created["user_id"] == owner.user_id
    assert (created["revoked_at"], created["expires_at"]) == (None, None)

    listed = await client.get(TOKENS, headers=owner.headers)
    assert listed.status_code == 200, listed.text
    assert {t["name"] for t in listed.json()} == {"tests", "ci"}
    assert secret not in listed.text
    assert all("token" not in t for t in listed.json())

    used = await client.get(POSTS, headers=_bearer(secret))
    assert used.status_code == 200, used.text
    again = {t["id"]: t for t in (await client.get(TOKENS, headers=owner.headers)).json()}
    assert again[created["id"]]["last_used_at"] is not None


async def test_revoked_api_token_stops_working(client: httpx.AsyncClient, owner: Member) -> None:
    created = (await client.post(TOKENS, json={"name": "ci"}, headers=owner.headers)).json()
    assert (await client.get(POSTS, headers=_bearer(created["token"]))).status_code == 200
    revoked = await client.delete(f"{TOKENS}/{created['id']}", headers=owner.headers)
    assert revoked.status_code == 204
    assert revoked.content == b""
    assert "revoked" in _unauthenticated(await client.get(POSTS, headers=_bearer(created["token"])))
    assert_problem(await client.delete(f"{TOKENS}/{created['id']}", headers=owner.headers), 404)
    listed = {t["id"]: t for t in (await client.get(TOKENS, headers=owner.headers)).json()}
    assert listed[created["id"]]["revoked_at"] is not None
    # a token can revoke itself
    me = (await client.get(TOKENS, headers=owner.headers)).json()
    mine = next(t for t in me if t["name"] == "tests")
    assert (await client.delete(f"{TOKENS}/{mine['id']}", headers=owner.headers)).status_code == 204
    _unauthenticated(await client.get(POSTS, headers=owner.headers))


async def test_api_token_expiry(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    bad = await client.post(TOKENS, json={"name": "ci", "expires_at": past}, headers=owner.headers)
    assert_violation(bad, "expires_at", "in_past")
    naive = await client.post(
        TOKENS, json={"name": "ci", "expires_at": "2099-01-01T00:00:00"}, headers=owner.headers
    )
    assert_violation(naive, "expires_at", "timezone_aware")
    out_of_range = await client.post(
        TOKENS,
        json={"name": "ci", "expires_at": "9999-12-31T23:59:59-23:59"},
        headers=owner.headers,
    )
    assert_violation(out_of_range, "expires_at", "value_error")

    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = await client.post(
        TOKENS, json={"name": "ci", "expires_at": soon}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert (await client.get(POSTS, headers=_bearer(token))).status_code == 200
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(hours=2)
    assert "expired" in _unauthenticated(await client.get(POSTS, headers=_bearer(token)))


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "name", "missing"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "   "}, "name", "required"),
        ({"name": "ci", "scopes": ["read"]}, "scopes", "extra_forbidden"),
    ],
)
async def test_api_token_body_is_validated(
    client: httpx.AsyncClient, owner: Member, body: dict[str, Any], field: str, rule: str
) -> None:
    assert_violation(await client.post(TOKENS, json=body, headers=owner.headers), field, rule)


async def test_token_scopes_follow_the_role(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime, email="owner@example.com")
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    account = await make_account(client, owner)
    post_body = {"text": "hi", "targets": [{"account_id": account["id"]}]}
    account_body = {"platform": "sandbox", "handle": "another"}

    # a viewer may make a token for themself; it reads and cannot write
    vt = await client.post(TOKENS, json={"name": "mine"}, headers=viewer.headers)
    assert vt.status_code == 201, vt.text
    viewer_token = _bearer(vt.json()["token"])
    assert (await client.get(POSTS, headers=viewer_token)).status_code == 200
    assert_problem(await client.post(POSTS, json=post_body, headers=viewer_token), 403)

    # an editor's token writes posts, not accounts
    et = await client.post(TOKENS, json={"name": "mine"}, headers=editor.headers)
    editor_token = _bearer(et.json()["token"])
    assert (await client.post(POSTS, json=post_body, headers=editor_token)).status_code == 201
    assert_problem(
        await client.post("/api/v1/accounts", json=account_body, headers=editor_token), 403
    )

    # people other than admins see and revoke only their own tokens
    seen_by_viewer = (await client.get(TOKENS, headers=viewer.headers)).json()
    assert {t["user_id"] for t in seen_by_viewer} == {viewer.user_id}
    seen_by_owner = (await client.get(TOKENS, headers=owner.headers)).json()
    assert {t["user_id"] for t in seen_by_owner} == {
        owner.user_id,
        viewer.user_id,
        editor.user_id,
    }
    editors_token_id = et.json()["id"]
    assert_problem(await client.delete(f"{TOKENS}/{editors_token_id}", headers=viewer.headers), 404)
    # an owner can revoke anyone's
    assert (
        await client.delete(f"{TOKENS}/{editors_token_id}", headers=owner.headers)
    ).status_code == 204
    _unauthenticated(await client.get(POSTS, headers=editor_token))


async def test_a_refresh_token_works_once_even_when_raced(
    client: httpx.AsyncClient, owner: Member
) -> None:
    import asyncio

    refresh_token = (await _login(client, password=PASSWORD)).json()["refresh_token"]
    answers = await asyncio.gather(
        *(client.post(REFRESH, json={"refresh_token": refresh_token}) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [200, 401, 401, 401]


async def test_session_cookie_needs_csrf_for_writes(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    """The browser's cookie session: reads with the cookie alone, writes echo the CSRF token."""
    from postwright.api.deps import SESSION_COOKIE
    from postwright.auth.tokens import encode_access_token

    session = encode_access_token(
        secret=runtime.secret_key,
        user_id=uuid.UUID(owner.user_id),
        workspace_id=uuid.UUID(owner.workspace_id),
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
        kind="session",
        csrf="csrf-123",
    )
    client.cookies.set(SESSION_COOKIE, session)
    account = {"platform": "sandbox", "handle": "brand"}
    assert (await client.get(POSTS)).status_code == 200
    assert "CSRF" in assert_problem(await client.post("/api/v1/accounts", json=account), 403)
    wrong = await client.post("/api/v1/accounts", json=account, headers={"X-CSRF-Token": "nope"})
    assert_problem(wrong, 403)
    right = await client.post(
        "/api/v1/accounts", json=account, headers={"X-CSRF-Token": "csrf-123"}
    )
    assert right.status_code == 201, right.text
    # a session token is not a bearer token
    client.cookies.clear()
    _unauthenticated(await client.get(POSTS, headers=_bearer(session)))
