"""The engine's queries: claims, leases, state changes and bookkeeping of deliveries.

Every state change is a conditional UPDATE guarded by the state it leaves (and, for a worker's own
deliveries, by its lease), so two actors can never both win: the loser's UPDATE matches no row.

    claim:      scheduled | retry_wait            -> claimed      (lease taken, batch)
    begin:      claimed (own lease)               -> publishing   (committed before the call)
    finish:     publishing (own lease)            -> published | retry_wait | uncertain | failed
                                                     | scheduled (held: deferral, auth needed)
    release:    claimed (own lease)               -> scheduled    (worker stopping)
    reap:       claimed (lease expired)           -> scheduled
                publishing (lease expired)        -> uncertain    (never silently retried)
    reconcile:  uncertain                         -> published | retry_wait | failed
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import AccountStatus, Attempt, Delivery, new_id
from postwright.domain.states import DeliveryState
from postwright.store.rows import attempt_from_row, delivery_from_row
from postwright.store.tables import (
    accounts,
    attempts,
    deliveries,
    engine_controls,
    media,
    posts,
    rate_buckets,
    workers,
    workspaces,
)

__all__ = [
    "AttemptRecord",
    "CatchUp",
    "Claimed",
    "DeadLetter",
    "PublishContext",
    "begin_publishing",
    "begin_publishing_many",
    "cancel_account_deliveries",
    "claim_due",
    "claim_uncertain",
    "count_account_deliveries",
    "count_live_workers",
    "dead_letters",
    "defer",
    "delivery_workspace",
    "finish",
    "finish_published_many",
    "get_bucket",
    "get_buckets",
    "get_catch_up",
    "get_controls",
    "heartbeat",
    "list_attempts",
    "next_due_at",
    "owned_external_ids",
    "prune_workers",
    "publish_context",
    "publish_history",
    "put_bucket",
    "queue_stats",
    "reap_expired_leases",
    "record_attempt",
    "record_attempts",
    "register_worker",
    "release_claims",
    "set_control",
    "skip_overdue",
    "unclaim",
    "unregister_worker",
]

_CLAIMABLE = (DeliveryState.SCHEDULED.value, DeliveryState.RETRY_WAIT.value)
# Written out as literals, the same words as the partial index `ix_deliveries_due`: a planner can
# only use a partial index when it can see the query implies its predicate, and with bound
# parameters it cannot (SQLite then scans every scheduled row of the workspace).
_CLAIMABLE_SQL = text("deliveries.state IN ('scheduled', 'retry_wait')")
_PUBLISHABLE = tuple(sorted(AccountStatus.PUBLISHABLE))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds, with what it needs to decide when and whether to send."""

    delivery: Delivery
    account_options: dict[str, Any]
    catch_up_policy: str
    catch_up_skip_after_min: int | None


@dataclass(frozen=True, slots=True)
class PublishContext:
    """Everything read in the `begin_publishing` transaction: the content as of that instant."""

    delivery: Delivery
    text: str
    media_rows: list[dict[str, Any]]
    account_handle: str
    account_external_id: str | None
    account_options: dict[str, Any]
    credentials: str | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: uuid.UUID
    workspace_id: uuid.UUID
    worker_id: str | None
    started_at: datetime
    finished_at: datetime
    outcome: str
    error_class: str | None
    http_status: int | None
    error: str | None
    latency_ms: float | None
    execution_time_ms: float | None


def _paused_platform_filter(paused_platforms: Collection[str]) -> Any:
    if not paused_platforms:
        return literal(True)
    return deliveries.c.platform.not_in(list(paused_platforms))


