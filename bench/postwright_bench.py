"""postwright's own workloads: lateness, throughput, scale (with 1,000,000 future deliveries)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BIN,
    due_times,
    emulator_process,
    fresh_database,
    percentiles,
    processes,
    received_at,
    reset_ledger,
    rss_mb,
    run,
    seed_accounts,
    seed_deliveries,
    wait_ledger,
    worker_env,
)

FUTURE = timedelta(days=30)


def _workers(url: str, workdir: Path, count: int, **overrides: str) -> list[list[str]]:
    _ = url, workdir, overrides
    return [[str(BIN / "postwright"), "worker"] for _ in range(count)]


def lateness(
    *, db: str, workdir: Path, deliveries: int, background: int, workers: int = 1
) -> dict[str, Any]:
    """Deliveries due at spread instants (every 5 ms); lateness = emulator receipt - due time."""
    with emulator_process(workdir) as emulator:
        url = run(fresh_database(db, workdir, f"lat_{db}"))
        seeded = run(seed_accounts(url, emulator, 50))
        if background:
            far = datetime.now(UTC) + FUTURE
            run(
                seed_deliveries(
                    url,
                    seeded,
                    due_times(far, background, timedelta(seconds=1)),
                    text_prefix="future",
                )
            )
        start = datetime.now(UTC) + timedelta(seconds=8)
        due = due_times(start, deliveries, timedelta(milliseconds=5))
        run(seed_deliveries(url, seeded, due, text_prefix="lat", per_post=1))
        reset_ledger(emulator)
        env = worker_env(url, workdir / "data")
        with processes(_workers(url, workdir, workers), env, workdir, f"lat-{db}") as procs:
            entries = wait_ledger(emulator, deliveries, timeout=60 + deliveries / 100)
            memory = [round(rss_mb(p.pid), 1) for p in procs]
    late = []
    for e in entries:
        index = int(e["text"].rsplit(" ", 1)[1])
        late.append((received_at(e) - due[index]).total_seconds() * 1000)
    return {
        "workload": "lateness",
        "db": db,
        "workers": workers,
        "future_rows": background,
        "published": len(entries),
        **percentiles(late),
        "worker_rss_mb": memory,
    }


def throughput(
    *,
    db: str,
    workdir: Path,
    deliveries: int,
    workers: int,
    background: int = 0,
    accounts: int = 200,
) -> dict[str, Any]:
    """Deliveries all due at one instant over many accounts; rate = count / (last - first)."""
    with emulator_process(workdir) as emulator:
        url = run(fresh_database(db, workdir, f"tp_{db}"))
        seeded = run(seed_accounts(url, emulator, accounts))
        if background:
            far = datetime.now(UTC) + FUTURE
            run(
                seed_deliveries(
                    url,
                    seeded,
                    due_times(far, background, timedelta(seconds=1)),
                    text_prefix="future",
                )
            )
        env = worker_env(url, workdir / "data", worker_concurrency="128", claim_batch="500")
        with processes(_workers(url, workdir, workers), env, workdir, f"tp-{db}") as procs:
            time.sleep(3)  # workers up and idle
            start = datetime.now(UTC) + timedelta(seconds=5)
            run(seed_deliveries(url, seeded, [start] * deliveries, text_prefix="tp", per_post=1))
            entries = wait_ledger(emulator, deliveries, timeout=120 + deliveries / 50)
            memory = [round(rss_mb(p.pid), 1) for p in procs]
    times = sorted(received_at(e) for e in entries)
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else float("nan")
    drain = (times[-1] - start).total_seconds() if times else float("nan")
    return {
        "workload": "throughput",
        "db": db,
        "workers": workers,
        "future_rows": background,
        "published": len(entries),
        "per_second": round(len(entries) / span, 1) if span else None,
        "drain_s": round(drain, 2),
        "worker_rss_mb": memory,
    }
