"""Members of the workspace and their roles; and the audit log of who did what."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import AuditEntryPublic, AuditPage, MemberPublic
from postwright.services import members as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)
audit_router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422)},
    dependencies=[Depends(storable_input)],
)


@router.get("", response_model=list[MemberPublic], summary="List members")
async def list_members(rt: RuntimeDep, principal: PrincipalDep) -> list[MemberPublic]:
    return [MemberPublic.of(u, r) for u, r in await service.list_members(rt, principal)]


@router.post(
    "",
    status_code=201,
    response_model=MemberPublic,
    summary="Add a member (admins; only owners may add owners)",
)
async def add_member(
    body: service.MemberCreate, rt: RuntimeDep, principal: PrincipalDep
) -> MemberPublic:
    return MemberPublic.of(*await service.add_member(rt, principal, body))


@router.patch(
    "/{user_id}",
    response_model=MemberPublic,
    summary="Change a member's role (only owners grant or remove owner)",
)
async def update_member(
    user_id: uuid.UUID, body: service.MemberUpdate, rt: RuntimeDep, principal: PrincipalDep
) -> MemberPublic:
    return MemberPublic.of(*await service.update_member(rt, principal, user_id, body))


@router.delete(
    "/{user_id}",
    status_code=204,
    summary="Remove a member and revoke their tokens for this workspace",
)
async def remove_member(user_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> Response:
    await service.remove_member(rt, principal, user_id)
    return Response(status_code=204)


@audit_router.get("", response_model=AuditPage, summary="The audit log, newest first (admins)")
async def list_audit(
    rt: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    entries, more = await service.list_audit(rt, principal, limit=limit, offset=offset)
    return AuditPage(
        data=[AuditEntryPublic.of(e) for e in entries],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )
