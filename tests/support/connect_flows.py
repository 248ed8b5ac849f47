"""Driving connect flows in tests: start through the API, consent on the (emulated) platform,
come back through the callback, and read what was stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from postwright.runtime import Runtime
from postwright.store import accounts as account_store
from postwright.store.tables import accounts, oauth_states
from tests.support.factories import Member

CONNECT = "/api/v1/accounts/connect"
_TLS = httpx.create_ssl_context()  # building one per client costs ~80 ms


async def start(
    client: httpx.AsyncClient, member: Member, platform: str, body: dict[str, Any] | None = None
) -> str:
    """POST /accounts/connect/{platform}; the authorization URL."""
    response = await client.post(f"{CONNECT}/{platform}", json=body, headers=member.headers)
    assert response.status_code == 200, response.text
    url: str = response.json()["authorization_url"]
    return url


async def consent(authorization_url: str, **params: str) -> httpx.URL:
    """Approve (or, with auto="deny", decline) on the platform; the callback URL it sends
    the browser to."""
    async with httpx.AsyncClient(timeout=10.0, verify=_TLS) as browser:
        url = httpx.URL(authorization_url).copy_merge_params({"auto": "approve", **params})
        response = await browser.get(url)
    assert response.status_code in (302, 303), response.text
    return httpx.URL(response.headers["location"])


async def callback(client: httpx.AsyncClient, location: httpx.URL) -> httpx.Response:
    """Follow the platform's redirect to postwright, as the browser would (no bearer token)."""
    return await client.get(f"{location.path}?{location.query.decode()}")


async def connect(
    client: httpx.AsyncClient,
    member: Member,
    platform: str,
    body: dict[str, Any] | None = None,
    /,
    **consent_params: str,
) -> httpx.Response:
    url = await start(client, member, platform, body)
    return await callback(client, await consent(url, **consent_params))


async def stored(rt: Runtime, account_id: str | uuid.UUID) -> dict[str, Any]:
    """The account's credentials as stored: sealed, opened here."""
    async with rt.db.read() as conn:
        sealed = await account_store.get_credentials(conn, account_id=uuid.UUID(str(account_id)))
    assert sealed is not None
    assert sealed.startswith("v1."), "credentials must be sealed at rest"
    return rt.secretbox.open(sealed)


async def account_row(rt: Runtime, account_id: str | uuid.UUID) -> Any:
    async with rt.db.read() as conn:
        return (
            await conn.execute(select(accounts).where(accounts.c.id == uuid.UUID(str(account_id))))
        ).one()


async def count_accounts(rt: Runtime, platform: str | None = None) -> int:
    query = select(func.count()).select_from(accounts).where(accounts.c.deleted_at.is_(None))
    if platform is not None:
        query = query.where(accounts.c.platform == platform)
    async with rt.db.read() as conn:
        return int((await conn.execute(query)).scalar_one())


async def state_row(rt: Runtime, state: str) -> Any:
    async with rt.db.read() as conn:
        return (
            await conn.execute(select(oauth_states).where(oauth_states.c.id == state))
        ).one_or_none()


def query_of(url: str | httpx.URL) -> dict[str, str]:
    return dict(httpx.URL(str(url)).params)
