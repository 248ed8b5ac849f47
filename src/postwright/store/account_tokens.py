"""Account tokens and health: what the refresher and the health check read and write.

`lock_account` is the per-account refresh lock: on PostgreSQL a row lock (`SELECT ... FOR
UPDATE`) held until the transaction ends; on SQLite the write transaction itself (BEGIN
IMMEDIATE) already excludes every other writer, so the same statement needs no lock clause.
Whoever holds it reads the credentials as they are now, which is what makes a second worker
see the first one's refresh instead of spending the same refresh token again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import AccountStatus
from postwright.domain.states import DeliveryState
from postwright.store import audit
from postwright.store.tables import accounts, deliveries

__all__ = [
    "TokenRow",
    "accounts_with_expiring_tokens",
    "hold_account_deliveries",
    "hold_text",
    "lock_account",
    "mark_health",
    "release_account_deliveries",
    "show_account_hold",
    "store_credentials",
    "token_health_candidates",
]

_live = accounts.c.deleted_at.is_(None)
_WAITING = (DeliveryState.SCHEDULED.value, DeliveryState.RETRY_WAIT.value)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An account as the token lifecycle sees it; `credentials` stays sealed."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    platform: str
    handle: str
    status: str
    status_reason: str | None
    options: dict[str, Any]
    credentials: str | None
    token_expires_at: datetime | None


_COLUMNS = (
    accounts.c.id,
    accounts.c.workspace_id,
    accounts.c.platform,
    accounts.c.handle,
    accounts.c.status,
    accounts.c.status_reason,
    accounts.c.options,
    accounts.c.credentials,
    accounts.c.token_expires_at,
)


def _token_row(row: Any) -> TokenRow:
    m = row._mapping
    return TokenRow(
        id=m["id"],
        workspace_id=m["workspace_id"],
        platform=m["platform"],
        handle=m["handle"],
        status=m["status"],
        status_reason=m["status_reason"],
        options=dict(m["options"] or {}),
        credentials=m["credentials"],
        token_expires_at=m["token_expires_at"],
    )


async def accounts_with_expiring_tokens(
    conn: AsyncConnection,
    *,
    before: datetime,
    statuses: Collection[str],
    limit: int,
    after_id: uuid.UUID | None = None,
) -> list[TokenRow]:
    """Live accounts in `statuses` whose token expires before `before`, soonest first."""
    query = select(*_COLUMNS).where(
        _live,
        accounts.c.status.in_(list(statuses)),
        accounts.c.token_expires_at.is_not(None),
        accounts.c.token_expires_at < before,
    )
    if after_id is not None:
        query = query.where(accounts.c.id > after_id)
    rows = (await conn.execute(query.order_by(accounts.c.id).limit(limit))).all()
    return [_token_row(r) for r in rows]


async def token_health_candidates(
    conn: AsyncConnection,
    *,
    before: datetime,
    limit: int,
    after_id: uuid.UUID | None = None,
) -> list[TokenRow]:
    """Active or expiring live accounts whose token expires before `before`, and every
    `expiring` one (whose warning may no longer apply), by id."""
    query = select(*_COLUMNS).where(
        _live,
        or_(
            and_(
                accounts.c.status == AccountStatus.ACTIVE,
                accounts.c.token_expires_at.is_not(None),
                accounts.c.token_expires_at < before,
            ),
            accounts.c.status == AccountStatus.EXPIRING,
        ),
    )
    if after_id is not None:
        query = query.where(accounts.c.id > after_id)
    rows = (await conn.execute(query.order_by(accounts.c.id).limit(limit))).all()
    return [_token_row(r) for r in rows]


async def lock_account(conn: AsyncConnection, *, account_id: uuid.UUID) -> TokenRow | None:
    """The live account, locked for this transaction (see the module docstring)."""
    query = select(*_COLUMNS).where(accounts.c.id == account_id, _live)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=accounts)
    row = (await conn.execute(query)).one_or_none()
    return _token_row(row) if row else None


async def store_credentials(
    conn: AsyncConnection,
    *,
    account_id: uuid.UUID,
    credentials: str,
    token_expires_at: datetime | None,
    now: datetime,
    status: str | None = None,
    status_reason: str | None = None,
) -> None:
    """Save refreshed (sealed) credentials; `status`, when given, replaces the account's."""
    values: dict[str, Any] = {
        "credentials": credentials,
        "token_expires_at": token_expires_at,
        "updated_at": now,
    }
    if status is not None:
        values["status"] = status
        values["status_reason"] = status_reason
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(values))


async def hold_account_deliveries(
    conn: AsyncConnection, *, account_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """Show `reason` on the account's waiting deliveries (the claim already skips them)."""
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.account_id == account_id, deliveries.c.state.in_(_WAITING))
        .values(hold_reason=reason, updated_at=now)
    )
    return result.rowcount


async def release_account_deliveries(
    conn: AsyncConnection, *, account_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """Clear `reason` from the account's waiting deliveries where it is still the one shown."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.account_id == account_id,
            deliveries.c.state.in_(_WAITING),
            deliveries.c.hold_reason == reason,
        )
        .values(hold_reason=None, updated_at=now)
    )
    return result.rowcount


_HOLDS = {
    AccountStatus.NEEDS_RECONNECT: "the {platform} account {handle} needs reconnecting",
    AccountStatus.SUSPENDED: "{platform} suspended the account {handle}",
    AccountStatus.RESTRICTED: "{platform} restricted the account {handle}",
}


def hold_text(*, status: str, platform: str, handle: str, reason: str | None) -> str | None:
    """What a delivery held by the account's `status` shows (None: the status holds nothing)."""
    template = _HOLDS.get(status)
    if template is None:
        return None
    text = template.format(platform=platform, handle=handle)
    return f"{text}: {reason}" if reason else text


async def mark_health(
    conn: AsyncConnection, *, account: TokenRow, status: str, reason: str | None, now: datetime
) -> bool:
    """Set the account's health; its waiting deliveries show why; the change is audited.

    Returns False when nothing changed. A person's pause is never overridden.
    """
    if account.status == AccountStatus.PAUSED:
        return False
    if (account.status, account.status_reason) == (status, reason):
        await show_account_hold(conn, account=account, now=now)
        return False
    result = await conn.execute(
        update(accounts)
        .where(accounts.c.id == account.id, _live, accounts.c.status == account.status)
        .values(status=status, status_reason=reason, updated_at=now)
    )
    if result.rowcount == 0:
        return False
    before = hold_text(
        status=account.status,
        platform=account.platform,
        handle=account.handle,
        reason=account.status_reason,
    )
    if before is not None:
        await release_account_deliveries(conn, account_id=account.id, reason=before, now=now)
    await show_account_hold(
        conn, account=replace(account, status=status, status_reason=reason), now=now
    )
    await audit.record(
        conn,
        workspace_id=account.workspace_id,
        actor_id=None,
        action="account.health_changed",
        target_type="account",
        target_id=account.id,
        details={"from": account.status, "to": status, "reason": reason},
        now=now,
    )
    return True


async def show_account_hold(conn: AsyncConnection, *, account: TokenRow, now: datetime) -> int:
    """Show why the account holds its waiting deliveries, if its status holds them."""
    text = hold_text(
        status=account.status,
        platform=account.platform,
        handle=account.handle,
        reason=account.status_reason,
    )
    if text is None:
        return 0
    return await hold_account_deliveries(conn, account_id=account.id, reason=text, now=now)
