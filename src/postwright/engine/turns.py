"""Whose turn it is to publish: most urgent first, one per account, a bounded number at once.

Deliveries due at the same instant wake from their sleeps in the same turn of the event loop,
but in no particular order (the loop's timer heap does not keep insertion order among equal
times). A plain semaphore and per-account locks hand out turns in the order tasks happen to
arrive, so a low-priority delivery could go before an urgent one due at the same second.
`Turns` waits until everyone who arrived in this turn of the loop is queued, then grants by
(priority, due, arrival): urgent before high before normal before low among what is due.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Turns"]


@dataclass(order=True, slots=True)
class _Waiter:
    key: tuple[int, datetime, int]
    account_id: uuid.UUID = field(compare=False)
    granted: asyncio.Future[None] = field(compare=False)


class Turns:
    """At most `limit` turns at once, at most one per account, granted most urgent first."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._free = limit
        self._busy: set[uuid.UUID] = set()  # accounts with a turn under way
        self._waiting: list[_Waiter] = []
        self._arrivals = itertools.count()
        self._grant_scheduled = False

    @asynccontextmanager
    async def turn(
        self, account_id: uuid.UUID, *, priority: int, due: datetime
    ) -> AsyncIterator[None]:
        """Wait for a turn for this account, hold it inside the block."""
        waiter = _Waiter(
            key=(priority, due, next(self._arrivals)),
            account_id=account_id,
            granted=asyncio.get_running_loop().create_future(),
        )
        self._waiting.append(waiter)
        self._schedule_grant()
        try:
            await asyncio.shield(waiter.granted)
        except asyncio.CancelledError:
            if waiter.granted.done():
                self._release(account_id)  # granted just as we were cancelled: hand it on
            else:
                waiter.granted.cancel()
                self._waiting.remove(waiter)
            raise
        try:
            yield
        finally:
            self._release(account_id)

    @property
    def in_use(self) -> int:
        return len(self._busy)

    def _release(self, account_id: uuid.UUID) -> None:
        self._free += 1
        self._busy.discard(account_id)
        self._schedule_grant()

    def _schedule_grant(self) -> None:
        # Not now: after every task woken in this turn of the loop has queued itself.
        if not self._grant_scheduled:
            self._grant_scheduled = True
            asyncio.get_running_loop().call_soon(self._grant)

    def _grant(self) -> None:
        self._grant_scheduled = False
        if not self._waiting or self._free == 0:
            return
        self._waiting.sort()
        still: list[_Waiter] = []
        for waiter in self._waiting:
            if self._free > 0 and waiter.account_id not in self._busy:
                self._free -= 1
                self._busy.add(waiter.account_id)
                waiter.granted.set_result(None)
            else:
                still.append(waiter)
        self._waiting = still
