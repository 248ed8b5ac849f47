"""Recurring posts: RFC 5545 RRULEs read in the post's own time zone.

A recurring post stores a rule ("FREQ=WEEKLY;BYDAY=MO"), the wall time of its first occurrence
(2026-03-02T09:00) and its time zone (Europe/Paris). Occurrences are generated in naive wall
time by python-dateutil and only then turned into instants by `timeutil.resolve_local_time`, so
"every Monday at 09:00 in Paris" stays at 09:00 local time across daylight-saving changes, and a
wall time that falls in a spring-forward gap or a fall-back overlap follows the same rule as a
one-off post (see `postwright.domain.timeutil`).

What a rule may contain:

- one RRULE, with or without the "RRULE:" prefix; DTSTART, RDATE and EXDATE are refused (the
  post's scheduled time is the start; skipped occurrences are passed to `occurrences(skip=...)`);
- no more often than once an hour by default (`min_interval_s`): FREQ=SECONDLY and
  FREQ=MINUTELY are refused, and so is any rule whose BY... parts make it fire closer together
  (measured in wall-clock time);
- COUNT of at most 10,000, and not together with UNTIL (RFC 5545 forbids both);
- UNTIL as a UTC instant (20260401T000000Z, inclusive), a local wall time (20260401T090000,
  inclusive) or a date (20260401: the whole of that local day is included);
- it must fire at least once (no February 30th).

On a spring-forward day an hourly rule's missing hour lands on the same instant as the next
hour and is published once; occurrences are always strictly increasing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from postwright.domain.errors import InvalidInput
from postwright.domain.timeutil import format_duration, require_aware, resolve_local_time

__all__ = [
    "DEFAULT_MIN_INTERVAL_S",
    "MAX_COUNT",
    "occurrences",
    "validate_rrule",
]

DEFAULT_MIN_INTERVAL_S = 3600
MAX_COUNT = 10_000

_KEYS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
# The shortest time between two repetitions of FREQ (before BY... parts add more).
_FREQ_PERIOD_S = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400,
    "YEARLY": 365 * 86400,
}
# Frequencies whose repetitions are a fixed length of wall time, so a series can be
# fast-forwarded by whole repetitions without changing which wall times it produces.
_FIXED_STEP = {
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(days=7),
}
_UNTIL_UTC = re.compile(r"\d{8}T\d{6}Z")
_UNTIL_LOCAL = re.compile(r"\d{8}T\d{6}")
_UNTIL_DATE = re.compile(r"\d{8}")
_POSITIVE_INT = re.compile(r"\d{1,9}")
# dateutil stops at year 9999, so a series started here ends within 28 years: long enough for
# every weekday/leap-year combination, short enough to find out quickly that a rule never fires.
_PROBE_YEAR = 9972
_PROBE_SAMPLE = 1000


@dataclass(frozen=True, slots=True)
class _Rule:
    normalised: str  # what validate_rrule returns and the store keeps
    generator: str  # the rule handed to dateutil: UNTIL is applied by us, in our time zone
    freq: str
    interval: int
    has_count: bool
    until_utc: datetime | None  # UNTIL=...Z
    until_local: datetime | None  # UNTIL=YYYYMMDDTHHMMSS (inclusive wall time)
    until_date: date | None  # UNTIL=YYYYMMDD (the whole local day)


def validate_rrule(
    rule: str, *, field: str = "recurrence", min_interval_s: int = DEFAULT_MIN_INTERVAL_S
) -> str:
    """The rule, normalised ("FREQ=WEEKLY;BYDAY=MO", no prefix, upper case, FREQ first).

    Raises `InvalidInput` (422, at `field`) when the rule cannot be parsed, carries a DTSTART,
    fires more often than once every `min_interval_s` seconds, has COUNT above 10,000, or never
    fires.
    """
    parsed = _parse(rule, field)
    period = _FREQ_PERIOD_S[parsed.freq] * parsed.interval
    if period < min_interval_s:
        raise InvalidInput.one(
            field,
            "too_frequent",
            f"FREQ={parsed.freq} repeats every {format_duration(period)}; a recurring post may "
            f"repeat at most once every {format_duration(min_interval_s)} "
            f"(use FREQ=HOURLY or longer)",
        )
    sample = list(itertools.islice(_wall_times(parsed, datetime(_PROBE_YEAR, 1, 1)), _PROBE_SAMPLE))
    if not sample:
        raise InvalidInput.one(
            field, "never_fires", "this rule never produces a date (e.g. February 30th)"
        )
    shortest = min((b - a for a, b in itertools.pairwise(sample)), default=None)
    if shortest is not None and shortest.total_seconds() < min_interval_s:
        raise InvalidInput.one(
            field,
            "too_frequent",
            f"this rule fires {format_duration(shortest.total_seconds())} apart; a recurring "
            f"post may repeat at most once every {format_duration(min_interval_s)}",
        )
    return parsed.normalised


def occurrences(
    rule: str,
    *,
    start_local: datetime,
    tz: ZoneInfo,
    after: datetime,
    until: datetime,
    limit: int,
    skip: Collection[datetime] = (),
) -> list[datetime]:
    """The rule's occurrences as aware UTC instants `t` with `after <= t < until`, in order.

    `start_local` is the naive wall time of the series' first occurrence in `tz`; it also
    supplies the parts the rule leaves out (the time of day, the weekday of a WEEKLY rule).
    COUNT and UNTIL in the rule are honoured (COUNT counts from the start, skipped ones
    included, as RFC 5545's EXDATE does). Instants in `skip` are left out. At most `limit` are
    returned.
    """
    parsed = _parse(rule, "recurrence")
    if start_local.tzinfo is not None:
        raise ValueError("start_local must be a naive wall time")
    after_utc = require_aware(after, "after")
    until_utc = require_aware(until, "until")
    if limit <= 0 or after_utc >= until_utc:
        return []
    skipped = {require_aware(value, "skip") for value in skip}
    start = start_local.replace(microsecond=0, fold=0)
    if not _fires_ever(parsed, start):
        return []
    # Anything more than two days (the largest DST-like jump on record is one day) before
    # `after` in wall time is certainly before it as an instant.
    horizon = after_utc.astimezone(tz).replace(tzinfo=None) - timedelta(days=2)
    found: list[datetime] = []
    last: datetime | None = None
    for wall in _wall_times(parsed, _fast_forward(parsed, start, horizon)):
        if (parsed.until_local is not None and wall > parsed.until_local) or (
            parsed.until_date is not None and wall.date() > parsed.until_date
        ):
            break
        if wall < horizon:
            continue
        instant = resolve_local_time(wall, tz).utc
        if (parsed.until_utc is not None and instant > parsed.until_utc) or instant >= until_utc:
            break
        if last is not None and instant <= last:
            continue  # a nonexistent wall time that landed on (or before) an earlier one
        last = instant
        if instant < after_utc or instant in skipped:
            continue
        found.append(instant)
        if len(found) >= limit:
            break
    return found


def _parse(rule: str, field: str) -> _Rule:
    text = rule.strip()
    if "DTSTART" in text.upper():
        raise InvalidInput.one(
            field,
            "dtstart_not_allowed",
            "DTSTART is not allowed in the rule; the post's scheduled time is the first occurrence",
        )
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :].strip()
    if not text:
        raise _invalid(field, "the rule is empty; e.g. FREQ=WEEKLY;BYDAY=MO")
    if ":" in text or "\n" in text or "\r" in text:
        raise _invalid(
            field, "only one RRULE is allowed (no DTSTART, RDATE or EXDATE lines)", "single_rule"
        )
    parts: dict[str, str] = {}
    for raw in text.split(";"):
        if not raw.strip():
            continue
        key, sep, value = raw.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value:
            raise _invalid(field, f"{raw.strip()!r} is not a NAME=VALUE part")
        if key not in _KEYS:
            raise _invalid(field, f"{key} is not a recurrence rule part")
        if key in parts:
            raise _invalid(field, f"{key} appears more than once")
        parts[key] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise _invalid(field, "FREQ is required, e.g. FREQ=WEEKLY")
    if freq not in _FREQ_PERIOD_S:
        raise _invalid(field, f"FREQ must be one of {', '.join(_FREQ_PERIOD_S)}")
    interval = _positive_int(parts.get("INTERVAL", "1"), "INTERVAL", field)
    if "COUNT" in parts:
        count = _positive_int(parts["COUNT"], "COUNT", field)
        if count > MAX_COUNT:
            raise InvalidInput.one(
                field, "count_too_large", f"COUNT may be at most {MAX_COUNT}, got {count}"
            )
        if "UNTIL" in parts:
            raise _invalid(field, "use COUNT or UNTIL, not both (RFC 5545)")
    until_utc, until_local, until_date = _parse_until(parts.get("UNTIL"), field)
    ordered = ["FREQ", *(key for key in parts if key != "FREQ")]
    normalised = ";".join(f"{key}={parts[key]}" for key in ordered)
    generator = ";".join(f"{key}={parts[key]}" for key in ordered if key != "UNTIL")
    parsed = _Rule(
        normalised=normalised,
        generator=generator,
        freq=freq,
        interval=interval,
        has_count="COUNT" in parts,
        until_utc=until_utc,
        until_local=until_local,
        until_date=until_date,
    )
    try:
        _build(parsed, datetime(_PROBE_YEAR, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise _invalid(field, f"not a valid RFC 5545 recurrence rule ({exc})") from exc
    return parsed


def _invalid(field: str, message: str, rule: str = "invalid_rrule") -> InvalidInput:
    return InvalidInput.one(field, rule, message)


def _positive_int(value: str, name: str, field: str) -> int:
    if not _POSITIVE_INT.fullmatch(value) or int(value) < 1:
        raise _invalid(field, f"{name} must be a whole number of at least 1")
    return int(value)


def _parse_until(
    value: str | None, field: str
) -> tuple[datetime | None, datetime | None, date | None]:
    if value is None:
        return None, None, None
    try:
        if _UNTIL_UTC.fullmatch(value):
            parsed = datetime.strptime(value, "%Y%m%dT%H%M%SZ")
            return parsed.replace(tzinfo=UTC), None, None
        if _UNTIL_LOCAL.fullmatch(value):
            return None, datetime.strptime(value, "%Y%m%dT%H%M%S"), None
        if _UNTIL_DATE.fullmatch(value):
            return None, None, datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        pass
    raise _invalid(
        field,
        "UNTIL must look like 20260401T000000Z (UTC), 20260401T090000 (local) or 20260401 (date)",
    )


def _build(parsed: _Rule, start: datetime) -> rrule:
    built = rrulestr(f"RRULE:{parsed.generator}", dtstart=start)
    if not isinstance(built, rrule):  # pragma: no cover - a single RRULE always gives one
        raise TypeError("expected a single rule")
    return built


def _wall_times(parsed: _Rule, start: datetime) -> Iterator[datetime]:
    for value in _build(parsed, start):
        if not isinstance(value, datetime):  # pragma: no cover - dateutil yields datetimes
            raise TypeError("expected datetimes")
        yield value


def _fires_ever(parsed: _Rule, start: datetime) -> bool:
    """Whether the series produces anything, found out in a bounded number of steps.

    dateutil searches up to year 9999 for a rule that never matches (a DAILY rule for
    February 30th takes seconds); the same series moved to the last 28 years of the calendar
    (same day, time and leap-year phase) answers in milliseconds.
    """
    if start.year < _PROBE_YEAR:
        start = start.replace(year=_PROBE_YEAR + start.year % 4)
    return next(_wall_times(parsed, start), None) is not None


def _fast_forward(parsed: _Rule, start: datetime, horizon: datetime) -> datetime:
    """A later start giving the same wall times from `horizon` on, to skip a long past.

    Only for rules without COUNT whose repetitions are a fixed length of wall time: moving the
    start by whole repetitions keeps the time of day, the weekday and the INTERVAL phase.
    """
    step = _FIXED_STEP.get(parsed.freq)
    if step is None or parsed.has_count or horizon <= start:
        return start
    period = step * parsed.interval
    return start + period * ((horizon - start) // period)
