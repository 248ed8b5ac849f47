"""Connected social accounts. Credentials are stored encrypted by the caller (auth/)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Account, new_id
from postwright.store.rows import account_from_row
from postwright.store.tables import accounts

__all__ = [
    "create_account",
    "find_live_account",
    "get_account",
    "get_accounts",
    "get_credentials",
    "list_accounts",
    "set_account_status",
    "soft_delete_account",
]

_live = accounts.c.deleted_at.is_(None)


async def create_account(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    platform: str,
    handle: str,
    display_name: str,
    status: str,
    options: dict[str, Any],
    credentials: str | None,
    external_id: str | None,
    token_expires_at: datetime | None,
    now: datetime,
) -> Account:
    row = (
        await conn.execute(
            insert(accounts)
            .values(
                id=new_id(),
                workspace_id=workspace_id,
                platform=platform,
                handle=handle,
                display_name=display_name,
                external_id=external_id,
                status=status,
                options=options,
                credentials=credentials,
                token_expires_at=token_expires_at,
                created_at=now,
                updated_at=now,
            )
            .returning(accounts)
        )
    ).one()
    return account_from_row(row)


async def get_account(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> Account | None:
    row = (
        await conn.execute(
            select(accounts).where(
                accounts.c.id == account_id, accounts.c.workspace_id == workspace_id, _live
            )
        )
    ).one_or_none()
    return account_from_row(row) if row else None


async def get_accounts(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, account_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    if not account_ids:
        return {}
    rows = (
        await conn.execute(
            select(accounts).where(
                accounts.c.id.in_(account_ids), accounts.c.workspace_id == workspace_id, _live
            )
        )
    ).all()
    return {r.id: account_from_row(r) for r in rows}


async def find_live_account(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, platform: str, handle: str
) -> Account | None:
    row = (
        await conn.execute(
            select(accounts).where(
                accounts.c.workspace_id == workspace_id,
                accounts.c.platform == platform,
                accounts.c.handle == handle,
                _live,
            )
        )
    ).one_or_none()
    return account_from_row(row) if row else None


async def list_accounts(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    platform: str | None = None,
    status: str | None = None,
) -> list[Account]:
    query = select(accounts).where(accounts.c.workspace_id == workspace_id, _live)
    if platform is not None:
        query = query.where(accounts.c.platform == platform)
    if status is not None:
        query = query.where(accounts.c.status == status)
    rows = (await conn.execute(query.order_by(accounts.c.platform, accounts.c.handle))).all()
    return [account_from_row(r) for r in rows]


async def set_account_status(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    account_id: uuid.UUID,
    status: str,
    reason: str | None,
    now: datetime,
) -> Account | None:
    row = (
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.workspace_id == workspace_id, _live)
            .values(status=status, status_reason=reason, updated_at=now)
            .returning(accounts)
        )
    ).one_or_none()
    return account_from_row(row) if row else None


async def soft_delete_account(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> bool:
    """Forget the credentials and hide the account; published history keeps pointing at it."""
    result = await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.workspace_id == workspace_id, _live)
        .values(deleted_at=now, updated_at=now, credentials=None)
    )
    return result.rowcount > 0


async def get_credentials(conn: AsyncConnection, *, account_id: uuid.UUID) -> str | None:
    """The encrypted credentials blob of an account (engine use; not tenant-scoped)."""
    row = (
        await conn.execute(select(accounts.c.credentials).where(accounts.c.id == account_id))
    ).one_or_none()
    return row.credentials if row else None
