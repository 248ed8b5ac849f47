"""Connecting a Bluesky account on the reference PDS (`@atproto/pds`) through the API, then
publishing with the stored session, refreshing it with refreshSession (periodic and after a
refused access token, through the engine), and a revoked session making the account
`needs_reconnect` with its delivery held until a person reconnects it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from postwright.api.app import create_app
from postwright.auth.refresh import TokenRefresher, default_refreshers
from postwright.domain.models import AccountStatus
from postwright.engine.service import EngineService
from postwright.platforms.base import AccountRef, PublishRequest
from postwright.platforms.bluesky import BlueskyAdapter
from postwright.runtime import Runtime
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store.tables import accounts, deliveries
from tests.support.account_flows import (
    CONNECT,
    credentials_of,
    flow_settings,
    principal_of,
    token_row,
)
from tests.support.factories import Member, make_member
from tests.support.pds import PdsAccount, PdsServer
from tests.support.pds_fixtures import pds

__all__ = ["pds"]  # re-exported fixture


@pytest.fixture
def settings(database_url: str, tmp_path: Path, pds: PdsServer) -> Settings:
    return flow_settings(database_url, tmp_path, pds.url, publish_timeout_s=15.0)


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def _connect(
    api: httpx.AsyncClient, owner: Member, pds: PdsServer, account: PdsAccount
) -> dict[str, Any]:
    response = await api.post(
        f"{CONNECT}/bluesky",
        json={"handle": account.handle, "app_password": account.app_password, "service": pds.url},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _publish(rt: Runtime, account_id: str, did: str, text: str) -> str:
    row = await token_row(rt, account_id)
    ref = AccountRef(
        id=row.id,
        handle=row.handle,
        external_id=did,
        options=row.options,
        credentials=await credentials_of(rt, account_id),
    )
    async with httpx.AsyncClient(timeout=30.0) as http:
        published = await BlueskyAdapter(http, default_service="https://unused.invalid").publish(
            PublishRequest(
                delivery_id=uuid.uuid4(),
                idempotency_key=uuid.uuid4().hex,
                text=text,
                media=[],
                options={},
                account=ref,
                fingerprint="f",
                scheduled_at=None,
            )
        )
    return published.external_id


async def _record_text(pds: PdsServer, uri: str) -> str:
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    async with httpx.AsyncClient(timeout=30.0) as http:
        got = await http.get(
            pds.xrpc("com.atproto.repo.getRecord"),
            params={"repo": repo, "collection": collection, "rkey": rkey},
        )
    assert got.status_code == 200, got.text
    return str(got.json()["value"]["text"])


async def _make_due(rt: Runtime, account_id: str) -> None:
    async with rt.db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == uuid.UUID(account_id))
            .values(token_expires_at=rt.now() + timedelta(minutes=5))
        )


async def _spoil_access_token(rt: Runtime, account_id: str) -> None:
    """Replace the stored access JWT with one the PDS refuses (as an expired one would be)."""
    credentials = await credentials_of(rt, account_id)
    head, _, _ = credentials["access_jwt"].rpartition(".")
    credentials["access_jwt"] = head + ".c3BvaWxlZA"  # the signature no longer verifies
    async with rt.db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == uuid.UUID(account_id))
            .values(credentials=rt.secretbox.seal(credentials))
        )


async def _schedule(rt: Runtime, owner: Member, account_id: str, text: str) -> uuid.UUID:
    view = await post_service.create_post(
        rt,
        principal_of(owner),
        post_service.PostCreate(
            text=text,
            targets=[post_service.TargetIn(account_id=uuid.UUID(account_id))],
            scheduled_at=(rt.now() + timedelta(seconds=1)).isoformat(),
        ),
    )
    return view.deliveries[0].id


async def _delivery(rt: Runtime, delivery_id: uuid.UUID) -> Any:
    async with rt.db.read() as conn:
        return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()


async def _until(
    check: Any,
    what: str,
    within: float = 60.0,
    *,
    rt: Runtime,
    delivery_id: uuid.UUID,
    pds: PdsServer,
) -> None:
    """Wait for `check`; a failure says where the delivery, its account and the PDS stand."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            row = await _delivery(rt, delivery_id)
            account = await token_row(rt, str(row.account_id))
            raise AssertionError(
                f"{what} did not happen within {within} s: delivery {row.state} due "
                f"{row.due_at} attempts {row.attempts} hold {row.hold_reason!r} "
                f"error {row.last_error!r}; account {account.status} {account.status_reason!r}; "
                f"PDS {pds.state()}"
            )
        await asyncio.sleep(0.1)


