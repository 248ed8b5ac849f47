"""Password login and refresh: short-lived access tokens plus rotating refresh tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from postwright.api.deps import RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import TokenPairPublic
from postwright.services import identity

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422)},
    dependencies=[Depends(storable_input)],
)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    workspace_id: uuid.UUID | None = Field(
        default=None, description="Which workspace to act in; default: the first one."
    )


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=500)


def _public(pair: identity.TokenPair) -> TokenPairPublic:
    return TokenPairPublic(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        workspace_id=pair.workspace_id,
    )


@router.post(
    "/token",
    response_model=TokenPairPublic,
    summary="Log in with email and password",
    description="Too many failed logins for one email, or from one address, and this answers "
    "429 for a while (even to the right password); `Retry-After` says how many seconds.",
    responses={429: PROBLEM_RESPONSES[429]},
)
async def token(body: LoginBody, request: Request, rt: RuntimeDep) -> TokenPairPublic:
    pair = await identity.login(
        rt,
        email=body.email,
        password=body.password,
        workspace_id=body.workspace_id,
        client=request.client.host if request.client else None,
    )
    return _public(pair)


@router.post(
    "/refresh", response_model=TokenPairPublic, summary="Trade a refresh token for a new pair"
)
async def refresh(body: RefreshBody, rt: RuntimeDep) -> TokenPairPublic:
    return _public(await identity.refresh(rt, refresh_token=body.refresh_token))
