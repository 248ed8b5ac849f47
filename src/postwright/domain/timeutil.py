"""Time zones, wall-clock times and instants.

A post is written in a wall-clock time and an IANA time zone ("09:00 in Europe/Paris"); the
engine works in instants (aware UTC datetimes). `resolve_local_time` is the one place that turns
the first into the second, and it follows one documented rule on the two days a year when a wall
time is not a single instant:

    Daylight-saving time rule. A wall time that does not exist because the clocks jump forward
    (spring-forward gap) is moved forward by the length of the gap: on a day the clocks jump from
    02:00 to 03:00, 02:30 becomes 03:30 local time, which is the instant 02:30 would have had under
    the old UTC offset. A wall time that happens twice because the clocks go back (fall-back
    overlap) resolves to its first occurrence, the earlier instant (still under the summer
    offset).

Input formats:

- a wall time is "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS", without a UTC offset
  (`parse_local_time`);
- an instant is an RFC 3339 timestamp with a UTC offset, "2026-03-01T09:00:00+01:00" or
  "...Z" (`parse_instant`).

Nothing here reads the clock: whoever needs "now" passes it in.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from postwright.domain.errors import InvalidInput

__all__ = [
    "LocalResolution",
    "calendar_month",
    "format_duration",
    "format_utc",
    "load_timezone",
    "parse_instant",
    "parse_local_time",
    "require_aware",
    "resolve_local_time",
]

# IANA names are ASCII path components ("America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC").
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
# Files in the zoneinfo directory that are not zones a person would mean.
_NOT_ZONES = frozenset({"localtime", "posixrules", "factory"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")

_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")
_INSTANT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[zZ]|[+-]\d{2}:\d{2})?"
)


@functools.cache
def _known_zones() -> dict[str, str]:
    """Every installed zone name, keyed by its casefolded spelling."""
    return {name.casefold(): name for name in available_timezones()}


def load_timezone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone called `name` ("Europe/Paris", "UTC"); 422 for anything else.

    The spelling is matched case-insensitively and the zone's canonical key is kept
    ("europe/paris" loads "Europe/Paris"). Paths, empty strings and the zoneinfo directory's
    non-zone files ("localtime", "posixrules") are refused.
    """
    key = name.strip()
    folded = key.casefold()
    if (
        not key
        or len(key) > 64
        or not _ZONE_NAME.fullmatch(key)
        or folded in _NOT_ZONES
        or folded.startswith(_NOT_ZONE_PREFIXES)
    ):
        raise _unknown_timezone(name, field)
    known = _known_zones()
    if known:
        canonical = known.get(folded)
        if canonical is None:
            raise _unknown_timezone(name, field)
        key = canonical
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise _unknown_timezone(name, field) from exc


def _unknown_timezone(name: str, field: str) -> InvalidInput:
    return InvalidInput.one(
        field,
        "unknown_timezone",
        f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or UTC",
    )


@dataclass(frozen=True, slots=True)
class LocalResolution:
    """The instant a wall time stands for, and whether the DST rule had to move it."""

    utc: datetime  # aware, in UTC
    adjusted: bool  # True when the wall time did not exist and was moved forward
    note: str | None  # plain-words explanation when the wall time was missing or ambiguous


def resolve_local_time(local: datetime, tz: ZoneInfo) -> LocalResolution:
    """The instant of the naive wall time `local` in `tz`, by the module's DST rule."""
    if local.tzinfo is not None:
        raise ValueError("resolve_local_time expects a naive wall time")
    wall = local.replace(fold=0)
    # PEP 495: with fold=0 a wall time in a gap takes the offset from before the transition,
    # and one in an overlap takes its first (earlier) offset. Both are what the rule asks for.
    first = wall.replace(tzinfo=tz)
    utc = first.astimezone(UTC)
    back = utc.astimezone(tz).replace(tzinfo=None)
    when = f"{wall:%H:%M} on {wall:%Y-%m-%d} in {tz.key}"
    if back != wall:
        return LocalResolution(
            utc=utc,
            adjusted=True,
            note=(
                f"{when} does not exist (the clocks jump forward); "
                f"it is published at {back:%H:%M} local time"
            ),
        )
    second = wall.replace(tzinfo=tz, fold=1)
    if second.utcoffset() != first.utcoffset():
        return LocalResolution(
            utc=utc,
            adjusted=False,
            note=(
                f"{when} happens twice (the clocks go back); "
                f"the first one, at {_offset(first)}, is used"
            ),
        )
    return LocalResolution(utc=utc, adjusted=False, note=None)


def _offset(value: datetime) -> str:
    text = value.strftime("%z")
    return f"UTC{text[:3]}:{text[3:]}"


def parse_local_time(value: str, *, field: str) -> datetime:
    """A naive wall time from "YYYY-MM-DDTHH:MM[:SS]"; 422 if it has an offset or is malformed."""
    text = value.strip()
    if not _LOCAL_TIME.fullmatch(text):
        instant = _INSTANT.fullmatch(text)
        if instant is not None and instant["offset"] is not None:
            raise InvalidInput.one(
                field,
                "local_time_with_offset",
                "must be a wall-clock time without a UTC offset (the time zone is given "
                "separately), e.g. 2026-03-01T09:00",
            )
        raise _bad_local_time(field)
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise _bad_local_time(field) from exc


def _bad_local_time(field: str) -> InvalidInput:
    return InvalidInput.one(
        field, "invalid_local_time", "must be a date and time like 2026-03-01T09:00"
    )


def parse_instant(value: str, *, field: str) -> datetime:
    """An aware UTC datetime from an RFC 3339 timestamp that includes its UTC offset."""
    match = _INSTANT.fullmatch(value.strip())
    if match is None:
        raise _bad_instant(field)
    if match["offset"] is None:
        raise InvalidInput.one(
            field, "missing_offset", "must include a UTC offset, e.g. 2026-03-01T09:00:00+01:00"
        )
    offset = "+00:00" if match["offset"] in ("z", "Z") else match["offset"]
    fraction = f".{(match['fraction'] + '000000')[:6]}" if match["fraction"] else ""
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _bad_instant(field) from exc


def _bad_instant(field: str) -> InvalidInput:
    return InvalidInput.one(
        field,
        "invalid_instant",
        "must be an RFC 3339 date and time with a UTC offset, e.g. 2026-03-01T09:00:00+01:00",
    )


def require_aware(value: datetime, name: str) -> datetime:
    """`value` converted to UTC; a naive datetime here is a programming error (ValueError)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got a naive one")
    return value.astimezone(UTC)


def calendar_month(instant: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month in `tz` that holds `instant`, as UTC instants [start, end).

    A month starts at local midnight on its 1st. Where the clocks spring forward at midnight
    (Paraguay on 1 October 2017) that midnight never happens and the month starts at the jump;
    where they fall back over midnight the month starts at its first occurrence (fold=0 gives
    both).
    """
    local = require_aware(instant, "instant").astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    year, month = divmod(local.year * 12 + local.month, 12)
    end = datetime(year, month + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """An instant as people read it in messages: "2026-03-01 10:42:00 UTC"."""
    return f"{require_aware(value, 'value'):%Y-%m-%d %H:%M:%S} UTC"


def format_duration(seconds: float) -> str:
    """A duration in plain words: "45 seconds", "1 hour", "2 hours 30 minutes", "3 days"."""
    total = max(0, round(seconds))
    parts: list[str] = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount} {unit}{'' if amount == 1 else 's'}")
    return " ".join(parts[:2]) if parts else "0 seconds"
