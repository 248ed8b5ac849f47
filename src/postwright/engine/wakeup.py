"""Waking the dispatcher when a delivery becomes due sooner than it planned to look.

In one process (SQLite, or `serve` with its worker) an asyncio event is enough. Across processes
on PostgreSQL, `NOTIFY postwright_due` is sent inside the transaction that changed the schedule,
so listeners hear of it exactly when the change commits, never before.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["CHANNEL", "Wakeup"]

CHANNEL = "postwright_due"


class Wakeup:
    """A level-triggered wake-up signal for the dispatcher."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def notify_in(self, conn: AsyncConnection) -> None:
        """Tell other processes, on commit of `conn`'s transaction (PostgreSQL only)."""
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    def poke(self) -> None:
        """Wake this process's dispatcher (call after the change committed)."""
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Sleep until poked or `seconds` pass; True if poked."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True
