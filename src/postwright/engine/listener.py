"""PostgreSQL LISTEN: wake this process's dispatcher when any process schedules something."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from postwright.engine.wakeup import CHANNEL, Wakeup
from postwright.store.db import sync_url

__all__ = ["listen_forever"]

log = logging.getLogger("postwright.engine.listener")


async def listen_forever(database_url: str, wakeup: Wakeup) -> None:
    """Hold a LISTEN connection, reconnecting after failures, until cancelled."""

    def _on_notify(*_args: Any) -> None:
        wakeup.poke()

    delay = 1.0
    while True:
        try:
            conn = await asyncpg.connect(sync_url(database_url))
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN connection failed (%s); retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = 1.0
        try:
            await conn.add_listener(CHANNEL, _on_notify)
            wakeup.poke()  # anything scheduled while we were not listening
            while not conn.is_closed():
                await asyncio.sleep(5)
                await conn.execute("SELECT 1")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN connection lost (%s); reconnecting", exc)
        finally:
            if not conn.is_closed():
                await conn.close()
