from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwright.domain.errors import InvalidInput
from postwright.domain.timeutil import (
    calendar_month,
    format_duration,
    format_utc,
    load_timezone,
    parse_instant,
    parse_local_time,
    resolve_local_time,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("UTC", "UTC"),
        ("Europe/Paris", "Europe/Paris"),
        ("America/New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        (" Europe/Paris ", "Europe/Paris"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_load_timezone_accepts_iana_names(name: str, key: str) -> None:
    assert load_timezone(name).key == key


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "../etc",
        "../../etc/passwd",
        "/etc/passwd",
        "Europe",
        "Europe/Paris/",
        "Europe//Paris",
        "Mars/Olympus_Mons",
        "localtime",
        "posixrules",
        "posix/Europe/Paris",
        "right/Europe/Paris",
        "Europe/Paris\x00",
        "A" * 100,
        "+01:00",
    ],
)
def test_load_timezone_rejects_anything_else(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_timezone(name, field="posts.timezone")
    (violation,) = caught.value.violations
    assert violation.field == "posts.timezone"
    assert violation.rule == "unknown_timezone"


@pytest.mark.parametrize(
    ("tz", "wall", "utc", "adjusted", "note"),
    [
        # an ordinary day
        (PARIS, datetime(2026, 6, 1, 9, 0), datetime(2026, 6, 1, 7, 0), False, None),
        (NEW_YORK, datetime(2026, 1, 5, 9, 0), datetime(2026, 1, 5, 14, 0), False, None),
        # spring forward: 02:00 -> 03:00, so 02:30 becomes 03:30 local (the old offset's instant)
        (PARIS, datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 30), True, "03:30"),
        (PARIS, datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0), True, "03:00"),
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 7, 30), True, "03:30"),
        # the edges of the gap exist
        (PARIS, datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 0, 59), False, None),
        (PARIS, datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0), False, None),
        # fall back: 02:30 (Paris) / 01:30 (New York) happen twice; the first one is used
        (PARIS, datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30), False, "twice"),
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30), False, "twice"),
        (ZoneInfo("UTC"), datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 2, 30), False, None),
    ],
)
def test_resolve_local_time_follows_the_dst_rule(
    tz: ZoneInfo, wall: datetime, utc: datetime, adjusted: bool, note: str | None
) -> None:
    resolved = resolve_local_time(wall, tz)
    assert resolved.utc == utc.replace(tzinfo=UTC)
    assert resolved.utc.tzinfo is UTC
    assert resolved.adjusted is adjusted
    if note is None:
        assert resolved.note is None
    else:
        assert resolved.note is not None
        assert note in resolved.note


def test_resolve_local_time_ignores_an_incoming_fold() -> None:
    second = datetime(2026, 10, 25, 2, 30, fold=1)
    assert resolve_local_time(second, PARIS).utc == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_resolve_local_time_wants_a_naive_wall_time() -> None:
    with pytest.raises(ValueError):
        resolve_local_time(datetime(2026, 1, 1, tzinfo=UTC), PARIS)