async def claim_due(
    conn: AsyncConnection,
    *,
    worker_id: str,
    now: datetime,
    horizon: datetime,
    limit: int,
    lease: timedelta,
    paused_platforms: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to `limit` deliveries due by `horizon`, most urgent first, skipping locked rows.

    Deliveries of paused workspaces, paused platforms and accounts that cannot publish (paused,
    needing reconnection, suspended) are left alone: they are held, not failed.
    """
    # Among what is due *now*, priority wins; a later-due urgent one must not jump ahead of an
    # earlier normal one still in the future, so order by (due now?, priority, due_at).
    due_now = deliveries.c.due_at <= now
    candidates = (
        select(deliveries.c.id)
        .join(accounts, accounts.c.id == deliveries.c.account_id)
        .join(workspaces, workspaces.c.id == deliveries.c.workspace_id)
        .where(
            _CLAIMABLE_SQL,
            deliveries.c.due_at <= horizon,
            accounts.c.status.in_(_PUBLISHABLE),
            accounts.c.deleted_at.is_(None),
            workspaces.c.paused == false(),
            _paused_platform_filter(paused_platforms),
        )
        .order_by(due_now.desc(), deliveries.c.priority, deliveries.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )
    rows = (
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(candidates.scalar_subquery()))
            .where(deliveries.c.state.in_(_CLAIMABLE))
            .values(
                state=DeliveryState.CLAIMED.value,
                lease_owner=worker_id,
                lease_expires_at=now + lease,
                updated_at=now,
            )
            .returning(deliveries)
        )
    ).all()
    if not rows:
        return []
    claimed = [delivery_from_row(r) for r in rows]
    extra = (
        await conn.execute(
            select(
                accounts.c.id,
                accounts.c.options,
                workspaces.c.catch_up_policy,
                workspaces.c.catch_up_skip_after_min,
            )
            .join(workspaces, workspaces.c.id == accounts.c.workspace_id)
            .where(accounts.c.id.in_({d.account_id for d in claimed}))
        )
    ).all()
    by_account = {r.id: r for r in extra}
    result = [
        Claimed(
            delivery=d,
            account_options=dict(by_account[d.account_id].options or {}),
            catch_up_policy=by_account[d.account_id].catch_up_policy,
            catch_up_skip_after_min=by_account[d.account_id].catch_up_skip_after_min,
        )
        for d in claimed
    ]
    result.sort(key=lambda c: (c.delivery.due_at or now, c.delivery.priority))
    return result


async def next_due_at(
    conn: AsyncConnection, *, paused_platforms: Collection[str] = ()
) -> datetime | None:
    """The earliest due time of anything this worker could claim, to know how long to sleep.

    Held deliveries (paused workspaces, accounts that cannot publish) are left out, like in
    `claim_due`; otherwise one held overdue delivery would keep the dispatcher from sleeping.
    """
    value = (
        await conn.execute(
            select(deliveries.c.due_at)
            .join(accounts, accounts.c.id == deliveries.c.account_id)
            .join(workspaces, workspaces.c.id == deliveries.c.workspace_id)
            .where(
                _CLAIMABLE_SQL,
                deliveries.c.due_at.is_not(None),
                accounts.c.status.in_(_PUBLISHABLE),
                accounts.c.deleted_at.is_(None),
                workspaces.c.paused == false(),
                _paused_platform_filter(paused_platforms),
            )
            .order_by(deliveries.c.due_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


async def begin_publishing(
    conn: AsyncConnection,
    *,
    delivery_id: uuid.UUID,
    worker_id: str,
    now: datetime,
    lease: timedelta,
) -> PublishContext | None:
    """claimed -> publishing, then read the content to send *in the same transaction*.

    Returns None when the delivery is no longer ours to send (cancelled, edited back to draft,
    rescheduled, deleted, or our lease was lost). Editing takes the same row lock, so the text
    read here is the text as of the moment publishing began.
    """
    row = (
        await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.state == DeliveryState.CLAIMED.value,
                deliveries.c.lease_owner == worker_id,
            )
            .values(
                state=DeliveryState.PUBLISHING.value,
                attempts=deliveries.c.attempts + 1,
                publishing_started_at=now,
                lease_expires_at=now + lease,
                hold_reason=None,
                updated_at=now,
            )
            .returning(deliveries)
        )
    ).one_or_none()
    if row is None:
        return None
    return await publish_context(conn, delivery=delivery_from_row(row))


async def finish(
    conn: AsyncConnection,
    *,
    delivery_id: uuid.UUID,
    worker_id: str | None,
    from_states: Sequence[DeliveryState],
    values: dict[str, Any],
    now: datetime,
) -> Delivery | None:
    """Leave `publishing` (or `uncertain`) with `values`; None if the delivery was not there.

    `worker_id` None skips the lease check (reconciliation of rows whose worker died).
    """
    conditions = [
        deliveries.c.id == delivery_id,
        deliveries.c.state.in_([s.value for s in from_states]),
    ]
    if worker_id is not None:
        conditions.append(deliveries.c.lease_owner == worker_id)
    row = (
        await conn.execute(
            update(deliveries)
            .where(*conditions)
            .values(lease_owner=None, lease_expires_at=None, updated_at=now, **values)
            .returning(deliveries)
        )
    ).one_or_none()
    return delivery_from_row(row) if row else None


async def record_attempt(conn: AsyncConnection, *, attempt: AttemptRecord) -> None:
    number = select(func.count()).where(attempts.c.delivery_id == attempt.delivery_id)
    await conn.execute(
        insert(attempts).values(
            id=new_id(),
            workspace_id=attempt.workspace_id,
            delivery_id=attempt.delivery_id,
            number=number.scalar_subquery() + 1,
            worker_id=attempt.worker_id,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            outcome=attempt.outcome,
            error_class=attempt.error_class,
            http_status=attempt.http_status,
            error=attempt.error,
            latency_ms=attempt.latency_ms,
            execution_time_ms=attempt.execution_time_ms,
        )
    )


async def release_claims(
    conn: AsyncConnection, *, worker_id: str, delivery_ids: Collection[uuid.UUID], now: datetime
) -> int:
    """Hand back claimed deliveries this worker will not send (it is stopping)."""
    if not delivery_ids:
        return 0
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id.in_(list(delivery_ids)),
            deliveries.c.state == DeliveryState.CLAIMED.value,
            deliveries.c.lease_owner == worker_id,
        )
        .values(
            state=DeliveryState.SCHEDULED.value,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return int(result.rowcount)


async def defer(
    conn: AsyncConnection,
    *,
    delivery_id: uuid.UUID,
    worker_id: str,
    until: datetime,
    reason: str,
    now: datetime,
) -> bool:
    """claimed -> scheduled at a later time, with the reason shown to people."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.CLAIMED.value,
            deliveries.c.lease_owner == worker_id,
        )
        .values(
            state=DeliveryState.SCHEDULED.value,
            due_at=until,
            hold_reason=reason,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return result.rowcount > 0


async def skip_overdue(
    conn: AsyncConnection, *, delivery_id: uuid.UUID, worker_id: str, reason: str, now: datetime
) -> bool:
    """claimed -> failed: the catch-up policy says this one is too old to publish."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.state == DeliveryState.CLAIMED.value,
            deliveries.c.lease_owner == worker_id,
        )
        .values(
            state=DeliveryState.FAILED.value,
            last_error=reason,
            error_class="skipped",
            resume=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return result.rowcount > 0


async def reap_expired_leases(
    conn: AsyncConnection, *, now: datetime, look_after: timedelta = timedelta(0)
) -> tuple[int, int]:
    """Recover from dead workers: (claims returned to scheduled, publishes marked uncertain).

    An expired lease does not prove the worker is dead (a stalled heartbeat looks the same), and
    its platform call may still be under way: an uncertain delivery is looked for only after
    `look_after` (the longest a call can last, plus the settle time), so reconciliation never
    checks the platform before the call it is checking for could have ended.
    """
    expired = and_(deliveries.c.lease_expires_at.is_not(None), deliveries.c.lease_expires_at < now)
    returned = await conn.execute(
        update(deliveries)
        .where(deliveries.c.state == DeliveryState.CLAIMED.value, expired)
        .values(
            state=DeliveryState.SCHEDULED.value,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    uncertain = await conn.execute(
        update(deliveries)
        .where(deliveries.c.state == DeliveryState.PUBLISHING.value, expired)
        .values(
            state=DeliveryState.UNCERTAIN.value,
            due_at=now + look_after,
            last_error="the worker publishing this stopped answering; checking the platform",
            error_class="uncertain",
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return int(returned.rowcount), int(uncertain.rowcount)


async def claim_uncertain(
    conn: AsyncConnection, *, worker_id: str, now: datetime, limit: int, lease: timedelta
) -> list[Delivery]:
    """Lease uncertain deliveries whose settle time has passed, for reconciliation."""
    candidates = (
        select(deliveries.c.id)
        .where(
            deliveries.c.state == DeliveryState.UNCERTAIN.value,
            deliveries.c.due_at <= now,
            or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
        )
        .order_by(deliveries.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(candidates.scalar_subquery()))
            .where(deliveries.c.state == DeliveryState.UNCERTAIN.value)
            .values(lease_owner=worker_id, lease_expires_at=now + lease, updated_at=now)
            .returning(deliveries)
        )
    ).all()
    return [delivery_from_row(r) for r in rows]


async def publish_context(conn: AsyncConnection, *, delivery: Delivery) -> PublishContext:
    """What a delivery sends (or, uncertain, what to look for on the platform): its text, its
    media in order, and its account's handle, options and sealed credentials."""
    context = (
        await conn.execute(
            select(
                posts.c.text,
                posts.c.media_ids,
                accounts.c.handle,
                accounts.c.external_id,
                accounts.c.options,
                accounts.c.credentials,
            )
            .select_from(posts.join(accounts, accounts.c.id == delivery.account_id))
            .where(posts.c.id == delivery.post_id)
        )
    ).one()
    media_ids = [uuid.UUID(str(m)) for m in (context.media_ids or [])]
    media_rows: list[dict[str, Any]] = []
    if media_ids:
        found = {
            r.id: dict(r._mapping)
            for r in (await conn.execute(select(media).where(media.c.id.in_(media_ids)))).all()
        }
        media_rows = [found[m] for m in media_ids if m in found]
    return PublishContext(
        delivery=delivery,
        text=delivery.text if delivery.text is not None else context.text,
        media_rows=media_rows,
        account_handle=context.handle,
        account_external_id=context.external_id,
        account_options=dict(context.options or {}),
        credentials=context.credentials,
    )


async def heartbeat(
    conn: AsyncConnection,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    delivery_ids: Collection[uuid.UUID],
) -> int:
    """Renew this worker's liveness row and the leases of the deliveries it still holds.

    Only `delivery_ids` (what the worker has in hand, claimed or publishing) are renewed. A
    delivery the worker let go of without finishing it (an unexpected error, a database blip)
    must not stay leased for as long as the worker lives: its lease lapses and the reaper
    recovers it (claimed -> scheduled, publishing -> uncertain). Uncertain deliveries under
    reconciliation are not renewed either: if a pass outlives its lease another worker may look
    again, which is harmless (only the lease's owner can settle one).
    """
    await conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now))
    if not delivery_ids:
        return 0
    held = [DeliveryState.CLAIMED.value, DeliveryState.PUBLISHING.value]
    # lock in id order, as the worker's batches do, so the two never deadlock
    locked = (
        select(deliveries.c.id)
        .where(
            deliveries.c.id.in_(sorted(delivery_ids)),
            deliveries.c.lease_owner == worker_id,
            deliveries.c.state.in_(held),
        )
        .order_by(deliveries.c.id)
        .with_for_update()
    )
    ids = list((await conn.execute(locked)).scalars())
    if not ids:
        return 0
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids), deliveries.c.lease_owner == worker_id)
        .values(lease_expires_at=now + lease)
    )
    return int(result.rowcount)


