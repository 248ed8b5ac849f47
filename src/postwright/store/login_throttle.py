"""Failed-login counts, shared by every process through the database (see domain.login_throttle)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.login_throttle import Strikes
from postwright.store.tables import login_throttles

__all__ = ["clear", "delete_stale", "lock", "read", "save"]


def _strikes(row: Row[tuple[object, ...]]) -> Strikes:
    return Strikes(
        failures=row.failures,
        window_started_at=row.window_started_at,
        blocked_until=row.blocked_until,
    )


async def read(conn: AsyncConnection, *, keys: Sequence[str]) -> dict[str, Strikes]:
    rows = await conn.execute(select(login_throttles).where(login_throttles.c.key.in_(keys)))
    return {row.key: _strikes(row) for row in rows}


async def lock(conn: AsyncConnection, *, keys: Sequence[str], now: datetime) -> dict[str, Strikes]:
    """The keys' rows, created when missing and locked until the transaction ends.

    Two failed logins at once, in two processes, must both be counted: each one reads the
    count only after the other's write committed. Keys are taken in one order so that two
    requests locking the same pair cannot deadlock.
    """
    ordered = sorted(set(keys))
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for key in ordered:
        await conn.execute(
            insert(login_throttles)
            .values(key=key, failures=0, window_started_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    rows = await conn.execute(
        select(login_throttles)
        .where(login_throttles.c.key.in_(ordered))
        .order_by(login_throttles.c.key)
        .with_for_update()
    )
    return {row.key: _strikes(row) for row in rows}


async def save(conn: AsyncConnection, *, key: str, strikes: Strikes, now: datetime) -> None:
    await conn.execute(
        update(login_throttles)
        .where(login_throttles.c.key == key)
        .values(
            failures=strikes.failures,
            window_started_at=strikes.window_started_at,
            blocked_until=strikes.blocked_until,
            updated_at=now,
        )
    )


async def clear(conn: AsyncConnection, *, key: str) -> None:
    await conn.execute(delete(login_throttles).where(login_throttles.c.key == key))


async def delete_stale(conn: AsyncConnection, *, idle_before: datetime, now: datetime) -> int:
    """Forget keys with no failure since `idle_before` (their window is over) and no block
    still running at `now`: for the throttle, such a key is as good as none."""
    result = await conn.execute(
        delete(login_throttles).where(
            login_throttles.c.updated_at < idle_before,
            or_(
                login_throttles.c.blocked_until.is_(None),
                login_throttles.c.blocked_until <= now,
            ),
        )
    )
    return int(result.rowcount)
