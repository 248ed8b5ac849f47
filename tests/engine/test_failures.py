"""Failures: permanent errors fail at once, retryable ones until the last attempt, both can be
retried by hand; an account whose credentials stop working holds its deliveries."""

from __future__ import annotations

import asyncio

from postwright.domain.models import AccountStatus
from postwright.services import accounts as account_service
from postwright.services import posts as post_service
from postwright.store import accounts as account_store
from tests.engine.conftest import (
    Scene,
    StartEngine,
    add_fault,
    attempts_of,
    get_delivery,
    wait_until,
)


async def test_a_permanent_error_fails_at_once_with_the_platforms_message(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    add_fault(scene.emulator, {"status": 422, "body": {"error": "text breaks a rule"}}, count=1)
    await start_engine()
    view = await scene.post("not allowed", [account])
    done = await scene.wait_for(view.post.id, {"failed"})
    delivery = done.deliveries[0]
    assert delivery.last_error == "sandbox refused the post: text breaks a rule"
    assert (delivery.error_class, delivery.attempts, delivery.due_at) == ("permanent", 1, None)
    [attempt] = await attempts_of(scene.rt, delivery.id)
    assert (attempt.outcome, attempt.error_class, attempt.http_status) == (
        "failed",
        "permanent",
        422,
    )
    assert attempt.execution_time_ms is not None
    assert attempt.latency_ms is not None
    assert done.post.status.value == "failed"
    assert scene.ledger() == []

    # dead letters can be retried by hand, with a fresh attempt budget
    retried = await post_service.retry_post(scene.rt, scene.principal, view.post.id)
    assert [(d.state.value, d.attempts) for d in retried.deliveries] == [("scheduled", 0)]
    done = await scene.wait_for(view.post.id, {"published"})
    assert [e.text for e in scene.ledger()] == ["not allowed"]
    assert [a.outcome for a in await attempts_of(scene.rt, delivery.id)] == [
        "failed",
        "published",
    ]
    assert done.post.status.value == "published"


async def test_retryable_errors_until_the_last_attempt_then_dead_letter(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    add_fault(scene.emulator, {"status": 408}, count=3)  # a timeout answered before storing
    await start_engine(retry_max_attempts=3)
    view = await scene.post("keeps failing", [account])
    done = await scene.wait_for(view.post.id, {"failed"})
    delivery = done.deliveries[0]
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("gave up after 3 attempts: sandbox answered 408")
    assert (delivery.error_class, delivery.attempts) == ("retryable", 3)
    attempts = await attempts_of(scene.rt, delivery.id)
    assert [(a.number, a.outcome, a.http_status) for a in attempts] == [
        (1, "retry", 408),
        (2, "retry", 408),
        (3, "failed", 408),
    ]
    # backed off between tries
    assert attempts[0].finished_at is not None
    assert attempts[1].started_at > attempts[0].finished_at
    assert scene.ledger() == []

    await post_service.retry_post(scene.rt, scene.principal, view.post.id)
    await scene.wait_for(view.post.id, {"published"})
    assert [(e.text, e.received_count) for e in scene.ledger()] == [("keeps failing", 1)]


async def test_uncertain_outcomes_not_found_until_the_last_attempt_then_dead_letter(
    scene: Scene, start_engine: StartEngine
) -> None:
    """5xx answers: each is looked for on the platform, not found, and retried; the last
    attempt's look gives up. Nothing is ever sent twice."""
    account = await scene.account("brand")
    add_fault(scene.emulator, {"status": 503}, count=2)
    await start_engine(retry_max_attempts=2)
    view = await scene.post("server trouble", [account])
    done = await scene.wait_for(view.post.id, {"failed"}, timeout=20)
    delivery = done.deliveries[0]
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("gave up after 2 attempts: not found on the platform")
    assert [a.outcome for a in await attempts_of(scene.rt, delivery.id)] == [
        "uncertain",
        "not_found",
        "uncertain",
        "not_found",
    ]
    assert scene.ledger() == []


async def test_an_auth_failure_holds_the_delivery_until_the_account_is_fixed(
    scene: Scene, start_engine: StartEngine
) -> None:
    account = await scene.account("brand")
    other = await scene.account("other")
    add_fault(scene.emulator, {"status": 401}, account="brand", count=1)
    engine = await start_engine()
    view = await scene.post("needs a token", [account])

    async def held() -> bool:
        row = await get_delivery(scene.rt, view.deliveries[0].id)
        return row.hold_reason is not None

    await wait_until(held, what="the 401 being recorded")
    row = await get_delivery(scene.rt, view.deliveries[0].id)
    assert (row.state.value, row.attempts, row.error_class) == ("scheduled", 0, "auth_needed")
    assert row.hold_reason is not None
    assert "reconnect" in row.hold_reason
    [attempt] = await attempts_of(scene.rt, row.id)
    assert (attempt.outcome, attempt.http_status) == ("auth_needed", 401)
    fixed = await account_service.get_account(scene.rt, scene.principal, account.id)
    assert fixed.status == AccountStatus.NEEDS_RECONNECT

    # held, not retried against the platform; other accounts go on
    elsewhere = await scene.post("other account", [other])
    await scene.wait_for(elsewhere.post.id, {"published"})
    await asyncio.sleep(0.5)
    assert (await get_delivery(scene.rt, row.id)).state.value == "scheduled"
    assert [e.text for e in scene.ledger()] == ["other account"]

    # reconnected: it goes out
    async with scene.rt.db.write() as conn:
        await account_store.set_account_status(
            conn,
            workspace_id=scene.principal.workspace_id,
            account_id=account.id,
            status=AccountStatus.ACTIVE,
            reason=None,
            now=scene.rt.now(),
        )
    scene.rt.wakeup.poke()
    await scene.wait_for(view.post.id, {"published"})
    assert sorted(e.text for e in scene.ledger()) == ["needs a token", "other account"]
    assert engine.worker.published == 2
