"""Connecting accounts: start a platform's flow, finish it from the platform's redirect, and pick
among the accounts one authorization reached. The flows themselves: `services/connect.py`; where
a browser goes from the callback: `web/connect_return.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import AccountPublic
from postwright.domain.errors import Conflict, InvalidInput, NotFound
from postwright.services import connect as service
from postwright.web import connect_return

__all__ = ["callback_router", "router"]

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)
callback_router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (404, 409, 422)},
    dependencies=[Depends(storable_input)],
)

ConnectPlatform = Literal[
    "x", "reddit", "linkedin", "facebook", "instagram", "threads", "mastodon", "bluesky"
]


class ConnectorPublic(BaseModel):
    platform: str
    configured: bool
    setup_hint: str | None = Field(
        description="What an operator must set before this platform can be connected."
    )


class AuthorizationStart(BaseModel):
    authorization_url: str = Field(
        description="Send the person here; the platform redirects back to the callback."
    )


class ChoicePublic(BaseModel):
    external_id: str
    handle: str
    display_name: str
    connected: bool = Field(
        description="Already connected in this workspace: its credentials were just renewed."
    )

    @classmethod
    def of(cls, choice: service.ChoiceOffer) -> ChoicePublic:
        return cls(
            external_id=choice.external_id,
            handle=choice.handle,
            display_name=choice.display_name,
            connected=choice.connected,
        )


class ConnectResult(BaseModel):
    platform: str
    accounts: list[AccountPublic] = Field(description="The accounts connected or reconnected.")
    choice_id: str | None = Field(
        default=None,
        description="Set when the authorization reached several accounts not yet connected: "
        "POST their `external_id`s with this id to `/accounts/connect/{platform}/choose`.",
    )
    choices: list[ChoicePublic] = Field(default_factory=list)
    choice_expires_at: datetime | None = None

    @classmethod
    def of(cls, outcome: service.ConnectOutcome) -> ConnectResult:
        return cls(
            platform=outcome.platform.value,
            accounts=[AccountPublic.of(a) for a in outcome.accounts],
            choice_id=outcome.choice_id,
            choices=[ChoicePublic.of(c) for c in outcome.choices],
            choice_expires_at=outcome.choice_expires_at,
        )


class PendingChoicePublic(BaseModel):
    platform: str
    choice_id: str
    choices: list[ChoicePublic] = Field(
        description="The accounts the authorization reached: those already connected "
        "(`connected`, renewed by the callback) first, then those to pick from."
    )
    expires_at: datetime


class ChooseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice_id: str = Field(max_length=64)
    external_ids: list[str] = Field(min_length=1, max_length=100)


_START_BODY = Body(
    description='Platform-specific: none for most OAuth platforms; `{"variant": '
    '"instagram"|"facebook"}` for Instagram (Instagram Login or Facebook Login); '
    '`{"organizations": true}` for LinkedIn pages; `{"instance"}` for Mastodon; '
    '`{"handle", "app_password", "service"?}` for Bluesky.',
)


@router.get(
    "/connect", response_model=list[ConnectorPublic], summary="Platforms that can be connected"
)
async def list_connectors(rt: RuntimeDep, principal: PrincipalDep) -> list[ConnectorPublic]:
    return [
        ConnectorPublic(platform=c.platform.value, configured=c.configured, setup_hint=c.setup_hint)
        for c in service.list_connectors(rt, principal)
    ]


@router.post(
    "/connect/{platform}",
    response_model=AuthorizationStart,
    responses={
        201: {
            "model": AccountPublic,
            "description": "Connected at once (flows without a redirect: Bluesky)",
        }
    },
    summary="Start connecting an account",
)
async def start_connect(
    platform: ConnectPlatform,
    rt: RuntimeDep,
    principal: PrincipalDep,
    body: Annotated[dict[str, Any] | None, _START_BODY] = None,
) -> AuthorizationStart | JSONResponse:
    started = await service.start_connect(rt, principal, platform, body)
    if started.account is not None:
        public = AccountPublic.of(started.account)
        return JSONResponse(public.model_dump(mode="json"), status_code=201)
    assert started.authorization_url is not None
    return AuthorizationStart(authorization_url=started.authorization_url)


@router.post(
    "/connect/{platform}/choose",
    response_model=ConnectResult,
    summary="Connect the accounts picked from a choice",
)
async def choose(
    platform: ConnectPlatform, body: ChooseBody, rt: RuntimeDep, principal: PrincipalDep
) -> ConnectResult:
    accounts = await service.choose(
        rt, principal, platform, choice_id=body.choice_id, external_ids=body.external_ids
    )
    return ConnectResult(platform=platform, accounts=[AccountPublic.of(a) for a in accounts])


@router.get(
    "/connect/{platform}/choices/{choice_id}",
    response_model=PendingChoicePublic,
    summary="A pending choice, as the callback offered it",
)
async def get_choice(
    platform: ConnectPlatform,
    choice_id: Annotated[str, Path(max_length=64)],
    rt: RuntimeDep,
    principal: PrincipalDep,
) -> PendingChoicePublic:
    pending = await service.get_choice(rt, principal, platform, choice_id)
    return PendingChoicePublic(
        platform=pending.platform.value,
        choice_id=pending.choice_id,
        choices=[ChoicePublic.of(c) for c in pending.choices],
        expires_at=pending.expires_at,
    )


@callback_router.get(
    "/{platform}/callback",
    response_model=ConnectResult,
    responses={
        303: {
            "description": "A browser navigation (Accept ranking text/html above "
            "application/json) is sent into the web app instead: the accounts page with a "
            "notice, or the choice screen"
        }
    },
    summary="Finish connecting (the platform redirects the person here)",
    description="Authenticated by its `state`, which names the workspace and the person who "
    "started the flow; no bearer token. Answers `error=access_denied` and every refusal "
    "with a problem, and connects nothing then.",
)
async def callback(
    platform: ConnectPlatform,
    request: Request,
    rt: RuntimeDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> ConnectResult | Response:
    del code, state, error, error_description  # documented here, read from all the params
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    browser = connect_return.prefers_html(request.headers.get("accept"))
    try:
        outcome = await service.finish_connect(rt, platform, params)
    except (InvalidInput, NotFound, Conflict) as exc:
        if not browser:
            raise
        return _see_other(connect_return.after_refusal(exc))
    if browser:
        return _see_other(connect_return.after_connect(outcome))
    return ConnectResult.of(outcome)


def _see_other(location: str) -> Response:
    # the callback's own URL holds the code and the state: never keep it in a cache
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})