async def register_worker(
    conn: AsyncConnection, *, worker_id: str, hostname: str, pid: int, now: datetime
) -> None:
    await conn.execute(
        insert(workers).values(
            id=worker_id, hostname=hostname, pid=pid, started_at=now, heartbeat_at=now
        )
    )


async def unregister_worker(conn: AsyncConnection, *, worker_id: str) -> None:
    await conn.execute(delete(workers).where(workers.c.id == worker_id))


async def prune_workers(conn: AsyncConnection, *, older_than: datetime) -> int:
    result = await conn.execute(delete(workers).where(workers.c.heartbeat_at < older_than))
    return int(result.rowcount)


async def publish_history(
    conn: AsyncConnection, *, account_id: uuid.UUID, since: datetime
) -> list[tuple[datetime, str | None, dict[str, Any]]]:
    """(published_at, fingerprint, options) of an account's publishes since `since`."""
    rows = (
        await conn.execute(
            select(deliveries.c.published_at, deliveries.c.fingerprint, deliveries.c.options)
            .where(
                deliveries.c.account_id == account_id,
                deliveries.c.published_at >= since,
                deliveries.c.state == DeliveryState.PUBLISHED.value,
            )
            .order_by(deliveries.c.published_at)
        )
    ).all()
    return [(r.published_at, r.fingerprint, dict(r.options or {})) for r in rows]


