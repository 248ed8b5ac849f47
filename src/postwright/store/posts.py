"""Posts and their deliveries as the API sees them (the engine's queries: `delivery_queue.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import AccountStatus, Delivery, Post
from postwright.domain.states import DeliveryState, PostStatus, post_status_from
from postwright.store.rows import delivery_from_row, post_from_row
from postwright.store.tables import accounts, deliveries, posts

__all__ = [
    "CalendarRow",
    "DeliveryRow",
    "PostFilter",
    "count_scheduled_between",
    "delete_deliveries",
    "delete_post",
    "get_delivery_row",
    "get_post",
    "insert_deliveries",
    "insert_post",
    "list_calendar",
    "list_deliveries",
    "list_delivery_rows",
    "list_posts",
    "lock_deliveries",
    "lock_delivery",
    "lock_recurrence_skips",
    "refresh_post_status",
    "refresh_post_statuses",
    "set_recurrence_skips",
    "transition_deliveries",
    "transition_delivery",
    "update_delivery",
    "update_post",
]


@dataclass(frozen=True, slots=True)
class PostFilter:
    status: str | None = None
    platform: str | None = None
    account_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    search: str | None = None


_SORTS = {
    "scheduled_at": posts.c.scheduled_at,
    "created_at": posts.c.created_at,
    "updated_at": posts.c.updated_at,
    "priority": posts.c.priority,
}


async def insert_post(conn: AsyncConnection, *, values: dict[str, Any]) -> Post:
    row = (await conn.execute(insert(posts).values(**values).returning(posts))).one()
    return post_from_row(row)


async def insert_deliveries(conn: AsyncConnection, *, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(deliveries), list(rows))


async def get_post(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> Post | None:
    row = (
        await conn.execute(
            select(posts).where(posts.c.id == post_id, posts.c.workspace_id == workspace_id)
        )
    ).one_or_none()
    return post_from_row(row) if row else None


async def lock_deliveries(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> list[Delivery]:
    """Read a post's deliveries and hold their row locks until the transaction ends.

    Edits and cancels take these locks, and so does the engine's move to `publishing`, so the two
    are serialised: a delivery is either published with the new text or not published at all.
    (SQLite needs no row locks: its write transactions already exclude one another.)
    """
    rows = (
        await conn.execute(
            select(deliveries)
            .where(deliveries.c.post_id == post_id, deliveries.c.workspace_id == workspace_id)
            .order_by(deliveries.c.occurrence_at, deliveries.c.id)
            .with_for_update()
        )
    ).all()
    return [delivery_from_row(r) for r in rows]


async def list_deliveries(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Delivery]]:
    result: dict[uuid.UUID, list[Delivery]] = {pid: [] for pid in post_ids}
    if not post_ids:
        return result
    rows = (
        await conn.execute(
            select(deliveries)
            .where(deliveries.c.post_id.in_(list(post_ids)))
            .where(deliveries.c.workspace_id == workspace_id)
            .order_by(deliveries.c.occurrence_at, deliveries.c.created_at, deliveries.c.id)
        )
    ).all()
    for r in rows:
        result[r.post_id].append(delivery_from_row(r))
    return result


async def list_posts(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    filters: PostFilter,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[Post], int]:
    conditions = [posts.c.workspace_id == workspace_id, posts.c.archived_at.is_(None)]
    if filters.status is not None:
        conditions.append(posts.c.status == filters.status)
    if filters.campaign_id is not None:
        conditions.append(posts.c.campaign_id == filters.campaign_id)
    if filters.scheduled_from is not None:
        conditions.append(posts.c.scheduled_at >= filters.scheduled_from)
    if filters.scheduled_to is not None:
        conditions.append(posts.c.scheduled_at < filters.scheduled_to)
    if filters.search:
        # what people type is text, not a pattern: `50%` and `a_b` are matched literally
        conditions.append(
            func.lower(posts.c.text).contains(filters.search.lower(), autoescape=True)
        )
    if filters.platform is not None or filters.account_id is not None:
        target = [deliveries.c.post_id == posts.c.id]
        if filters.platform is not None:
            target.append(deliveries.c.platform == filters.platform)
        if filters.account_id is not None:
            target.append(deliveries.c.account_id == filters.account_id)
        conditions.append(select(deliveries.c.id).where(*target).exists())
    where = and_(*conditions)
    column = _SORTS[sort]
    order = [column.desc() if descending else column.asc(), posts.c.id]
    if sort == "scheduled_at":
        # drafts without a time go last in both directions
        order.insert(0, posts.c.scheduled_at.is_(None))
    rows = (
        await conn.execute(select(posts).where(where).order_by(*order).limit(limit).offset(offset))
    ).all()
    total = (await conn.execute(select(func.count()).select_from(posts).where(where))).scalar_one()
    return [post_from_row(r) for r in rows], int(total)


async def update_post(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_id: uuid.UUID, values: dict[str, Any]
) -> Post:
    row = (
        await conn.execute(
            update(posts)
            .where(posts.c.id == post_id, posts.c.workspace_id == workspace_id)
            .values(**values)
            .returning(posts)
        )
    ).one()
    return post_from_row(row)


async def update_delivery(
    conn: AsyncConnection, *, delivery_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


async def delete_deliveries(conn: AsyncConnection, *, delivery_ids: Collection[uuid.UUID]) -> None:
    if delivery_ids:
        await conn.execute(delete(deliveries).where(deliveries.c.id.in_(list(delivery_ids))))


async def delete_post(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> bool:
    result = await conn.execute(
        delete(posts).where(posts.c.id == post_id, posts.c.workspace_id == workspace_id)
    )
    return result.rowcount > 0


async def transition_deliveries(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    post_id: uuid.UUID,
    from_states: Collection[DeliveryState],
    values: dict[str, Any],
    delivery_ids: Collection[uuid.UUID] | None = None,
) -> int:
    """Move every delivery of a post that is in one of `from_states`; returns how many moved."""
    query = update(deliveries).where(
        deliveries.c.post_id == post_id,
        deliveries.c.workspace_id == workspace_id,
        deliveries.c.state.in_([s.value for s in from_states]),
    )
    if delivery_ids is not None:
        query = query.where(deliveries.c.id.in_(list(delivery_ids)))
    result = await conn.execute(query.values(**values))
    return int(result.rowcount)


async def refresh_post_status(
    conn: AsyncConnection, *, post_id: uuid.UUID, now: datetime
) -> PostStatus:
    """Recompute the post's status from its deliveries and store it."""
    states = (
        await conn.execute(
            select(deliveries.c.state).where(deliveries.c.post_id == post_id).distinct()
        )
    ).scalars()
    status = post_status_from([DeliveryState(s) for s in states])
    await conn.execute(
        update(posts)
        .where(posts.c.id == post_id, posts.c.status != status.value)
        .values(status=status.value, updated_at=now)
    )
    return status


