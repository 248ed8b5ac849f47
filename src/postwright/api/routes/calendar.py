"""The calendar: deliveries in a window, as a FullCalendar JSON event feed."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from postwright.api.deps import PrincipalDep, RuntimeDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import CalendarEvent
from postwright.domain.platforms import Platform
from postwright.domain.states import DeliveryState
from postwright.services import calendar as service

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422)},
    dependencies=[Depends(storable_input)],
)

PlatformName = Literal[
    "sandbox", "x", "reddit", "linkedin", "facebook", "instagram", "threads", "mastodon", "bluesky"
]
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
assert {p.value for p in Platform} == set(PlatformName.__args__)  # type: ignore[attr-defined]
assert {s.value for s in DeliveryState} == set(StateName.__args__)  # type: ignore[attr-defined]

_BOUND = (
    "An RFC 3339 instant (2026-03-01T00:00:00+01:00), a wall time read in `timeZone` "
    "(2026-03-01T00:00:00) or a date (2026-03-01, midnight in `timeZone`)."
)


@router.get(
    "",
    response_model=list[CalendarEvent],
    summary="Deliveries in a time window, as FullCalendar events",
    description=(
        "One event per delivery, at its publication time once published, else at its scheduled "
        f"time. The window is [start, end) and spans at most {service.MAX_SPAN.days} days."
    ),
)
async def calendar(
    rt: RuntimeDep,
    principal: PrincipalDep,
    start: Annotated[str, Query(description=f"Inclusive. {_BOUND}", max_length=64)],
    end: Annotated[str, Query(description=f"Exclusive. {_BOUND}", max_length=64)],
    time_zone: Annotated[
        str | None,
        Query(
            alias="timeZone",
            description="IANA zone for wall times and dates; default: the workspace's.",
            max_length=64,
        ),
    ] = None,
    account_id: Annotated[uuid.UUID | None, Query()] = None,
    platform: Annotated[PlatformName | None, Query()] = None,
    campaign_id: Annotated[uuid.UUID | None, Query()] = None,
    state: Annotated[
        list[StateName] | None,
        Query(description="Delivery states to show; repeat for several.", max_length=10),
    ] = None,
) -> list[CalendarEvent]:
    entries = await service.calendar_events(
        rt,
        principal,
        start=start,
        end=end,
        time_zone=time_zone,
        account_id=account_id,
        platform=platform,
        campaign_id=campaign_id,
        states=state,
    )
    return [CalendarEvent.of(e) for e in entries]
