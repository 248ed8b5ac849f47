"""The engine as one object to start and stop: worker, periodic jobs and (PostgreSQL) listener.

`postwright serve` starts it inside the web server's event loop; `postwright worker` runs it
alone. Stopping is graceful: publishes under way finish, claims not yet started are handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from postwright.auth.refresh import default_refreshers
from postwright.domain.retry import RetryPolicy
from postwright.engine.jobs import JobRunner, TokenRefresher, default_jobs
from postwright.engine.listener import listen_forever
from postwright.engine.worker import Worker
from postwright.platforms.registry import AdapterRegistry
from postwright.runtime import Runtime

__all__ = ["EngineService"]

log = logging.getLogger("postwright.engine")


class EngineService:
    def __init__(
        self,
        rt: Runtime,
        *,
        adapters: AdapterRegistry | None = None,
        worker_id: str | None = None,
        refreshers: list[TokenRefresher] | None = None,
    ) -> None:
        self.rt = rt
        self.adapters = adapters or AdapterRegistry.from_settings(rt.settings)
        self._owns_adapters = adapters is None
        if refreshers is None:
            # the platforms' token refreshes, and refresh-and-retry-once after AuthNeeded
            refreshers = list(default_refreshers(rt.settings))
        self.worker = Worker(rt, self.adapters, worker_id=worker_id, refreshers=refreshers)
        s = rt.settings
        policy = RetryPolicy(
            max_attempts=s.retry_max_attempts,
            base_delay_s=s.retry_base_delay_s,
            max_delay_s=s.retry_max_delay_s,
        )
        self.jobs = JobRunner(
            rt,
            default_jobs(
                rt,
                self.adapters,
                worker_id=self.worker.id,
                policy=policy,
                rng=random.Random(),
                refreshers=refreshers,
            ),
            owner=self.worker.id,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        self._tasks.append(asyncio.create_task(self.jobs.run(self._stop), name="periodic-jobs"))
        if self.rt.db.is_postgres:
            self._tasks.append(
                asyncio.create_task(
                    listen_forever(self.rt.settings.resolved_database_url, self.rt.wakeup),
                    name="listener",
                )
            )

    async def stop(self) -> None:
        self._stop.set()
        self.worker.stop()
        for task in self._tasks:
            if task.get_name() == "listener":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._owns_adapters:
            await self.adapters.aclose()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