async def test_connect_publish_and_refresh_on_the_reference_pds(
    api: httpx.AsyncClient, owner: Member, runtime: Runtime, pds: PdsServer
) -> None:
    person = pds.create_account("connect")
    account = await _connect(api, owner, pds, person)
    assert account["handle"] == person.handle
    assert account["status"] == "active"
    # this PDS sends no didDoc with the session (its PLC is local): the service asked stays
    assert account["options"] == {"service": pds.url}
    credentials = await credentials_of(runtime, account["id"])
    assert credentials["did"] == person.did
    row = await token_row(runtime, account["id"])
    assert row.token_expires_at is not None
    assert timedelta(minutes=30) < row.token_expires_at - runtime.now() <= timedelta(hours=2)

    uri = await _publish(runtime, account["id"], person.did, "connected through postwright")
    assert await _record_text(pds, uri) == "connected through postwright"

    # the periodic job refreshes a session about to expire: refreshSession, both JWTs rotate
    # (the PDS's access JWT has no id: one made in the same second as the first is the same)
    await asyncio.sleep(1.1)
    await _make_due(runtime, account["id"])
    result = await TokenRefresher(runtime.settings).refresh_due(runtime)
    assert result["refreshed"] == 1, result
    refreshed = await credentials_of(runtime, account["id"])
    assert refreshed["access_jwt"] != credentials["access_jwt"]
    assert refreshed["refresh_jwt"] != credentials["refresh_jwt"]
    assert (await token_row(runtime, account["id"])).token_expires_at > row.token_expires_at  # type: ignore[operator]
    uri = await _publish(runtime, account["id"], person.did, "with the refreshed session")
    assert await _record_text(pds, uri) == "with the refreshed session"

    # reconnecting the same DID replaces the credentials of the same account
    again = await _connect(api, owner, pds, person)
    assert again["id"] == account["id"]


async def test_a_refused_access_token_is_refreshed_by_the_worker(
    api: httpx.AsyncClient, owner: Member, runtime: Runtime, pds: PdsServer
) -> None:
    person = pds.create_account("worker")
    account = await _connect(api, owner, pds, person)
    await _spoil_access_token(runtime, account["id"])
    engine = EngineService(runtime, refreshers=default_refreshers(runtime.settings))
    await engine.start()
    try:
        delivery_id = await _schedule(runtime, owner, account["id"], "after a refresh")

        async def done() -> bool:
            return (await _delivery(runtime, delivery_id)).state in ("published", "failed")

        await _until(done, "the publish", rt=runtime, delivery_id=delivery_id, pds=pds)
    finally:
        await engine.stop()
    row = await _delivery(runtime, delivery_id)
    assert row.state == "published", row.last_error
    assert row.attempts == 1
    assert await _record_text(pds, row.external_id) == "after a refresh"
    assert (await token_row(runtime, account["id"])).status == AccountStatus.ACTIVE


async def test_a_revoked_session_needs_a_person_then_resumes(
    api: httpx.AsyncClient, owner: Member, runtime: Runtime, pds: PdsServer
) -> None:
    person = pds.create_account("revoked")
    account = await _connect(api, owner, pds, person)
    credentials = await credentials_of(runtime, account["id"])
    async with httpx.AsyncClient(timeout=30.0) as http:  # signed out everywhere
        gone = await http.post(
            pds.xrpc("com.atproto.server.deleteSession"),
            headers={"Authorization": f"Bearer {credentials['refresh_jwt']}"},
        )
    assert gone.status_code == 200, gone.text
    await _spoil_access_token(runtime, account["id"])
    engine = EngineService(runtime, refreshers=default_refreshers(runtime.settings))
    await engine.start()
    try:
        delivery_id = await _schedule(runtime, owner, account["id"], "after reconnecting")

        async def needs_person() -> bool:
            status = (await token_row(runtime, account["id"])).status
            held = await _delivery(runtime, delivery_id)
            return status == AccountStatus.NEEDS_RECONNECT and held.state == "scheduled"

        await _until(
            needs_person,
            "needs_reconnect, with the delivery held",
            rt=runtime,
            delivery_id=delivery_id,
            pds=pds,
        )
        held = await _delivery(runtime, delivery_id)
        assert held.attempts == 0
        assert held.hold_reason is not None
        assert "needs reconnecting" in held.hold_reason
        assert "refresh" in held.hold_reason

        again = await _connect(api, owner, pds, person)  # a person signs in again
        assert again["id"] == account["id"]
        assert again["status"] == "active"

        async def published() -> bool:
            return bool((await _delivery(runtime, delivery_id)).state == "published")

        await _until(
            published,
            "the publish after reconnecting",
            rt=runtime,
            delivery_id=delivery_id,
            pds=pds,
        )
    finally:
        await engine.stop()
    row = await _delivery(runtime, delivery_id)
    assert row.hold_reason is None
    assert await _record_text(pds, row.external_id) == "after reconnecting"
