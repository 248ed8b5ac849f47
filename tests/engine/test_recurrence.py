"""Recurring posts stay at their wall time across daylight-saving changes, both ways.

The runtime's clock is set before the change; the post materialises its first two weeks, then
the clock moves on and the periodic job (`materialize_recurrences`) adds the rest. Every
delivery, on both sides of the change, is at 09:00 in the post's own time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from postwright.domain.models import Delivery
from postwright.engine.jobs import materialize_recurrences
from postwright.services import deliveries as delivery_service
from postwright.services import posts as post_service
from postwright.store import posts as post_store
from tests.engine.conftest import Scene


@dataclass(frozen=True)
class Case:
    zone: str
    rule: str
    first: date  # the first occurrence's local date (a Monday)
    change: date  # the day the clocks change
    spring: bool  # clocks go forward (else back)

    @property
    def id(self) -> str:
        city = self.zone.split("/")[1]
        return f"{city}-{self.rule.split(';')[0].split('=')[1].lower()}-{self.change.isoformat()}"


CASES = [
    Case(zone, rule, first, change, spring)
    for zone, first, change, spring in [
        ("Europe/Paris", date(2026, 3, 16), date(2026, 3, 29), True),
        ("Europe/Paris", date(2026, 10, 12), date(2026, 10, 25), False),
        ("America/New_York", date(2026, 2, 23), date(2026, 3, 8), True),
        ("America/New_York", date(2026, 10, 19), date(2026, 11, 1), False),
    ]
    for rule in ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO"]
]


def at(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


async def create_series(
    scene: Scene, case: Case, text: str = "good morning"
) -> post_service.PostView:
    account = await scene.account("brand")
    return await post_service.create_post(
        scene.rt,
        scene.principal,
        post_service.PostCreate(
            text=text,
            targets=[post_service.TargetIn(account_id=account.id)],
            local_time=f"{case.first.isoformat()}T09:00",
            timezone=case.zone,
            recurrence=case.rule,
        ),
    )


async def deliveries_of(scene: Scene, view: post_service.PostView) -> list[Delivery]:
    return (await post_service.get_post(scene.rt, scene.principal, view.post.id)).deliveries


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_nine_oclock_stays_nine_oclock_across_the_change(scene: Scene, case: Case) -> None:
    tz = ZoneInfo(case.zone)
    scene.rt.clock = lambda: at(case.first - timedelta(days=7))  # well before the change
    view = await create_series(scene, case)
    created = {d.id for d in view.deliveries}
    assert created

    scene.rt.clock = lambda: at(case.first + timedelta(days=10))
    result = await materialize_recurrences(scene.rt)
    assert result["deliveries_created"] > 0
    rows = await deliveries_of(scene, view)
    assert len(rows) == len(created) + result["deliveries_created"]

    for d in rows:
        assert d.scheduled_at is not None
        local = d.scheduled_at.astimezone(tz)
        assert local.time() == time(9, 0), (d.scheduled_at, local)
        assert d.occurrence_at == d.scheduled_at == d.due_at
        assert d.state.value == "scheduled"
    days = [d.scheduled_at.astimezone(tz).date() for d in rows if d.scheduled_at]
    step = timedelta(days=1 if "DAILY" in case.rule else 7)
    assert days == [case.first + step * i for i in range(len(days))]  # none lost, none twice
    before = [d for d in rows if d.scheduled_at and d.scheduled_at.date() < case.change]
    after = [d for d in rows if d.scheduled_at and d.scheduled_at.date() > case.change]
    assert before
    assert after
    assert any(d.id not in created for d in after)  # the job materialised past the change
    offsets = {d.scheduled_at.astimezone(tz).utcoffset() for d in before if d.scheduled_at}
    later = {d.scheduled_at.astimezone(tz).utcoffset() for d in after if d.scheduled_at}
    [offset_before] = offsets
    [offset_after] = later
    assert offset_before is not None
    assert offset_after is not None
    # spring: clocks forward, so 09:00 local is an hour earlier in UTC; autumn: an hour later
    assert offset_after - offset_before == timedelta(hours=1 if case.spring else -1)

    # running the job again adds nothing (another worker, a rerun)
    assert (await materialize_recurrences(scene.rt))["deliveries_created"] == 0


PARIS_WEEKLY = CASES[1]
assert PARIS_WEEKLY.rule == "FREQ=WEEKLY;BYDAY=MO"
assert PARIS_WEEKLY.zone == "Europe/Paris"


def paris_nine(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)


async def test_skipping_one_occurrence_keeps_it_out(scene: Scene) -> None:
    case = PARIS_WEEKLY  # Mondays 09:00 from 16 March 2026; the clocks go forward on the 29th
    scene.rt.clock = lambda: at(case.first - timedelta(days=1))
    view = await create_series(scene, case)
    assert [d.occurrence_at for d in view.deliveries] == [
        paris_nine(date(2026, 3, 16)),
        paris_nine(date(2026, 3, 23)),
        paris_nine(date(2026, 3, 30)),  # after the change: 07:00 UTC, inside the first 14 days
    ]
    # one occurrence already materialised, one not yet
    for day in (date(2026, 3, 23), date(2026, 4, 13)):
        skipped = await delivery_service.skip_occurrence(
            scene.rt,
            scene.principal,
            view.post.id,
            delivery_service.OccurrenceSkip(occurrence_at=paris_nine(day).isoformat()),
        )
        assert [d.state.value for d in skipped.deliveries] == ["cancelled"]

    scene.rt.clock = lambda: at(date(2026, 4, 8))
    await materialize_recurrences(scene.rt)
    rows = await deliveries_of(scene, view)
    states = {d.occurrence_at: d.state.value for d in rows}
    assert states == {
        paris_nine(date(2026, 3, 16)): "scheduled",
        paris_nine(date(2026, 3, 23)): "cancelled",
        paris_nine(date(2026, 3, 30)): "scheduled",
        paris_nine(date(2026, 4, 6)): "scheduled",
        paris_nine(date(2026, 4, 13)): "cancelled",
        paris_nine(date(2026, 4, 20)): "scheduled",
    }


async def test_materialising_honours_skips_stored_on_the_post(scene: Scene) -> None:
    """The job itself leaves out the post's `recurrence_skips` (not only placeholder rows)."""
    case = PARIS_WEEKLY
    scene.rt.clock = lambda: at(case.first - timedelta(days=1))
    view = await create_series(scene, case)
    async with scene.rt.db.write() as conn:
        await post_store.set_recurrence_skips(
            conn,
            workspace_id=scene.principal.workspace_id,
            post_id=view.post.id,
            skips=[paris_nine(date(2026, 4, 6))],
            now=scene.rt.now(),
        )
    scene.rt.clock = lambda: at(date(2026, 4, 1))
    await materialize_recurrences(scene.rt)
    occurrences = sorted(
        d.occurrence_at for d in await deliveries_of(scene, view) if d.occurrence_at
    )
    assert occurrences == [
        paris_nine(date(2026, 3, 16)),
        paris_nine(date(2026, 3, 23)),
        paris_nine(date(2026, 3, 30)),
        paris_nine(date(2026, 4, 13)),
    ]


async def test_an_occurrence_edited_alone_keeps_its_text_and_the_series_does_not(
    scene: Scene,
) -> None:
    case = PARIS_WEEKLY
    scene.rt.clock = lambda: at(case.first - timedelta(days=1))
    view = await create_series(scene, case, text="weekly news")
    second = next(d for d in view.deliveries if d.occurrence_at == paris_nine(date(2026, 3, 23)))
    await delivery_service.update_delivery(
        scene.rt, scene.principal, second.id, delivery_service.DeliveryUpdate(text="special")
    )
    scene.rt.clock = lambda: at(date(2026, 3, 30))
    await materialize_recurrences(scene.rt)
    texts = {d.occurrence_at: d.text for d in await deliveries_of(scene, view)}
    assert texts[paris_nine(date(2026, 3, 23))] == "special"
    assert texts[paris_nine(date(2026, 3, 30))] is None  # the post's own text
    assert texts[paris_nine(date(2026, 4, 6))] is None
