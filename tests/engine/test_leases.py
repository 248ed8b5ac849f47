"""Leases: what a dead worker leaves behind is recovered, and a stopping worker hands back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from postwright.domain.models import new_id
from postwright.engine.worker import Worker
from postwright.runtime import Runtime
from postwright.store import delivery_queue as q
from postwright.store import tables
from tests.engine.conftest import (
    Scene,
    StartEngine,
    add_fault,
    attempts_of,
    get_delivery,
    lease_owner,
    set_due_all,
    wait_until,
)

GHOST = "dead-worker"


async def ghost_claims(rt: Runtime, *, lease: timedelta) -> list[uuid.UUID]:
    """A worker claims everything due within the hour with this lease, then dies."""
    now = rt.now()
    async with rt.db.write() as conn:
        claimed = await q.claim_due(
            conn, worker_id=GHOST, now=now, horizon=now + timedelta(hours=1), limit=100,
            lease=lease,
        )  # fmt: skip
    return [c.delivery.id for c in claimed]


async def test_an_expired_claim_goes_back_to_scheduled_and_is_published(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    view = await scene.post("orphan", [account])
    delivery_id = view.deliveries[0].id
    assert await ghost_claims(scene.rt, lease=timedelta(milliseconds=1)) == [delivery_id]
    await asyncio.sleep(0.01)

    async with scene.rt.db.write() as conn:
        assert await q.reap_expired_leases(conn, now=scene.rt.now()) == (1, 0)
    row = await get_delivery(scene.rt, delivery_id)
    assert (row.state.value, row.attempts) == ("scheduled", 0)
    assert await lease_owner(scene.rt, delivery_id) is None

    # the dead worker coming back to life cannot publish it any more
    async with scene.rt.db.write() as conn:
        late = await q.begin_publishing(
            conn, delivery_id=delivery_id, worker_id=GHOST, now=scene.rt.now(),
            lease=timedelta(seconds=30),
        )  # fmt: skip
    assert late is None

    await start_engine()
    done = await scene.wait_for(view.post.id, {"published"})
    assert done.deliveries[0].attempts == 1
    assert [e.text for e in scene.ledger()] == ["orphan"]


async def test_the_engine_reaps_expired_claims_itself(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    view = await scene.post("orphan", [account])
    await ghost_claims(scene.rt, lease=timedelta(milliseconds=1))
    await start_engine()  # its reap_leases job finds the expired claim
    await scene.wait_for(view.post.id, {"published"})
    assert [e.text for e in scene.ledger()] == ["orphan"]


async def test_a_live_lease_is_left_alone_and_renewed_only_while_held(scene: Scene) -> None:
    account = await scene.account("brand")
    kept = await scene.post("kept", [account], at=scene.rt.now() + timedelta(seconds=30))
    dropped = await scene.post("dropped", [account], at=scene.rt.now() + timedelta(seconds=30))
    await ghost_claims(scene.rt, lease=timedelta(seconds=30))
    kept_id, dropped_id = kept.deliveries[0].id, dropped.deliveries[0].id
    async with scene.rt.db.write() as conn:
        assert await q.reap_expired_leases(conn, now=scene.rt.now()) == (0, 0)
        # the heartbeat extends what the worker still holds, and nothing else
        renewed = await q.heartbeat(
            conn,
            worker_id=GHOST,
            now=scene.rt.now() + timedelta(seconds=29),
            lease=timedelta(seconds=30),
            delivery_ids=[kept_id],
        )
        assert renewed == 1
        assert await q.reap_expired_leases(conn, now=scene.rt.now() + timedelta(seconds=31)) == (
            1,
            0,
        )
    assert (await get_delivery(scene.rt, kept_id)).state.value == "claimed"
    assert (await get_delivery(scene.rt, dropped_id)).state.value == "scheduled"


async def test_an_expired_publish_becomes_uncertain_never_retried_blindly(
    scene: Scene, start_engine: StartEngine
) -> None:
    """The worker died after committing `publishing`, before calling the platform."""
    account = await scene.account("brand")
    view = await scene.post("half-way", [account], at=scene.rt.now() + timedelta(seconds=30))
    delivery_id = view.deliveries[0].id
    await ghost_claims(scene.rt, lease=timedelta(seconds=30))
    async with scene.rt.db.write() as conn:
        ctx = await q.begin_publishing(
            conn, delivery_id=delivery_id, worker_id=GHOST, now=scene.rt.now(),
            lease=timedelta(milliseconds=1),
        )  # fmt: skip
    assert ctx is not None
    await asyncio.sleep(0.01)

    async with scene.rt.db.write() as conn:
        assert await q.reap_expired_leases(conn, now=scene.rt.now()) == (0, 1)
    row = await get_delivery(scene.rt, delivery_id)
    assert (row.state.value, row.error_class) == ("uncertain", "uncertain")
    assert row.last_error is not None
    assert "stopped answering" in row.last_error

    # reconciliation looks, does not find it, and only then is it sent (once)
    await start_engine()
    done = await scene.wait_for(view.post.id, {"published"})
    assert [e.text for e in scene.ledger()] == ["half-way"]
    assert [a.outcome for a in await attempts_of(scene.rt, delivery_id)] == [
        "not_found",
        "published",
    ]
    assert done.deliveries[0].attempts == 2  # the interrupted try counts


async def test_a_heartbeat_keeps_a_slow_publish_from_being_reaped(
    scene: Scene, start_engine: StartEngine
) -> None:
    """A publish slower than the lease is still `publishing` (not uncertain) when it ends."""
    account = await scene.account("brand")
    add_fault(scene.emulator, {"latency_ms": 1000}, count=1)
    engine = await start_engine(lease_s=0.6)
    view = await scene.post("slow", [account])
    done = await scene.wait_for(view.post.id, {"published"})
    attempts = await attempts_of(scene.rt, done.deliveries[0].id)
    assert [a.outcome for a in attempts] == ["published"]
    assert [e.received_count for e in scene.ledger()] == [1]
    assert engine.worker.published == 1


# -- stopping --------------------------------------------------------------------------------


async def test_stop_hands_back_claims_not_started_and_finishes_publishes_under_way(
    scene: Scene, start_engine: StartEngine
) -> None:
    slow = await scene.account("slow")
    brand = await scene.account("brand")
    add_fault(scene.emulator, {"latency_ms": 800}, account="slow", count=1)
    engine = await start_engine(claim_ahead_ms=10_000)
    in_flight = await scene.post("in flight", [slow], at=scene.rt.now() + timedelta(seconds=0.3))
    later = [
        await scene.post(f"later {i}", [brand], at=scene.rt.now() + timedelta(seconds=2))
        for i in range(3)
    ]
    later_ids = [v.deliveries[0].id for v in later]

    async def ready() -> bool:
        owners = [await lease_owner(scene.rt, d) for d in later_ids]
        started = await get_delivery(scene.rt, in_flight.deliveries[0].id)
        return owners == [engine.worker.id] * 3 and started.state.value == "publishing"

    await wait_until(ready, what="three claims held and one publish under way")
    await engine.stop()

    assert (await get_delivery(scene.rt, in_flight.deliveries[0].id)).state.value == "published"
    for delivery_id in later_ids:
        row = await get_delivery(scene.rt, delivery_id)
        assert (row.state.value, row.attempts) == ("scheduled", 0)
        assert await lease_owner(scene.rt, delivery_id) is None
    assert [e.text for e in scene.ledger()] == ["in flight"]
    assert not engine.worker._held

    # another worker picks them up at their time
    await start_engine()
    for view in later:
        await scene.wait_for(view.post.id, {"published"})
    assert sorted(e.text for e in scene.ledger()) == ["in flight", "later 0", "later 1", "later 2"]


# -- memory ----------------------------------------------------------------------------------


async def _insert_future(scene: Scene, account_id: uuid.UUID, count: int) -> None:
    """`count` posts due in a day, written straight to the tables (fast)."""
    now = scene.rt.now()
    due = now + timedelta(days=1)
    post_rows = []
    delivery_rows = []
    for i in range(count):
        post_id = new_id()
        post_rows.append(
            {
                "id": post_id,
                "workspace_id": scene.principal.workspace_id,
                "author_id": scene.principal.user_id,
                "text": f"future {i}",
                "media_ids": [],
                "status": "scheduled",
                "scheduled_at": due,
                "timezone": "UTC",
                "priority": 2,
                "approval_required": False,
                "recurrence_skips": [],
                "created_at": now,
                "updated_at": now,
            }
        )
        delivery_rows.append(
            {
                "id": new_id(),
                "workspace_id": scene.principal.workspace_id,
                "post_id": post_id,
                "account_id": account_id,
                "platform": "sandbox",
                "state": "scheduled",
                "scheduled_at": due,
                "due_at": due + timedelta(seconds=i),
                "priority": 2,
                "options": {},
                "attempts": 0,
                "idempotency_key": uuid.uuid4().hex,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with scene.rt.db.write() as conn:
        await conn.execute(insert(tables.posts), post_rows)
        await conn.execute(insert(tables.deliveries), delivery_rows)


async def test_a_worker_holds_only_what_is_due_soon(
    scene: Scene, start_engine: StartEngine
) -> None:
    """5,000 future deliveries in the table; the worker never holds more than its bound."""
    future_account = await scene.account("future")
    await _insert_future(scene, future_account.id, 5000)
    accounts = [await scene.account(f"now{i}") for i in range(8)]
    add_fault(scene.emulator, {"latency_ms": 30})
    at = scene.rt.now() + timedelta(hours=1)
    views = [await scene.post(f"now {i}", [accounts[i % 8]], at=at) for i in range(60)]
    concurrency, batch = 4, 10
    engine = await start_engine(worker_concurrency=concurrency, claim_batch=batch)
    await set_due_all(
        scene.rt, [v.deliveries[0].id for v in views], scene.rt.now() + timedelta(seconds=0.3)
    )

    most = 0
    sampling = True

    async def sample() -> None:
        nonlocal most
        while sampling:
            most = max(most, len(engine.worker._held))
            await asyncio.sleep(0.002)

    sampler = asyncio.create_task(sample())
    try:
        for view in views:
            await scene.wait_for(view.post.id, {"published"}, timeout=30)
    finally:
        sampling = False
        await sampler
    assert concurrency < most <= concurrency + batch  # it claims ahead, within its bound
    async with scene.rt.db.read() as conn:
        waiting = (
            await conn.execute(
                select(func.count()).where(
                    tables.deliveries.c.account_id == future_account.id,
                    tables.deliveries.c.state == "scheduled",
                )
            )
        ).scalar_one()
    assert waiting == 5000  # none of the future ones was claimed
    assert len(scene.ledger()) == 60


# -- a worker that drops a delivery after an unexpected error -------------------------------


async def test_a_claim_dropped_after_an_unexpected_error_is_recovered(
    scene: Scene, start_engine: StartEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (or a database blip) makes the worker give up one claimed delivery: its lease must
    lapse so the reaper hands it back, not be renewed by the heartbeat for ever."""
    real = Worker._publish
    failed: list[uuid.UUID] = []

    async def flaky(self: Worker, claimed: q.Claimed, due: datetime) -> None:
        if not failed:
            failed.append(claimed.delivery.id)
            raise RuntimeError("unexpected")
        await real(self, claimed, due)

    monkeypatch.setattr(Worker, "_publish", flaky)
    account = await scene.account("brand")
    engine = await start_engine(lease_s=0.6)
    view = await scene.post("dropped once", [account])
    await scene.wait_for(view.post.id, {"published"}, timeout=15)
    assert failed == [view.deliveries[0].id]
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("dropped once", 1)]
    assert engine.worker.published == 1


async def test_a_publish_dropped_after_an_unexpected_error_is_reconciled(
    scene: Scene, start_engine: StartEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped after `publishing` was committed: the lease lapses, the delivery becomes
    uncertain and is reconciled, instead of staying `publishing` for as long as the worker
    lives."""
    real = Worker._call_platform
    failed: list[uuid.UUID] = []

    async def flaky(self: Worker, ctx: q.PublishContext, due: datetime, now: datetime) -> None:
        if not failed:
            failed.append(ctx.delivery.id)
            raise RuntimeError("unexpected")
        await real(self, ctx, due, now)

    monkeypatch.setattr(Worker, "_call_platform", flaky)
    account = await scene.account("brand")
    await start_engine(lease_s=0.6)
    view = await scene.post("dropped mid-way", [account])
    done = await scene.wait_for(view.post.id, {"published"}, timeout=15)
    assert failed == [view.deliveries[0].id]
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("dropped mid-way", 1)]
    assert [a.outcome for a in await attempts_of(scene.rt, done.deliveries[0].id)] == [
        "not_found",
        "published",
    ]
