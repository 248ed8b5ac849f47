"""Accounts: the social profiles a workspace publishes to."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import AccountPublic
from postwright.domain.platforms import Platform
from postwright.services import accounts as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)

PlatformName = Literal[
    "sandbox", "x", "reddit", "linkedin", "facebook", "instagram", "threads", "mastodon", "bluesky"
]
StatusName = Literal["active", "expiring", "needs_reconnect", "suspended", "restricted", "paused"]
assert {p.value for p in Platform} == set(PlatformName.__args__)  # type: ignore[attr-defined]


@router.post("", status_code=201, response_model=AccountPublic, summary="Add an account")
async def create_account(
    body: service.AccountCreate, rt: RuntimeDep, principal: PrincipalDep
) -> AccountPublic:
    return AccountPublic.of(await service.create_account(rt, principal, body))


@router.get("", response_model=list[AccountPublic], summary="List accounts")
async def list_accounts(
    rt: RuntimeDep,
    principal: PrincipalDep,
    platform: Annotated[PlatformName | None, Query()] = None,
    status: Annotated[StatusName | None, Query()] = None,
) -> list[AccountPublic]:
    found = await service.list_accounts(rt, principal, platform=platform, status=status)
    return [AccountPublic.of(a) for a in found]


@router.get("/{account_id}", response_model=AccountPublic, summary="Get an account")
async def get_account(
    account_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> AccountPublic:
    return AccountPublic.of(await service.get_account(rt, principal, account_id))


@router.delete(
    "/{account_id}",
    status_code=204,
    summary="Remove an account; its unpublished deliveries are cancelled",
)
async def delete_account(
    account_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> Response:
    await service.delete_account(rt, principal, account_id)
    return Response(status_code=204)


@router.post("/{account_id}/pause", response_model=AccountPublic, summary="Hold publishing")
async def pause_account(
    account_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> AccountPublic:
    return AccountPublic.of(await service.pause_account(rt, principal, account_id))


@router.post("/{account_id}/resume", response_model=AccountPublic, summary="Resume publishing")
async def resume_account(
    account_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> AccountPublic:
    return AccountPublic.of(await service.resume_account(rt, principal, account_id))
