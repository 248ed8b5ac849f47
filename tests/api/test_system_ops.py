"""Admins' views of the engine: periodic jobs and the workspace's delivery queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services import system
from postwright.store import delivery_queue as q
from postwright.store import periodic
from tests.support.factories import (
    Member,
    assert_problem,
    create_post,
    in_future,
    make_account,
    make_member,
    set_delivery_states,
)

JOBS = "/api/v1/system/jobs"
QUEUE = "/api/v1/queue"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def _queue(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    r = await client.get(QUEUE, headers=member.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- periodic jobs ------------------------------------------------------------------------


async def test_jobs_show_their_last_and_next_runs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime, email="admin@example.com", role=Role.ADMIN)
    r = await client.get(JOBS, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == []  # no worker has started yet

    now = datetime.now(UTC)
    async with runtime.db.write() as conn:
        await periodic.ensure_jobs(conn, intervals={"archive": 3600.0, "reap": 2.0}, now=now)
        # "archive" ran and failed; "reap" is running right now
        assert await periodic.claim_job(
            conn, name="archive", owner="w1", now=now, lease=timedelta(seconds=60)
        )
        await periodic.finish_job(
            conn,
            name="archive",
            owner="w1",
            outcome="error",
            error="OperationalError: disk full",
            result=None,
            next_run_at=now + timedelta(hours=1),
            now=now,
        )
        assert await periodic.claim_job(
            conn, name="reap", owner="w2", now=now, lease=timedelta(seconds=60)
        )

    r = await client.get(JOBS, headers=admin.headers)
    assert r.status_code == 200, r.text
    jobs = {j["name"]: j for j in r.json()}
    assert set(jobs) == {"archive", "reap"}
    archive, reap = jobs["archive"], jobs["reap"]
    assert archive["interval_s"] == 3600.0
    assert archive["last_outcome"] == "error"
    assert archive["last_error"] == "OperationalError: disk full"
    assert archive["running"] is False
    assert datetime.fromisoformat(archive["next_run_at"]) > now + timedelta(minutes=59)
    assert archive["last_started_at"] is not None
    assert archive["last_finished_at"] is not None
    assert reap["running"] is True
    assert reap["last_outcome"] is None
    assert reap["last_finished_at"] is None

    async with runtime.db.write() as conn:
        await periodic.finish_job(
            conn,
            name="reap",
            owner="w2",
            outcome="ok",
            error=None,
            result={"returned": 2, "uncertain": 0},
            next_run_at=now + timedelta(seconds=2),
            now=now,
        )
    reap = {j["name"]: j for j in (await client.get(JOBS, headers=admin.headers)).json()}["reap"]
    assert reap["running"] is False
    assert reap["last_outcome"] == "ok"
    assert reap["last_result"] == {"returned": 2, "uncertain": 0}


@pytest.mark.parametrize("path", [JOBS, QUEUE])
@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
async def test_only_admins_see_the_engine(
    client: httpx.AsyncClient, runtime: Runtime, path: str, role: Role
) -> None:
    member = await make_member(runtime, email="member@example.com", role=role)
    assert_problem(await client.get(path, headers=member.headers), 403)
    assert_problem(await client.get(path), 401)


# -- the queue ----------------------------------------------------------------------------


async def test_an_empty_queue(client: httpx.AsyncClient, owner: Member) -> None:
    body = await _queue(client, owner)
    assert set(body["counts"]) == {s.value for s in DeliveryState}
    assert set(body["counts"].values()) == {0}
    assert body["oldest_due_at"] is None
    assert body["oldest_due_lag_s"] == 0
    assert body["deferrals"] == []
    assert body["paused"] == {"workspace": False, "platforms": [], "everything": False}
    assert body["workers"] == 0


async def test_counts_lag_and_deferrals(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    account = await make_account(client, owner, handle="brand")
    other_account = await make_account(client, owner, handle="second")
    later = in_future(days=1)
    await create_post(client, owner, [account["id"]], scheduled_at=later)
    await create_post(client, owner, [account["id"], other_account["id"]])  # two drafts
    late = await create_post(client, owner, [account["id"]], scheduled_at=later)
    held = await create_post(client, owner, [other_account["id"]], scheduled_at=later)
    failed = await create_post(client, owner, [account["id"]], scheduled_at=later)

    now = datetime.now(UTC)
    await set_delivery_states(
        runtime, owner, late["id"], DeliveryState.RETRY_WAIT, due_at=now - timedelta(seconds=30)
    )
    next_at = now + timedelta(minutes=10)
    await set_delivery_states(
        runtime,
        owner,
        held["id"],
        DeliveryState.SCHEDULED,
        due_at=next_at,
        hold_reason="at most 1 post an hour to second",
    )
    await set_delivery_states(runtime, owner, failed["id"], DeliveryState.FAILED)

    body = await _queue(client, owner)
    assert body["counts"]["scheduled"] == 2
    assert body["counts"]["draft"] == 2
    assert body["counts"]["retry_wait"] == 1
    assert body["counts"]["failed"] == 1
    assert body["counts"]["published"] == 0
    assert datetime.fromisoformat(body["oldest_due_at"]) == now - timedelta(seconds=30)
    assert 29 <= body["oldest_due_lag_s"] < 120
    assert body["deferrals"] == [
        {
            "account_id": other_account["id"],
            "handle": "second",
            "platform": "sandbox",
            "count": 1,
            "next_at": body["deferrals"][0]["next_at"],
            "reason": "at most 1 post an hour to second",
        }
    ]
    assert datetime.fromisoformat(body["deferrals"][0]["next_at"]) == next_at


async def test_the_queue_is_the_callers_workspace_only(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    other = await make_member(runtime, email="other@example.com", workspace="globex")
    account = await make_account(client, other)
    post = await create_post(client, other, [account["id"]], scheduled_at=in_future(days=1))
    await set_delivery_states(
        runtime,
        other,
        post["id"],
        DeliveryState.SCHEDULED,
        due_at=datetime.now(UTC) - timedelta(minutes=5),
        hold_reason="rate limited",
    )
    mine = await _queue(client, owner)
    assert set(mine["counts"].values()) == {0}
    assert mine["oldest_due_at"] is None
    assert mine["deferrals"] == []
    theirs = await _queue(client, other)
    assert theirs["counts"]["scheduled"] == 1
    assert theirs["oldest_due_lag_s"] >= 299
    assert len(theirs["deferrals"]) == 1


async def test_the_queue_shows_what_is_paused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    await system.set_engine_pause(runtime, paused=True, platform=Platform.X)
    await system.set_engine_pause(runtime, paused=True, platform=Platform.BLUESKY)
    body = await _queue(client, owner)
    assert body["paused"] == {
        "workspace": False,
        "platforms": ["bluesky", "x"],
        "everything": False,
    }
    await system.set_engine_pause(runtime, paused=True)
    r = await client.post("/api/v1/workspace/pause", headers=owner.headers)
    assert r.status_code == 200, r.text
    body = await _queue(client, owner)
    assert body["paused"] == {"workspace": True, "platforms": ["bluesky", "x"], "everything": True}

    await system.set_engine_pause(runtime, paused=False)
    await system.set_engine_pause(runtime, paused=False, platform=Platform.X)
    body = await _queue(client, owner)
    assert body["paused"]["everything"] is False
    assert body["paused"]["platforms"] == ["bluesky"]


async def test_workers_alive_are_counted(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    now = datetime.now(UTC)
    async with runtime.db.write() as conn:
        await q.register_worker(conn, worker_id="w-live", hostname="h", pid=1, now=now)
        await q.register_worker(
            conn, worker_id="w-gone", hostname="h", pid=2, now=now - timedelta(hours=1)
        )
    assert (await _queue(client, owner))["workers"] == 1
