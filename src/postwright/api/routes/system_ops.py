"""For admins: the engine's periodic jobs and the workspace's delivery queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from postwright.api.deps import PrincipalDep, RuntimeDep
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.services import system as service

router = APIRouter(responses={k: PROBLEM_RESPONSES[k] for k in (401, 403)})


class JobPublic(BaseModel):
    name: str
    interval_s: float = Field(description="Seconds between the end of a run and the next.")
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None = Field(description="`ok` or `error`; null before the first run.")
    last_error: str | None
    last_result: dict[str, Any] | None = Field(description="What the last run did, by count.")
    next_run_at: datetime
    running: bool = Field(description="Whether a worker is running it right now.")

    @classmethod
    def of(cls, j: service.JobStatus) -> JobPublic:
        return cls(
            name=j.name,
            interval_s=j.interval_s,
            last_started_at=j.last_started_at,
            last_finished_at=j.last_finished_at,
            last_outcome=j.last_outcome,
            last_error=j.last_error,
            last_result=j.last_result,
            next_run_at=j.next_run_at,
            running=j.running,
        )


class DeferralPublic(BaseModel):
    account_id: uuid.UUID
    handle: str
    platform: str
    count: int = Field(description="Deliveries of this account held past their time.")
    next_at: datetime | None = Field(description="When the first of them may go.")
    reason: str | None


class PausedPublic(BaseModel):
    workspace: bool = Field(description="This workspace is paused (POST /workspace/resume).")
    platforms: list[str] = Field(description="Platforms an operator paused for everyone.")
    everything: bool = Field(description="An operator paused the whole engine.")


class QueuePublic(BaseModel):
    counts: dict[str, int] = Field(description="Deliveries by state, every state listed.")
    oldest_due_at: datetime | None = Field(
        description="The earliest time among scheduled or retrying deliveries already due."
    )
    oldest_due_lag_s: float = Field(
        description="How long (seconds) the oldest due delivery has waited; 0 when none."
    )
    deferrals: list[DeferralPublic]
    paused: PausedPublic
    workers: int = Field(description="Workers whose heartbeat is recent.")
    as_of: datetime

    @classmethod
    def of(cls, s: service.QueueStatus) -> QueuePublic:
        return cls(
            counts=s.counts,
            oldest_due_at=s.oldest_due_at,
            oldest_due_lag_s=round(s.lag_s, 3),
            deferrals=[
                DeferralPublic(
                    account_id=d.account_id,
                    handle=d.handle,
                    platform=d.platform,
                    count=d.count,
                    next_at=d.next_at,
                    reason=d.reason,
                )
                for d in s.deferrals
            ],
            paused=PausedPublic(
                workspace=bool(s.paused.workspace),
                platforms=s.paused.platforms,
                everything=s.paused.everything,
            ),
            workers=s.workers,
            as_of=s.now,
        )


@router.get(
    "/system/jobs", response_model=list[JobPublic], summary="Periodic jobs' last and next runs"
)
async def list_jobs(rt: RuntimeDep, principal: PrincipalDep) -> list[JobPublic]:
    return [JobPublic.of(j) for j in await service.list_jobs(rt, principal)]


@router.get("/queue", response_model=QueuePublic, summary="The workspace's delivery queue")
async def queue(rt: RuntimeDep, principal: PrincipalDep) -> QueuePublic:
    return QueuePublic.of(await service.queue_status(rt, principal))