async def count_account_deliveries(
    conn: AsyncConnection, *, account_id: uuid.UUID, states: Collection[DeliveryState]
) -> int:
    return int(
        (
            await conn.execute(
                select(func.count()).where(
                    deliveries.c.account_id == account_id,
                    deliveries.c.state.in_([s.value for s in states]),
                )
            )
        ).scalar_one()
    )


async def cancel_account_deliveries(
    conn: AsyncConnection, *, account_id: uuid.UUID, reason: str, now: datetime
) -> int:
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.account_id == account_id,
            deliveries.c.state.in_(
                [
                    DeliveryState.DRAFT.value,
                    DeliveryState.PENDING_APPROVAL.value,
                    DeliveryState.SCHEDULED.value,
                    DeliveryState.CLAIMED.value,
                    DeliveryState.RETRY_WAIT.value,
                    DeliveryState.FAILED.value,
                ]
            ),
        )
        .values(
            state=DeliveryState.CANCELLED.value,
            last_error=reason,
            resume=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return int(result.rowcount)


# -- rate buckets ---------------------------------------------------------------------------


async def get_bucket(conn: AsyncConnection, *, key: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(rate_buckets).where(rate_buckets.c.key == key))).one_or_none()
    return dict(row._mapping) if row else None


async def put_bucket(
    conn: AsyncConnection,
    *,
    key: str,
    workspace_id: uuid.UUID | None,
    limit_count: int | None,
    remaining: int | None,
    reset_at: datetime | None,
    blocked_until: datetime | None,
    now: datetime,
) -> None:
    values = {
        "workspace_id": workspace_id,
        "limit_count": limit_count,
        "remaining": remaining,
        "reset_at": reset_at,
        "blocked_until": blocked_until,
        "updated_at": now,
    }
    updated = await conn.execute(
        update(rate_buckets).where(rate_buckets.c.key == key).values(**values)
    )
    if updated.rowcount == 0:
        await conn.execute(insert(rate_buckets).values(key=key, **values))


