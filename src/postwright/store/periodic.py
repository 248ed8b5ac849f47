"""Periodic jobs' bookkeeping: each job runs on one worker at a time, under a lease."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.store.tables import periodic_jobs

__all__ = ["claim_job", "ensure_jobs", "finish_job", "list_jobs"]


async def ensure_jobs(
    conn: AsyncConnection, *, intervals: Mapping[str, float], now: datetime
) -> None:
    existing = {
        r.name: r.interval_s
        for r in (await conn.execute(select(periodic_jobs.c.name, periodic_jobs.c.interval_s)))
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for name, interval in intervals.items():
        if name not in existing:
            # workers starting together may both find the job missing: the first insert wins
            await conn.execute(
                insert(periodic_jobs)
                .values(name=name, interval_s=interval, next_run_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )
        elif existing[name] != interval:
            await conn.execute(
                update(periodic_jobs)
                .where(periodic_jobs.c.name == name)
                .values(interval_s=interval)
            )


async def claim_job(
    conn: AsyncConnection, *, name: str, owner: str, now: datetime, lease: timedelta
) -> bool:
    result = await conn.execute(
        update(periodic_jobs)
        .where(
            periodic_jobs.c.name == name,
            periodic_jobs.c.next_run_at <= now,
            or_(
                periodic_jobs.c.lease_expires_at.is_(None),
                periodic_jobs.c.lease_expires_at < now,
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + lease, last_started_at=now)
    )
    return result.rowcount > 0


async def finish_job(
    conn: AsyncConnection,
    *,
    name: str,
    owner: str,
    outcome: str,
    error: str | None,
    result: dict[str, Any] | None,
    next_run_at: datetime,
    now: datetime,
) -> None:
    await conn.execute(
        update(periodic_jobs)
        .where(periodic_jobs.c.name == name, periodic_jobs.c.lease_owner == owner)
        .values(
            lease_owner=None,
            lease_expires_at=None,
            last_finished_at=now,
            last_outcome=outcome,
            last_error=error,
            last_result=result,
            next_run_at=next_run_at,
        )
    )


async def list_jobs(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(periodic_jobs).order_by(periodic_jobs.c.name))).all()
    return [dict(r._mapping) for r in rows]
