"""Reconnecting a profile replaces the credentials of the same account (same id, never a second
row), keeps a refresh token the platform did not send again, and makes the account active."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services.connect import ConnectedAccount, save_connected_accounts
from postwright.store import accounts as account_store
from postwright.store.tables import audit_log, oauth_states
from tests.support.connect_flows import account_row, connect, count_accounts, stored
from tests.support.factories import Member, make_member


@pytest.fixture
def emulator(shared_emulator: BackgroundEmulator) -> BackgroundEmulator:
    return shared_emulator


async def _connect_x(client: httpx.AsyncClient, owner: Member, **consent: str) -> dict[str, str]:
    response = await connect(client, owner, "x", **consent)
    assert response.status_code == 200, response.text
    [account] = response.json()["accounts"]
    result: dict[str, str] = account
    return result


async def test_reconnect_replaces_the_same_account(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    first = await _connect_x(client, owner, user="555")
    before = await stored(runtime, first["id"])
    sealed_before = (await account_row(runtime, first["id"])).credentials
    # the token lapsed and the account was marked for a reconnect (the health job's work)
    async with runtime.db.write() as conn:
        await account_store.set_account_status(
            conn,
            workspace_id=uuid.UUID(owner.workspace_id),
            account_id=uuid.UUID(first["id"]),
            status=AccountStatus.NEEDS_RECONNECT,
            reason="the refresh token was revoked",
            now=runtime.now(),
        )
    second = await _connect_x(client, owner, user="555")
    assert second["id"] == first["id"], "the same account, not a second one"
    assert second["status"] == "active"
    assert second["status_reason"] is None
    after = await stored(runtime, second["id"])
    assert after["refresh_token"] != before["refresh_token"], "the new grant's refresh token"
    assert (await account_row(runtime, first["id"])).credentials != sealed_before
    assert await count_accounts(runtime, "x") == 1

    # another X user is another account
    other = await _connect_x(client, owner, user="556")
    assert other["id"] != first["id"]
    assert await count_accounts(runtime, "x") == 2


async def test_reconnect_without_a_refresh_token_keeps_the_old_one(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    first = await _connect_x(client, owner, user="777")
    kept = (await stored(runtime, first["id"]))["refresh_token"]
    # this grant comes without offline access: the answer has no refresh token
    second = await _connect_x(client, owner, user="777", refresh="0")
    assert second["id"] == first["id"]
    credentials = await stored(runtime, second["id"])
    assert credentials["refresh_token"] == kept
    assert credentials["access_token"] == "x-user-777"


async def test_reconnect_keeps_a_pause(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    first = await _connect_x(client, owner, user="888")
    paused = await client.post(f"/api/v1/accounts/{first['id']}/pause", headers=owner.headers)
    assert paused.status_code == 200, paused.text
    second = await _connect_x(client, owner, user="888")
    assert second["id"] == first["id"]
    assert second["status"] == "paused", "a person's pause outlives a reconnect"


async def test_same_profile_in_two_workspaces_is_two_accounts(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    other = await make_member(runtime, email="other@example.com", workspace="globex")
    mine = await _connect_x(client, owner, user="999")
    theirs = await _connect_x(client, other, user="999")
    assert mine["id"] != theirs["id"]
    listed = await client.get("/api/v1/accounts", headers=owner.headers)
    assert [a["id"] for a in listed.json()] == [mine["id"]]


async def test_a_removed_account_reconnects_as_a_new_one(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    first = await _connect_x(client, owner, user="1001")
    removed = await client.delete(f"/api/v1/accounts/{first['id']}", headers=owner.headers)
    assert removed.status_code == 204
    second = await _connect_x(client, owner, user="1001")
    assert second["id"] != first["id"]
    assert await count_accounts(runtime, "x") == 1


async def test_nothing_secret_is_stored_in_the_clear(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime
) -> None:
    """The state row keeps the PKCE verifier sealed; the account its tokens; the audit log
    names the account without its secrets."""
    account = await _connect_x(client, owner, user="4242")
    credentials = await stored(runtime, account["id"])
    async with runtime.db.read() as conn:
        states = (await conn.execute(select(oauth_states))).all()
        audits = (await conn.execute(select(audit_log))).all()
    assert states
    for state in states:
        assert state.code_verifier.startswith("v1.")
        verifier = runtime.secretbox.open(state.code_verifier)["v"]
        assert verifier not in repr(state._mapping)
    assert "account.connected" in [a.action for a in audits]
    for secret in (credentials["access_token"], credentials["refresh_token"]):
        assert secret not in repr([a._mapping for a in audits])
        assert secret not in repr((await account_row(runtime, account["id"]))._mapping)


async def test_two_profiles_with_the_same_name(runtime: Runtime, owner: Member) -> None:
    """LinkedIn members and Pages are named, not handled: a second profile of the same name
    gets the end of its id appended instead of failing."""
    workspace = uuid.UUID(owner.workspace_id)

    def found(external_id: str) -> ConnectedAccount:
        return ConnectedAccount(
            external_id=external_id,
            handle="Ada Lovelace",
            display_name="Ada Lovelace",
            credentials={"access_token": f"token-{external_id}"},
        )

    [first] = await save_connected_accounts(
        runtime,
        workspace_id=workspace,
        user_id=None,
        platform=Platform.LINKEDIN,
        found=[found("urn:li:person:aaaa1111")],
    )
    [second] = await save_connected_accounts(
        runtime,
        workspace_id=workspace,
        user_id=None,
        platform=Platform.LINKEDIN,
        found=[found("urn:li:person:bbbb2222")],
    )
    assert first.handle == "Ada Lovelace"
    assert second.handle == "Ada Lovelace (bbbb2222)"
    [again] = await save_connected_accounts(
        runtime,
        workspace_id=workspace,
        user_id=None,
        platform=Platform.LINKEDIN,
        found=[found("urn:li:person:bbbb2222")],
    )
    assert again.id == second.id
    assert again.handle == "Ada Lovelace (bbbb2222)"
