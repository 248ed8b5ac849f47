"""The periodic jobs and the runner that executes each on one worker at a time.

reap_leases             every 2 s    claimed past lease -> scheduled; publishing -> uncertain
                        (or lease_s / 3 if shorter, down to 0.2 s)
reconcile               every 2 s    uncertain -> published | retry_wait | failed
                        (or reconcile_settle_s if shorter, down to 0.2 s)
materialize_recurrences every 60 s   next occurrences of recurring posts -> deliveries
refresh_tokens          every 5 min  tokens about to expire (hook for the accounts work)
archive                 every hour   finished posts older than the retention -> archived;
                                     expired connect states and stale login throttles deleted
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from postwright.domain import timeutil
from postwright.domain.models import Target, new_id
from postwright.domain.recurrence import occurrences
from postwright.domain.retry import RetryPolicy
from postwright.domain.states import DeliveryState, PostStatus
from postwright.engine.reconcile import reconcile_once
from postwright.platforms.registry import AdapterRegistry
from postwright.runtime import Runtime
from postwright.store import delivery_queue as q
from postwright.store import login_throttle, oauth_states, periodic, series

__all__ = ["JobRunner", "TokenRefresher", "default_jobs"]

log = logging.getLogger("postwright.engine.jobs")

JobFn = Callable[[], Awaitable[dict[str, Any]]]
RECURRENCE_HORIZON = timedelta(days=14)


class TokenRefresher(Protocol):
    """Refreshes account tokens that expire soon; installed by the accounts work."""

    async def refresh_due(self, rt: Runtime) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval_s: float
    run: JobFn


def default_jobs(
    rt: Runtime,
    adapters: AdapterRegistry,
    *,
    worker_id: str,
    policy: RetryPolicy,
    rng: random.Random,
    refreshers: list[TokenRefresher],
) -> list[Job]:
    async def reap() -> dict[str, Any]:
        now = rt.now()
        async with rt.db.write() as conn:
            returned, uncertain = await q.reap_expired_leases(
                conn,
                now=now,
                look_after=timedelta(
                    seconds=rt.settings.publish_timeout_s + rt.settings.reconcile_settle_s
                ),
            )
            pruned = await q.prune_workers(conn, older_than=now - timedelta(minutes=10))
        if returned or uncertain:
            log.warning("recovered %d claims and %d interrupted publishes", returned, uncertain)
            rt.wakeup.poke()
        return {"returned": returned, "uncertain": uncertain, "workers_pruned": pruned}

    async def reconcile() -> dict[str, Any]:
        return await reconcile_once(rt, adapters, worker_id=worker_id, policy=policy, rng=rng)

    async def materialize() -> dict[str, Any]:
        return await materialize_recurrences(rt)

    async def refresh_tokens() -> dict[str, Any]:
        if not refreshers:
            return {"refreshed": 0, "note": "no token refresher installed"}
        totals: dict[str, Any] = {}
        for refresher in refreshers:
            totals.update(await refresher.refresh_due(rt))
        return totals

    async def archive() -> dict[str, Any]:
        now = rt.now()
        async with rt.db.write() as conn:
            archived = await series.archive_finished(
                conn, before=now - timedelta(days=rt.settings.retention_days), now=now
            )
            # connect flows abandoned half-way: their states expired long ago
            forgotten = await oauth_states.delete_expired_states(
                conn, before=now - timedelta(days=1)
            )
            throttles = await login_throttle.delete_stale(
                conn, idle_before=now - timedelta(seconds=rt.settings.login_window_s), now=now
            )
        return {
            "archived": archived,
            "expired_connect_states_deleted": forgotten,
            "login_throttles_deleted": throttles,
        }

    s = rt.settings
    return [
        # no slower than every 2 s, and as often as the settings ask: a lease of lease_s is
        # found expired within a third of it, an uncertain one is looked at once it settled
        Job("reap_leases", _clamp(s.lease_s / 3), reap),
        Job("reconcile", _clamp(s.reconcile_settle_s), reconcile),
        Job("materialize_recurrences", 60.0, materialize),
        Job("refresh_tokens", 300.0, refresh_tokens),
        Job("archive", 3600.0, archive),
    ]


def _clamp(seconds: float, *, least: float = 0.2, most: float = 2.0) -> float:
    return min(most, max(least, seconds))


async def materialize_recurrences(rt: Runtime, *, limit: int = 100) -> dict[str, Any]:
    """Turn the next occurrences of every recurring series into deliveries, up to the horizon."""
    now = rt.now()
    horizon = now + RECURRENCE_HORIZON
    created = 0
    async with rt.db.write() as conn:
        for post, latest in await series.series_to_extend(conn, horizon=horizon, limit=limit):
            if not latest or post.scheduled_at is None:
                continue
            tz = timeutil.load_timezone(post.timezone)
            start_local = (
                timeutil.parse_local_time(post.local_time, field="local_time")
                if post.local_time
                else post.scheduled_at.astimezone(tz).replace(tzinfo=None)
            )
            last = latest[0].occurrence_at or post.scheduled_at
            times = occurrences(
                post.recurrence or "",
                start_local=start_local,
                tz=tz,
                after=last + timedelta(seconds=1),
                until=horizon,
                limit=100,
                skip=post.recurrence_skips,
            )
            if not times:
                continue
            # the series' own state and template, not the latest occurrence's: that one may
            # have been skipped, cancelled or edited alone
            state = (
                DeliveryState.PENDING_APPROVAL
                if post.status is PostStatus.PENDING_APPROVAL
                else DeliveryState.SCHEDULED
            )
            platforms = {d.account_id: d.platform for d in latest}
            targets = [t for t in post.targets if t.account_id in platforms] or [
                Target(account_id=d.account_id, text=d.text, options=d.options) for d in latest
            ]
            rows = [
                {
                    "id": new_id(),
                    "workspace_id": post.workspace_id,
                    "post_id": post.id,
                    "account_id": t.account_id,
                    "platform": platforms[t.account_id].value,
                    "state": state.value,
                    "scheduled_at": when,
                    "due_at": when if state is DeliveryState.SCHEDULED else None,
                    "priority": int(post.priority),
                    "text": t.text,
                    "options": t.options,
                    "attempts": 0,
                    "idempotency_key": new_id().hex,
                    "occurrence_at": when,
                    "created_at": now,
                    "updated_at": now,
                }
                for when in times
                for t in targets
            ]
            created += await series.insert_occurrences(
                conn, post_id=post.id, rows=rows, materialized_until=times[-1]
            )
        if created:
            await rt.wakeup.notify_in(conn)
    if created:
        rt.wakeup.poke()
    return {"deliveries_created": created}


class JobRunner:
    """Every worker runs this loop; a lease per job makes each run happen on one worker."""

    def __init__(self, rt: Runtime, jobs: list[Job], *, owner: str) -> None:
        self.rt = rt
        self.jobs = jobs
        self.owner = owner
        # how often this runner asks whether a job is due: its interval, at most every 0.5 s
        self._ask_every = {j.name: min(0.5, j.interval_s) for j in jobs}
        self._asked: dict[str, float] = {}
        self._sweep_s = min([0.5, *self._ask_every.values()])

    async def run(self, stop: asyncio.Event) -> None:
        async with self.rt.db.write() as conn:
            await periodic.ensure_jobs(
                conn, intervals={j.name: j.interval_s for j in self.jobs}, now=self.rt.now()
            )
        while not stop.is_set():
            for job in self.jobs:
                if stop.is_set():
                    break
                now = time.monotonic()
                if now - self._asked.get(job.name, -1e9) < self._ask_every[job.name]:
                    continue
                self._asked[job.name] = now
                try:
                    await self._run_if_due(job)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("periodic job %s could not be scheduled", job.name)
            try:
                async with asyncio.timeout(self._sweep_s):
                    await stop.wait()
            except TimeoutError:
                pass

    async def _run_if_due(self, job: Job) -> None:
        # as long as a delivery's lease: a worker killed mid-job holds the job off no longer
        # than it holds its deliveries. A run that outlives it may be repeated by another
        # worker, which every job here tolerates (each change is guarded or idempotent).
        lease = timedelta(seconds=self.rt.settings.lease_s)
        async with self.rt.db.write() as conn:
            if not await periodic.claim_job(
                conn, name=job.name, owner=self.owner, now=self.rt.now(), lease=lease
            ):
                return
        outcome, error, result = "ok", None, None
        try:
            result = await job.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("periodic job %s failed", job.name)
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:2000]
        now = self.rt.now()
        async with self.rt.db.write() as conn:
            await periodic.finish_job(
                conn,
                name=job.name,
                owner=self.owner,
                outcome=outcome,
                error=error,
                result=result,
                next_run_at=now + timedelta(seconds=job.interval_s),
                now=now,
            )
