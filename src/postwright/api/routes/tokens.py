"""Personal API tokens: create (shown once), list, revoke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import ApiTokenCreated, ApiTokenPublic
from postwright.domain.roles import Action
from postwright.services import identity

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 422)},
    dependencies=[Depends(storable_input)],
)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # stored in UTC; an offset that pushes 9999-12-31 past year 9999 cannot be stored
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("the expiry is out of range; use a date before 9999") from None


@router.post("", status_code=201, response_model=ApiTokenCreated, summary="Create an API token")
async def create_token(
    body: TokenCreate, rt: RuntimeDep, principal: PrincipalDep
) -> ApiTokenCreated:
    principal.require(Action.READ)
    expires: datetime | None = body.expires_at
    token, record = await identity.create_api_token(
        rt,
        workspace_id=principal.workspace_id,
        user_id=principal.user_id,
        name=body.name,
        expires_at=expires,
        actor_id=principal.user_id,
    )
    return ApiTokenCreated(**ApiTokenPublic.of(record).model_dump(), token=token)


@router.get("", response_model=list[ApiTokenPublic], summary="List API tokens")
async def list_tokens(rt: RuntimeDep, principal: PrincipalDep) -> list[ApiTokenPublic]:
    return [ApiTokenPublic.of(t) for t in await identity.list_api_tokens(rt, principal)]


@router.delete("/{token_id}", status_code=204, summary="Revoke an API token")
async def revoke_token(token_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> Response:
    await identity.revoke_api_token(rt, principal, token_id)
    return Response(status_code=204)
