"""Shared plumbing: processes (emulator, workers), databases, seeding, and statistics."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import insert, text

from postwright.auth.secretbox import SecretBox
from postwright.domain.models import new_id
from postwright.store.db import Database
from postwright.store.migrate import upgrade
from postwright.store.tables import accounts, deliveries, posts, users, workspaces

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
PG_ADMIN = os.environ.get("POSTWRIGHT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(url)


@contextmanager
def emulator_process(logdir: Path) -> Iterator[str]:
    port = free_port()
    log = (logdir / "emulator.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "postwright.platforms.emulator", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_emulator/health")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def processes(
    commands: Sequence[list[str]], env: dict[str, str], logdir: Path, name: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    logs = []
    for i, cmd in enumerate(commands):
        log = (logdir / f"{name}-{i}.log").open("w")
        logs.append(log)
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


# -- databases ------------------------------------------------------------------------------


async def fresh_pg(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def fresh_database(kind: str, workdir: Path, tag: str) -> str:
    if kind == "sqlite":
        path = workdir / f"{tag}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 (set-up, not timed)
        url = f"sqlite:///{path}"
    else:
        url = await fresh_pg(f"pw_bench_{tag}")
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    return url


# -- seeding postwright ---------------------------------------------------------------------


@dataclass
class Seeded:
    workspace_id: uuid.UUID
    account_ids: list[uuid.UUID]
    handles: list[str]


async def seed_accounts(url: str, emulator_url: str, n_accounts: int) -> Seeded:
    db = Database(url)
    now = datetime.now(UTC)
    box = SecretBox([SECRET])
    ws_id = new_id()
    ids = [new_id() for _ in range(n_accounts)]
    handles = [f"acct{i:04d}" for i in range(n_accounts)]
    try:
        async with db.write() as conn:
            await conn.execute(
                insert(workspaces).values(
                    id=ws_id,
                    name="bench",
                    plan="unlimited",
                    timezone="UTC",
                    paused=False,
                    catch_up_policy="all",
                    created_at=now,
                )
            )
            await conn.execute(
                insert(users).values(
                    id=new_id(), email="bench@example.com", name="", created_at=now, disabled=False
                )
            )
            await conn.execute(
                insert(accounts),
                [
                    {
                        "id": ids[i],
                        "workspace_id": ws_id,
                        "platform": "sandbox",
                        "handle": handles[i],
                        "display_name": handles[i],
                        "status": "active",
                        "options": {"emulator_url": emulator_url, "idempotency": True},
                        "credentials": box.seal({"access_token": "bench"}),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(n_accounts)
                ],
            )
    finally:
        await db.dispose()
    return Seeded(ws_id, ids, handles)


async def seed_deliveries(
    url: str, seeded: Seeded, due: Sequence[datetime], *, text_prefix: str, per_post: int = 500
) -> None:
    """One delivery per due time, round-robin over the accounts, `per_post` occurrences a post."""
    db = Database(url)
    now = datetime.now(UTC)
    try:
        chunk: list[dict[str, Any]] = []
        post_rows: list[dict[str, Any]] = []
        post_id = new_id()
        for i, when in enumerate(due):
            if i % per_post == 0:
                post_id = new_id()
                post_rows.append(
                    {
                        "id": post_id,
                        "workspace_id": seeded.workspace_id,
                        "author_id": None,
                        "text": f"{text_prefix} series {i // per_post}",
                        "media_ids": [],
                        "status": "scheduled",
                        "scheduled_at": when,
                        "timezone": "UTC",
                        "priority": 2,
                        "approval_required": False,
                        "recurrence_skips": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            account = i % len(seeded.account_ids)
            chunk.append(
                {
                    "id": new_id(),
                    "workspace_id": seeded.workspace_id,
                    "post_id": post_id,
                    "account_id": seeded.account_ids[account],
                    "platform": "sandbox",
                    "state": "scheduled",
                    "scheduled_at": when,
                    "due_at": when,
                    "priority": 2,
                    "text": f"{text_prefix} {i}",
                    "options": {},
                    "attempts": 0,
                    "idempotency_key": uuid.uuid4().hex,
                    "occurrence_at": when if per_post > 1 else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(chunk) >= 20_000:
                await _flush(db, post_rows, chunk)
                post_rows, chunk = [], []
        await _flush(db, post_rows, chunk)
        # fresh statistics, as any database that grew to this size would have had time to get
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    finally:
        await db.dispose()


async def _flush(db: Database, post_rows: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    async with db.write() as conn:
        if post_rows:
            await conn.execute(insert(posts), post_rows)
        if rows:
            await conn.execute(insert(deliveries), rows)


def worker_env(url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWRIGHT_")}
    env.update(
        POSTWRIGHT_DATABASE_URL=url,
        POSTWRIGHT_DATA_DIR=str(data_dir),
        POSTWRIGHT_SECRET_KEY=SECRET,
        POSTWRIGHT_LOG_LEVEL="warning",
    )
    env.update({f"POSTWRIGHT_{k.upper()}": v for k, v in overrides.items()})
    return env


# -- measuring ------------------------------------------------------------------------------


def ledger(emulator_url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{emulator_url}/_emulator/ledger", timeout=60).json()
    return entries


def reset_ledger(emulator_url: str) -> None:
    httpx.delete(f"{emulator_url}/_emulator/ledger", timeout=60).raise_for_status()


def wait_ledger(emulator_url: str, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        entries = ledger(emulator_url)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.5)


def received_at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["first_received_at"].replace("Z", "+00:00"))


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    if not ordered:
        return {"n": 0}

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.50), 2),
        "p99_ms": round(pick(0.99), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def due_times(start: datetime, count: int, spacing: timedelta) -> list[datetime]:
    return [start + spacing * i for i in range(count)]


def run(coro: Any) -> Any:
    return asyncio.run(coro)