@dataclass(frozen=True, slots=True)
class CalendarRow:
    delivery: Delivery
    post_text: str
    post_status: str
    campaign_id: uuid.UUID | None
    handle: str


async def list_calendar(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    start: datetime,
    end: datetime,
    account_id: uuid.UUID | None,
    platform: str | None,
    campaign_id: uuid.UUID | None,
    states: Collection[str] | None,
) -> list[CalendarRow]:
    """Deliveries whose time (published, else scheduled) falls in [start, end)."""
    when = func.coalesce(deliveries.c.published_at, deliveries.c.scheduled_at)
    conditions = [
        deliveries.c.workspace_id == workspace_id,
        or_(
            and_(deliveries.c.published_at >= start, deliveries.c.published_at < end),
            and_(
                deliveries.c.published_at.is_(None),
                deliveries.c.scheduled_at >= start,
                deliveries.c.scheduled_at < end,
            ),
        ),
    ]
    if account_id is not None:
        conditions.append(deliveries.c.account_id == account_id)
    if platform is not None:
        conditions.append(deliveries.c.platform == platform)
    if campaign_id is not None:
        conditions.append(posts.c.campaign_id == campaign_id)
    if states:
        conditions.append(deliveries.c.state.in_(list(states)))
    rows = (
        await conn.execute(
            select(
                deliveries,
                posts.c.text.label("post_text"),
                posts.c.status.label("post_status"),
                posts.c.campaign_id.label("post_campaign_id"),
                accounts.c.handle.label("account_handle"),
            )
            .select_from(
                deliveries.join(posts, posts.c.id == deliveries.c.post_id).join(
                    accounts, accounts.c.id == deliveries.c.account_id
                )
            )
            .where(*conditions)
            .order_by(when, deliveries.c.id)
            .limit(5000)
        )
    ).all()
    return [
        CalendarRow(
            delivery=delivery_from_row(r),
            post_text=r.post_text,
            post_status=r.post_status,
            campaign_id=r.post_campaign_id,
            handle=r.account_handle,
        )
        for r in rows
    ]


