from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwright.domain.errors import InvalidInput
from postwright.domain.recurrence import occurrences, validate_rrule

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
FOREVER = datetime(2100, 1, 1, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local_times(instants: list[datetime], tz: ZoneInfo) -> list[str]:
    return [i.astimezone(tz).strftime("%Y-%m-%d %H:%M %z") for i in instants]


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "normalised"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("rrule:freq=weekly;byday=mo,we", "FREQ=WEEKLY;BYDAY=MO,WE"),
        (" BYDAY=MO ; FREQ=WEEKLY ; ", "FREQ=WEEKLY;BYDAY=MO"),
        ("FREQ=DAILY;COUNT=10000", "FREQ=DAILY;COUNT=10000"),
        ("FREQ=HOURLY", "FREQ=HOURLY"),
        ("FREQ=HOURLY;INTERVAL=3;BYHOUR=9,12,15", "FREQ=HOURLY;INTERVAL=3;BYHOUR=9,12,15"),
        ("FREQ=MINUTELY;INTERVAL=60", "FREQ=MINUTELY;INTERVAL=60"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
        ),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
        ("FREQ=DAILY;UNTIL=20260401T000000Z", "FREQ=DAILY;UNTIL=20260401T000000Z"),
        ("FREQ=DAILY;UNTIL=20260401T090000", "FREQ=DAILY;UNTIL=20260401T090000"),
        ("FREQ=DAILY;UNTIL=20260401", "FREQ=DAILY;UNTIL=20260401"),
        ("FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30", "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30"),
    ],
)
def test_validate_rrule_normalises(rule: str, normalised: str) -> None:
    assert validate_rrule(rule) == normalised


