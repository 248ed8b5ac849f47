"""Uncertain outcomes: the engine looks on the platform before it sends anything again.

Found -> published with no second create; not found -> retry_wait -> published once. Both for
sandbox accounts that send an Idempotency-Key and for those that do not (found by content).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from postwright.engine.requests import build_request
from postwright.platforms.registry import AdapterRegistry
from postwright.store import delivery_queue as q
from tests.engine.conftest import Scene, StartEngine, add_fault, attempts_of, get_delivery

IDEMPOTENCY = pytest.mark.parametrize("idempotency", [True, False], ids=["key", "no-key"])


async def outcomes_of(scene: Scene, delivery_id: uuid.UUID) -> list[str]:
    return [a.outcome for a in await attempts_of(scene.rt, delivery_id)]


@IDEMPOTENCY
async def test_timeout_after_the_platform_stored_it_is_found(
    scene: Scene, start_engine: StartEngine, idempotency: bool
) -> None:
    account = await scene.account("brand", idempotency=idempotency)
    add_fault(scene.emulator, {"timeout_after_store": True}, count=1)
    await start_engine(publish_timeout_s=0.5)
    view = await scene.post("did it land?", [account])
    done = await scene.wait_for(view.post.id, {"published"})

    delivery = done.deliveries[0]
    entries = scene.ledger()
    assert [(e.text, e.received_count) for e in entries] == [("did it land?", 1)]
    assert delivery.external_id == entries[0].post_id  # the post it found, not a new one
    attempts = await attempts_of(scene.rt, delivery.id)
    assert [(a.outcome, a.error_class) for a in attempts] == [
        ("uncertain", "uncertain"),
        ("found", None),
    ]
    assert delivery.attempts == 1


@IDEMPOTENCY
async def test_connection_reset_after_the_platform_stored_it_is_found(
    scene: Scene, start_engine: StartEngine, idempotency: bool
) -> None:
    account = await scene.account("brand", idempotency=idempotency)
    add_fault(scene.emulator, {"reset_after_store": True}, count=1)
    await start_engine()
    view = await scene.post("reset mid-answer", [account])
    done = await scene.wait_for(view.post.id, {"published"})
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("reset mid-answer", 1)]
    assert await outcomes_of(scene, done.deliveries[0].id) == ["uncertain", "found"]


@IDEMPOTENCY
async def test_a_5xx_before_storing_is_not_found_then_sent_once(
    scene: Scene, start_engine: StartEngine, idempotency: bool
) -> None:
    account = await scene.account("brand", idempotency=idempotency)
    add_fault(scene.emulator, {"status": 503}, count=1)
    await start_engine()
    view = await scene.post("try again", [account])
    done = await scene.wait_for(view.post.id, {"published"})
    delivery = done.deliveries[0]
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("try again", 1)]
    attempts = await attempts_of(scene.rt, delivery.id)
    assert [(a.outcome, a.http_status) for a in attempts] == [
        ("uncertain", 503),
        ("not_found", None),
        ("published", None),
    ]
    assert delivery.attempts == 2


async def test_uncertain_is_held_until_reconciled(scene: Scene, start_engine: StartEngine) -> None:
    """Between the uncertain outcome and the look, nothing is sent again."""
    account = await scene.account("brand")
    add_fault(scene.emulator, {"status": 503}, count=1)
    engine = await start_engine(reconcile_settle_s=60)  # look only much later
    view = await scene.post("wait and see", [account])
    done = await scene.wait_for(view.post.id, {"uncertain"})
    delivery = done.deliveries[0]
    assert delivery.due_at is not None
    assert delivery.due_at > scene.rt.now() + timedelta(seconds=50)
    assert scene.ledger() == []
    assert engine.worker.published == 0
    assert done.post.status.value == "publishing"
    assert await outcomes_of(scene, delivery.id) == ["uncertain"]


async def test_a_dead_workers_publish_that_landed_is_found(
    scene: Scene, start_engine: StartEngine
) -> None:
    """A worker sent the post and died before recording it: the ledger has it, the DB does not."""
    account = await scene.account("brand", idempotency=False)
    view = await scene.post("sent, then crash", [account], at=scene.rt.now() + timedelta(hours=1))
    delivery_id = view.deliveries[0].id
    now = scene.rt.now()
    async with scene.rt.db.write() as conn:
        await q.claim_due(
            conn, worker_id="doomed", now=now, horizon=now + timedelta(hours=2), limit=1,
            lease=timedelta(seconds=30),
        )  # fmt: skip
        ctx = await q.begin_publishing(
            conn, delivery_id=delivery_id, worker_id="doomed", now=now,
            lease=timedelta(milliseconds=1),
        )  # fmt: skip
    assert ctx is not None
    adapters = AdapterRegistry.from_settings(scene.rt.settings)
    try:
        request = build_request(
            ctx, secretbox=scene.rt.secretbox, media_dir=scene.rt.settings.media_dir
        )
        sent = await adapters.get(ctx.delivery.platform).publish(request)
    finally:
        await adapters.aclose()
    # ... and the worker is gone: its lease lapses, the engine reaps and reconciles

    await start_engine()
    done = await scene.wait_for(view.post.id, {"published"})
    delivery = done.deliveries[0]
    assert delivery.external_id == sent.external_id
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("sent, then crash", 1)]
    assert await outcomes_of(scene, delivery_id) == ["found"]


async def test_a_match_owned_by_another_delivery_is_not_taken(
    scene: Scene, start_engine: StartEngine
) -> None:
    """Two deliveries with the same text to one account: a post found on the platform that an
    earlier delivery already owns is not claimed again by the uncertain one."""
    account = await scene.account("brand", idempotency=False)
    first = await scene.post("same words", [account])
    await start_engine()
    await scene.wait_for(first.post.id, {"published"})
    add_fault(scene.emulator, {"status": 503}, count=1)
    second = await scene.post("same words", [account])
    done = await scene.wait_for(second.post.id, {"published"})
    entries = scene.ledger()
    assert [e.text for e in entries] == ["same words", "same words"]
    owners = {
        (await get_delivery(scene.rt, first.deliveries[0].id)).external_id,
        done.deliveries[0].external_id,
    }
    assert owners == {e.post_id for e in entries}
    assert await outcomes_of(scene, done.deliveries[0].id) == [
        "uncertain",
        "not_found",
        "published",
    ]


async def test_an_older_match_behind_a_newer_twin_is_still_found(
    scene: Scene, start_engine: StartEngine
) -> None:
    """D1's post landed but its worker died; D2 with the same text to the same account was
    published after it. Reconciling D1 must find D1's own (older) post, not send a third."""
    account = await scene.account("brand", idempotency=False)
    d1 = await scene.post("twin text", [account], at=scene.rt.now() + timedelta(hours=1))
    d1_id = d1.deliveries[0].id
    now = scene.rt.now()
    async with scene.rt.db.write() as conn:
        await q.claim_due(
            conn, worker_id="doomed", now=now, horizon=now + timedelta(hours=2), limit=1,
            lease=timedelta(seconds=30),
        )  # fmt: skip
        ctx = await q.begin_publishing(
            conn, delivery_id=d1_id, worker_id="doomed", now=now,
            lease=timedelta(seconds=2),
        )  # fmt: skip
    assert ctx is not None
    adapters = AdapterRegistry.from_settings(scene.rt.settings)
    try:
        request = build_request(
            ctx, secretbox=scene.rt.secretbox, media_dir=scene.rt.settings.media_dir
        )
        await adapters.get(ctx.delivery.platform).publish(request)
    finally:
        await adapters.aclose()
    await start_engine()
    d2 = await scene.post("twin text", [account])
    await scene.wait_for(d2.post.id, {"published"})
    await scene.wait_for(d1.post.id, {"published"})
    assert len(scene.ledger()) == 2  # one post per delivery