async def count_scheduled_between(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude_post: uuid.UUID | None,
) -> int:
    """Posts scheduled (not drafts, not cancelled) with their time in [start, end)."""
    conditions = [
        posts.c.workspace_id == workspace_id,
        posts.c.scheduled_at >= start,
        posts.c.scheduled_at < end,
        posts.c.status.not_in([PostStatus.DRAFT.value, PostStatus.CANCELLED.value]),
    ]
    if exclude_post is not None:
        conditions.append(posts.c.id != exclude_post)
    return int(
        (
            await conn.execute(select(func.count()).select_from(posts).where(*conditions))
        ).scalar_one()
    )


# -- one delivery at a time (the "needs attention" actions) -------------------------------

# what a delivery waits on when it is due but its account cannot publish
_PUBLISHABLE_ACCOUNT = sorted(AccountStatus.PUBLISHABLE)
_WAITING = [DeliveryState.SCHEDULED.value, DeliveryState.RETRY_WAIT.value]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery with what a person needs to recognise it: the post's text and the account."""

    delivery: Delivery
    post_text: str  # at most the first `_EXCERPT` characters of the post's own text
    post_recurring: bool
    account_handle: str
    account_status: str
    account_status_reason: str | None
    account_deleted: bool


_EXCERPT = 500


def _held() -> Any:
    """Waiting to be sent but held: by a rule, a rate limit or an account that cannot publish."""
    return and_(
        deliveries.c.state.in_(_WAITING),
        or_(
            deliveries.c.hold_reason.is_not(None),
            accounts.c.status.not_in(_PUBLISHABLE_ACCOUNT),
            accounts.c.deleted_at.is_not(None),
        ),
    )


def _delivery_rows_query() -> Any:
    return select(
        deliveries,
        func.substr(posts.c.text, 1, _EXCERPT).label("post_text_excerpt"),
        posts.c.recurrence.label("post_recurrence"),
        accounts.c.handle.label("account_handle"),
        accounts.c.status.label("account_status"),
        accounts.c.status_reason.label("account_status_reason"),
        accounts.c.deleted_at.label("account_deleted_at"),
    ).select_from(
        deliveries.join(posts, posts.c.id == deliveries.c.post_id).join(
            accounts, accounts.c.id == deliveries.c.account_id
        )
    )


def _delivery_row(r: Any) -> DeliveryRow:
    return DeliveryRow(
        delivery=delivery_from_row(r),
        post_text=r.post_text_excerpt or "",
        post_recurring=r.post_recurrence is not None,
        account_handle=r.account_handle,
        account_status=r.account_status,
        account_status_reason=r.account_status_reason,
        account_deleted=r.account_deleted_at is not None,
    )


