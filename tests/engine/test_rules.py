"""Posting rules and platform rate limits defer deliveries; they never drop them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postwright.engine.gate import account_bucket_key
from postwright.platforms.emulator.app import create_app
from postwright.platforms.emulator.ratelimit import RateLimit
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.services import posts as post_service
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from tests.engine.conftest import (
    Scene,
    StartEngine,
    add_fault,
    attempts_of,
    get_delivery,
    wait_until,
)


async def due_in_turn(scene: Scene, views: list[post_service.PostView]) -> list[datetime]:
    """Make the posts due one after another, 50 ms apart (in the order given), from 0.3 s on."""
    start = scene.rt.now() + timedelta(milliseconds=300)
    times = []
    async with scene.rt.db.write() as conn:
        for i, view in enumerate(views):
            when = start + timedelta(milliseconds=50 * i)
            times.append(when)
            for d in view.deliveries:
                await post_store.update_delivery(
                    conn, delivery_id=d.id, values={"due_at": when, "scheduled_at": when}
                )
    scene.rt.wakeup.poke()
    return times


def received_at(scene: Scene, text: str) -> datetime:
    [entry] = [e for e in scene.ledger() if e.text == text]
    return datetime.fromtimestamp(entry.first_received_at, UTC)


async def test_min_interval_defers_the_second_post_until_allowed(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand", posting_rules={"min_interval_s": 1})
    first = await scene.post("first", [account], at=scene.rt.now() + timedelta(hours=1))
    second = await scene.post("second", [account], at=scene.rt.now() + timedelta(hours=1))
    await start_engine()
    at = await due_in_turn(scene, [first, second])

    async def deferred() -> bool:
        row = await get_delivery(scene.rt, second.deliveries[0].id)
        return row.hold_reason is not None

    await wait_until(deferred, what="the second post being deferred")
    published = await get_delivery(scene.rt, first.deliveries[0].id)
    held = await get_delivery(scene.rt, second.deliveries[0].id)
    assert published.state.value == "published"
    assert published.published_at is not None
    assert held.state.value == "scheduled"  # deferred, not failed
    assert held.attempts == 0  # a deferral is not an attempt
    assert held.hold_reason is not None
    assert "between posts" in held.hold_reason
    assert held.due_at == published.published_at + timedelta(seconds=1)
    assert held.scheduled_at == at[1]  # what the person asked for is kept
    async with scene.rt.db.read() as conn:
        stats = await q.queue_stats(conn, workspace_id=scene.principal.workspace_id, now=at[1])
    [shown] = stats["deferrals"]  # the API shows why and until when
    assert (shown["handle"], shown["count"], shown["reason"]) == ("brand", 1, held.hold_reason)

    done = await scene.wait_for(second.post.id, {"published"})
    assert done.deliveries[0].attempts == 1
    assert done.deliveries[0].hold_reason is None
    assert received_at(scene, "second") >= held.due_at
    assert [e.text for e in scene.ledger()] == ["first", "second"]


async def test_duplicate_text_waits_for_the_window(scene: Scene, start_engine: StartEngine) -> None:
    account = await scene.account("brand", posting_rules={"duplicate_window_s": 1})
    other = await scene.account("other", posting_rules={"duplicate_window_s": 1})
    later = scene.rt.now() + timedelta(hours=1)
    first = await scene.post("Same  TEXT", [account], at=later)
    again = await scene.post("same text", [account, other], at=later)  # differs only trivially
    await start_engine()
    await due_in_turn(scene, [first, again])
    done = await scene.wait_for(again.post.id, {"published"}, timeout=15)
    by_account = {d.account_id: d for d in done.deliveries}
    first_at = (await get_delivery(scene.rt, first.deliveries[0].id)).published_at
    assert first_at is not None
    repeat = by_account[account.id]
    assert repeat.published_at is not None
    assert repeat.published_at >= first_at + timedelta(seconds=1)
    # another account is not held back by this one's history
    elsewhere = by_account[other.id].published_at
    assert elsewhere is not None
    assert elsewhere < first_at + timedelta(seconds=1)
    assert sorted((e.account, e.text) for e in scene.ledger()) == [
        ("brand", "Same  TEXT"),
        ("brand", "same text"),
        ("other", "same text"),
    ]


async def test_max_per_hour_defers_by_the_window_and_keeps_the_post(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand", posting_rules={"max_per_hour": 2})
    later = scene.rt.now() + timedelta(hours=1)
    views = [await scene.post(f"post {i}", [account], at=later) for i in range(3)]
    await start_engine()
    await due_in_turn(scene, views)
    await scene.wait_for(views[0].post.id, {"published"})
    await scene.wait_for(views[1].post.id, {"published"})

    async def deferred() -> bool:
        return (await get_delivery(scene.rt, views[2].deliveries[0].id)).hold_reason is not None

    await wait_until(deferred, what="the third post being deferred")
    first = await get_delivery(scene.rt, views[0].deliveries[0].id)
    held = await get_delivery(scene.rt, views[2].deliveries[0].id)
    assert first.published_at is not None
    assert (held.state.value, held.attempts) == ("scheduled", 0)
    assert held.due_at == first.published_at + timedelta(hours=1)
    assert held.hold_reason is not None
    assert "at most 2 posts per hour" in held.hold_reason
    assert len(scene.ledger()) == 2


async def test_rate_limit_waits_for_the_reset_and_holds_the_account(
    scene: Scene, start_engine: StartEngine
) -> None:
    limited = await scene.account("limited")
    free = await scene.account("free")
    add_fault(scene.emulator, {"rate_limit": {"retry_after": 2}}, account="limited", count=1)
    await start_engine()
    first = await scene.post("hits the limit", [limited])

    async def waiting() -> bool:
        return (await get_delivery(scene.rt, first.deliveries[0].id)).state.value == "retry_wait"

    await wait_until(waiting, what="the 429 being recorded")
    row = await get_delivery(scene.rt, first.deliveries[0].id)
    [attempt] = await attempts_of(scene.rt, row.id)
    assert (attempt.outcome, attempt.error_class, attempt.http_status) == (
        "rate_limited",
        "rate_limited",
        429,
    )
    reset = attempt.started_at + timedelta(seconds=2)
    assert row.due_at is not None
    assert row.due_at >= reset
    assert row.attempts == 0  # waiting for the platform's window does not spend an attempt
    async with scene.rt.db.read() as conn:
        bucket = await q.get_bucket(conn, key=account_bucket_key(limited.id))
    assert bucket is not None
    assert bucket["blocked_until"] >= reset

    # the account's other deliveries wait for the reset too; other accounts do not
    second = await scene.post("same account", [limited])
    elsewhere = await scene.post("another account", [free])
    await scene.wait_for(elsewhere.post.id, {"published"})

    async def held() -> bool:
        return (await get_delivery(scene.rt, second.deliveries[0].id)).hold_reason is not None

    await wait_until(held, what="the account's next delivery being held")
    second_row = await get_delivery(scene.rt, second.deliveries[0].id)
    assert second_row.state.value == "scheduled"
    assert second_row.due_at == bucket["blocked_until"]
    assert second_row.hold_reason is not None
    assert "rate limit" in second_row.hold_reason
    assert received_at(scene, "another account") < reset

    await scene.wait_for(first.post.id, {"published"})
    await scene.wait_for(second.post.id, {"published"})
    assert received_at(scene, "hits the limit") >= reset
    assert received_at(scene, "same account") >= reset
    assert [a.outcome for a in await attempts_of(scene.rt, row.id)] == [
        "rate_limited",
        "published",
    ]
    assert all(e.received_count == 1 for e in scene.ledger())


async def test_exhausted_rate_limit_headers_block_the_account_after_a_success(
    scene: Scene, start_engine: StartEngine
) -> None:
    """A success whose headers say remaining=0 blocks the account until the header's reset."""
    with BackgroundEmulator(
        create_app(rate_limits={"sandbox": RateLimit(limit=1, window_seconds=2)})
    ) as tight:
        account = await scene.account("brand", emulator_url=tight.url)
        await start_engine()
        at = scene.rt.now() + timedelta(milliseconds=400)
        views = [await scene.post(f"post {i}", [account], at=at) for i in range(2)]
        done = [await scene.wait_for(v.post.id, {"published"}) for v in views]
        entries = tight.app.ledger.entries()
        assert sorted(e.text for e in entries) == ["post 0", "post 1"]
        # the later one waited for the window to reset, and never met a 429
        for view in done:
            outcomes = [a.outcome for a in await attempts_of(scene.rt, view.deliveries[0].id)]
            assert outcomes == ["published"]
        first, second = sorted(entries, key=lambda e: e.first_received_at)
        assert second.first_received_at >= first.first_received_at + 1
