"""Recurring series: the posts whose next occurrences must be turned into deliveries, and
archiving finished posts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Delivery, Post
from postwright.domain.states import DeliveryState
from postwright.store.rows import delivery_from_row, post_from_row
from postwright.store.tables import deliveries, posts

__all__ = ["archive_finished", "insert_occurrences", "series_to_extend"]

_FINAL = [
    DeliveryState.PUBLISHED.value,
    DeliveryState.FAILED.value,
    DeliveryState.CANCELLED.value,
]


async def series_to_extend(
    conn: AsyncConnection, *, horizon: datetime, limit: int
) -> list[tuple[Post, list[Delivery]]]:
    """Recurring posts whose deliveries stop before `horizon`, with their latest deliveries."""
    rows = (
        await conn.execute(
            select(posts)
            .where(
                posts.c.recurrence.is_not(None),
                posts.c.archived_at.is_(None),
                posts.c.materialized_until.is_not(None),
                posts.c.materialized_until < horizon,
                posts.c.status.not_in(["draft", "cancelled"]),
            )
            .order_by(posts.c.materialized_until)
            .limit(limit)
        )
    ).all()
    result = []
    for row in rows:
        post = post_from_row(row)
        latest = (
            await conn.execute(
                select(deliveries)
                .where(
                    deliveries.c.post_id == post.id,
                    deliveries.c.occurrence_at == row.materialized_until,
                )
                .order_by(deliveries.c.id)
            )
        ).all()
        result.append((post, [delivery_from_row(d) for d in latest]))
    return result


async def insert_occurrences(
    conn: AsyncConnection,
    *,
    post_id: uuid.UUID,
    rows: Sequence[dict[str, Any]],
    materialized_until: datetime,
) -> int:
    """Insert occurrence deliveries, ignoring any that exist already (another worker, a rerun)."""
    inserted = 0
    if rows:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = insert(deliveries).on_conflict_do_nothing(
            index_elements=["post_id", "account_id", "occurrence_at"]
        )
        for row in rows:
            result = await conn.execute(statement.values(**row))
            inserted += int(result.rowcount)
    await conn.execute(
        update(posts).where(posts.c.id == post_id).values(materialized_until=materialized_until)
    )
    return inserted


async def archive_finished(conn: AsyncConnection, *, before: datetime, now: datetime) -> int:
    """Hide posts whose every delivery is final and that have not changed since `before`."""
    unfinished = exists().where(
        and_(deliveries.c.post_id == posts.c.id, deliveries.c.state.not_in(_FINAL))
    )
    result = await conn.execute(
        update(posts)
        .where(
            posts.c.archived_at.is_(None),
            posts.c.recurrence.is_(None),
            posts.c.updated_at < before,
            posts.c.status.not_in(["draft", "pending_approval"]),
            ~unfinished,
        )
        .values(archived_at=now)
    )
    return int(result.rowcount)
