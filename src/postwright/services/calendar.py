"""The calendar: each delivery in a time window as one event, ready for FullCalendar.

FullCalendar asks for `start` and `end` as RFC 3339 instants (a calendar in local or UTC time),
as wall times without an offset plus `timeZone` (a calendar in a named zone), or as plain dates
(older versions, hand-written calls). Wall times and dates are read in `timeZone`, or in the
workspace's zone when none is given.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import grapheme

from postwright.auth.principal import Principal
from postwright.domain import timeutil
from postwright.domain.errors import InvalidInput
from postwright.domain.models import Delivery
from postwright.domain.platforms import Platform
from postwright.domain.roles import Action
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.store import identity
from postwright.store import posts as post_store

__all__ = [
    "MAX_SPAN",
    "MOVABLE_STATES",
    "PLATFORM_COLORS",
    "TITLE_LENGTH",
    "CalendarEntry",
    "calendar_events",
    "event_title",
    "parse_bound",
]

MAX_SPAN = timedelta(days=400)
TITLE_LENGTH = 60

# A delivery can be dragged to another time only while nothing is on its way.
MOVABLE_STATES = frozenset(
    {
        DeliveryState.DRAFT,
        DeliveryState.PENDING_APPROVAL,
        DeliveryState.SCHEDULED,
        DeliveryState.RETRY_WAIT,
        DeliveryState.FAILED,
    }
)

# One fixed colour per platform, close to its brand and distinct from the others on a calendar.
PLATFORM_COLORS: dict[Platform, str] = {
    Platform.SANDBOX: "#6b7280",
    Platform.X: "#0f1419",
    Platform.REDDIT: "#ff4500",
    Platform.LINKEDIN: "#0a66c2",
    Platform.FACEBOOK: "#1877f2",
    Platform.INSTAGRAM: "#e1306c",
    Platform.THREADS: "#7e57c2",
    Platform.MASTODON: "#6364ff",
    Platform.BLUESKY: "#0085ff",
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One delivery on the calendar, with what the event shows about it."""

    delivery: Delivery
    title: str
    start: datetime
    editable: bool
    color: str
    handle: str
    post_status: str
    campaign_id: uuid.UUID | None


def parse_bound(value: str, *, field: str, tz: ZoneInfo) -> datetime:
    """An instant from an RFC 3339 timestamp, a wall time in `tz`, or a date (midnight in `tz`)."""
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput.one(field, "invalid_date", f"{text!r} is not a date") from None
        midnight = datetime(day.year, day.month, day.day)
        return timeutil.resolve_local_time(midnight, tz).utc
    try:
        return timeutil.parse_instant(text, field=field)
    except InvalidInput as exc:
        if exc.violations[0].rule != "missing_offset":
            raise InvalidInput.one(
                field,
                "invalid_instant",
                "must be an RFC 3339 instant (2026-03-01T09:00:00+01:00), a wall time read in "
                "timeZone (2026-03-01T09:00:00) or a date (2026-03-01)",
            ) from None
    local = timeutil.parse_local_time(text, field=field)
    return timeutil.resolve_local_time(local, tz).utc


def event_title(text: str) -> str:
    """The text on one line, cut to about `TITLE_LENGTH` characters (never inside an emoji)."""
    flat = " ".join(text.split())
    if not flat:
        return "(no text)"
    if grapheme.length(flat) <= TITLE_LENGTH:
        return flat
    return str(grapheme.slice(flat, 0, TITLE_LENGTH - 1)).rstrip() + "…"


def _entry(row: post_store.CalendarRow) -> CalendarEntry:
    d = row.delivery
    start = d.published_at if d.published_at is not None else d.scheduled_at
    assert start is not None  # list_calendar only returns deliveries with a time in the window
    return CalendarEntry(
        delivery=d,
        title=event_title(d.text if d.text is not None else row.post_text),
        start=start,
        editable=d.state in MOVABLE_STATES,
        color=PLATFORM_COLORS.get(d.platform, "#6b7280"),
        handle=row.handle,
        post_status=row.post_status,
        campaign_id=row.campaign_id,
    )


async def calendar_events(
    rt: Runtime,
    principal: Principal,
    *,
    start: str,
    end: str,
    time_zone: str | None = None,
    account_id: uuid.UUID | None = None,
    platform: str | None = None,
    campaign_id: uuid.UUID | None = None,
    states: Collection[str] | None = None,
) -> list[CalendarEntry]:
    """Deliveries published, or scheduled, in [start, end), oldest first."""
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        if time_zone is None:
            workspace = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
            time_zone = workspace.timezone if workspace is not None else "UTC"
        tz = timeutil.load_timezone(time_zone, field="timeZone")
        start_at = parse_bound(start, field="start", tz=tz)
        end_at = parse_bound(end, field="end", tz=tz)
        if end_at <= start_at:
            raise InvalidInput.one("end", "after_start", "end must be later than start")
        if end_at - start_at > MAX_SPAN:
            raise InvalidInput.one(
                "end", "max_span", f"the window spans at most {MAX_SPAN.days} days"
            )
        rows = await post_store.list_calendar(
            conn,
            workspace_id=principal.workspace_id,
            start=start_at,
            end=end_at,
            account_id=account_id,
            platform=platform,
            campaign_id=campaign_id,
            states=states,
        )
    return [_entry(r) for r in rows]
