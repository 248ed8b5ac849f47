"""Posts: create once for many accounts, list, edit, and move through their life."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Response

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import PostPublic, PostsPage
from postwright.domain.timeutil import parse_instant
from postwright.services import posts as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)

StatusName = Literal[
    "draft",
    "pending_approval",
    "scheduled",
    "publishing",
    "published",
    "partially_published",
    "failed",
    "cancelled",
]
PlatformName = Literal[
    "sandbox", "x", "reddit", "linkedin", "facebook", "instagram", "threads", "mastodon", "bluesky"
]


@router.post("", status_code=201, response_model=PostPublic, summary="Create a post")
async def create_post(
    body: service.PostCreate, rt: RuntimeDep, principal: PrincipalDep
) -> PostPublic:
    return PostPublic.of(await service.create_post(rt, principal, body))


@router.get("", response_model=PostsPage, summary="List posts")
async def list_posts(
    rt: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[StatusName | None, Query()] = None,
    platform: Annotated[PlatformName | None, Query()] = None,
    account_id: Annotated[uuid.UUID | None, Query()] = None,
    campaign_id: Annotated[uuid.UUID | None, Query()] = None,
    scheduled_from: Annotated[
        str | None, Query(alias="from", description="RFC 3339 instant, inclusive", max_length=64)
    ] = None,
    scheduled_to: Annotated[
        str | None, Query(alias="to", description="RFC 3339 instant, exclusive", max_length=64)
    ] = None,
    q: Annotated[str | None, Query(description="Text contains", max_length=200)] = None,
    sort: Literal["scheduled_at", "created_at", "updated_at", "priority"] = "scheduled_at",
    order: Literal["asc", "desc"] = "asc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PostsPage:
    filters = service.PostFilter(
        status=status,
        platform=platform,
        account_id=account_id,
        campaign_id=campaign_id,
        scheduled_from=parse_instant(scheduled_from, field="from") if scheduled_from else None,
        scheduled_to=parse_instant(scheduled_to, field="to") if scheduled_to else None,
        search=q,
    )
    views, total = await service.list_posts(
        rt,
        principal,
        filters=filters,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    return PostsPage(
        data=[PostPublic.of(v) for v in views], count=total, limit=limit, offset=offset
    )


@router.get("/{post_id}", response_model=PostPublic, summary="Get a post")
async def get_post(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> PostPublic:
    return PostPublic.of(await service.get_post(rt, principal, post_id))


@router.patch("/{post_id}", response_model=PostPublic, summary="Edit a post")
async def update_post(
    post_id: uuid.UUID, body: service.PostUpdate, rt: RuntimeDep, principal: PrincipalDep
) -> PostPublic:
    return PostPublic.of(await service.update_post(rt, principal, post_id, body))


@router.delete("/{post_id}", status_code=204, summary="Delete a post that was not published")
async def delete_post(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> Response:
    await service.delete_post(rt, principal, post_id)
    return Response(status_code=204)


@router.post("/{post_id}/schedule", response_model=PostPublic, summary="Schedule a draft")
async def schedule_post(
    post_id: uuid.UUID,
    rt: RuntimeDep,
    principal: PrincipalDep,
    body: Annotated[service.ScheduleBody | None, Body()] = None,
) -> PostPublic:
    return PostPublic.of(
        await service.schedule_post(rt, principal, post_id, body or service.ScheduleBody())
    )


@router.post("/{post_id}/publish-now", response_model=PostPublic, summary="Publish at once")
async def publish_now(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> PostPublic:
    return PostPublic.of(await service.publish_now(rt, principal, post_id))


@router.post("/{post_id}/cancel", response_model=PostPublic, summary="Cancel what is not sent")
async def cancel_post(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> PostPublic:
    return PostPublic.of(await service.cancel_post(rt, principal, post_id))


@router.post("/{post_id}/retry", response_model=PostPublic, summary="Retry failed deliveries")
async def retry_post(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> PostPublic:
    return PostPublic.of(await service.retry_post(rt, principal, post_id))


@router.post("/{post_id}/approve", response_model=PostPublic, summary="Approve (admins)")
async def approve_post(post_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> PostPublic:
    return PostPublic.of(await service.approve_post(rt, principal, post_id))


@router.post("/{post_id}/reject", response_model=PostPublic, summary="Reject (admins)")
async def reject_post(
    post_id: uuid.UUID,
    rt: RuntimeDep,
    principal: PrincipalDep,
    body: Annotated[service.RejectBody | None, Body()] = None,
) -> PostPublic:
    return PostPublic.of(
        await service.reject_post(rt, principal, post_id, body or service.RejectBody())
    )
