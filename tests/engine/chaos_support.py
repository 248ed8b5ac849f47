"""What the chaos tests share: the emulator and the workers as OS processes, fast engine
settings, a clean PostgreSQL database, and reading the outcome back.

The chaos tests (`test_chaos.py` on sandbox accounts, `test_chaos_platforms.py` on the emulated
real platforms) run the emulator and every worker as separate processes, kill workers with
SIGKILL mid-flight and restart them, and then require every delivery to be `published` and the
emulator's ledger to hold each post exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

from postwright.runtime import Runtime
from tests.engine.conftest import wait_until_http

__all__ = [
    "SECRET",
    "Workers",
    "delivery_states",
    "diagnosis",
    "emulator_process",
    "free_port",
    "ledger",
    "postwright_command",
    "reset_database",
    "wait_for_states",
    "wait_for_workers",
    "worker_env",
    "working_pids",
]

SECRET = "chaos-secret-key-0123456789-abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postwright_command() -> list[str]:
    """The installed `postwright` console script of the interpreter running the tests."""
    return [str(Path(sys.executable).with_name("postwright"))]


def reset_database(url: str) -> str:
    """Empty every table of the (migrated) test database; returns `url`."""
    from tests.conftest import _truncate as truncate

    asyncio.run(truncate(url))
    return url


@contextlib.contextmanager
def emulator_process(log_dir: Path, *, seed: int = 7) -> Iterator[str]:
    """`python -m postwright.platforms.emulator` on a free port, stopped on exit; yields its URL."""
    port = free_port()
    log = (log_dir / "emulator.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "postwright.platforms.emulator",
            "--port",
            str(port),
            "--seed",
            str(seed),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_http(f"{url}/_emulator/health", timeout=15)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def worker_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process: no inherited POSTWRIGHT_* settings, fast engine
    timings (short leases, timeouts and backoff, many attempts), and `extra` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWRIGHT_")}
    env.update(
        POSTWRIGHT_DATABASE_URL=database_url,
        POSTWRIGHT_DATA_DIR=str(data_dir),
        POSTWRIGHT_SECRET_KEY=SECRET,
        POSTWRIGHT_LEASE_S="2",
        POSTWRIGHT_PUBLISH_TIMEOUT_S="1.5",
        POSTWRIGHT_RECONCILE_SETTLE_S="0.5",
        POSTWRIGHT_RETRY_BASE_DELAY_S="0.2",
        POSTWRIGHT_RETRY_MAX_DELAY_S="2",
        POSTWRIGHT_RETRY_MAX_ATTEMPTS="30",
        POSTWRIGHT_POLL_INTERVAL_S="0.2",
        POSTWRIGHT_CLAIM_AHEAD_MS="500",
        POSTWRIGHT_WORKER_CONCURRENCY="32",
        POSTWRIGHT_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


class Workers:
    """`postwright worker` processes: started, killed with SIGKILL, and stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[IO[str]] = []
        self.started = 0

    def start(self) -> None:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("w")
        self.files.append(log)
        self.procs.append(
            subprocess.Popen(
                [*postwright_command(), "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def kill_one(self, rng: random.Random) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        assert alive, f"every worker exited by itself; see the logs in {self.logs}"
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait(5)
        self.procs.remove(victim)

    def kill(self, pid: int) -> None:
        """SIGKILL the worker process `pid` (one of ours)."""
        victim = next(p for p in self.procs if p.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(5)
        self.procs.remove(victim)

    def alive(self) -> set[int]:
        """The pids of our worker processes that have not exited."""
        return {p.pid for p in self.procs if p.poll() is None}

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in self.files:
            f.close()


async def delivery_states(rt: Runtime) -> Counter[str]:
    """How many deliveries are in each state, across every workspace."""
    from sqlalchemy import func, select

    from postwright.store.tables import deliveries

    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
            )
        ).all()
    return Counter({r[0]: int(r[1]) for r in rows})


async def working_pids(rt: Runtime) -> set[int]:
    """The pids of the workers registered in the database that beat in the last 3 seconds:
    those that have booted (a worker process takes seconds to import and connect) and run."""
    from sqlalchemy import select

    from postwright.store.tables import workers

    recent = rt.now() - timedelta(seconds=3)
    async with rt.db.read() as conn:
        rows = await conn.execute(select(workers.c.pid).where(workers.c.heartbeat_at > recent))
        return {int(pid) for pid in rows.scalars()}


async def wait_for_workers(
    rt: Runtime, procs: Workers, count: int, *, within: float = 30.0
) -> set[int]:
    """Wait until `count` of our worker processes are working; returns their pids."""
    deadline = time.monotonic() + within
    while True:
        working = await working_pids(rt) & procs.alive()
        if len(working) >= count:
            return working
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(working)} of {count} workers working after {within} s; "
                f"see the logs in {procs.logs}"
            )
        await asyncio.sleep(0.1)


async def wait_for_states(
    rt: Runtime,
    wanted: Counter[str],
    *,
    within: float,  # a deadline polled against the database, not a timeout
) -> Counter[str]:
    """Poll the states every half second until they are `wanted` or `within` seconds passed;
    returns the last states read."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await delivery_states(rt) == wanted:
            break
        await asyncio.sleep(0.5)
    return await delivery_states(rt)


async def diagnosis(rt: Runtime) -> str:
    """Why deliveries are not published yet, for a failure message: the unpublished ones by
    platform, state, lease and last error, and the periodic jobs' leases."""
    from sqlalchemy import select

    from postwright.store.tables import deliveries, periodic_jobs

    now = rt.now()
    d = deliveries.c
    async with rt.db.read() as conn:
        stuck = (
            await conn.execute(
                select(
                    d.platform, d.state, d.lease_expires_at, d.last_error, d.lease_owner, d.due_at
                ).where(d.state != "published")
            )
        ).all()
        jobs = (await conn.execute(select(periodic_jobs))).all()
    tally: Counter[tuple[str, str, bool, str]] = Counter(
        (row.platform, row.state, _live(row.lease_expires_at, now), (row.last_error or "")[:120])
        for row in stuck
    )
    lines = ["unpublished (platform, state, lease live, last error): count"]
    lines += [f"  {key}: {n}" for key, n in sorted(tally.items())]
    owners = Counter(str(row.lease_owner) for row in stuck if _live(row.lease_expires_at, now))
    lines.append(f"live leases by owner: {dict(owners)}")
    overdue = [(now - row.due_at).total_seconds() for row in stuck if row.due_at is not None]
    if overdue:
        lines.append(f"most overdue: {max(overdue):.1f} s")
    lines.append("periodic jobs (name, lease owner, lease expires in s, last outcome, next in s):")
    for job in jobs:
        expires = (job.lease_expires_at - now).total_seconds() if job.lease_expires_at else None
        upcoming = (job.next_run_at - now).total_seconds()
        lines.append(
            f"  {job.name}, {job.lease_owner}, {expires}, {job.last_outcome}, {upcoming:.1f}"
        )
    return "\n".join(lines)


def _live(lease_expires_at: datetime | None, now: datetime) -> bool:
    return lease_expires_at is not None and lease_expires_at > now


def ledger(emulator_url: str) -> list[dict[str, Any]]:
    """`GET /_emulator/ledger`: every post the emulated platforms stored."""
    entries: list[dict[str, Any]] = httpx.get(f"{emulator_url}/_emulator/ledger").json()
    return entries
