"""The emulated PDS's sessions, in process: refreshSession rotating both JWTs (with the PDS's
grace period for the old refresh JWT), getSession, deleteSession revoking, and the refusals the
reference PDS answers (checked against it: tests/integration_pds)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pytest

from postwright.platforms.emulator import bluesky
from tests.platforms.lexicon import lexicons

XRPC = "/xrpc/com.atproto.server"
REVOKED = {"error": "ExpiredToken", "message": "Token has been revoked"}
NOT_VERIFIED = {"error": "InvalidToken", "message": "Token could not be verified"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict[str, Any]:
    read: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return read


async def sign_in(client: httpx.AsyncClient, handle: str = "alice.bsky.test") -> dict[str, Any]:
    response = await client.post(
        f"{XRPC}.createSession", json={"identifier": handle, "password": "app-password"}
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{XRPC}.refreshSession", headers=bearer(token))


async def test_refreshing_rotates_both_jwts(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)

    response = await refresh(client, session["refreshJwt"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert lexicons().validate_output("com.atproto.server.refreshSession", body) == []
    assert (body["did"], body["handle"], body["active"]) == (
        session["did"],
        session["handle"],
        True,
    )
    assert body["didDoc"] == session["didDoc"]
    assert body["accessJwt"] != session["accessJwt"]
    assert claims(body["refreshJwt"])["jti"] != claims(session["refreshJwt"])["jti"]
    access = claims(body["accessJwt"])
    assert access["sub"] == session["did"]
    assert access["scope"] == "com.atproto.appPass"
    # the refresher reads the access JWT's `exp`: 2 hours, as on bsky.social
    assert access["exp"] - access["iat"] == bluesky.ACCESS_TTL == 2 * 3600
    assert abs(access["iat"] - time.time()) < 5
    assert jwt.get_unverified_header(body["refreshJwt"])["typ"] == "refresh+jwt"
    assert response.headers["RateLimit-Limit"] == "3000"
    # the new refresh JWT refreshes in its turn, and both access JWTs work until they expire
    assert (await refresh(client, body["refreshJwt"])).status_code == 200
    for token in (session["accessJwt"], body["accessJwt"]):
        got = await client.get(f"{XRPC}.getSession", headers=bearer(token))
        assert got.status_code == 200, got.text


async def test_an_old_refresh_jwt_works_for_the_grace_period_then_is_revoked(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await sign_in(client)
    first = (await refresh(client, session["refreshJwt"])).json()

    # a client that lost the answer may retry: it gets the same successor, not a second one
    again = await refresh(client, session["refreshJwt"])
    assert again.status_code == 200, again.text
    assert claims(again.json()["refreshJwt"])["jti"] == claims(first["refreshJwt"])["jti"]

    monkeypatch.setattr(bluesky, "REFRESH_GRACE_S", 0.05)
    newer = (await refresh(client, first["refreshJwt"])).json()
    await asyncio.sleep(0.1)  # past the grace period of `first`

    late = await refresh(client, first["refreshJwt"])
    assert (late.status_code, late.json()) == (400, REVOKED)
    assert (await refresh(client, newer["refreshJwt"])).status_code == 200


async def test_delete_session_revokes_the_refresh_jwt(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)

    with_access = await client.post(f"{XRPC}.deleteSession", headers=bearer(session["accessJwt"]))
    assert (with_access.status_code, with_access.json()) == (400, NOT_VERIFIED)
    gone = await client.post(f"{XRPC}.deleteSession", headers=bearer(session["refreshJwt"]))
    assert (gone.status_code, gone.content) == (200, b"")
    assert "content-type" not in gone.headers

    refused = await refresh(client, session["refreshJwt"])
    assert (refused.status_code, refused.json()) == (400, REVOKED)
    again = await client.post(f"{XRPC}.deleteSession", headers=bearer(session["refreshJwt"]))
    assert again.status_code == 200
    # as on the PDS, the access JWT is not revoked: it lives out its 2 hours
    got = await client.get(f"{XRPC}.getSession", headers=bearer(session["accessJwt"]))
    assert got.status_code == 200


async def test_get_session_describes_the_account(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)

    response = await client.get(f"{XRPC}.getSession", headers=bearer(session["accessJwt"]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert lexicons().validate_output("com.atproto.server.getSession", body) == []
    assert body == {
        key: session[key]
        for key in ("did", "handle", "didDoc", "email", "emailConfirmed", "active")
    }


@pytest.mark.parametrize(
    ("method", "verb", "token", "status", "answer"),
    [
        ("refreshSession", "POST", "access", 400, NOT_VERIFIED),
        ("refreshSession", "POST", "forged", 400, NOT_VERIFIED),
        ("refreshSession", "POST", None, 401, {"error": "AuthMissing"}),
        ("deleteSession", "POST", None, 401, {"error": "AuthMissing"}),
        ("getSession", "GET", "refresh", 400, NOT_VERIFIED),
    ],
)
async def test_the_wrong_token_is_refused(
    client: httpx.AsyncClient,
    method: str,
    verb: str,
    token: str | None,
    status: int,
    answer: dict[str, str],
) -> None:
    session = await sign_in(client)
    tokens = {
        "access": session["accessJwt"],
        "refresh": session["refreshJwt"],
        "forged": session["refreshJwt"][:-4] + "AAAA",
    }
    headers = bearer(tokens[token]) if token else {}

    response = await client.request(verb, f"{XRPC}.{method}", headers=headers)

    assert response.status_code == status
    assert response.json().items() >= answer.items()
    # a refused refresh spends nothing
    assert (await refresh(client, session["refreshJwt"])).status_code == 200


async def test_expired_tokens_cannot_refresh_but_can_sign_out(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)
    expired = await client.post("/_emulator/bluesky/expire", json={"did": session["did"]})
    assert expired.json()["expired"] == 2

    refused = await refresh(client, session["refreshJwt"])
    assert (refused.status_code, refused.json()["error"]) == (400, "ExpiredToken")
    assert refused.json()["message"] == "Token has expired"
    gone = await client.post(f"{XRPC}.deleteSession", headers=bearer(session["refreshJwt"]))
    assert gone.status_code == 200


async def test_an_injected_fault_answers_in_xrpc_shape(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)
    rule = {
        "match": {"platform": "bluesky", "path": f"{XRPC}.refreshSession"},
        "effect": {"status": 502},
        "count": 1,
    }
    assert (await client.post("/_emulator/faults", json=rule)).status_code == 201

    failed = await refresh(client, session["refreshJwt"])
    assert failed.status_code == 502
    assert failed.json() == {"error": "UpstreamFailure", "message": "Upstream Failure"}
    assert "RateLimit-Remaining" in failed.headers

    response = await refresh(client, session["refreshJwt"])
    assert response.status_code == 200, response.text
    assert (await client.get("/_emulator/ledger")).json() == []  # sessions make no posts
