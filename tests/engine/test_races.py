"""Races: cancel and edit against a claim, and workers against one another.

A claim leases a delivery a little before its time; what counts is the move to `publishing`,
which is conditional on the delivery still being claimed by that worker. A cancel or an edit that
commits first wins, and the post is then either not sent at all or sent with the new text.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.errors import Conflict
from postwright.domain.states import DeliveryState
from postwright.engine.service import EngineService
from postwright.runtime import Runtime
from postwright.services import posts as post_service
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from tests.engine.conftest import Scene, StartEngine, get_delivery, lease_owner, wait_until

GHOST = "ghost-worker"
LEASE = timedelta(seconds=30)


async def claim_all(rt: Runtime, worker_id: str = GHOST) -> list[uuid.UUID]:
    now = rt.now()
    async with rt.db.write() as conn:
        claimed = await q.claim_due(
            conn, worker_id=worker_id, now=now, horizon=now + timedelta(hours=1), limit=100,
            lease=LEASE,
        )  # fmt: skip
    return [c.delivery.id for c in claimed]


async def begin(rt: Runtime, delivery_id: uuid.UUID, worker_id: str = GHOST) -> object | None:
    async with rt.db.write() as conn:
        return await q.begin_publishing(
            conn, delivery_id=delivery_id, worker_id=worker_id, now=rt.now(), lease=LEASE
        )


# -- cancel and edit against a claim ---------------------------------------------------------


async def test_cancel_after_a_claim_stops_the_publish(scene: Scene) -> None:
    account = await scene.account("brand")
    view = await scene.post("cancel me", [account], at=scene.rt.now() + timedelta(seconds=30))
    delivery_id = view.deliveries[0].id
    assert await claim_all(scene.rt) == [delivery_id]

    cancelled = await post_service.cancel_post(scene.rt, scene.principal, view.post.id)
    assert [d.state.value for d in cancelled.deliveries] == ["cancelled"]

    assert await begin(scene.rt, delivery_id) is None  # the worker finds it is not its own
    row = await get_delivery(scene.rt, delivery_id)
    assert (row.state.value, row.attempts) == ("cancelled", 0)
    assert await lease_owner(scene.rt, delivery_id) is None
    assert cancelled.post.status.value == "cancelled"


async def test_cancel_while_a_real_worker_holds_the_claim(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    engine = await start_engine(claim_ahead_ms=5000)
    keep = await scene.post("keep me", [account], at=scene.rt.now() + timedelta(seconds=1.5))
    drop = await scene.post("cancel me", [account], at=scene.rt.now() + timedelta(seconds=1.5))
    drop_id = drop.deliveries[0].id

    async def held() -> bool:
        row = await get_delivery(scene.rt, drop_id)
        owner = await lease_owner(scene.rt, drop_id)
        return row.state.value == "claimed" and owner == engine.worker.id

    await wait_until(held, what="the worker claiming the delivery ahead of its time")
    assert drop_id in engine.worker._held
    await post_service.cancel_post(scene.rt, scene.principal, drop.post.id)

    await scene.wait_for(keep.post.id, {"published"})

    async def let_go() -> bool:
        return drop_id not in engine.worker._held

    await wait_until(let_go, what="the worker letting go of the cancelled delivery")
    assert [e.text for e in scene.ledger()] == ["keep me"]
    assert (await get_delivery(scene.rt, drop_id)).state.value == "cancelled"


async def test_cancel_waits_for_a_begin_in_progress_and_wins_if_first(scene: Scene) -> None:
    """A cancel holding the delivery's row lock makes `begin_publishing` wait, then lose."""
    account = await scene.account("brand")
    view = await scene.post("racing", [account], at=scene.rt.now() + timedelta(seconds=30))
    delivery_id = view.deliveries[0].id
    await claim_all(scene.rt)

    locked = asyncio.Event()
    release = asyncio.Event()

    async def cancel_slowly() -> None:
        async with scene.rt.db.write() as conn:
            await post_store.lock_deliveries(
                conn, workspace_id=scene.principal.workspace_id, post_id=view.post.id
            )
            await _cancel(conn, scene, view.post.id)
            locked.set()
            await release.wait()

    cancelling = asyncio.create_task(cancel_slowly())
    await locked.wait()
    beginning = asyncio.create_task(begin(scene.rt, delivery_id))
    await asyncio.sleep(0.3)
    assert not beginning.done()  # blocked on the row lock (PostgreSQL) or the write lock (SQLite)
    release.set()
    await cancelling
    assert await beginning is None
    assert (await get_delivery(scene.rt, delivery_id)).state.value == "cancelled"


async def _cancel(conn: AsyncConnection, scene: Scene, post_id: uuid.UUID) -> None:
    await post_store.transition_deliveries(
        conn,
        workspace_id=scene.principal.workspace_id,
        post_id=post_id,
        from_states=[DeliveryState.CLAIMED],
        values={"state": "cancelled", "lease_owner": None, "lease_expires_at": None},
    )