async def list_delivery_rows(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    states: Collection[DeliveryState],
    held: bool | None,
    account_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[DeliveryRow], int]:
    """Deliveries in any of `states` or (with `held=True`) held; all of them when neither is
    given. `held=False` leaves the held ones out. Most recently changed first."""
    conditions: list[Any] = [
        deliveries.c.workspace_id == workspace_id,
        posts.c.archived_at.is_(None),
    ]
    selectors: list[Any] = []
    if states:
        selectors.append(deliveries.c.state.in_([s.value for s in states]))
    if held is True:
        selectors.append(_held())
    if selectors:
        conditions.append(or_(*selectors))
    if held is False:
        conditions.append(~_held())
    if account_id is not None:
        conditions.append(deliveries.c.account_id == account_id)
    where = and_(*conditions)
    rows = (
        await conn.execute(
            _delivery_rows_query()
            .where(where)
            .order_by(deliveries.c.updated_at.desc(), deliveries.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    total = (
        await conn.execute(
            select(func.count())
            .select_from(
                deliveries.join(posts, posts.c.id == deliveries.c.post_id).join(
                    accounts, accounts.c.id == deliveries.c.account_id
                )
            )
            .where(where)
        )
    ).scalar_one()
    return [_delivery_row(r) for r in rows], int(total)


async def get_delivery_row(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRow | None:
    row = (
        await conn.execute(
            _delivery_rows_query().where(
                deliveries.c.id == delivery_id, deliveries.c.workspace_id == workspace_id
            )
        )
    ).one_or_none()
    return _delivery_row(row) if row else None


async def lock_delivery(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery | None:
    """Read one delivery and hold its row lock until the transaction ends (see
    `lock_deliveries`): the engine's move to `publishing` waits for it, or it waits for that."""
    row = (
        await conn.execute(
            select(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.workspace_id == workspace_id)
            .with_for_update()
        )
    ).one_or_none()
    return delivery_from_row(row) if row else None


async def transition_delivery(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    delivery_id: uuid.UUID,
    from_states: Collection[DeliveryState],
    values: dict[str, Any],
) -> Delivery | None:
    """Change one delivery if it is in one of `from_states`; None (nothing changed) otherwise."""
    row = (
        await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.workspace_id == workspace_id,
                deliveries.c.state.in_([s.value for s in from_states]),
            )
            .values(**values)
            .returning(deliveries)
        )
    ).one_or_none()
    return delivery_from_row(row) if row else None


async def lock_recurrence_skips(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> list[datetime] | None:
    """The occurrences skipped alone, with the post's row locked; None if there is no such post.

    Take the post's delivery locks first (`lock_deliveries`), as post edits do, so that the two
    always lock in the same order.
    """
    value = (
        await conn.execute(
            select(posts.c.recurrence_skips)
            .where(posts.c.id == post_id, posts.c.workspace_id == workspace_id)
            .with_for_update()
        )
    ).one_or_none()
    if value is None:
        return None
    return [datetime.fromisoformat(str(v)) for v in (value[0] or [])]


async def set_recurrence_skips(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    post_id: uuid.UUID,
    skips: Sequence[datetime],
    now: datetime,
) -> None:
    """Store the skipped occurrences as RFC 3339 UTC instants, in order."""
    await conn.execute(
        update(posts)
        .where(posts.c.id == post_id, posts.c.workspace_id == workspace_id)
        .values(
            recurrence_skips=[s.astimezone(UTC).isoformat() for s in sorted(set(skips))],
            updated_at=now,
        )
    )


async def refresh_post_statuses(
    conn: AsyncConnection, *, post_ids: Collection[uuid.UUID], now: datetime
) -> None:
    """`refresh_post_status` for many posts in three statements."""
    if not post_ids:
        return
    states: dict[uuid.UUID, list[DeliveryState]] = {p: [] for p in post_ids}
    for row in (
        await conn.execute(
            select(deliveries.c.post_id, deliveries.c.state)
            .where(deliveries.c.post_id.in_(list(post_ids)))
            .group_by(deliveries.c.post_id, deliveries.c.state)
        )
    ).all():
        states[row.post_id].append(DeliveryState(row.state))
    current = {
        r.id: r.status
        for r in (
            await conn.execute(
                select(posts.c.id, posts.c.status).where(posts.c.id.in_(list(post_ids)))
            )
        ).all()
    }
    changed = [
        {"b_id": post_id, "b_status": status.value}
        for post_id, found in states.items()
        if post_id in current and (status := post_status_from(found)).value != current[post_id]
    ]
    if changed:
        await conn.execute(
            update(posts)
            .where(posts.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), updated_at=now),
            changed,
        )