# -- controls (global and per-platform pause) ----------------------------------------------


async def get_controls(conn: AsyncConnection) -> dict[str, str]:
    rows = (await conn.execute(select(engine_controls.c.key, engine_controls.c.value))).all()
    return {r.key: r.value for r in rows}


async def set_control(conn: AsyncConnection, *, key: str, value: str | None, now: datetime) -> None:
    await conn.execute(delete(engine_controls).where(engine_controls.c.key == key))
    if value is not None:
        await conn.execute(insert(engine_controls).values(key=key, value=value, updated_at=now))


# -- observation ---------------------------------------------------------------------------


async def queue_stats(
    conn: AsyncConnection, *, workspace_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    scope = [] if workspace_id is None else [deliveries.c.workspace_id == workspace_id]
    counts = {
        r.state: int(r.n)
        for r in (
            await conn.execute(
                select(deliveries.c.state, func.count().label("n"))
                .where(*scope)
                .group_by(deliveries.c.state)
            )
        ).all()
    }
    oldest = (
        await conn.execute(
            select(func.min(deliveries.c.due_at)).where(
                deliveries.c.state.in_(_CLAIMABLE), deliveries.c.due_at <= now, *scope
            )
        )
    ).scalar_one_or_none()
    deferred = (
        await conn.execute(
            select(
                deliveries.c.account_id,
                accounts.c.handle,
                accounts.c.platform,
                func.count().label("n"),
                func.min(deliveries.c.due_at).label("next_at"),
                func.max(deliveries.c.hold_reason).label("reason"),
            )
            .join(accounts, accounts.c.id == deliveries.c.account_id)
            .where(
                deliveries.c.hold_reason.is_not(None),
                deliveries.c.state.in_(_CLAIMABLE),
                *scope,
            )
            .group_by(deliveries.c.account_id, accounts.c.handle, accounts.c.platform)
        )
    ).all()
    return {
        "counts": counts,
        "oldest_due_at": oldest,
        "deferrals": [
            {
                "account_id": r.account_id,
                "handle": r.handle,
                "platform": r.platform,
                "count": int(r.n),
                "next_at": r.next_at,
                "reason": r.reason,
            }
            for r in deferred
        ],
    }


# -- operators' views and controls -----------------------------------------------------------


async def list_attempts(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> list[Attempt]:
    """A delivery's attempts, first to last."""
    rows = (
        await conn.execute(
            select(attempts)
            .where(attempts.c.delivery_id == delivery_id, attempts.c.workspace_id == workspace_id)
            .order_by(attempts.c.number, attempts.c.started_at)
        )
    ).all()
    return [attempt_from_row(r) for r in rows]


async def unclaim(
    conn: AsyncConnection,
    *,
    now: datetime,
    workspace_id: uuid.UUID | None = None,
    platform: str | None = None,
    account_id: uuid.UUID | None = None,
) -> int:
    """claimed -> scheduled for a workspace, platform or account (or all) that was just paused.

    A worker holding one of these finds it no longer claimed when publishing should begin and
    lets it go, so nothing claimed a moment before the pause goes out after it.
    """
    conditions = [deliveries.c.state == DeliveryState.CLAIMED.value]
    if workspace_id is not None:
        conditions.append(deliveries.c.workspace_id == workspace_id)
    if platform is not None:
        conditions.append(deliveries.c.platform == platform)
    if account_id is not None:
        conditions.append(deliveries.c.account_id == account_id)
    result = await conn.execute(
        update(deliveries)
        .where(*conditions)
        .values(
            state=DeliveryState.SCHEDULED.value,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A workspace's policy for deliveries found overdue after an outage."""

    policy: str  # spread | all | skip
    skip_after_min: int | None  # None: the installation's default


async def get_catch_up(conn: AsyncConnection, *, workspace_id: uuid.UUID) -> CatchUp | None:
    row = (
        await conn.execute(
            select(workspaces.c.catch_up_policy, workspaces.c.catch_up_skip_after_min).where(
                workspaces.c.id == workspace_id
            )
        )
    ).one_or_none()
    return CatchUp(row.catch_up_policy, row.catch_up_skip_after_min) if row else None


async def delivery_workspace(conn: AsyncConnection, *, delivery_id: uuid.UUID) -> uuid.UUID | None:
    """The workspace a delivery belongs to, for operators who name a delivery by its id alone."""
    value = (
        await conn.execute(select(deliveries.c.workspace_id).where(deliveries.c.id == delivery_id))
    ).scalar_one_or_none()
    return value if isinstance(value, uuid.UUID) else None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    delivery_id: uuid.UUID
    workspace: str
    platform: str
    handle: str
    attempts: int
    error_class: str | None
    last_error: str | None
    scheduled_at: datetime | None
    failed_at: datetime


async def dead_letters(
    conn: AsyncConnection, *, workspace_id: uuid.UUID | None, limit: int
) -> tuple[list[DeadLetter], int]:
    """Failed deliveries, the most recent first, with how many there are in all."""
    scope = [deliveries.c.state == DeliveryState.FAILED.value]
    if workspace_id is not None:
        scope.append(deliveries.c.workspace_id == workspace_id)
    rows = (
        await conn.execute(
            select(
                deliveries.c.id,
                workspaces.c.name,
                deliveries.c.platform,
                accounts.c.handle,
                deliveries.c.attempts,
                deliveries.c.error_class,
                deliveries.c.last_error,
                deliveries.c.scheduled_at,
                deliveries.c.updated_at,
            )
            .select_from(
                deliveries.join(accounts, accounts.c.id == deliveries.c.account_id).join(
                    workspaces, workspaces.c.id == deliveries.c.workspace_id
                )
            )
            .where(*scope)
            .order_by(deliveries.c.updated_at.desc(), deliveries.c.id)
            .limit(limit)
        )
    ).all()
    total = (await conn.execute(select(func.count()).where(*scope))).scalar_one()
    found = [
        DeadLetter(
            delivery_id=r.id,
            workspace=r.name,
            platform=r.platform,
            handle=r.handle,
            attempts=r.attempts,
            error_class=r.error_class,
            last_error=r.last_error,
            scheduled_at=r.scheduled_at,
            failed_at=r.updated_at,
        )
        for r in rows
    ]
    return found, int(total)


async def count_live_workers(conn: AsyncConnection, *, since: datetime) -> int:
    """Workers whose heartbeat is not older than `since`."""
    return int(
        (
            await conn.execute(select(func.count()).where(workers.c.heartbeat_at >= since))
        ).scalar_one()
    )


# -- set-based forms of the hot path (one statement per batch, not per delivery) -------------


async def begin_publishing_many(
    conn: AsyncConnection,
    *,
    delivery_ids: Sequence[uuid.UUID],
    worker_id: str,
    now: datetime,
    lease: timedelta,
) -> dict[uuid.UUID, PublishContext]:
    """`begin_publishing` for a batch: claimed -> publishing, then the content of each.

    Deliveries no longer ours (cancelled, edited back, lease lost) are simply not returned.
    """
    if not delivery_ids:
        return {}
    started = (
        await conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(list(delivery_ids)),
                deliveries.c.state == DeliveryState.CLAIMED.value,
                deliveries.c.lease_owner == worker_id,
            )
            .values(
                state=DeliveryState.PUBLISHING.value,
                attempts=deliveries.c.attempts + 1,
                publishing_started_at=now,
                lease_expires_at=now + lease,
                hold_reason=None,
                updated_at=now,
            )
            .returning(deliveries)
        )
    ).all()
    if not started:
        return {}
    by_id = {r.id: delivery_from_row(r) for r in started}
    content = {
        r.delivery_id: r
        for r in (
            await conn.execute(
                select(
                    deliveries.c.id.label("delivery_id"),
                    posts.c.text,
                    posts.c.media_ids,
                    accounts.c.handle,
                    accounts.c.external_id,
                    accounts.c.options,
                    accounts.c.credentials,
                )
                .select_from(
                    deliveries.join(posts, posts.c.id == deliveries.c.post_id).join(
                        accounts, accounts.c.id == deliveries.c.account_id
                    )
                )
                .where(deliveries.c.id.in_(list(by_id)))
            )
        ).all()
    }
    wanted = {uuid.UUID(str(m)) for r in content.values() for m in (r.media_ids or [])}
    found_media: dict[uuid.UUID, dict[str, Any]] = {}
    if wanted:
        found_media = {
            r.id: dict(r._mapping)
            for r in (await conn.execute(select(media).where(media.c.id.in_(wanted)))).all()
        }
    result = {}
    for delivery_id, delivery in by_id.items():
        row = content[delivery_id]
        media_ids = [uuid.UUID(str(m)) for m in (row.media_ids or [])]
        result[delivery_id] = PublishContext(
            delivery=delivery,
            text=delivery.text if delivery.text is not None else row.text,
            media_rows=[found_media[m] for m in media_ids if m in found_media],
            account_handle=row.handle,
            account_external_id=row.external_id,
            account_options=dict(row.options or {}),
            credentials=row.credentials,
        )
    return result


async def get_buckets(conn: AsyncConnection, *, keys: Collection[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    rows = (
        await conn.execute(select(rate_buckets).where(rate_buckets.c.key.in_(list(keys))))
    ).all()
    return {r.key: dict(r._mapping) for r in rows}


async def finish_published_many(
    conn: AsyncConnection,
    *,
    worker_id: str,
    published: Sequence[dict[str, Any]],
    now: datetime,
) -> set[uuid.UUID]:
    """publishing -> published for a batch (each dict: id, external_id, permalink, published_at,
    fingerprint). Returns the ids stored; the others had lost their lease meanwhile."""
    if not published:
        return set()
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == bindparam("b_id"),
            deliveries.c.state == DeliveryState.PUBLISHING.value,
            deliveries.c.lease_owner == worker_id,
        )
        .values(
            state=DeliveryState.PUBLISHED.value,
            external_id=bindparam("b_external_id"),
            permalink=bindparam("b_permalink"),
            published_at=bindparam("b_published_at"),
            fingerprint=bindparam("b_fingerprint"),
            due_at=None,
            last_error=None,
            error_class=None,
            hold_reason=None,
            resume=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        ),
        [{f"b_{k}": v for k, v in p.items()} for p in published],
    )
    ids = [p["id"] for p in published]
    stored = (
        await conn.execute(
            select(deliveries.c.id).where(
                deliveries.c.id.in_(ids),
                deliveries.c.state == DeliveryState.PUBLISHED.value,
                deliveries.c.external_id.in_([p["external_id"] for p in published]),
            )
        )
    ).scalars()
    return set(stored)


async def record_attempts(conn: AsyncConnection, *, batch: Sequence[AttemptRecord]) -> None:
    """`record_attempt` for a batch, numbering each delivery's attempts in order."""
    if not batch:
        return
    counts = {
        r.delivery_id: int(r.n)
        for r in (
            await conn.execute(
                select(attempts.c.delivery_id, func.count().label("n"))
                .where(attempts.c.delivery_id.in_({a.delivery_id for a in batch}))
                .group_by(attempts.c.delivery_id)
            )
        ).all()
    }
    rows = []
    for a in batch:
        counts[a.delivery_id] = counts.get(a.delivery_id, 0) + 1
        rows.append(
            {
                "id": new_id(),
                "workspace_id": a.workspace_id,
                "delivery_id": a.delivery_id,
                "number": counts[a.delivery_id],
                "worker_id": a.worker_id,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "outcome": a.outcome,
                "error_class": a.error_class,
                "http_status": a.http_status,
                "error": a.error,
                "latency_ms": a.latency_ms,
                "execution_time_ms": a.execution_time_ms,
            }
        )
    await conn.execute(insert(attempts), rows)


async def owned_external_ids(
    conn: AsyncConnection, *, account_id: uuid.UUID, other_than: uuid.UUID, since: datetime
) -> frozenset[str]:
    """The platform ids of an account's posts that other deliveries own (published since)."""
    rows = (
        await conn.execute(
            select(deliveries.c.external_id).where(
                deliveries.c.account_id == account_id,
                deliveries.c.id != other_than,
                deliveries.c.external_id.is_not(None),
                deliveries.c.published_at >= since,
            )
        )
    ).scalars()
    return frozenset(str(x) for x in rows)