async def test_edit_after_a_claim_is_published_with_the_new_text(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    engine = await start_engine(claim_ahead_ms=5000)
    view = await scene.post("first draft", [account], at=scene.rt.now() + timedelta(seconds=1.5))
    old_id = view.deliveries[0].id

    async def held() -> bool:
        return await lease_owner(scene.rt, old_id) == engine.worker.id

    await wait_until(held, what="the worker claiming the delivery ahead of its time")
    edited = await post_service.update_post(
        scene.rt, scene.principal, view.post.id, post_service.PostUpdate(text="final text")
    )
    assert [d.state.value for d in edited.deliveries] == ["scheduled"]

    done = await scene.wait_for(view.post.id, {"published"})
    assert [e.text for e in scene.ledger()] == ["final text"]
    assert done.deliveries[0].id != old_id  # the claimed row was replaced

    async def let_go() -> bool:
        return old_id not in engine.worker._held

    await wait_until(let_go, what="the worker letting go of the replaced delivery")
    assert [e.text for e in scene.ledger()] == ["final text"]


async def test_edit_after_publishing_began_is_refused(scene: Scene) -> None:
    account = await scene.account("brand")
    view = await scene.post("as sent", [account], at=scene.rt.now() + timedelta(seconds=30))
    delivery_id = view.deliveries[0].id
    await claim_all(scene.rt)
    ctx = await begin(scene.rt, delivery_id)
    assert isinstance(ctx, q.PublishContext)
    assert ctx.text == "as sent"  # the text as of the moment publishing began

    with pytest.raises(Conflict, match="being published right now"):
        await post_service.update_post(
            scene.rt, scene.principal, view.post.id, post_service.PostUpdate(text="too late")
        )
    with pytest.raises(Conflict):
        await post_service.cancel_post(scene.rt, scene.principal, view.post.id)
    assert (await get_delivery(scene.rt, delivery_id)).state.value == "publishing"


# -- workers against one another -------------------------------------------------------------


async def test_a_claim_skips_rows_another_worker_is_claiming(scene: Scene) -> None:
    """While worker A's claim transaction is open, worker B gets nothing and is not blocked
    for long (PostgreSQL: SKIP LOCKED; SQLite: B's write waits for A's to end, then finds the
    row taken)."""
    account = await scene.account("brand")
    view = await scene.post("one", [account], at=scene.rt.now() + timedelta(seconds=30))
    now = scene.rt.now()
    horizon = now + timedelta(hours=1)
    a_claimed = asyncio.Event()
    a_commit = asyncio.Event()

    async def worker_a() -> list[uuid.UUID]:
        async with scene.rt.db.write() as conn:
            got = await q.claim_due(
                conn, worker_id="a", now=now, horizon=horizon, limit=10, lease=LEASE
            )
            a_claimed.set()
            await a_commit.wait()
        return [c.delivery.id for c in got]

    async def worker_b() -> list[uuid.UUID]:
        await a_claimed.wait()
        async with scene.rt.db.write() as conn:
            got = await q.claim_due(
                conn, worker_id="b", now=now, horizon=horizon, limit=10, lease=LEASE
            )
        return [c.delivery.id for c in got]

    a = asyncio.create_task(worker_a())
    b = asyncio.create_task(worker_b())
    await a_claimed.wait()
    if scene.rt.db.is_postgres:
        assert await asyncio.wait_for(b, 5) == []  # answered while A still holds the lock
    a_commit.set()
    assert await a == [view.deliveries[0].id]
    assert await b == []
    row = await get_delivery(scene.rt, view.deliveries[0].id)
    assert row.state.value == "claimed"
    assert await lease_owner(scene.rt, row.id) == "a"


async def test_concurrent_claims_share_out_every_delivery_once(
    scene: Scene, runtime: Runtime
) -> None:
    """Two workers on separate connections claim at the same time, round after round."""
    accounts = [await scene.account(f"acct{i}") for i in range(4)]
    at = scene.rt.now() + timedelta(seconds=30)
    expected = set()
    for i in range(40):
        view = await scene.post(f"post {i}", [accounts[i % 4]], at=at)
        expected.add(view.deliveries[0].id)
    other = Runtime.from_settings(runtime.settings)  # its own connection pool
    try:
        got: dict[str, list[uuid.UUID]] = {"a": [], "b": []}

        async def claim(rt: Runtime, worker: str) -> int:
            now = rt.now()
            async with rt.db.write() as conn:
                claimed = await q.claim_due(
                    conn, worker_id=worker, now=now, horizon=now + timedelta(hours=1), limit=3,
                    lease=LEASE,
                )  # fmt: skip
            got[worker].extend(c.delivery.id for c in claimed)
            return len(claimed)

        while True:
            counts = await asyncio.gather(claim(runtime, "a"), claim(other, "b"))
            if sum(counts) == 0:
                break
    finally:
        await other.close()
    assert not set(got["a"]) & set(got["b"])
    assert len(got["a"]) + len(got["b"]) == 40
    assert set(got["a"]) | set(got["b"]) == expected
    assert got["a"]
    assert got["b"]


async def test_two_engines_publish_each_delivery_exactly_once(
    scene: Scene, runtime: Runtime, start_engine: StartEngine
) -> None:
    accounts = [await scene.account(f"acct{i}") for i in range(5)]
    other = Runtime.from_settings(runtime.settings)  # a second process, as far as the DB sees
    engines: list[EngineService] = []
    try:
        start = scene.rt.now() + timedelta(seconds=2)
        views = [
            await scene.post(
                f"delivery {i}", [accounts[i % 5]], at=start + timedelta(milliseconds=10 * i)
            )
            for i in range(50)
        ]
        # small batches, so that neither engine can take everything in one claim
        engines.append(await start_engine(claim_batch=5, worker_concurrency=2))
        engines.append(await start_engine(rt=other, claim_batch=5, worker_concurrency=2))
        for view in views:
            await scene.wait_for(view.post.id, {"published"}, timeout=30)
    finally:
        for engine in engines:
            await engine.stop()
        await other.close()
    entries = scene.ledger()
    assert sorted(e.text for e in entries) == sorted(f"delivery {i}" for i in range(50))
    assert all(e.received_count == 1 for e in entries)
    assert sum(e.worker.published for e in engines) == 50
    assert all(e.worker.published > 0 for e in engines)
