"""The X-style flow (authorization code, PKCE S256, confidential client with HTTP Basic) against
a real OAuth 2.0 authorization server, `oauth2-mock-server` on 127.0.0.1, made to enforce PKCE,
single-use codes, the redirect URI and client authentication (tests/support/oauth/run-oauth.mjs).
The profile call (`GET /2/users/me`) still goes to the emulator."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.emulator.x import DEFAULT_USER_ID
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store.tables import oauth_states
from tests.support.connect_flows import (
    callback,
    connect,
    consent,
    count_accounts,
    query_of,
    start,
    state_row,
    stored,
)
from tests.support.factories import Member
from tests.support.oauth_server import OAuthServer, oauth_server

__all__ = ["oauth_server"]  # the fixture, imported to be used here


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    shared_emulator: BackgroundEmulator,
    oauth_server: OAuthServer,
) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        public_url="http://testserver",
        x_client_id=oauth_server.client_id,
        x_client_secret=SecretStr(oauth_server.client_secret),
        oauth_urls={
            "x.authorize": oauth_server.authorize_url,
            "x.token": oauth_server.token_url,
            "x.api": shared_emulator.url,
        },
    )


def _problem(response: httpx.Response, status: int, needle: str) -> None:
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"], response.json()["detail"]


async def test_pkce_flow(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "x")
    query = query_of(url)
    assert query["code_challenge_method"] == "S256"
    row = await state_row(runtime, query["state"])
    verifier = runtime.secretbox.open(row.code_verifier)["v"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == query["code_challenge"]

    response = await callback(client, await consent(url))
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    assert account["handle"] == f"u{DEFAULT_USER_ID}"
    assert account["status"] == "active"
    credentials = await stored(runtime, account["id"])
    assert credentials["access_token"].count(".") == 2, "the server's JWT access token"
    assert credentials["refresh_token"]
    assert (await state_row(runtime, query["state"])).used_at is not None


async def test_wrong_verifier(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    url = await start(client, owner, "x")
    location = await consent(url)
    async with runtime.db.write() as conn:
        await conn.execute(
            update(oauth_states)
            .where(oauth_states.c.id == query_of(url)["state"])
            .values(code_verifier=runtime.secretbox.seal({"v": secrets.token_urlsafe(48)}))
        )
    response = await callback(client, location)
    _problem(response, 422, "code_verifier provided does not match code_challenge")
    assert await count_accounts(runtime) == 0


async def test_the_server_enforces_pkce(oauth_server: OAuthServer) -> None:
    """Without the start script's hooks oauth2-mock-server would take a code without its
    verifier, and a code asked for without a challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    auth = (oauth_server.client_id, oauth_server.client_secret)
    redirect = "http://testserver/api/v1/oauth/x/callback"
    async with httpx.AsyncClient() as http:
        plain = await http.get(
            oauth_server.authorize_url,
            params={
                "response_type": "code",
                "client_id": oauth_server.client_id,
                "redirect_uri": redirect,
                "state": "s",
            },
        )
        assert httpx.URL(plain.headers["location"]).params["error"] == "invalid_request"

        async def code() -> str:
            answer = await http.get(
                oauth_server.authorize_url,
                params={
                    "response_type": "code",
                    "client_id": oauth_server.client_id,
                    "redirect_uri": redirect,
                    "state": "s",
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            return httpx.URL(answer.headers["location"]).params["code"]

        no_verifier = await http.post(
            oauth_server.token_url,
            data={
                "grant_type": "authorization_code",
                "code": await code(),
                "redirect_uri": redirect,
            },
            auth=auth,
        )
        assert no_verifier.status_code == 400
        assert no_verifier.json() == {
            "error": "invalid_grant",
            "error_description": "code_verifier required",
        }
        other_redirect = await http.post(
            oauth_server.token_url,
            data={
                "grant_type": "authorization_code",
                "code": await code(),
                "redirect_uri": "http://evil.example/cb",
                "code_verifier": verifier,
            },
            auth=auth,
        )
        assert other_redirect.json()["error_description"] == "redirect_uri does not match"
        good = await code()
        ok = await http.post(
            oauth_server.token_url,
            data={
                "grant_type": "authorization_code",
                "code": good,
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
            auth=auth,
        )
        assert ok.status_code == 200, ok.text
        refresh = ok.json()["refresh_token"]
        rotated = await http.post(
            oauth_server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=auth,
        )
        assert rotated.status_code == 200, rotated.text
        stale = await http.post(
            oauth_server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=auth,
        )
        assert stale.json()["error"] == "invalid_grant", "refresh tokens are single use"


async def test_reused_code(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    location = await consent(await start(client, owner, "x"))
    assert (await callback(client, location)).status_code == 200
    fresh = query_of(await start(client, owner, "x"))["state"]
    response = await client.get(
        "/api/v1/oauth/x/callback", params={"code": location.params["code"], "state": fresh}
    )
    assert response.status_code == 422, response.text
    assert "nothing was connected" in response.json()["detail"]
    assert await count_accounts(runtime) == 1


async def test_declined(client: httpx.AsyncClient, owner: Member, runtime: Runtime) -> None:
    location = await consent(await start(client, owner, "x"), auto="deny")
    _problem(await callback(client, location), 422, "declined")
    assert await count_accounts(runtime) == 0


async def test_wrong_client_secret(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    runtime.settings.x_client_secret = SecretStr("not-the-secret")
    response = await connect(client, owner, "x")
    _problem(response, 422, "invalid_client")
    assert await count_accounts(runtime) == 0
