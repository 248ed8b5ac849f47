"""Operator commands (`postwright pause|resume|dead-letters|retry|queue`) in-process with
Typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import typer
from typer.testing import CliRunner, Result

from postwright.cli_ops import ops_app, register
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services import identity
from postwright.services import posts as post_service
from postwright.settings import Settings, get_settings
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from tests.support.factories import (
    Member,
    in_future,
    make_member,
    make_platform_account,
    set_delivery_states,
)

SECRET = "cli-ops-test-secret-key-0123456789-abcdefghijkl"
T = TypeVar("T")


@dataclass
class Ops:
    """Runs the operator commands in-process against one data directory and database."""

    data_dir: Path
    database_url: str

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.database_url, secret_key=SECRET)

    def __call__(self, *args: str) -> Result:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POSTWRIGHT_")}
        env.update(
            POSTWRIGHT_DATA_DIR=str(self.data_dir),
            POSTWRIGHT_DATABASE_URL=self.database_url,
            POSTWRIGHT_SECRET_KEY=SECRET,
            COLUMNS="250",  # Rich tables: no folded ids
        )
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(ops_app, list(args), env=env)
        finally:
            get_settings.cache_clear()

    def run(self, work: Callable[[Runtime], Awaitable[T]]) -> T:
        """Run `work` with a runtime of its own, the way another process would."""

        async def main() -> T:
            rt = Runtime.from_settings(self.settings())
            try:
                return await work(rt)
            finally:
                await rt.close()

        return asyncio.run(main())


@pytest.fixture
def ops(database_url: str, tmp_path: Path) -> Ops:
    return Ops(tmp_path / "data", database_url)


@dataclass
class Seeded:
    member: Member
    post_id: str
    delivery_id: str


def _seed(ops: Ops, *, workspace: str = "acme", state: DeliveryState) -> Seeded:
    async def work(rt: Runtime) -> Seeded:
        member = await make_member(rt, email=f"owner@{workspace}.example", workspace=workspace)
        account = await make_platform_account(rt, member, "sandbox", handle=f"{workspace}-brand")
        principal = await identity.authenticate_bearer(rt, member.token)
        view = await post_service.create_post(
            rt,
            principal,
            post_service.PostCreate(
                text="hello",
                targets=[post_service.TargetIn(account_id=uuid.UUID(account["id"]))],
                scheduled_at=in_future(days=1),
            ),
        )
        await set_delivery_states(
            rt,
            member,
            str(view.post.id),
            state,
            attempts=6,
            last_error="gave up after 6 attempts: 503",
        )
        return Seeded(member, str(view.post.id), str(view.deliveries[0].id))

    return ops.run(work)


def _controls(ops: Ops) -> dict[str, str]:
    async def work(rt: Runtime) -> dict[str, str]:
        async with rt.db.read() as conn:
            return await q.get_controls(conn)

    return ops.run(work)


def _state(ops: Ops, seeded: Seeded) -> tuple[str, int, datetime | None]:
    async def work(rt: Runtime) -> tuple[str, int, datetime | None]:
        async with rt.db.read() as conn:
            row = await post_store.get_delivery_row(
                conn,
                workspace_id=uuid.UUID(seeded.member.workspace_id),
                delivery_id=uuid.UUID(seeded.delivery_id),
            )
        assert row is not None
        d = row.delivery
        return d.state.value, d.attempts, d.due_at

    return ops.run(work)


def _rows(output: str) -> list[list[str]]:
    """The cells of every row of the Rich tables in `output`."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]