@pytest.mark.parametrize(
    ("rule", "violation"),
    [
        ("", "invalid_rrule"),
        ("RRULE:", "invalid_rrule"),
        ("every monday", "invalid_rrule"),
        ("BYDAY=MO", "invalid_rrule"),
        ("FREQ=FORTNIGHTLY", "invalid_rrule"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid_rrule"),
        ("FREQ=WEEKLY;FREQ=DAILY", "invalid_rrule"),
        ("FREQ=WEEKLY;COLOR=RED", "invalid_rrule"),
        ("FREQ=DAILY;BYEASTER=0", "invalid_rrule"),
        ("FREQ=DAILY;INTERVAL=0", "invalid_rrule"),
        ("FREQ=DAILY;INTERVAL=-1", "invalid_rrule"),
        ("FREQ=DAILY;COUNT=0", "invalid_rrule"),
        ("FREQ=DAILY;COUNT=many", "invalid_rrule"),
        ("FREQ=DAILY;BYHOUR=25", "invalid_rrule"),
        ("FREQ=DAILY;UNTIL=tomorrow", "invalid_rrule"),
        ("FREQ=DAILY;UNTIL=20260230", "invalid_rrule"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20260401T000000Z", "invalid_rrule"),
        ("FREQ=DAILY\nEXDATE:20260301T090000", "single_rule"),
        ("FREQ=DAILY;BYDAY=MO:", "single_rule"),
        ("FREQ=DAILY;COUNT=10001", "count_too_large"),
        ("DTSTART:20260301T090000\nRRULE:FREQ=DAILY", "dtstart_not_allowed"),
        ("FREQ=DAILY;DTSTART=20260301T090000", "dtstart_not_allowed"),
        ("FREQ=SECONDLY", "too_frequent"),
        ("FREQ=MINUTELY", "too_frequent"),
        ("FREQ=MINUTELY;INTERVAL=59", "too_frequent"),
        ("FREQ=DAILY;BYMINUTE=0,30", "too_frequent"),
        ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0,1", "too_frequent"),
        ("FREQ=HOURLY;BYSECOND=0,30", "too_frequent"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never_fires"),
        ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", "never_fires"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "never_fires"),
    ],
)
def test_validate_rrule_rejects(rule: str, violation: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_rrule(rule, field="posts.recurrence")
    (found,) = caught.value.violations
    assert (found.field, found.rule) == ("posts.recurrence", violation)


def test_too_frequent_message_is_plain() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_rrule("FREQ=MINUTELY;INTERVAL=5")
    assert caught.value.violations[0].message == (
        "FREQ=MINUTELY repeats every 5 minutes; a recurring post may repeat at most once every "
        "1 hour (use FREQ=HOURLY or longer)"
    )


@pytest.mark.parametrize(
    ("rule", "min_interval_s", "ok"),
    [
        ("FREQ=MINUTELY;INTERVAL=15", 900, True),
        ("FREQ=MINUTELY;INTERVAL=10", 900, False),
        ("FREQ=DAILY;BYMINUTE=0,30", 1800, True),
        ("FREQ=HOURLY", 86400, False),
        ("FREQ=DAILY", 86400, True),
    ],
)
def test_minimum_interval_is_configurable(rule: str, min_interval_s: int, ok: bool) -> None:
    if ok:
        validate_rrule(rule, min_interval_s=min_interval_s)
    else:
        with pytest.raises(InvalidInput):
            validate_rrule(rule, min_interval_s=min_interval_s)


def test_a_rule_that_never_fires_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput):
        validate_rrule("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31")
    # dateutil alone would search until year 9999 (seconds); generous bound, not a benchmark
    assert time.perf_counter() - started < 2


# --- occurrences across daylight-saving changes ------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "start", "first", "expected"),
    [
        (
            # Paris: clocks go forward on 2026-03-29 and back on 2026-10-25
            PARIS,
            datetime(2026, 3, 23, 9, 0),
            utc(2026, 3, 23),
            [
                "2026-03-23 09:00 +0100",
                "2026-03-30 09:00 +0200",
                *(f"2026-{d} 09:00 +0200" for d in ("04-06", "04-13")),
            ],
        ),
        (
            PARIS,
            datetime(2026, 10, 19, 9, 0),
            utc(2026, 10, 19),
            [
                "2026-10-19 09:00 +0200",
                "2026-10-26 09:00 +0100",
                "2026-11-02 09:00 +0100",
                "2026-11-09 09:00 +0100",
            ],
        ),
        (
            # New York: clocks go forward on 2026-03-08 and back on 2026-11-01
            NEW_YORK,
            datetime(2026, 3, 2, 9, 0),
            utc(2026, 3, 2),
            [
                "2026-03-02 09:00 -0500",
                "2026-03-09 09:00 -0400",
                "2026-03-16 09:00 -0400",
                "2026-03-23 09:00 -0400",
            ],
        ),
        (
            NEW_YORK,
            datetime(2026, 10, 26, 9, 0),
            utc(2026, 10, 26),
            [
                "2026-10-26 09:00 -0400",
                "2026-11-02 09:00 -0500",
                "2026-11-09 09:00 -0500",
                "2026-11-16 09:00 -0500",
            ],
        ),
    ],
)
def test_weekly_rule_keeps_its_local_time_across_dst(
    tz: ZoneInfo, start: datetime, first: datetime, expected: list[str]
) -> None:
    found = occurrences(
        "FREQ=WEEKLY;BYDAY=MO", start_local=start, tz=tz, after=first, until=FOREVER, limit=4
    )
    assert local_times(found, tz) == expected


def test_weekly_rule_across_a_whole_year_is_always_at_nine() -> None:
    for tz in (PARIS, NEW_YORK):
        found = occurrences(
            "FREQ=WEEKLY;BYDAY=MO",
            start_local=datetime(2026, 1, 5, 9, 0),
            tz=tz,
            after=utc(2026, 1, 1),
            until=utc(2027, 1, 1),
            limit=100,
        )
        assert len(found) == 52
        assert {i.astimezone(tz).strftime("%a %H:%M") for i in found} == {"Mon 09:00"}
        assert len({i.astimezone(tz).utcoffset() for i in found}) == 2


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        (
            # 02:30 does not exist on 2026-03-29 in Paris: moved forward by the gap to 03:30
            PARIS,
            datetime(2026, 3, 28, 2, 30),
            ["2026-03-28 02:30 +0100", "2026-03-29 03:30 +0200", "2026-03-30 02:30 +0200"],
        ),
        (
            NEW_YORK,
            datetime(2026, 3, 7, 2, 30),
            ["2026-03-07 02:30 -0500", "2026-03-08 03:30 -0400", "2026-03-09 02:30 -0400"],
        ),
        (
            # 02:30 happens twice on 2026-10-25 in Paris: the first one (still +02:00) is used
            PARIS,
            datetime(2026, 10, 24, 2, 30),
            ["2026-10-24 02:30 +0200", "2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100"],
        ),
        (
            # 01:30 happens twice on 2026-11-01 in New York
            NEW_YORK,
            datetime(2026, 10, 31, 1, 30),
            ["2026-10-31 01:30 -0400", "2026-11-01 01:30 -0400", "2026-11-02 01:30 -0500"],
        ),
    ],
)
def test_daily_rule_on_gap_and_overlap_days(
    tz: ZoneInfo, start: datetime, expected: list[str]
) -> None:
    found = occurrences(
        "FREQ=DAILY", start_local=start, tz=tz, after=utc(2026, 1, 1), until=FOREVER, limit=3
    )
    assert local_times(found, tz) == expected


