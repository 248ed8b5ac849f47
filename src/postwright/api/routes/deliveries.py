"""Deliveries one at a time: the "needs attention" list, the attempt log, and the fixes
(retry, cancel, mark as published, edit one occurrence or target, skip one occurrence)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import DeliveryPublic, Page
from postwright.domain.models import Attempt
from postwright.domain.states import DeliveryState
from postwright.services import deliveries as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)},
    dependencies=[Depends(storable_input)],
)

StateName = Literal[
    "draft",
    "pending_approval",
    "scheduled",
    "claimed",
    "publishing",
    "published",
    "retry_wait",
    "uncertain",
    "failed",
    "cancelled",
]
assert {s.value for s in DeliveryState} == set(StateName.__args__)  # type: ignore[attr-defined]


class DeliveryAccount(BaseModel):
    id: uuid.UUID
    handle: str
    platform: str
    status: str = Field(description="active, expiring, needs_reconnect, paused, ...")
    status_reason: str | None
    removed: bool = Field(description="The account was disconnected from the workspace.")


class DeliveryDetail(DeliveryPublic):
    post_id: uuid.UUID
    excerpt: str = Field(description="The start of the text this delivery sends.")
    account: DeliveryAccount
    reason: str | None = Field(description="Why it needs attention, in plain words.")
    actions: list[str] = Field(
        description="What applies now: retry, cancel, mark_published, edit, skip_occurrence, "
        "reconnect_account, resume_account."
    )
    updated_at: datetime

    @classmethod
    def of_item(cls, item: service.DeliveryItem) -> DeliveryDetail:
        d, row = item.delivery, item.row
        return cls(
            **DeliveryPublic.of(d).model_dump(),
            post_id=d.post_id,
            excerpt=item.excerpt,
            account=DeliveryAccount(
                id=d.account_id,
                handle=row.account_handle,
                platform=d.platform.value,
                status=row.account_status,
                status_reason=row.account_status_reason,
                removed=row.account_deleted,
            ),
            reason=item.reason,
            actions=item.actions,
            updated_at=d.updated_at,
        )


class DeliveriesPage(Page):
    data: list[DeliveryDetail]


class AttemptPublic(BaseModel):
    number: int
    outcome: str = Field(
        description="published, retry, rate_limited, processing (the platform was still "
        "processing the media), auth_needed, failed, uncertain, found, not_found, "
        "marked_published, ..."
    )
    error_class: str | None
    http_status: int | None
    error: str | None
    latency_ms: float | None = Field(description="When the platform call began minus due time.")
    execution_time_ms: float | None = Field(description="How long the platform call took.")
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, a: Attempt) -> AttemptPublic:
        return cls(
            number=a.number,
            outcome=a.outcome,
            error_class=a.error_class,
            http_status=a.http_status,
            error=a.error,
            latency_ms=a.latency_ms,
            execution_time_ms=a.execution_time_ms,
            started_at=a.started_at,
            finished_at=a.finished_at,
        )


class SkippedOccurrencePublic(BaseModel):
    post_id: uuid.UUID
    occurrence_at: datetime
    cancelled: int = Field(description="Deliveries that were waiting and are now cancelled.")
    deliveries: list[DeliveryPublic] = Field(description="The occurrence's deliveries now.")
    skips: list[datetime] = Field(description="Every occurrence of the series skipped alone.")


@router.get("/deliveries", response_model=DeliveriesPage, summary="List deliveries")
async def list_deliveries(
    rt: RuntimeDep,
    principal: PrincipalDep,
    state: Annotated[
        list[StateName] | None,
        Query(description="Repeat for several; matches any of them (or `held`)."),
    ] = None,
    held: Annotated[
        bool | None,
        Query(
            description="true: also those waiting but held (a rule, a rate limit, an account "
            "that cannot publish); false: leave those out."
        ),
    ] = None,
    account_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveriesPage:
    items, total = await service.list_deliveries(
        rt,
        principal,
        states=[DeliveryState(s) for s in state or []],
        held=held,
        account_id=account_id,
        limit=limit,
        offset=offset,
    )
    return DeliveriesPage(
        data=[DeliveryDetail.of_item(i) for i in items], count=total, limit=limit, offset=offset
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="Get a delivery")
async def get_delivery(
    delivery_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> DeliveryDetail:
    return DeliveryDetail.of_item(await service.get_delivery(rt, principal, delivery_id))


@router.get(
    "/deliveries/{delivery_id}/attempts",
    response_model=list[AttemptPublic],
    summary="A delivery's attempt log",
)
async def list_attempts(
    delivery_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> list[AttemptPublic]:
    return [AttemptPublic.of(a) for a in await service.list_attempts(rt, principal, delivery_id)]


@router.patch(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="Edit one delivery (one occurrence or one target) alone",
)
async def update_delivery(
    delivery_id: uuid.UUID, body: service.DeliveryUpdate, rt: RuntimeDep, principal: PrincipalDep
) -> DeliveryDetail:
    return DeliveryDetail.of_item(await service.update_delivery(rt, principal, delivery_id, body))


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=DeliveryDetail,
    summary="Retry a failed delivery now, with fresh attempts",
)
async def retry_delivery(
    delivery_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> DeliveryDetail:
    return DeliveryDetail.of_item(await service.retry_delivery(rt, principal, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/cancel",
    response_model=DeliveryDetail,
    summary="Cancel one delivery that is not on its way",
)
async def cancel_delivery(
    delivery_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> DeliveryDetail:
    return DeliveryDetail.of_item(await service.cancel_delivery(rt, principal, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/mark-published",
    response_model=DeliveryDetail,
    summary="Record that a failed or uncertain delivery is on the platform (admins)",
)
async def mark_published(
    delivery_id: uuid.UUID, body: service.MarkPublished, rt: RuntimeDep, principal: PrincipalDep
) -> DeliveryDetail:
    return DeliveryDetail.of_item(await service.mark_published(rt, principal, delivery_id, body))


@router.post(
    "/posts/{post_id}/occurrences/skip",
    response_model=SkippedOccurrencePublic,
    summary="Skip one occurrence of a recurring post",
)
async def skip_occurrence(
    post_id: uuid.UUID, body: service.OccurrenceSkip, rt: RuntimeDep, principal: PrincipalDep
) -> SkippedOccurrencePublic:
    result = await service.skip_occurrence(rt, principal, post_id, body)
    return SkippedOccurrencePublic(
        post_id=result.post_id,
        occurrence_at=result.occurrence_at,
        cancelled=result.cancelled,
        deliveries=[DeliveryPublic.of(d) for d in result.deliveries],
        skips=result.skips,
    )
