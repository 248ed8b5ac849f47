"""What the engine is doing, for admins and operators: periodic jobs, the queue, pauses.

Two kinds of caller use this module:

- workspace admins through the API (`list_jobs`, `queue_status`): the queue is scoped to their
  workspace; the periodic jobs are the installation's and the same for everyone;
- operators through the CLI (`operator_queue`, `set_engine_pause`), who act on the whole
  installation and have no principal: whoever can run `postwright` can read its database.

Pauses live in two places: a workspace's `paused` flag (`services/workspace.py`), and the engine
controls `paused:global` and `paused:platform:<name>` that only operators set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from postwright.auth.principal import Principal
from postwright.domain.errors import InvalidInput, NotFound
from postwright.domain.platforms import Platform
from postwright.domain.roles import Action
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.store import delivery_queue as q
from postwright.store import identity, periodic

__all__ = [
    "GLOBAL_PAUSE",
    "Deferral",
    "EnginePauses",
    "JobStatus",
    "QueueStatus",
    "list_jobs",
    "operator_queue",
    "parse_platform",
    "platform_pause_key",
    "queue_status",
    "set_engine_pause",
]

GLOBAL_PAUSE = "paused:global"
_PLATFORM_PAUSE = "paused:platform:"


def platform_pause_key(platform: Platform) -> str:
    return f"{_PLATFORM_PAUSE}{platform.value}"


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One periodic job as the engine last left it."""

    name: str
    interval_s: float
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None  # ok | error; None before the first run
    last_error: str | None
    last_result: dict[str, Any] | None
    next_run_at: datetime
    running: bool  # a worker holds the job's lease right now


@dataclass(frozen=True, slots=True)
class Deferral:
    """Deliveries of one account that wait past their time, and why."""

    account_id: uuid.UUID
    handle: str
    platform: str
    count: int
    next_at: datetime | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class EnginePauses:
    """What is paused: this workspace, some platforms, or the whole engine."""

    workspace: bool | None  # None for operators' installation-wide views
    platforms: list[str]
    everything: bool


@dataclass(frozen=True, slots=True)
class QueueStatus:
    counts: dict[str, int]  # every delivery state, zero included
    oldest_due_at: datetime | None  # the earliest due_at among due scheduled/retry_wait ones
    lag_s: float  # now minus `oldest_due_at`; 0 when nothing is waiting past its time
    deferrals: list[Deferral]
    paused: EnginePauses
    workers: int  # workers whose heartbeat is recent
    now: datetime


async def list_jobs(rt: Runtime, principal: Principal) -> list[JobStatus]:
    principal.require(Action.MANAGE)
    now = rt.now()
    async with rt.db.read() as conn:
        rows = await periodic.list_jobs(conn)
    return [_job(row, now) for row in rows]


def _job(row: dict[str, Any], now: datetime) -> JobStatus:
    lease_until = row["lease_expires_at"]
    return JobStatus(
        name=row["name"],
        interval_s=float(row["interval_s"]),
        last_started_at=row["last_started_at"],
        last_finished_at=row["last_finished_at"],
        last_outcome=row["last_outcome"],
        last_error=row["last_error"],
        last_result=row["last_result"],
        next_run_at=row["next_run_at"],
        running=row["lease_owner"] is not None and lease_until is not None and lease_until > now,
    )


def _pauses(controls: dict[str, str], workspace_paused: bool | None) -> EnginePauses:
    return EnginePauses(
        workspace=workspace_paused,
        platforms=sorted(
            k.removeprefix(_PLATFORM_PAUSE) for k in controls if k.startswith(_PLATFORM_PAUSE)
        ),
        everything=GLOBAL_PAUSE in controls,
    )


async def _queue(rt: Runtime, workspace_id: uuid.UUID | None) -> QueueStatus:
    now = rt.now()
    async with rt.db.read() as conn:
        stats = await q.queue_stats(conn, workspace_id=workspace_id, now=now)
        controls = await q.get_controls(conn)
        workers = await q.count_live_workers(
            conn, since=now - timedelta(seconds=max(3 * rt.settings.lease_s, 30.0))
        )
        workspace_paused: bool | None = None
        if workspace_id is not None:
            workspace = await identity.get_workspace(conn, workspace_id=workspace_id)
            if workspace is None:
                raise NotFound("no such workspace")
            workspace_paused = workspace.paused
    oldest: datetime | None = stats["oldest_due_at"]
    return QueueStatus(
        counts={s.value: int(stats["counts"].get(s.value, 0)) for s in DeliveryState},
        oldest_due_at=oldest,
        lag_s=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        deferrals=[
            Deferral(
                account_id=d["account_id"],
                handle=d["handle"],
                platform=d["platform"],
                count=d["count"],
                next_at=d["next_at"],
                reason=d["reason"],
            )
            for d in stats["deferrals"]
        ],
        paused=_pauses(controls, workspace_paused),
        workers=workers,
        now=now,
    )


async def queue_status(rt: Runtime, principal: Principal) -> QueueStatus:
    """The caller's workspace's queue: counts by state, lag, deferrals, pauses."""
    principal.require(Action.MANAGE)
    return await _queue(rt, principal.workspace_id)


# -- operators (CLI) -------------------------------------------------------------------------


async def operator_queue(rt: Runtime, *, workspace_name: str | None = None) -> QueueStatus:
    """The whole installation's queue, or one workspace's by name."""
    workspace_id = None
    if workspace_name is not None:
        async with rt.db.read() as conn:
            workspace = await identity.get_workspace_by_name(conn, name=workspace_name)
        if workspace is None:
            raise NotFound(f"no workspace named {workspace_name!r}")
        workspace_id = workspace.id
    return await _queue(rt, workspace_id)


def parse_platform(name: str) -> Platform:
    try:
        return Platform(name.strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        raise InvalidInput.one(
            "platform", "invalid", f"unknown platform {name!r}; one of: {known}"
        ) from None


async def set_engine_pause(
    rt: Runtime, *, paused: bool, platform: Platform | None = None
) -> tuple[bool, int]:
    """Pause or resume the engine everywhere or for one platform, on every workspace.

    Returns (whether anything changed, how many claimed deliveries were handed back). Pausing
    hands back deliveries already claimed, so none of them goes out after this returns (a
    publish that already began finishes). Resuming wakes the workers at once.
    """
    key = GLOBAL_PAUSE if platform is None else platform_pause_key(platform)
    now = rt.now()
    async with rt.db.write() as conn:
        controls = await q.get_controls(conn)
        changed = (key in controls) != paused
        released = 0
        if paused:
            if changed:
                await q.set_control(conn, key=key, value=now.isoformat(), now=now)
            released = await q.unclaim(conn, now=now, platform=platform.value if platform else None)
        else:
            if changed:
                await q.set_control(conn, key=key, value=None, now=now)
            await rt.wakeup.notify_in(conn)
    if not paused:
        rt.wakeup.poke()
    return changed, released
