"""Saving an account a person just connected: one row per platform profile and workspace.

Reconnecting the same profile (same workspace, platform and `external_id`) updates the existing
row in place (same id, so its posts, deliveries and history stay attached) instead of adding a
second one, and makes it active again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.errors import Conflict
from postwright.domain.models import Account, AccountStatus, new_id
from postwright.store.rows import account_from_row
from postwright.store.tables import accounts

__all__ = ["SealCredentials", "find_connected_account", "upsert_connected_account"]

SealCredentials = Callable[[str | None], str]
"""Given the sealed credentials stored so far (None for a new account), the sealed credentials
to store: the caller opens, merges and seals; the store never sees plaintext."""

_live = accounts.c.deleted_at.is_(None)


async def find_connected_account(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, platform: str, external_id: str
) -> Account | None:
    row = (
        await conn.execute(
            select(accounts).where(
                accounts.c.workspace_id == workspace_id,
                accounts.c.platform == platform,
                accounts.c.external_id == external_id,
                _live,
            )
        )
    ).first()
    return account_from_row(row) if row else None


async def upsert_connected_account(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    platform: str,
    external_id: str,
    handle: str,
    display_name: str,
    options: dict[str, Any],
    seal: SealCredentials,
    token_expires_at: datetime | None,
    now: datetime,
) -> tuple[Account, bool]:
    """Create the account, or replace the credentials of the live one with this external id.

    Returns the account and whether it was created. `options` are merged over the existing
    ones; the account becomes active (unless a person paused it: that stays). A handle another
    account of the platform already has (two LinkedIn members or Pages of the same name) gets
    the end of the external id appended; Conflict if even that is taken.
    """
    existing = (
        await conn.execute(
            select(
                accounts.c.id,
                accounts.c.credentials,
                accounts.c.options,
                accounts.c.status,
                accounts.c.status_reason,
            )
            .where(
                accounts.c.workspace_id == workspace_id,
                accounts.c.platform == platform,
                accounts.c.external_id == external_id,
                _live,
            )
            .with_for_update()
        )
    ).first()
    for candidate in (handle, f"{handle} ({external_id.rsplit(':', 1)[-1][-8:]})"):
        taken = (
            await conn.execute(
                select(accounts.c.id).where(
                    accounts.c.workspace_id == workspace_id,
                    accounts.c.platform == platform,
                    accounts.c.handle == candidate,
                    _live,
                )
            )
        ).first()
        if taken is None or (existing is not None and taken.id == existing.id):
            handle = candidate
            break
    else:
        raise Conflict(
            f"another {platform} account named {handle!r} is connected in this workspace; "
            "remove it first"
        )
    if existing is None:
        values = dict(
            id=new_id(),
            workspace_id=workspace_id,
            platform=platform,
            handle=handle,
            display_name=display_name,
            external_id=external_id,
            status=AccountStatus.ACTIVE,
            status_reason=None,
            options=options,
            credentials=seal(None),
            token_expires_at=token_expires_at,
            created_at=now,
            updated_at=now,
        )
        try:
            row = await _insert(conn, values)
        except IntegrityError:
            # PostgreSQL: a concurrent connect of the same profile inserted it first (the
            # live-handle index); SQLite serializes writers, so it cannot happen there
            raise Conflict(
                f"this {platform} account was being connected by another request at the same "
                "moment; reload the accounts"
            ) from None
        return account_from_row(row), True
    # a person's pause outlives a reconnect; every other state was about the credentials
    paused = existing.status == AccountStatus.PAUSED
    row = (
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == existing.id)
            .values(
                handle=handle,
                display_name=display_name,
                options={**(existing.options or {}), **options},
                credentials=seal(existing.credentials),
                token_expires_at=token_expires_at,
                status=AccountStatus.PAUSED if paused else AccountStatus.ACTIVE,
                status_reason=existing.status_reason if paused else None,
                updated_at=now,
            )
            .returning(accounts)
        )
    ).one()
    return account_from_row(row), False


async def _insert(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return (await conn.execute(insert(accounts).values(**values).returning(accounts))).one()
