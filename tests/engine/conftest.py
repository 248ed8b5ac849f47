"""Engine fixtures: a real emulator on a local port, fast engine timings, helpers to schedule."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from postwright.auth.principal import Principal
from postwright.domain.errors import InvalidInput
from postwright.domain.models import Account, Attempt, Delivery
from postwright.domain.roles import Role
from postwright.engine.service import EngineService
from postwright.platforms.emulator.rules import FaultRule
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services import accounts as account_service
from postwright.services import identity
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store import posts as post_store
from postwright.store import tables
from postwright.store.rows import attempt_from_row, delivery_from_row


@pytest.fixture
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator() as emu:
        yield emu


@pytest.fixture
def settings(database_url: str, tmp_path: Path, emulator: BackgroundEmulator) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        sandbox_url=emulator.url,
        lease_s=3.0,
        poll_interval_s=0.2,
        claim_ahead_ms=500,
        reconcile_settle_s=0.2,
        publish_timeout_s=2.0,
        retry_base_delay_s=0.2,
        retry_max_delay_s=1.0,
    )


@dataclass
class Scene:
    rt: Runtime
    principal: Principal
    emulator: BackgroundEmulator

    async def account(self, handle: str = "brand", **options: Any) -> Account:
        return await account_service.create_account(
            self.rt,
            self.principal,
            account_service.AccountCreate(platform="sandbox", handle=handle, options=options),
        )

    async def post(
        self,
        text: str,
        accounts: list[Account],
        *,
        at: datetime | None = None,
        **fields: Any,
    ) -> post_service.PostView:
        """Schedule `text` to `accounts` at `at`, by default "in a moment": 300 ms ahead, taken
        again if a loaded machine let that moment pass before the post was stored."""
        for _ in range(5):
            due = at or self.rt.now() + timedelta(milliseconds=300)
            try:
                return await post_service.create_post(
                    self.rt,
                    self.principal,
                    post_service.PostCreate(
                        text=text,
                        targets=[post_service.TargetIn(account_id=a.id) for a in accounts],
                        scheduled_at=due.isoformat(),
                        **fields,
                    ),
                )
            except InvalidInput as refused:
                if at is not None or [v.rule for v in refused.violations] != ["in_past"]:
                    raise
        raise AssertionError("could not schedule 300 ms ahead five times in a row")

    async def view(self, post_id: Any) -> post_service.PostView:
        return await post_service.get_post(self.rt, self.principal, post_id)

    async def wait_for(
        self,
        post_id: Any,
        states: set[str],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> post_service.PostView:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            view = await self.view(post_id)
            if all(d.state.value in states for d in view.deliveries):
                return view
            if asyncio.get_running_loop().time() > deadline:
                states_now = [d.state.value for d in view.deliveries]
                raise AssertionError(f"deliveries still in {states_now}, wanted {states}")
            await asyncio.sleep(0.05)

    def ledger(self, account: str | None = None) -> list[Any]:
        return [
            e for e in self.emulator.app.ledger.entries() if account is None or e.account == account
        ]


@pytest.fixture
async def scene(runtime: Runtime, emulator: BackgroundEmulator) -> Scene:
    user, ws, _ = await identity.ensure_user(
        runtime,
        email="owner@example.com",
        password="correct horse",
        workspace_name="acme",
        role=Role.OWNER,
    )
    return Scene(
        rt=runtime,
        principal=Principal(user_id=user.id, workspace_id=ws.id, role=Role.OWNER, via="test"),
        emulator=emulator,
    )


@pytest.fixture
async def engine(runtime: Runtime) -> AsyncIterator[EngineService]:
    service = EngineService(runtime)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def wait_until_http(url: str, *, timeout: float) -> None:
    """Poll `url` until it answers 200 (a server starting in another process)."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.05)


# -- helpers for the engine's own tests (tests/engine/test_*.py) ---------------------------


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, what: str = "the condition"
) -> None:
    """Poll `check` every 20 ms until it is true; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.02)


async def get_delivery(rt: Runtime, delivery_id: uuid.UUID) -> Delivery:
    """A delivery as the database holds it now."""
    async with rt.db.read() as conn:
        row = (
            await conn.execute(
                select(tables.deliveries).where(tables.deliveries.c.id == delivery_id)
            )
        ).one()
    return delivery_from_row(row)


async def lease_owner(rt: Runtime, delivery_id: uuid.UUID) -> str | None:
    """The worker holding a delivery's lease (the domain object does not carry leases)."""
    async with rt.db.read() as conn:
        owner = (
            await conn.execute(
                select(tables.deliveries.c.lease_owner).where(tables.deliveries.c.id == delivery_id)
            )
        ).scalar_one()
    return str(owner) if owner is not None else None


async def attempts_of(rt: Runtime, delivery_id: uuid.UUID) -> list[Attempt]:
    """A delivery's attempt rows, first to last."""
    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                select(tables.attempts)
                .where(tables.attempts.c.delivery_id == delivery_id)
                .order_by(tables.attempts.c.number)
            )
        ).all()
    return [attempt_from_row(r) for r in rows]


async def set_due(rt: Runtime, delivery_id: uuid.UUID, when: datetime) -> None:
    """Move a delivery's time (e.g. into the past, as if it was due during an outage)."""
    async with rt.db.write() as conn:
        await post_store.update_delivery(
            conn, delivery_id=delivery_id, values={"due_at": when, "scheduled_at": when}
        )
    rt.wakeup.poke()


async def set_due_all(rt: Runtime, delivery_ids: list[uuid.UUID], when: datetime) -> None:
    """Make many deliveries due at one instant, in one transaction (creating them one by one
    with a near time would race the clock on a busy machine)."""
    async with rt.db.write() as conn:
        for delivery_id in delivery_ids:
            await post_store.update_delivery(
                conn, delivery_id=delivery_id, values={"due_at": when, "scheduled_at": when}
            )
    rt.wakeup.poke()


def add_fault(
    emulator: BackgroundEmulator,
    effect: dict[str, Any],
    *,
    account: str | None = None,
    count: int | None = None,
) -> None:
    """Inject a fault rule into the emulator (see platforms/emulator/rules.py)."""
    match = {"platform": "sandbox", **({"account": account} if account else {})}
    emulator.app.faults.add(
        FaultRule.model_validate({"match": match, "effect": effect, "count": count})
    )


def tuned(rt: Runtime, **overrides: Any) -> Runtime:
    """The same runtime (database, wake-up signal, clock) with some settings changed."""
    return dataclasses.replace(rt, settings=rt.settings.model_copy(update=overrides))


StartEngine = Callable[..., Awaitable[EngineService]]


@pytest.fixture
async def start_engine(runtime: Runtime) -> AsyncIterator[StartEngine]:
    """Start engines on demand (`await start_engine(worker_concurrency=1)`); all stop at the end.

    Settings given as keywords apply to that engine only; `rt=` runs it on another runtime.
    """
    started: list[EngineService] = []

    async def start(*, rt: Runtime | None = None, **overrides: Any) -> EngineService:
        base = rt or runtime
        service = EngineService(tuned(base, **overrides) if overrides else base)
        await service.start()
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in reversed(started):
            await service.stop()  # a second stop of one a test stopped itself is harmless
