"""Turns: publish slots granted most urgent first, one per account, a bounded number at once."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from postwright.engine.turns import Turns

DUE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def test_arrivals_in_one_turn_of_the_loop_go_most_urgent_first() -> None:
    turns = Turns(1)
    order: list[str] = []

    async def deliver(name: str, priority: int, due: datetime = DUE) -> None:
        async with turns.turn(uuid.uuid4(), priority=priority, due=due):
            order.append(name)
            await asyncio.sleep(0)

    jobs = [(f"p{p}-{i}", p) for p in range(4) for i in range(3)]
    random.Random(5).shuffle(jobs)  # the order timers happen to fire in
    await asyncio.gather(*(deliver(name, p) for name, p in jobs))
    assert [name.split("-")[0] for name in order] == [f"p{p}" for p in range(4) for _ in range(3)]


async def test_the_same_priority_goes_in_due_order() -> None:
    turns = Turns(1)
    order: list[int] = []

    async def deliver(seconds: int) -> None:
        async with turns.turn(uuid.uuid4(), priority=2, due=DUE + timedelta(seconds=seconds)):
            order.append(seconds)

    await asyncio.gather(*(deliver(s) for s in (3, 1, 2, 0)))
    assert order == [0, 1, 2, 3]


async def test_one_turn_per_account_and_at_most_the_limit() -> None:
    turns = Turns(3)
    accounts = [uuid.uuid4() for _ in range(4)]
    running: set[uuid.UUID] = set()
    most = 0

    async def deliver(account: uuid.UUID) -> None:
        nonlocal most
        async with turns.turn(account, priority=2, due=DUE):
            assert account not in running  # never two at once for one account
            running.add(account)
            most = max(most, len(running))
            await asyncio.sleep(0.005)
            running.discard(account)

    await asyncio.gather(*(deliver(accounts[i % 4]) for i in range(40)))
    assert most == 3
    assert turns.in_use == 0


async def test_a_busy_account_does_not_block_others() -> None:
    turns = Turns(2)
    busy, other = uuid.uuid4(), uuid.uuid4()
    release = asyncio.Event()
    order: list[str] = []

    async def deliver(name: str, account: uuid.UUID, priority: int) -> None:
        async with turns.turn(account, priority=priority, due=DUE):
            order.append(name)
            if name == "first":
                await release.wait()

    first = asyncio.create_task(deliver("first", busy, 2))
    await asyncio.sleep(0.01)
    # an urgent one for the busy account waits; a low one for another account goes
    urgent = asyncio.create_task(deliver("urgent same account", busy, 0))
    low = asyncio.create_task(deliver("low other account", other, 3))
    await asyncio.sleep(0.01)
    assert order == ["first", "low other account"]
    release.set()
    await asyncio.gather(first, urgent, low)
    assert order == ["first", "low other account", "urgent same account"]


async def test_a_cancelled_waiter_gives_nothing_away() -> None:
    turns = Turns(1)
    account = uuid.uuid4()
    release = asyncio.Event()

    async def hold() -> None:
        async with turns.turn(account, priority=2, due=DUE):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    assert turns.in_use == 0
    async with asyncio.timeout(1):
        async with turns.turn(account, priority=2, due=DUE):
            pass  # the slot is free again


async def test_cancelled_just_after_being_granted_hands_the_turn_on() -> None:
    turns = Turns(1)
    a = uuid.uuid4()
    release = asyncio.Event()
    entered: list[str] = []

    async def take(name: str) -> None:
        async with turns.turn(a, priority=2, due=DUE):
            entered.append(name)
            await release.wait()

    first = asyncio.create_task(take("first"))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(take("second"))
    third = asyncio.create_task(take("third"))
    await asyncio.sleep(0.01)
    release.set()
    await first
    second.cancel()  # granted in the same turn of the loop it is cancelled in, or just before
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.wait_for(third, 1)
    assert entered[0] == "first"
    assert entered[-1] == "third"
    assert turns.in_use == 0
