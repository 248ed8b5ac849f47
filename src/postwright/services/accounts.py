"""Accounts: create (sandbox for now; real platforms connect through OAuth), list, pause, delete."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.principal import Principal
from postwright.domain.errors import Conflict, InvalidInput, NotFound
from postwright.domain.models import Account, AccountStatus
from postwright.domain.platforms import Platform
from postwright.domain.roles import Action
from postwright.domain.states import DeliveryState, PostStatus
from postwright.runtime import Runtime
from postwright.store import accounts, audit, delivery_queue
from postwright.store import posts as post_store

__all__ = [
    "AccountCreate",
    "create_account",
    "delete_account",
    "get_account",
    "list_accounts",
    "pause_account",
    "resume_account",
]

_HANDLE = re.compile(r"^[A-Za-z0-9_.@:\-]{1,100}$")
# Posts in these states have nothing left that removing an account could cancel.
_FINISHED = frozenset({PostStatus.PUBLISHED, PostStatus.CANCELLED})
_PAGE = 500


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="`sandbox` here; real platforms use the connect flows.")
    handle: str = Field(max_length=300)
    display_name: str | None = Field(default=None, max_length=300)
    options: dict[str, Any] = Field(default_factory=dict)


def _sandbox_options(options: dict[str, Any]) -> dict[str, Any]:
    allowed = {"emulator_url", "idempotency", "posting_rules", "max_characters"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInput.one(
            f"options.{unknown[0]}",
            "unknown",
            f"unknown option {unknown[0]!r}; sandbox accounts take {sorted(allowed)}",
        )
    url = options.get("emulator_url")
    if url is not None and (
        not isinstance(url, str) or not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", url)
    ):
        raise InvalidInput.one(
            "options.emulator_url", "invalid", "emulator_url must be an http(s) URL"
        )
    idempotency = options.get("idempotency", True)
    if not isinstance(idempotency, bool):
        raise InvalidInput.one("options.idempotency", "invalid", "idempotency must be a boolean")
    return {**options, "idempotency": idempotency}


async def create_account(rt: Runtime, principal: Principal, body: AccountCreate) -> Account:
    principal.require(Action.MANAGE)
    try:
        platform = Platform(body.platform)
    except ValueError:
        raise InvalidInput.one(
            "platform", "invalid", f"unknown platform {body.platform!r}"
        ) from None
    if platform is not Platform.SANDBOX:
        raise InvalidInput.one(
            "platform",
            "connect_required",
            f"{platform.value} accounts are connected through "
            f"POST /api/v1/accounts/connect/{platform.value}",
        )
    handle = body.handle.strip()
    if not _HANDLE.match(handle):
        raise InvalidInput.one(
            "handle", "invalid", "a handle is 1-100 letters, digits or _ . @ : -"
        )
    options = _sandbox_options(body.options)
    # The sandbox needs a bearer token like any platform; it is sealed like real credentials.
    credentials = rt.secretbox.seal({"access_token": "sbx_" + secrets.token_urlsafe(24)})
    now = rt.now()
    async with rt.db.write() as conn:
        if await accounts.find_live_account(
            conn, workspace_id=principal.workspace_id, platform=platform.value, handle=handle
        ):
            raise Conflict(f"a {platform.value} account {handle!r} is already connected")
        account = await accounts.create_account(
            conn,
            workspace_id=principal.workspace_id,
            platform=platform.value,
            handle=handle,
            display_name=body.display_name or handle,
            status=AccountStatus.ACTIVE,
            options=options,
            credentials=credentials,
            external_id=handle,
            token_expires_at=None,
            now=now,
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="account.created",
            target_type="account",
            target_id=account.id,
            details={"platform": platform.value, "handle": handle},
            now=now,
        )
    return account


async def list_accounts(
    rt: Runtime, principal: Principal, *, platform: str | None, status: str | None
) -> list[Account]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await accounts.list_accounts(
            conn, workspace_id=principal.workspace_id, platform=platform, status=status
        )


async def get_account(rt: Runtime, principal: Principal, account_id: uuid.UUID) -> Account:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        account = await accounts.get_account(
            conn, workspace_id=principal.workspace_id, account_id=account_id
        )
    if account is None:
        raise NotFound("no such account")
    return account


async def delete_account(rt: Runtime, principal: Principal, account_id: uuid.UUID) -> int:
    """Disconnect the account; its deliveries not yet on their way are cancelled.

    Returns how many deliveries were cancelled. A delivery that is publishing right now blocks
    the deletion (409), so no post can go out through an account after it was removed.
    """
    principal.require(Action.MANAGE)
    now = rt.now()
    async with rt.db.write() as conn:
        account = await accounts.get_account(
            conn, workspace_id=principal.workspace_id, account_id=account_id
        )
        if account is None:
            raise NotFound("no such account")
        busy = await delivery_queue.count_account_deliveries(
            conn,
            account_id=account_id,
            states=[DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN],
        )
        if busy:
            raise Conflict(
                "a post is being published through this account right now; try again in a moment"
            )
        waiting = await _unfinished_posts(conn, principal.workspace_id, account_id)
        cancelled = await delivery_queue.cancel_account_deliveries(
            conn, account_id=account_id, reason="the account was removed", now=now
        )
        # a post's status is derived from its deliveries: recompute it for every post that
        # just lost one (a post that only went to this account is now cancelled)
        for post_id in waiting:
            await post_store.refresh_post_status(conn, post_id=post_id, now=now)
        await accounts.soft_delete_account(
            conn, workspace_id=principal.workspace_id, account_id=account_id, now=now
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="account.deleted",
            target_type="account",
            target_id=account_id,
            details={"cancelled_deliveries": cancelled},
            now=now,
        )
    return cancelled


async def _unfinished_posts(
    conn: AsyncConnection, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> list[uuid.UUID]:
    """The posts to `account_id` that may still have deliveries to cancel."""
    found: list[uuid.UUID] = []
    offset = 0
    while True:
        page, total = await post_store.list_posts(
            conn,
            workspace_id=workspace_id,
            filters=post_store.PostFilter(account_id=account_id),
            sort="created_at",
            descending=False,
            limit=_PAGE,
            offset=offset,
        )
        found.extend(p.id for p in page if p.status not in _FINISHED)
        offset += len(page)
        if not page or offset >= total:
            return found


async def _set_paused(
    rt: Runtime, principal: Principal, account_id: uuid.UUID, *, paused: bool
) -> Account:
    principal.require(Action.MANAGE)
    now = rt.now()
    async with rt.db.write() as conn:
        account = await accounts.get_account(
            conn, workspace_id=principal.workspace_id, account_id=account_id
        )
        if account is None:
            raise NotFound("no such account")
        if paused:
            status, reason = AccountStatus.PAUSED, "paused by a person"
        elif account.status == AccountStatus.PAUSED:
            status, reason = AccountStatus.ACTIVE, None
        else:
            return account  # resuming an account that is not paused changes nothing
        updated = await accounts.set_account_status(
            conn,
            workspace_id=principal.workspace_id,
            account_id=account_id,
            status=status,
            reason=reason,
            now=now,
        )
        if paused:
            # what a worker already claimed for this account must not go out after the pause
            await delivery_queue.unclaim(conn, now=now, account_id=account_id)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="account.paused" if paused else "account.resumed",
            target_type="account",
            target_id=account_id,
            now=now,
        )
        await rt.wakeup.notify_in(conn)
    rt.wakeup.poke()
    assert updated is not None
    return updated


async def pause_account(rt: Runtime, principal: Principal, account_id: uuid.UUID) -> Account:
    return await _set_paused(rt, principal, account_id, paused=True)


async def resume_account(rt: Runtime, principal: Principal, account_id: uuid.UUID) -> Account:
    return await _set_paused(rt, principal, account_id, paused=False)