def test_hourly_rule_publishes_the_missing_hour_once() -> None:
    found = occurrences(
        "FREQ=HOURLY",
        start_local=datetime(2026, 3, 29, 0, 0),
        tz=PARIS,
        after=utc(2026, 3, 28),
        until=utc(2026, 3, 29, 3),
        limit=10,
    )
    assert local_times(found, PARIS) == [
        "2026-03-29 00:00 +0100",
        "2026-03-29 01:00 +0100",
        "2026-03-29 03:00 +0200",  # 02:00 did not exist and lands on 03:00: published once
        "2026-03-29 04:00 +0200",
    ]


def test_hourly_rule_on_the_overlap_day_uses_each_wall_time_once() -> None:
    found = occurrences(
        "FREQ=HOURLY",
        start_local=datetime(2026, 10, 25, 1, 0),
        tz=PARIS,
        after=utc(2026, 10, 24),
        until=utc(2026, 10, 25, 3),
        limit=10,
    )
    assert local_times(found, PARIS) == [
        "2026-10-25 01:00 +0200",
        "2026-10-25 02:00 +0200",
        "2026-10-25 03:00 +0100",
    ]


# --- COUNT, UNTIL, skip, limits -----------------------------------------------------------------

START = datetime(2026, 3, 2, 9, 0)  # a Monday, 09:00 Paris (08:00 UTC)


@pytest.mark.parametrize(
    ("rule", "after", "until", "expected_days"),
    [
        ("FREQ=DAILY;COUNT=3", utc(2026, 1, 1), FOREVER, [2, 3, 4]),
        # COUNT counts from the start even when the window begins later
        ("FREQ=DAILY;COUNT=3", utc(2026, 3, 3), FOREVER, [3, 4]),
        ("FREQ=DAILY;COUNT=3", utc(2026, 3, 5), FOREVER, []),
        # UNTIL as a UTC instant is inclusive
        ("FREQ=DAILY;UNTIL=20260304T080000Z", utc(2026, 1, 1), FOREVER, [2, 3, 4]),
        ("FREQ=DAILY;UNTIL=20260304T075959Z", utc(2026, 1, 1), FOREVER, [2, 3]),
        # UNTIL as a local wall time is inclusive
        ("FREQ=DAILY;UNTIL=20260304T090000", utc(2026, 1, 1), FOREVER, [2, 3, 4]),
        ("FREQ=DAILY;UNTIL=20260304T085959", utc(2026, 1, 1), FOREVER, [2, 3]),
        # UNTIL as a date includes that whole local day
        ("FREQ=DAILY;UNTIL=20260304", utc(2026, 1, 1), FOREVER, [2, 3, 4]),
        # the window: after is inclusive, until exclusive
        ("FREQ=DAILY", utc(2026, 3, 3, 8), utc(2026, 3, 5, 8), [3, 4]),
        ("FREQ=DAILY", utc(2026, 3, 3, 8, 0, 1), utc(2026, 3, 5, 8, 0, 1), [4, 5]),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", utc(2026, 1, 1), utc(2026, 3, 9), [2, 4, 6]),
    ],
)
def test_count_until_and_window(
    rule: str, after: datetime, until: datetime, expected_days: list[int]
) -> None:
    found = occurrences(rule, start_local=START, tz=PARIS, after=after, until=until, limit=10)
    assert [i.day for i in found] == expected_days
    assert all(i.astimezone(PARIS).hour == 9 for i in found)


def test_skip_leaves_out_occurrences() -> None:
    skipped = [utc(2026, 3, 3, 8), datetime(2026, 3, 5, 9, 0, tzinfo=PARIS)]
    found = occurrences(
        "FREQ=DAILY;COUNT=5",
        start_local=START,
        tz=PARIS,
        after=utc(2026, 1, 1),
        until=FOREVER,
        limit=10,
        skip=skipped,
    )
    assert [i.day for i in found] == [2, 4, 6]


def test_skip_does_not_extend_count_or_limit() -> None:
    found = occurrences(
        "FREQ=DAILY",
        start_local=START,
        tz=PARIS,
        after=utc(2026, 1, 1),
        until=FOREVER,
        limit=2,
        skip={utc(2026, 3, 2, 8)},
    )
    assert [i.day for i in found] == [3, 4]


@pytest.mark.parametrize("limit", [0, -1])
def test_no_limit_no_occurrences(limit: int) -> None:
    found = occurrences(
        "FREQ=DAILY", start_local=START, tz=PARIS, after=utc(2026, 1, 1), until=FOREVER, limit=limit
    )
    assert found == []