@given(
    wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    tz=st.sampled_from(
        [PARIS, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Pacific/Apia")]
    ),
)
def test_resolved_instants_show_the_wall_time_unless_it_did_not_exist(
    wall: datetime, tz: ZoneInfo
) -> None:
    resolved = resolve_local_time(wall, tz)
    shown = resolved.utc.astimezone(tz).replace(tzinfo=None)
    if resolved.adjusted:
        # moved forward by the gap, never more than a day (Samoa skipped a whole day in 2011)
        assert wall < shown <= wall + timedelta(days=1)
    else:
        assert shown == wall


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T09:00", datetime(2026, 3, 1, 9, 0)),
        ("2026-03-01T09:00:30", datetime(2026, 3, 1, 9, 0, 30)),
        (" 2026-12-31T23:59:59 ", datetime(2026, 12, 31, 23, 59, 59)),
    ],
)
def test_parse_local_time(text: str, expected: datetime) -> None:
    parsed = parse_local_time(text, field="scheduled_local")
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2026-03-01T09:00:00+01:00", "local_time_with_offset"),
        ("2026-03-01T09:00Z", "local_time_with_offset"),
        ("2026-03-01T09:00:00-05:00", "local_time_with_offset"),
        ("2026-13-01T09:00", "invalid_local_time"),
        ("2026-02-30T09:00", "invalid_local_time"),
        ("2026-03-01T24:00", "invalid_local_time"),
        ("2026-03-01", "invalid_local_time"),
        ("2026-03-01 09:00", "invalid_local_time"),
        ("2026-03-01T09:00:00.5", "invalid_local_time"),
        ("tomorrow at nine", "invalid_local_time"),
        ("", "invalid_local_time"),
    ],
)
def test_parse_local_time_rejects(text: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_local_time(text, field="scheduled_local")
    (violation,) = caught.value.violations
    assert (violation.field, violation.rule) == ("scheduled_local", rule)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T09:00:00+01:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T09:00:00Z", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("2026-03-01t09:00:00z", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("2026-03-01 09:00:00-05:00", datetime(2026, 3, 1, 14, 0, tzinfo=UTC)),
        ("2026-03-01T09:00+00:00", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("2026-03-01T09:00:00.25Z", datetime(2026, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        ("2026-03-01T09:00:00.123456789Z", datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-01T00:30:00+05:30", datetime(2026, 2, 28, 19, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = parse_instant(text, field="scheduled_at")
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_parse_instant_asks_for_an_offset() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_instant("2026-03-01T09:00:00", field="scheduled_at")
    (violation,) = caught.value.violations
    assert violation.rule == "missing_offset"
    assert violation.message == "must include a UTC offset, e.g. 2026-03-01T09:00:00+01:00"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "now",
        "2026-03-01",
        "2026-02-30T09:00:00Z",
        "2026-03-01T09:00:00+25:00",
        "2026-03-01T09:00:00+0100x",
        "0001-01-01T00:00:00+01:00",
        "1772355600",
    ],
)
def test_parse_instant_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_instant(text, field="scheduled_at")
    assert caught.value.violations[0].rule == "invalid_instant"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (3600, "1 hour"),
        (9000, "2 hours 30 minutes"),
        (86400 * 3, "3 days"),
        (90061, "1 day 1 hour"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_utc_converts_to_utc() -> None:
    assert format_utc(datetime(2026, 3, 1, 11, 42, tzinfo=PARIS)) == "2026-03-01 10:42:00 UTC"
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("zone", "instant", "start", "end"),
    [
        # UTC+12 in winter, +13 in summer (DST ends in April, starts in late September)
        ("Pacific/Auckland", "2030-06-30T12:00Z", "2030-06-30T12:00Z", "2030-07-31T12:00Z"),
        ("Pacific/Auckland", "2030-06-30T11:59Z", "2030-05-31T12:00Z", "2030-06-30T12:00Z"),
        ("Pacific/Auckland", "2030-04-15T00:00Z", "2030-03-31T11:00Z", "2030-04-30T12:00Z"),
        ("Pacific/Auckland", "2030-12-31T11:00Z", "2030-12-31T11:00Z", "2031-01-31T11:00Z"),
        # UTC-7 in summer, -8 in winter (DST ends on 3 November 2030)
        ("America/Los_Angeles", "2030-07-01T06:59Z", "2030-06-01T07:00Z", "2030-07-01T07:00Z"),
        ("America/Los_Angeles", "2030-11-20T00:00Z", "2030-11-01T07:00Z", "2030-12-01T08:00Z"),
        ("America/Los_Angeles", "2031-01-01T07:59Z", "2030-12-01T08:00Z", "2031-01-01T08:00Z"),
        # Paraguay sprang forward at midnight on 1 October 2017: 00:00 never happened there
        ("America/Asuncion", "2017-10-01T04:00Z", "2017-10-01T04:00Z", "2017-11-01T03:00Z"),
        ("America/Asuncion", "2017-10-01T03:59Z", "2017-09-01T04:00Z", "2017-10-01T04:00Z"),
        ("UTC", "2030-02-28T23:59Z", "2030-02-01T00:00Z", "2030-03-01T00:00Z"),
    ],
)
def test_calendar_month(zone: str, instant: str, start: str, end: str) -> None:
    def utc(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    assert calendar_month(utc(instant), ZoneInfo(zone)) == (utc(start), utc(end))


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1)))
def test_calendar_month_holds_the_instant_and_starts_on_a_first(naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    for tz in (ZoneInfo("Pacific/Auckland"), ZoneInfo("America/Los_Angeles"), NEW_YORK):
        start, end = calendar_month(instant, tz)
        assert start <= instant < end
        assert start.astimezone(tz).day == 1
        assert (start - timedelta(microseconds=1)).astimezone(tz).month != start.astimezone(
            tz
        ).month
        assert end.astimezone(tz).day == 1
