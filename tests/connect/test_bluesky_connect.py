"""Connecting Bluesky accounts (handle + app password) against the emulated PDS: one session per
connect, the DID as the account's identity, reconnects, refusals; then publishing through the
adapter with the stored session."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from postwright.platforms.base import AccountRef, PublishRequest
from postwright.platforms.bluesky import BlueskyAdapter
from postwright.platforms.emulator.rules import FaultRule
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from tests.support.account_flows import (
    CONNECT,
    client,
    credentials_of,
    emulator,
    owner,
    settings,
    token_row,
)
from tests.support.factories import Member, assert_violation

__all__ = ["client", "emulator", "owner", "settings"]  # fixtures

HANDLE = "brand.bsky.test"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


async def connect(client: httpx.AsyncClient, owner: Member, **body: Any) -> httpx.Response:
    payload = {"handle": HANDLE, "app_password": APP_PASSWORD, **body}
    return await client.post(f"{CONNECT}/bluesky", json=payload, headers=owner.headers)


async def count_accounts(rt: Runtime) -> int:
    from postwright.store.tables import accounts

    async with rt.db.read() as conn:
        query = select(func.count()).select_from(accounts).where(accounts.c.deleted_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


def fault(emulator: BackgroundEmulator, status: int, body: dict[str, Any] | None = None) -> None:
    effect: dict[str, Any] = {"status": status}
    if body is not None:
        effect["body"] = body
    emulator.app.faults.add(
        FaultRule.model_validate(
            {
                "match": {
                    "platform": "bluesky",
                    "path": "/xrpc/com.atproto.server.createSession",
                },
                "effect": effect,
                "count": 1,
            }
        )
    )


async def publish(rt: Runtime, account_id: str, text: str) -> str:
    """Publish through the adapter with what the connect flow stored; the post's AT URI."""
    row = await token_row(rt, account_id)
    async with rt.db.read() as conn:
        from postwright.store.tables import accounts

        external_id = (
            await conn.execute(
                select(accounts.c.external_id).where(accounts.c.id == uuid.UUID(account_id))
            )
        ).scalar_one()
    ref = AccountRef(
        id=row.id,
        handle=row.handle,
        external_id=external_id,
        options=row.options,
        credentials=await credentials_of(rt, account_id),
    )
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        adapter = BlueskyAdapter(http, default_service="https://unused.invalid")
        published = await adapter.publish(
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
    assert not any("createSession" in path for path in seen), "publishing opens no session"
    return published.external_id


async def test_connect_then_publish(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    response = await connect(client, owner)
    assert response.status_code == 201, response.text
    assert APP_PASSWORD not in response.text
    assert "Jwt" not in response.text
    assert "jwt" not in response.text
    account = response.json()
    assert account["platform"] == "bluesky"
    assert account["handle"] == HANDLE
    assert account["status"] == "active"
    # the PDS named by the session's didDoc (here the emulator itself)
    assert account["options"] == {"service": emulator.url}
    credentials = await credentials_of(runtime, account["id"])
    assert set(credentials) == {"access_jwt", "refresh_jwt", "did"}
    assert credentials["did"].startswith("did:plc:")
    row = await token_row(runtime, account["id"])
    assert row.token_expires_at is not None
    left = row.token_expires_at - runtime.now()
    assert timedelta(hours=1, minutes=55) < left <= timedelta(hours=2)

    for n in range(3):
        uri = await publish(runtime, account["id"], f"hello #{n}")
        assert uri.startswith(f"at://{credentials['did']}/app.bsky.feed.post/")
    posts = [e for e in emulator.app.ledger.entries() if e.platform == "bluesky"]
    assert [p.text for p in posts] == ["hello #0", "hello #1", "hello #2"]


async def test_reconnecting_the_same_did_replaces_the_session(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    first = (await connect(client, owner)).json()
    before = await credentials_of(runtime, first["id"])
    again = await connect(client, owner, handle="@Brand.Bsky.Test")
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first["id"]
    after = await credentials_of(runtime, first["id"])
    assert after["did"] == before["did"]
    assert after["access_jwt"] != before["access_jwt"]
    assert after["refresh_jwt"] != before["refresh_jwt"]
    assert await count_accounts(runtime) == 1


async def test_a_wrong_app_password_connects_nothing(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    assert (await connect(client, owner)).status_code == 201  # the emulator learns the password
    response = await connect(client, owner, app_password="wrong-wrong-wrong-wrong")
    message = assert_violation(response, "app_password", "invalid")
    assert "handle or app password is not right" in message
    assert "wrong-wrong" not in response.text
    assert await count_accounts(runtime) == 1


@pytest.mark.parametrize(
    ("status", "body", "field", "rule", "words"),
    [
        (429, None, "app_password", "rate_limited", "limits sign-ins"),
        (
            401,
            {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent"},
            "app_password",
            "refused",
            "use an app password",
        ),
        (
            400,
            {"error": "AccountTakedown", "message": "Account has been taken down"},
            "handle",
            "inactive",
            "took the account down",
        ),
        (502, None, "service", "unavailable", "try again"),
    ],
)
async def test_refusals_are_clear_and_connect_nothing(
    client: httpx.AsyncClient,
    owner: Member,
    runtime: Runtime,
    emulator: BackgroundEmulator,
    status: int,
    body: dict[str, Any] | None,
    field: str,
    rule: str,
    words: str,
) -> None:
    fault(emulator, status, body)
    message = assert_violation(await connect(client, owner), field, rule)
    assert words in message
    assert "nothing was connected" in message
    assert await count_accounts(runtime) == 0


async def test_service_addresses_are_checked(client: httpx.AsyncClient, owner: Member) -> None:
    for service, words in [
        ("http://pds.example", "https://"),
        ("https://192.168.1.20", "public host"),
        ("https://pds.example/xrpc", "without a path"),
    ]:
        response = await connect(client, owner, service=service)
        assert words in assert_violation(response, "service", "invalid")


async def test_a_handle_must_look_like_one(client: httpx.AsyncClient, owner: Member) -> None:
    response = await connect(client, owner, handle="not a handle")
    assert_violation(response, "handle", "invalid")
    response = await client.post(
        f"{CONNECT}/bluesky", json={"handle": HANDLE}, headers=owner.headers
    )
    assert_violation(response, "app_password", "missing")


async def test_an_explicit_service(
    client: httpx.AsyncClient, owner: Member, emulator: BackgroundEmulator
) -> None:
    service = emulator.url.replace("127.0.0.1", "localhost")
    response = await connect(client, owner, service=service)
    assert response.status_code == 201, response.text
    # the emulated PDS names itself in the didDoc at the address it was asked at
    assert response.json()["options"] == {"service": service}