def test_occurrences_are_aware_utc() -> None:
    (found,) = occurrences(
        "FREQ=DAILY", start_local=START, tz=PARIS, after=utc(2026, 1, 1), until=FOREVER, limit=1
    )
    assert found == utc(2026, 3, 2, 8)
    assert found.tzinfo is UTC


def test_a_long_past_is_skipped_quickly_and_exactly() -> None:
    started = time.perf_counter()
    found = occurrences(
        "FREQ=HOURLY;INTERVAL=5",
        start_local=datetime(2000, 1, 1, 0, 0),
        tz=PARIS,
        after=utc(2026, 3, 28, 23),
        until=FOREVER,
        limit=3,
    )
    assert time.perf_counter() - started < 2
    # every 5 wall-clock hours since 2000-01-01 00:00 hits 04:00, 09:00, 14:00 on that day
    assert local_times(found, PARIS) == [
        "2026-03-29 04:00 +0200",
        "2026-03-29 09:00 +0200",
        "2026-03-29 14:00 +0200",
    ]


@pytest.mark.parametrize("after_hour", [0, 1])
def test_a_long_past_lands_in_the_gap_like_a_full_run(after_hour: int) -> None:
    # a series started 100,000 wall-clock hours before 02:00 on Paris's spring-forward day,
    # so one of its occurrences is the nonexistent 02:00 (published at 03:00 local)
    start = datetime(2026, 3, 29, 2) - timedelta(hours=5 * 20_000)
    found = occurrences(
        "FREQ=HOURLY;INTERVAL=5",
        start_local=start,
        tz=PARIS,
        after=utc(2026, 3, 29, after_hour),
        until=FOREVER,
        limit=2,
    )
    assert local_times(found, PARIS) == ["2026-03-29 03:00 +0200", "2026-03-29 07:00 +0200"]


def test_a_series_that_cannot_fire_from_its_start_ends_at_once() -> None:
    # MONTHLY in February only, on the start's day of month: the 30th never comes
    found = occurrences(
        "FREQ=MONTHLY;BYMONTH=2",
        start_local=datetime(2026, 1, 30, 9, 0),
        tz=PARIS,
        after=utc(2026, 1, 1),
        until=FOREVER,
        limit=5,
    )
    assert found == []


def test_occurrences_reject_naive_or_aware_mixups() -> None:
    with pytest.raises(ValueError):
        occurrences(
            "FREQ=DAILY",
            start_local=START.replace(tzinfo=PARIS),
            tz=PARIS,
            after=utc(2026, 1, 1),
            until=FOREVER,
            limit=1,
        )
    with pytest.raises(ValueError):
        occurrences(
            "FREQ=DAILY",
            start_local=START,
            tz=PARIS,
            after=datetime(2026, 1, 1),
            until=FOREVER,
            limit=1,
        )


def test_occurrences_validate_the_rule() -> None:
    with pytest.raises(InvalidInput):
        occurrences(
            "FREQ=SOMETIMES",
            start_local=START,
            tz=PARIS,
            after=utc(2026, 1, 1),
            until=FOREVER,
            limit=1,
        )


# --- properties ---------------------------------------------------------------------------------

RULES = [
    "FREQ=HOURLY;INTERVAL=7",
    "FREQ=HOURLY;BYHOUR=1,2,3",
    "FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=2,14;BYMINUTE=30",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
]
ZONES = [PARIS, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]


@settings(max_examples=60, deadline=None)
@given(
    rule=st.sampled_from(RULES),
    tz=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2027, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    after_days=st.integers(min_value=-30, max_value=3 * 365),
    span_days=st.integers(min_value=0, max_value=120),
    skip_every=st.integers(min_value=2, max_value=5),
)
def test_occurrences_are_increasing_in_window_and_agree_with_a_full_run(
    rule: str,
    tz: ZoneInfo,
    start: datetime,
    after_days: int,
    span_days: int,
    skip_every: int,
) -> None:
    after = start.replace(tzinfo=UTC) + timedelta(days=after_days)
    until = after + timedelta(days=span_days)
    found = occurrences(rule, start_local=start, tz=tz, after=after, until=until, limit=500)
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all(after <= i < until for i in found)
    assert all(i.tzinfo is UTC for i in found)
    # Fast-forwarding over the past must not change anything: compare with a run from the start.
    from_start = occurrences(
        rule,
        start_local=start,
        tz=tz,
        after=start.replace(tzinfo=UTC) - timedelta(days=2),
        until=until,
        limit=100_000,
    )
    assert found == [i for i in from_start if i >= after][:500]
    skip = found[::skip_every]
    kept = occurrences(
        rule, start_local=start, tz=tz, after=after, until=until, limit=500, skip=skip
    )
    assert kept == [i for i in found if i not in skip]
