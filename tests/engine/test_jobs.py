"""Periodic jobs: registered once however many workers start together, run by one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

from postwright.domain.retry import RetryPolicy
from postwright.engine.jobs import Job, JobRunner, default_jobs
from postwright.platforms.registry import AdapterRegistry
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store import periodic
from tests.engine.conftest import tuned

INTERVALS = {"reap_leases": 2.0, "reconcile": 2.0}


async def test_workers_starting_together_register_each_job_once(runtime: Runtime) -> None:
    """Two workers' `ensure_jobs` overlap: both see no job rows and both insert them."""
    other = Runtime.from_settings(runtime.settings)
    first_read = asyncio.Event()
    first_commit = asyncio.Event()

    async def worker_a() -> None:
        async with runtime.db.write() as conn:
            await periodic.ensure_jobs(conn, intervals=INTERVALS, now=runtime.now())
            first_read.set()
            await first_commit.wait()

    async def worker_b() -> None:
        await first_read.wait()
        async with other.db.write() as conn:
            await periodic.ensure_jobs(conn, intervals=INTERVALS, now=other.now())

    try:
        a = asyncio.create_task(worker_a())
        b = asyncio.create_task(worker_b())
        await first_read.wait()
        await asyncio.sleep(0.2)  # B is now waiting on A's uncommitted rows (or its write lock)
        first_commit.set()
        await asyncio.gather(a, b)
    finally:
        await other.close()
    async with runtime.db.read() as conn:
        jobs = await periodic.list_jobs(conn)
    assert sorted(j["name"] for j in jobs) == sorted(INTERVALS)


async def test_a_job_runs_on_one_worker_at_a_time(runtime: Runtime) -> None:
    now = runtime.now()
    lease = timedelta(seconds=60)
    async with runtime.db.write() as conn:
        await periodic.ensure_jobs(conn, intervals=INTERVALS, now=now)
        assert await periodic.claim_job(conn, name="reconcile", owner="a", now=now, lease=lease)
        assert not await periodic.claim_job(conn, name="reconcile", owner="b", now=now, lease=lease)
        await periodic.finish_job(
            conn,
            name="reconcile",
            owner="a",
            outcome="ok",
            error=None,
            result={"checked": 0},
            next_run_at=now + timedelta(seconds=2),
            now=now,
        )
        # not due again before its interval, whoever asks
        assert not await periodic.claim_job(
            conn, name="reconcile", owner="b", now=now + timedelta(seconds=1), lease=lease
        )
        assert await periodic.claim_job(
            conn, name="reconcile", owner="b", now=now + timedelta(seconds=2), lease=lease
        )
        # a worker that died mid-job: its lease expires and another takes the job over
        later = now + timedelta(seconds=2) + lease + timedelta(seconds=1)
        assert await periodic.claim_job(conn, name="reconcile", owner="c", now=later, lease=lease)
        jobs = {j["name"]: j for j in await periodic.list_jobs(conn)}
    assert jobs["reconcile"]["lease_owner"] == "c"
    assert jobs["reconcile"]["last_outcome"] == "ok"
    assert jobs["reconcile"]["last_result"] == {"checked": 0}


def _intervals(settings: Settings) -> dict[str, float]:
    rt = Runtime.from_settings(settings)
    jobs = default_jobs(
        rt,
        AdapterRegistry({}),
        worker_id="w",
        policy=RetryPolicy(),
        rng=random.Random(1),
        refreshers=[],
    )
    return {j.name: j.interval_s for j in jobs}


def test_reaping_and_reconciling_follow_the_lease_and_the_settle_time(
    settings: Settings,
) -> None:
    production = {
        name: Settings.model_fields[name].default for name in ("lease_s", "reconcile_settle_s")
    }
    defaults = _intervals(settings.model_copy(update=production))
    assert (defaults["reap_leases"], defaults["reconcile"]) == (2.0, 2.0)  # lease 30 s, settle 10 s
    fast = _intervals(settings.model_copy(update={"lease_s": 0.9, "reconcile_settle_s": 0.5}))
    assert (fast["reap_leases"], fast["reconcile"]) == (0.3, 0.5)
    tiny = _intervals(settings.model_copy(update={"lease_s": 0.1, "reconcile_settle_s": 0.0}))
    assert (tiny["reap_leases"], tiny["reconcile"]) == (0.2, 0.2)
    assert defaults["materialize_recurrences"] == 60.0


async def test_a_job_left_running_by_a_dead_worker_is_taken_over_soon(
    runtime: Runtime,
) -> None:
    """A worker killed in the middle of a job never finishes it: the job's lease must lapse
    after about lease_s, not hold every worker off the job (the reaper, the reconciler) for
    a minute."""
    rt = tuned(runtime, lease_s=1.0)
    started = asyncio.Event()
    never = asyncio.Event()
    ran_by_b = asyncio.Event()

    async def stuck() -> dict[str, object]:
        started.set()
        await never.wait()
        return {}

    async def fine() -> dict[str, object]:
        ran_by_b.set()
        return {}

    a = JobRunner(rt, [Job("reap_leases", 0.2, stuck)], owner="worker-a")
    b = JobRunner(rt, [Job("reap_leases", 0.2, fine)], owner="worker-b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    task_a = asyncio.create_task(a.run(stop_a))
    await asyncio.wait_for(started.wait(), 5)
    task_a.cancel()  # killed: no finish_job, the lease stays as it was taken
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    task_b = asyncio.create_task(b.run(stop_b))
    try:
        await asyncio.wait_for(ran_by_b.wait(), 5)
    finally:
        stop_b.set()
        await task_b
    async with rt.db.read() as conn:
        [job] = [j for j in await periodic.list_jobs(conn) if j["name"] == "reap_leases"]
    assert job["lease_owner"] is None  # B finished it
    assert job["last_outcome"] == "ok"
