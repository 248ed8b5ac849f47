"""The caller's workspace: settings (owner), pause and resume (admins)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.services import workspace as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 409, 422)},
    dependencies=[Depends(storable_input)],
)


class WorkspacePublic(BaseModel):
    id: uuid.UUID
    name: str
    plan: str = Field(description="Set by the installation's administrator.")
    timezone: str = Field(description="The IANA time zone new posts default to.")
    paused: bool = Field(description="Whether publishing is held for the whole workspace.")
    catch_up_policy: str = Field(description="spread | all | skip: overdue posts after an outage.")
    catch_up_skip_after_min: int = Field(
        description="With `skip`: posts later than this many minutes are not published."
    )
    catch_up_skip_after_min_is_default: bool = Field(
        description="Whether that is the installation's default (PATCH null to go back to it)."
    )
    created_at: datetime

    @classmethod
    def of(cls, s: service.WorkspaceSettings) -> WorkspacePublic:
        w = s.workspace
        return cls(
            id=w.id,
            name=w.name,
            plan=w.plan,
            timezone=w.timezone,
            paused=w.paused,
            catch_up_policy=w.catch_up_policy,
            catch_up_skip_after_min=s.catch_up_skip_after_min,
            catch_up_skip_after_min_is_default=s.catch_up_skip_after_min_default,
            created_at=w.created_at,
        )


@router.get("", response_model=WorkspacePublic, summary="The workspace's settings")
async def get_workspace(rt: RuntimeDep, principal: PrincipalDep) -> WorkspacePublic:
    return WorkspacePublic.of(await service.get_workspace(rt, principal))


@router.patch("", response_model=WorkspacePublic, summary="Change settings (owner)")
async def update_workspace(
    body: service.WorkspaceUpdate, rt: RuntimeDep, principal: PrincipalDep
) -> WorkspacePublic:
    return WorkspacePublic.of(await service.update_workspace(rt, principal, body))


@router.post("/pause", response_model=WorkspacePublic, summary="Hold all publishing (admins)")
async def pause_workspace(rt: RuntimeDep, principal: PrincipalDep) -> WorkspacePublic:
    return WorkspacePublic.of(await service.pause_workspace(rt, principal))


@router.post("/resume", response_model=WorkspacePublic, summary="Publish again (admins)")
async def resume_workspace(rt: RuntimeDep, principal: PrincipalDep) -> WorkspacePublic:
    return WorkspacePublic.of(await service.resume_workspace(rt, principal))
