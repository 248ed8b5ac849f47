"""Fixtures and helpers for the Mastodon and Bluesky connect flows, token refresh and account
health tests (tests/connect/test_{mastodon_connect,bluesky_connect,refresh,health,keys,
plaintext_scan}.py). Import the fixtures into a test module and list them in its `__all__`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from postwright.api.app import create_app
from postwright.auth.principal import Principal
from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services import connect as connect_service
from postwright.settings import Settings
from postwright.store import account_tokens
from tests.support.factories import Member, make_member

__all__ = [
    "CONNECT",
    "SECRET",
    "authorize",
    "callback",
    "client",
    "credentials_of",
    "emulator",
    "owner",
    "principal_of",
    "save_account",
    "settings",
    "token_row",
]

CONNECT = "/api/v1/accounts/connect"
SECRET = "test-secret-key-not-for-production-0123456789"


def flow_settings(database_url: str, tmp_path: Path, emulator_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": SECRET,
        "public_url": "http://testserver",
        "connect_allow_http_localhost": True,
        "platform_urls": {"bluesky": emulator_url, "x": emulator_url},
        "sandbox_url": emulator_url,
        "lease_s": 3.0,
        "poll_interval_s": 0.2,
        "claim_ahead_ms": 500,
        "reconcile_settle_s": 0.2,
        "publish_timeout_s": 5.0,
        "retry_base_delay_s": 0.2,
        "retry_max_delay_s": 1.0,
        "x_client_id": "pw-x-client",
        **extra,
    }
    return Settings.model_validate(values)


@pytest.fixture
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator() as emu:
        yield emu


@pytest.fixture
def settings(database_url: str, tmp_path: Path, emulator: BackgroundEmulator) -> Settings:
    return flow_settings(database_url, tmp_path, emulator.url)


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


def principal_of(member: Member) -> Principal:
    return Principal(
        user_id=uuid.UUID(member.user_id),
        workspace_id=uuid.UUID(member.workspace_id),
        role=Role.OWNER,
        via="test",
    )


async def authorize(authorization_url: str, *, decision: str = "approve", **extra: str) -> str:
    """Approve (or deny) on the emulated platform, as a person would; the redirect back."""
    url = httpx.URL(authorization_url)
    url = url.copy_merge_params({"auto": decision, **extra})
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as browser:
        response = await browser.get(url)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


async def callback(client: httpx.AsyncClient, location: str) -> httpx.Response:
    """Follow the platform's redirect to postwright (no bearer token: the state says who)."""
    parts = urlsplit(location)
    return await client.get(parts.path, params=dict(parse_qsl(parts.query)))


async def token_row(rt: Runtime, account_id: str | uuid.UUID) -> account_tokens.TokenRow:
    async with rt.db.write() as conn:  # lock_account locks: not in a read-only transaction
        row = await account_tokens.lock_account(conn, account_id=uuid.UUID(str(account_id)))
    assert row is not None
    return row


async def credentials_of(rt: Runtime, account_id: str | uuid.UUID) -> dict[str, Any]:
    row = await token_row(rt, account_id)
    assert row.credentials is not None
    assert row.credentials.startswith("v1.")
    return rt.secretbox.open(row.credentials)


async def save_account(
    rt: Runtime,
    member: Member,
    platform: Platform,
    *,
    external_id: str,
    credentials: dict[str, Any],
    expires_in_s: float | None,
    handle: str | None = None,
    options: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An account as a connect flow would have saved it (through the same framework call)."""
    expires = rt.now() + timedelta(seconds=expires_in_s) if expires_in_s is not None else None
    [account] = await connect_service.save_connected_accounts(
        rt,
        workspace_id=uuid.UUID(member.workspace_id),
        user_id=uuid.UUID(member.user_id),
        platform=platform,
        found=[
            connect_service.ConnectedAccount(
                external_id=external_id,
                handle=handle or f"{platform.value}-{external_id}",
                display_name=handle or external_id,
                credentials=credentials,
                token_expires_at=expires,
                options=options or {},
            )
        ],
    )
    return account.id


# -- a platform token endpoint in memory (for refresh tests) ---------------------------------


class FakeTokenEndpoints:
    """The token endpoints of X, Reddit, LinkedIn, Instagram, Threads and a Bluesky PDS, as an
    `httpx.MockTransport` for `TokenRefresher(transport=...)`.

    Refresh tokens are random and single use where the platform rotates them (X, Bluesky): a
    second use of one is refused, as X does (a Bluesky PDS forgives reuse for 2 hours), so a
    refresh that was not serialized shows up as a rejection. `delay_s` slows each answer (to
    make races overlap).
    """

    def __init__(self, *, delay_s: float = 0.0, access_ttl_s: int = 7200) -> None:
        self.delay_s = delay_s
        self.access_ttl_s = access_ttl_s
        self.valid_refresh: set[str] = set()
        self.valid_access: set[str] = set()
        self.calls: list[str] = []
        self.send_refresh: str | None = "new"  # "new" | "" (empty) | None (absent)
        self.fail_status: int | None = None

    def issue_refresh(self) -> str:
        token = "rt-" + secrets.token_urlsafe(24)
        self.valid_refresh.add(token)
        return token

    def issue_access(self) -> str:
        token = "at-" + secrets.token_urlsafe(24)
        self.valid_access.add(token)
        return token

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        self.calls.append(request.url.path)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_status is not None:
            return httpx.Response(self.fail_status, json={"error": "server_error"})
        path = request.url.path
        if path.endswith("refresh_access_token"):
            token = request.url.params.get("access_token", "")
            if token not in self.valid_access:
                return httpx.Response(
                    400,
                    json={"error": {"message": "Invalid OAuth access token.", "code": 190}},
                )
            return httpx.Response(
                200,
                json={
                    "access_token": self.issue_access(),
                    "token_type": "bearer",
                    "expires_in": 60 * 24 * 3600,
                },
            )
        if path.endswith("com.atproto.server.refreshSession"):
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid_refresh:
                return httpx.Response(
                    400, json={"error": "ExpiredToken", "message": "Token has been revoked"}
                )
            self.valid_refresh.discard(token)
            return httpx.Response(
                200,
                json={
                    "accessJwt": self.issue_access(),
                    "refreshJwt": self.issue_refresh(),
                    "handle": "brand.bsky.test",
                    "did": "did:plc:brand",
                    "active": True,
                },
            )
        form = dict(parse_qsl(request.content.decode()))
        token = form.get("refresh_token", "")
        rotates = not path.endswith("/api/v1/access_token")  # Reddit keeps its refresh token
        if form.get("grant_type") != "refresh_token" or token not in self.valid_refresh:
            return httpx.Response(
                400,
                json={"error": "invalid_grant", "error_description": "Invalid refresh token"},
            )
        body: dict[str, Any] = {
            "access_token": self.issue_access(),
            "token_type": "bearer",
            "expires_in": self.access_ttl_s,
        }
        if rotates:
            self.valid_refresh.discard(token)
            if self.send_refresh == "new":
                body["refresh_token"] = self.issue_refresh()
        if self.send_refresh == "":
            body["refresh_token"] = ""
        return httpx.Response(200, json=body)
