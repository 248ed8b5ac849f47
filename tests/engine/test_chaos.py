"""Chaos: several worker processes, injected faults and SIGKILLs; nothing lost, nothing twice.

PostgreSQL only (the scale-out database). The emulator and every worker are separate OS
processes; workers are killed with SIGKILL mid-flight and restarted. At the end every delivery
must be `published` and the emulator's ledger must hold each exactly once, for sandbox accounts
with idempotency keys and without them (where only reconciliation prevents duplicates).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from postwright.auth.principal import Principal
from postwright.domain.models import Account
from postwright.domain.roles import Role
from postwright.runtime import Runtime
from postwright.services import accounts as account_service
from postwright.services import identity
from postwright.services import posts as post_service
from postwright.settings import Settings
from tests.engine.chaos_support import (
    SECRET,
    Workers,
    emulator_process,
    ledger,
    reset_database,
    wait_for_states,
    worker_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POSTS = 130  # x 4 accounts = 520 deliveries
WORKERS = 3
KILLS = 6

FAULTS = [
    {
        "match": {"platform": "sandbox"},
        "effect": {"timeout_after_store": True},
        "probability": 0.03,
    },
    {"match": {"platform": "sandbox"}, "effect": {"reset_after_store": True}, "probability": 0.03},
    {"match": {"platform": "sandbox"}, "effect": {"status": 503}, "probability": 0.05},
    {
        "match": {"platform": "sandbox"},
        "effect": {"rate_limit": {"retry_after": 1}},
        "probability": 0.02,
    },
]


@pytest.fixture
def chaos_database_url(pg_database_url: str) -> str:
    return reset_database(pg_database_url)


@pytest.fixture
def emulator_url(tmp_path: Path) -> Iterator[str]:
    with emulator_process(tmp_path, seed=7) as url:
        yield url


async def _setup(rt: Runtime, emulator_url: str) -> tuple[Principal, list[Account]]:
    user, ws, _ = await identity.ensure_user(
        rt,
        email="chaos@example.com",
        password="correct horse",
        workspace_name="chaos",
        role=Role.OWNER,
    )
    principal = Principal(user_id=user.id, workspace_id=ws.id, role=Role.OWNER, via="test")
    accounts = []
    for handle, idempotency in [
        ("keyed-a", True),
        ("keyed-b", True),
        ("bare-a", False),
        ("bare-b", False),
    ]:
        accounts.append(
            await account_service.create_account(
                rt,
                principal,
                account_service.AccountCreate(
                    platform="sandbox",
                    handle=handle,
                    options={"emulator_url": emulator_url, "idempotency": idempotency},
                ),
            )
        )
    return principal, accounts


async def _schedule(rt: Runtime, principal: Principal, accounts: list[Account]) -> None:
    start = rt.now() + timedelta(seconds=3)
    for i in range(POSTS):
        # on a loaded machine creating them takes a while: never schedule into the past
        at = max(start + timedelta(milliseconds=25 * i), rt.now() + timedelta(milliseconds=300))
        await post_service.create_post(
            rt,
            principal,
            post_service.PostCreate(
                text=f"chaos post #{i}",
                targets=[post_service.TargetIn(account_id=a.id) for a in accounts],
                scheduled_at=at.isoformat(),
            ),
        )


def test_chaos_nothing_lost_nothing_twice(
    chaos_database_url: str, emulator_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=chaos_database_url, secret_key=SECRET
    )
    workers = Workers(worker_env(chaos_database_url, tmp_path / "data"), tmp_path)

    async def scenario() -> Counter[str]:
        rt = Runtime.from_settings(settings)
        try:
            principal, accounts = await _setup(rt, emulator_url)
            for _ in range(WORKERS):
                workers.start()
            async with httpx.AsyncClient(base_url=emulator_url) as emu:
                for rule in FAULTS:
                    (await emu.post("/_emulator/faults", json=rule)).raise_for_status()
                await _schedule(rt, principal, accounts)
                # kill and restart workers while the deliveries come due and go out
                for _ in range(KILLS):
                    await asyncio.sleep(1.5)
                    workers.kill_one(rng)
                    workers.start()
                await asyncio.sleep(2)
                (await emu.delete("/_emulator/faults")).raise_for_status()
            return await wait_for_states(rt, Counter({"published": POSTS * 4}), within=40)
        finally:
            await rt.close()

    try:
        states = asyncio.run(scenario())
    finally:
        workers.stop_all()

    stored = ledger(emulator_url)
    per_delivery = Counter((e["account"], e["text"]) for e in stored)
    duplicates = {k: n for k, n in per_delivery.items() if n > 1}
    replays = [e for e in stored if e["received_count"] > 1]

    assert states == Counter({"published": POSTS * 4}), f"not all published: {states}"
    assert duplicates == {}, f"duplicates on the platform: {duplicates}"
    assert len(stored) == POSTS * 4, f"{len(stored)} posts on the platform, wanted {POSTS * 4}"
    for handle in ("keyed-a", "keyed-b", "bare-a", "bare-b"):
        texts = {e["text"] for e in stored if e["account"] == handle}
        assert texts == {f"chaos post #{i}" for i in range(POSTS)}, handle
    # keyed accounts may see replays (same key, one post); bare ones never get a second request
    # for a post that landed, because reconciliation finds it first
    assert all(e["account"].startswith("keyed") for e in replays), replays
