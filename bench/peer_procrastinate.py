"""The peer to beat: the same workloads through procrastinate, a PostgreSQL task queue.

Each job is what a postwright delivery is at its core: at its scheduled time, POST the post to
the emulator's sandbox API (same HTTP stack, same idempotency key header). procrastinate knows
nothing of leases-before-the-call, reconciliation or per-account rules, so this is the floor of
the work, not the same guarantees.

Worker: `python -m bench.peer_procrastinate worker URL EMULATOR CONCURRENCY POLL_S`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector

from bench.common import (
    due_times,
    emulator_process,
    fresh_pg,
    percentiles,
    processes,
    received_at,
    reset_ledger,
    rss_mb,
    run,
    wait_ledger,
)
from postwright.platforms.http import make_client

POLL_S = 0.1  # tuned down from procrastinate's 5 s default, or its lateness would be seconds

_emulator = ""
_client: Any = None


def make_app(url: str, *, pool_size: int = 10) -> App:
    """An app bound to `url`, with the one task of the workload."""
    app = App(connector=PsycopgConnector(conninfo=url, max_size=pool_size))

    @app.task(name="publish", queue="bench")
    async def publish(account: str, text: str, key: str) -> None:
        global _client
        if _client is None:
            _client = make_client(timeout_s=30)
        response = await _client.post(
            f"{_emulator}/sandbox/{account}/posts",
            json={"text": text},
            headers={"Authorization": "Bearer bench", "Idempotency-Key": key},
        )
        response.raise_for_status()

    return app


async def _apply_schema(url: str) -> None:
    local = make_app(url)
    async with local.open_async():
        await local.schema_manager.apply_schema_async()


async def _copy_jobs(url: str, rows: list[tuple[str, datetime, str]]) -> None:
    """Insert jobs fast with COPY (procrastinate's triggers still run per row)."""
    columns = "queue_name, task_name, args, scheduled_at"
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY procrastinate_jobs ({columns}) FROM STDIN") as copy,
    ):
        for account, when, text in rows:
            args = json.dumps({"account": account, "text": text, "key": uuid.uuid4().hex})
            await copy.write_row(("bench", "publish", args, when))


def _rows(
    count: int, due: list[datetime], prefix: str, accounts: int = 200
) -> list[tuple[str, datetime, str]]:
    return [(f"acct{i % accounts:04d}", due[i], f"{prefix} {i}") for i in range(count)]


def _worker_cmd(url: str, emulator: str, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.peer_procrastinate",
        "worker",
        url,
        emulator,
        str(concurrency),
        str(POLL_S),
    ]


def throughput(
    *, workdir: Path, deliveries: int, workers: int, background: int = 0, concurrency: int = 64
) -> dict[str, Any]:
    with emulator_process(workdir) as emulator:
        url = run(fresh_pg("pw_bench_proc_tp"))
        run(_apply_schema(url))
        if background:
            far = datetime.now(UTC) + timedelta(days=30)
            run(
                _copy_jobs(
                    url,
                    _rows(background, due_times(far, background, timedelta(seconds=1)), "future"),
                )
            )
        with processes(
            [_worker_cmd(url, emulator, concurrency) for _ in range(workers)],
            {},
            workdir,
            "proc-tp",
        ) as procs:
            time.sleep(3)
            start = datetime.now(UTC) + timedelta(seconds=5)
            run(_copy_jobs(url, _rows(deliveries, [start] * deliveries, "tp")))
            entries = wait_ledger(emulator, deliveries, timeout=120 + deliveries / 50)
            memory = [round(rss_mb(p.pid), 1) for p in procs]
    times = sorted(received_at(e) for e in entries)
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else float("nan")
    return {
        "workload": "throughput",
        "engine": "procrastinate",
        "db": "postgres",
        "workers": workers,
        "concurrency": concurrency,
        "future_rows": background,
        "published": len(entries),
        "per_second": round(len(entries) / span, 1) if span else None,
        "drain_s": round((times[-1] - start).total_seconds(), 2) if times else None,
        "worker_rss_mb": memory,
    }


def lateness(*, workdir: Path, deliveries: int, background: int) -> dict[str, Any]:
    with emulator_process(workdir) as emulator:
        url = run(fresh_pg("pw_bench_proc_lat"))
        run(_apply_schema(url))
        if background:
            far = datetime.now(UTC) + timedelta(days=30)
            run(
                _copy_jobs(
                    url,
                    _rows(background, due_times(far, background, timedelta(seconds=1)), "future"),
                )
            )
        start = datetime.now(UTC) + timedelta(seconds=8)
        due = due_times(start, deliveries, timedelta(milliseconds=5))
        run(_copy_jobs(url, _rows(deliveries, due, "lat")))
        reset_ledger(emulator)
        with processes([_worker_cmd(url, emulator, 64)], {}, workdir, "proc-lat") as procs:
            entries = wait_ledger(emulator, deliveries, timeout=60 + deliveries / 100)
            memory = [round(rss_mb(p.pid), 1) for p in procs]
    late = [
        (received_at(e) - due[int(e["text"].rsplit(" ", 1)[1])]).total_seconds() * 1000
        for e in entries
    ]
    return {
        "workload": "lateness",
        "engine": "procrastinate",
        "db": "postgres",
        "future_rows": background,
        "published": len(entries),
        **percentiles(late),
        "worker_rss_mb": memory,
    }


async def _work(url: str, emulator: str, concurrency: int, poll_s: float) -> None:
    global _emulator
    _emulator = emulator
    worker_app = make_app(url, pool_size=concurrency + 4)
    async with worker_app.open_async():
        await worker_app.run_worker_async(
            queues=["bench"],
            concurrency=concurrency,
            fetch_job_polling_interval=poll_s,
            delete_jobs="successful",
        )


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    asyncio.run(_work(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