def assert_clean_failure(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output


# -- pause and resume ---------------------------------------------------------------------


def test_pause_and_resume_everything(ops: Ops) -> None:
    result = ops("pause")
    assert result.exit_code == 0, result.output
    assert "all publishing paused" in result.stdout
    assert set(_controls(ops)) == {"paused:global"}

    again = ops("pause")
    assert again.exit_code == 0, again.output
    assert "already paused" in again.stdout

    result = ops("resume")
    assert result.exit_code == 0, result.output
    assert "all publishing resumed" in result.stdout
    assert _controls(ops) == {}
    assert "was not paused" in ops("resume").stdout


def test_pause_and_resume_one_platform(ops: Ops) -> None:
    result = ops("pause", "--platform", "X")
    assert result.exit_code == 0, result.output
    assert "publishing to x paused" in result.stdout
    assert set(_controls(ops)) == {"paused:platform:x"}
    assert ops("pause", "--platform", "bluesky").exit_code == 0
    assert set(_controls(ops)) == {"paused:platform:x", "paused:platform:bluesky"}

    assert ops("resume", "--platform", "x").exit_code == 0
    assert set(_controls(ops)) == {"paused:platform:bluesky"}


def test_pausing_hands_back_claims(ops: Ops) -> None:
    seeded = _seed(ops, state=DeliveryState.CLAIMED)
    result = ops("pause", "--platform", "sandbox")
    assert result.exit_code == 0, result.output
    assert "1 claimed deliveries handed back" in result.stdout
    assert _state(ops, seeded)[0] == "scheduled"


def test_an_unknown_platform_is_refused(ops: Ops) -> None:
    result = ops("pause", "--platform", "myspace")
    assert_clean_failure(result, "unknown platform 'myspace'", code=2)
    assert _controls(ops) == {}


# -- dead letters and retry ---------------------------------------------------------------


def test_dead_letters_lists_failed_deliveries(ops: Ops) -> None:
    mine = _seed(ops, state=DeliveryState.FAILED)
    theirs = _seed(ops, workspace="globex", state=DeliveryState.FAILED)
    _seed(ops, workspace="initech", state=DeliveryState.SCHEDULED)

    result = ops("dead-letters")
    assert result.exit_code == 0, result.output
    assert mine.delivery_id in result.stdout
    assert theirs.delivery_id in result.stdout
    assert "gave up after 6 attempts: 503" in result.stdout
    assert "sandbox:acme-brand" in result.stdout
    assert "2 of 2" in result.stdout

    only = ops("dead-letters", "--workspace", "globex")
    assert only.exit_code == 0, only.output
    assert theirs.delivery_id in only.stdout
    assert mine.delivery_id not in only.stdout

    limited = ops("dead-letters", "--limit", "1")
    assert limited.exit_code == 0, limited.output
    assert "1 of 2" in limited.stdout

    assert "no failed deliveries" in ops("dead-letters", "--workspace", "initech").stdout
    assert_clean_failure(ops("dead-letters", "--workspace", "nope"), "no workspace named 'nope'")
    assert ops("dead-letters", "--limit", "0").exit_code == 2


def test_retry_schedules_a_failed_delivery_now(ops: Ops) -> None:
    seeded = _seed(ops, state=DeliveryState.FAILED)
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = ops("retry", seeded.delivery_id)
    assert result.exit_code == 0, result.output
    assert f"delivery {seeded.delivery_id}" in result.stdout
    assert "scheduled again" in result.stdout
    state, attempts, due_at = _state(ops, seeded)
    assert (state, attempts) == ("scheduled", 0)
    assert due_at is not None
    assert before <= due_at <= datetime.now(UTC)
    assert seeded.delivery_id not in ops("dead-letters").stdout

    # a second retry finds nothing failed
    assert_clean_failure(ops("retry", seeded.delivery_id), "only a failed delivery")


def test_retry_refuses_bad_and_unknown_ids(ops: Ops) -> None:
    assert_clean_failure(ops("retry", "not-a-uuid"), "is not a delivery id", code=2)
    unknown = str(uuid.uuid4())
    assert_clean_failure(ops("retry", unknown), f"no delivery with the id {unknown}")


# -- queue --------------------------------------------------------------------------------


def test_queue_shows_counts_lag_and_pauses(ops: Ops) -> None:
    seeded = _seed(ops, state=DeliveryState.SCHEDULED)
    _seed(ops, workspace="globex", state=DeliveryState.FAILED)

    async def overdue(rt: Runtime) -> None:
        await set_delivery_states(
            rt,
            seeded.member,
            seeded.post_id,
            DeliveryState.SCHEDULED,
            due_at=datetime.now(UTC) - timedelta(minutes=2),
            hold_reason="at most 1 post an hour",
        )

    ops.run(overdue)
    assert ops("pause", "--platform", "x").exit_code == 0

    result = ops("queue")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert ["scheduled", "1"] in rows
    assert ["failed", "1"] in rows
    assert ["published", "0"] in rows
    assert "lag: 12" in result.stdout  # a little over 120 s
    assert "2 minutes" in result.stdout
    assert "paused: platform x" in result.stdout
    assert "at most 1 post an hour" in result.stdout

    one = ops("queue", "--workspace", "globex")
    assert one.exit_code == 0, one.output
    assert "lag: none" in one.stdout
    assert "at most 1 post an hour" not in one.stdout
    assert_clean_failure(ops("queue", "--workspace", "nope"), "no workspace named 'nope'")


def test_the_commands_join_the_main_app(ops: Ops) -> None:
    root = typer.Typer()

    @root.command()
    def other() -> None:
        """Another command of the main app."""

    register(root)
    result = CliRunner().invoke(root, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for command in ("pause", "resume", "dead-letters", "retry", "queue", "other"):
        assert command in result.output
