"""The calendar feed: one FullCalendar event per delivery, its window, filters, roles, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services.calendar import PLATFORM_COLORS, event_title
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    make_account,
    make_campaign,
    make_member,
    make_platform_account,
    set_delivery_states,
)

CALENDAR = "/api/v1/calendar"
LONG_TEXT = "Our spring collection is here: forty new pieces, made to last, shipped for free. " * 2


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@pytest.fixture
def day() -> datetime:
    """Midnight UTC, three days from now: the day the test posts are scheduled on."""
    return (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


@pytest.fixture
async def scene(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, day: datetime
) -> dict[str, Any]:
    """Two posts to three accounts: one scheduled at 09:00, one published at 12:01."""
    brand = await make_account(client, owner, handle="brand")
    toot = await make_platform_account(runtime, owner, Platform.MASTODON, handle="brand@social")
    campaign = await make_campaign(runtime, owner, name="spring")
    scheduled = await create_post(
        client,
        owner,
        [],
        text=LONG_TEXT,
        targets=[{"account_id": brand["id"]}, {"account_id": toot["id"], "text": "Short toot"}],
        scheduled_at=(day + timedelta(hours=9)).isoformat(),
        campaign_id=campaign,
    )
    published = await create_post(
        client,
        owner,
        [brand["id"]],
        text="Done",
        scheduled_at=(day + timedelta(hours=12)).isoformat(),
    )
    await set_delivery_states(
        runtime,
        owner,
        published["id"],
        DeliveryState.PUBLISHED,
        published_at=day + timedelta(hours=12, minutes=1),
        permalink="https://sandbox.example/p/1",
    )
    return {
        "brand": brand,
        "toot": toot,
        "campaign": campaign,
        "scheduled": scheduled,
        "published": published,
    }


async def events(
    client: httpx.AsyncClient, member: Member, start: str, end: str, **filters: Any
) -> list[dict[str, Any]]:
    r = await client.get(
        CALENDAR, params={"start": start, "end": end, **filters}, headers=member.headers
    )
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def window(day: datetime) -> tuple[str, str]:
    return day.date().isoformat(), (day + timedelta(days=1)).date().isoformat()


async def test_events_are_fullcalendar_ready(
    client: httpx.AsyncClient, owner: Member, scene: dict[str, Any], day: datetime
) -> None:
    found = await events(client, owner, *window(day), timeZone="UTC")
    assert len(found) == 3
    by_handle = {
        e["extendedProps"]["handle"]: e for e in found if e["extendedProps"]["state"] != "published"
    }
    long_one = by_handle["brand"]
    delivery = next(
        d for d in scene["scheduled"]["deliveries"] if d["account_id"] == scene["brand"]["id"]
    )
    assert long_one == {
        "id": delivery["id"],
        "title": long_one["title"],
        "start": (day + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "allDay": False,
        "editable": True,
        "color": PLATFORM_COLORS[Platform.SANDBOX],
        "classNames": ["state-scheduled", "platform-sandbox"],
        "extendedProps": {
            "post_id": scene["scheduled"]["id"],
            "delivery_id": delivery["id"],
            "account_id": scene["brand"]["id"],
            "handle": "brand",
            "platform": "sandbox",
            "state": "scheduled",
            "post_status": "scheduled",
            "campaign_id": scene["campaign"],
            "permalink": None,
            "last_error": None,
        },
    }
    assert long_one["title"].startswith("Our spring collection is here")
    assert long_one["title"].endswith("…")
    assert len(long_one["title"]) <= 60
    # the per-account text comes first
    toot = by_handle["brand@social"]
    assert toot["title"] == "Short toot"
    assert toot["color"] == PLATFORM_COLORS[Platform.MASTODON]
    assert toot["classNames"] == ["state-scheduled", "platform-mastodon"]

    done = next(e for e in found if e["extendedProps"]["state"] == "published")
    assert done["start"] == (day + timedelta(hours=12, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert done["editable"] is False
    assert done["title"] == "Done"
    assert done["extendedProps"]["permalink"] == "https://sandbox.example/p/1"
    assert done["extendedProps"]["post_status"] == "published"
    # oldest first
    assert [e["start"] for e in found] == sorted(e["start"] for e in found)


async def test_editable_only_while_movable(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, scene: dict[str, Any], day: datetime
) -> None:
    post_id = scene["scheduled"]["id"]
    expected = {
        DeliveryState.PENDING_APPROVAL: True,
        DeliveryState.SCHEDULED: True,
        DeliveryState.RETRY_WAIT: True,
        DeliveryState.FAILED: True,
        DeliveryState.CLAIMED: False,
        DeliveryState.PUBLISHING: False,
        DeliveryState.UNCERTAIN: False,
        DeliveryState.CANCELLED: False,
    }
    for state, editable in expected.items():
        await set_delivery_states(runtime, owner, post_id, state, last_error="boom")
        found = await events(client, owner, *window(day), state=state.value)
        assert [e["editable"] for e in found] == [editable, editable], state
        assert {e["extendedProps"]["last_error"] for e in found} == {"boom"}


async def test_filters(
    client: httpx.AsyncClient, owner: Member, scene: dict[str, Any], day: datetime
) -> None:
    start, end = window(day)
    found = await events(client, owner, start, end, account_id=scene["toot"]["id"])
    assert [e["extendedProps"]["handle"] for e in found] == ["brand@social"]
    found = await events(client, owner, start, end, platform="mastodon")
    assert [e["extendedProps"]["platform"] for e in found] == ["mastodon"]
    found = await events(client, owner, start, end, platform="x")
    assert found == []
    found = await events(client, owner, start, end, campaign_id=scene["campaign"])
    assert {e["extendedProps"]["post_id"] for e in found} == {scene["scheduled"]["id"]}
    found = await events(client, owner, start, end, state="published")
    assert [e["extendedProps"]["post_id"] for e in found] == [scene["published"]["id"]]
    r = await client.get(
        CALENDAR,
        params=[("start", start), ("end", end), ("state", "published"), ("state", "scheduled")],
        headers=owner.headers,
    )
    assert len(r.json()) == 3
    r = await client.get(
        CALENDAR, params={"start": start, "end": end, "state": "done"}, headers=owner.headers
    )
    assert_violation(r, "state.0", "literal_error")
    r = await client.get(
        CALENDAR, params={"start": start, "end": end, "platform": "myspace"}, headers=owner.headers
    )
    assert_violation(r, "platform", "literal_error")
    r = await client.get(
        CALENDAR, params={"start": start, "end": end, "account_id": "nope"}, headers=owner.headers
    )
    assert_violation(r, "account_id", "uuid_parsing")


async def test_window_bounds(
    client: httpx.AsyncClient, owner: Member, scene: dict[str, Any], day: datetime
) -> None:
    nine = day + timedelta(hours=9)
    minute = timedelta(minutes=1)
    # [start, end): an event exactly at `end` belongs to the next window
    assert await events(client, owner, (nine - minute).isoformat(), nine.isoformat()) == []
    assert len(await events(client, owner, nine.isoformat(), (nine + minute).isoformat())) == 2
    # an offset is honoured: 11:00+02:00 is 09:00Z
    eleven_in_cairo = nine.astimezone(timezone(timedelta(hours=2)))
    found = await events(client, owner, eleven_in_cairo.isoformat(), (nine + minute).isoformat())
    assert len(found) == 2

    # a wall time without an offset is read in timeZone
    paris = nine.astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    bounds = (paris.isoformat(), (paris + minute).isoformat())
    assert len(await events(client, owner, *bounds, timeZone="Europe/Paris")) == 2
    assert await events(client, owner, *bounds, timeZone="UTC") == []

    # a plain date is midnight in timeZone: at +14:00 the day ends at 10:00Z, before 12:01Z
    assert len(await events(client, owner, *window(day), timeZone="Pacific/Kiritimati")) == 2
    assert len(await events(client, owner, *window(day), timeZone="UTC")) == 3


async def test_window_validation(client: httpx.AsyncClient, owner: Member) -> None:
    async def get(**params: str) -> httpx.Response:
        return await client.get(CALENDAR, params=params, headers=owner.headers)

    assert_violation(await get(start="2026-03-02", end="2026-03-01"), "end", "after_start")
    assert_violation(await get(start="2026-03-01", end="2026-03-01"), "end", "after_start")
    r = await get(start="2026-01-01", end="2027-02-06")  # 401 days
    assert "400 days" in assert_violation(r, "end", "max_span")
    assert (await get(start="2026-01-01", end="2027-02-05")).status_code == 200  # 400 days
    assert_violation(await get(start="tomorrow", end="2026-03-01"), "start", "invalid_instant")
    assert_violation(await get(start="2026-02-30", end="2026-03-01"), "start", "invalid_date")
    assert_violation(
        await get(start="2026-03-01T25:00:00Z", end="2026-03-02"), "start", "invalid_instant"
    )
    assert_violation(await get(end="2026-03-01"), "start", "missing")
    assert_violation(await get(start="2026-03-01"), "end", "missing")
    r = await get(start="2026-03-01", end="2026-03-02", timeZone="Mars/Olympus")
    assert_violation(r, "timeZone", "unknown_timezone")
    r = await get(start="2026-03-01T00:00:00Z", end="2026-03-02T00:00:00+00:00")
    assert r.status_code == 200
    assert r.json() == []


def test_titles() -> None:
    assert event_title("  hello\n\nworld  ") == "hello world"
    assert event_title("") == "(no text)"
    assert event_title("x" * 60) == "x" * 60
    assert event_title("x" * 61) == "x" * 59 + "…"
    family = "👨‍👩‍👧"  # one grapheme made of five code points
    title = event_title(family * 70)
    assert title == family * 59 + "…"


def test_every_platform_has_a_colour() -> None:
    assert set(PLATFORM_COLORS) == set(Platform)
    assert len(set(PLATFORM_COLORS.values())) == len(Platform)


async def test_roles_and_tenants(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, scene: dict[str, Any], day: datetime
) -> None:
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    assert len(await events(client, viewer, *window(day))) == 3
    stranger = await make_member(runtime, email="stranger@example.com", workspace="other")
    assert await events(client, stranger, *window(day)) == []
    # naming the other workspace's ids finds nothing either
    assert await events(client, stranger, *window(day), account_id=scene["brand"]["id"]) == []
    assert await events(client, stranger, *window(day), campaign_id=scene["campaign"]) == []
    start, end = window(day)
    assert_problem(await client.get(CALENDAR, params={"start": start, "end": end}), 401)
