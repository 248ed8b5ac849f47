"""Settling `uncertain` deliveries: look on the platform before anything is sent again."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.errors import PlatformError
from postwright.domain.retry import RetryPolicy
from postwright.domain.states import DeliveryState
from postwright.engine import outcomes
from postwright.engine.requests import build_request
from postwright.platforms.registry import AdapterRegistry
from postwright.runtime import Runtime
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from postwright.store.tables import deliveries

__all__ = ["reconcile_once"]

log = logging.getLogger("postwright.engine.reconcile")

# How far before the attempt's start a post found on the platform may be dated (clock skew).
_SKEW = timedelta(minutes=2)


async def reconcile_once(
    rt: Runtime,
    adapters: AdapterRegistry,
    *,
    worker_id: str,
    policy: RetryPolicy,
    rng: random.Random,
    limit: int = 50,
) -> dict[str, Any]:
    now = rt.now()
    lease = timedelta(seconds=rt.settings.lease_s)
    async with rt.db.write() as conn:
        claimed = await q.claim_uncertain(
            conn, worker_id=worker_id, now=now, limit=limit, lease=lease
        )
    found = retried = failed = unreachable = 0
    for delivery in claimed:
        async with rt.db.read() as conn:
            ctx = await q.publish_context(conn, delivery=delivery)
        adapter = adapters.get(delivery.platform)
        started = delivery.publishing_started_at or delivery.scheduled_at or delivery.created_at
        try:
            request = build_request(ctx, secretbox=rt.secretbox, media_dir=rt.settings.media_dir)
            async with rt.db.read() as conn:
                taken = await q.owned_external_ids(
                    conn,
                    account_id=delivery.account_id,
                    other_than=delivery.id,
                    since=started - _SKEW - timedelta(days=1),
                )
            match = await adapter.find(replace(request, taken=taken), since=started - _SKEW)
        except (PlatformError, TimeoutError) as exc:
            unreachable += 1
            async with rt.db.write() as conn:
                await q.finish(
                    conn,
                    delivery_id=delivery.id,
                    worker_id=worker_id,
                    from_states=[DeliveryState.UNCERTAIN],
                    values={
                        "state": DeliveryState.UNCERTAIN.value,
                        "due_at": rt.now() + timedelta(seconds=rt.settings.reconcile_settle_s * 3),
                        "last_error": f"could not check the platform yet: {exc}",
                    },
                    now=rt.now(),
                )
            continue
        now = rt.now()
        async with rt.db.write() as conn:
            if match is not None and await _taken(
                conn, delivery.id, delivery.account_id, match.external_id
            ):
                match = None  # another delivery already owns that post
            if match is not None:
                outcome = outcomes.after_success(match, now=now, fingerprint=request.fingerprint)
                attempt_outcome = "found"
                found += 1
            else:
                outcome = outcomes.after_not_found(
                    attempts=delivery.attempts,
                    policy=policy,
                    now=now,
                    rng=rng,
                    last_error=delivery.last_error or "an uncertain outcome",
                )
                attempt_outcome = "not_found"
                if outcome.state is DeliveryState.FAILED:
                    failed += 1
                else:
                    retried += 1
            stored = await q.finish(
                conn,
                delivery_id=delivery.id,
                worker_id=worker_id,
                from_states=[DeliveryState.UNCERTAIN],
                values=outcome.columns,
                now=now,
            )
            if stored is None:
                continue
            await q.record_attempt(
                conn,
                attempt=q.AttemptRecord(
                    delivery_id=delivery.id,
                    workspace_id=delivery.workspace_id,
                    worker_id=worker_id,
                    started_at=now,
                    finished_at=now,
                    outcome=attempt_outcome,
                    error_class=outcome.error_class,
                    http_status=None,
                    error=outcome.error,
                    latency_ms=None,
                    execution_time_ms=None,
                ),
            )
            await post_store.refresh_post_status(conn, post_id=delivery.post_id, now=now)
    if claimed:
        rt.wakeup.poke()
    return {
        "checked": len(claimed),
        "found": found,
        "retrying": retried,
        "failed": failed,
        "unreachable": unreachable,
    }


async def _taken(
    conn: AsyncConnection, delivery_id: uuid.UUID, account_id: uuid.UUID, external_id: str
) -> bool:
    row = (
        await conn.execute(
            select(deliveries.c.id).where(
                deliveries.c.account_id == account_id,
                deliveries.c.external_id == external_id,
                deliveries.c.id != delivery_id,
            )
        )
    ).first()
    return row is not None
