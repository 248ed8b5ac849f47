"""Per-account posting rules: how often an account may publish, and no repeats.

An account's options may carry rules such as "at least 10 minutes between posts", "at most 3 an
hour", "at most 20 a day" and "not the same text twice within 24 hours". They hold across every
worker because the engine, just before publishing, reads the account's recent publishes from the
database and asks `next_allowed` whether this delivery may go now. The answer is `None` (go) or
a `Deferral` saying until when and why, in words a person can act on.

Windows roll: "per hour" means the last 60 minutes and "per day" the last 24 hours, not the
calendar hour or day. A slot frees exactly when the publish that filled it is a full window old.

Duplicates are recognised by `content_fingerprint`: the same text (ignoring case, Unicode
normalisation form and runs of whitespace) with the same media. A publish counts as a duplicate
when it went to this account, or to the same scope (a subreddit on Reddit) from another account
when the engine passes those in (`PastPublish.same_account=False`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from postwright.domain.errors import InvalidInput, Violation
from postwright.domain.timeutil import format_duration, format_utc, require_aware

__all__ = [
    "Deferral",
    "PastPublish",
    "PostingRules",
    "content_fingerprint",
    "next_allowed",
]

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
# The largest value each rule accepts: beyond it, a unit was almost certainly mistaken.
_MAXIMA = {
    "min_interval_s": 7 * 86400,
    "max_per_hour": 10_000,
    "max_per_day": 100_000,
    "duplicate_window_s": 365 * 86400,
}


@dataclass(frozen=True, slots=True)
class PostingRules:
    """An account's posting rules; `None` switches a rule off."""

    min_interval_s: int | None = None  # seconds between two publishes of the account
    max_per_hour: int | None = None  # publishes in any rolling 60 minutes
    max_per_day: int | None = None  # publishes in any rolling 24 hours
    duplicate_window_s: int | None = None  # seconds before identical content may go again

    @classmethod
    def from_options(
        cls, mapping: Mapping[str, object] | None, *, field: str = "options.posting_rules"
    ) -> PostingRules:
        """The rules from an account's `posting_rules` options; 422 for unknown or bad values."""
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise InvalidInput.one(field, "invalid_type", "must be an object")
        violations: list[Violation] = []
        values: dict[str, int | None] = {}
        for key, raw in mapping.items():
            path = f"{field}.{key}"
            if key not in _MAXIMA:
                violations.append(
                    Violation(
                        path,
                        "unknown_rule",
                        f"unknown posting rule; known rules are {', '.join(_MAXIMA)}",
                    )
                )
                continue
            if raw is None:
                values[key] = None
                continue
            number = _whole_number(raw)
            maximum = _MAXIMA[key]
            if number is None or not 1 <= number <= maximum:
                violations.append(
                    Violation(
                        path,
                        "invalid_posting_rule",
                        f"must be a whole number from 1 to {maximum}, or null to switch it off",
                    )
                )
                continue
            values[key] = number
        if violations:
            raise InvalidInput(violations)
        return cls(**values)

    def to_options(self) -> dict[str, int]:
        """The rules that are on, as stored in the account's options."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}

    @property
    def enabled(self) -> bool:
        """Whether any rule is on."""
        return bool(self.to_options())


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class PastPublish:
    """One recent publish the engine read from the database."""

    at: datetime  # when it was published (aware)
    fingerprint: str  # its `content_fingerprint`
    scope: str  # where inside the account it went: a subreddit on Reddit, "" elsewhere
    same_account: bool = True  # False: another account's publish to the same scope


@dataclass(frozen=True, slots=True)
class Deferral:
    """Not now: the delivery may go at `until` (aware UTC); `rule` broke; `reason` in words."""

    until: datetime
    rule: str  # "min_interval" | "max_per_hour" | "max_per_day" | "duplicate"
    reason: str


def next_allowed(
    rules: PostingRules,
    *,
    now: datetime,
    history: Sequence[PastPublish],
    fingerprint: str,
    scope: str,
) -> Deferral | None:
    """`None` if the account may publish this content now, else the earliest time it may.

    Every rule's wait only shrinks as time passes (the history is fixed), so the earliest moment
    all rules allow is the latest of their individual answers; that rule is the one reported.
    """
    now = require_aware(now, "now")
    own = sorted(require_aware(p.at, "history.at") for p in history if p.same_account)
    deferrals = [
        d
        for d in (
            _min_interval(rules.min_interval_s, own),
            _rolling(rules.max_per_hour, own, now, _HOUR, "max_per_hour", "hour"),
            _rolling(rules.max_per_day, own, now, _DAY, "max_per_day", "day"),
            _duplicate(rules.duplicate_window_s, history, now, fingerprint, scope),
        )
        if d is not None and d.until > now
    ]
    return max(deferrals, key=lambda d: d.until, default=None)


def _min_interval(seconds: int | None, own: list[datetime]) -> Deferral | None:
    if seconds is None or not own:
        return None
    last = own[-1]
    until = last + timedelta(seconds=seconds)
    return Deferral(
        until=until,
        rule="min_interval",
        reason=(
            f"at least {format_duration(seconds)} between posts for this account; the last one "
            f"went out at {format_utc(last)}; next allowed at {format_utc(until)}"
        ),
    )


def _rolling(
    limit: int | None,
    own: list[datetime],
    now: datetime,
    window: timedelta,
    rule: str,
    unit: str,
) -> Deferral | None:
    if limit is None:
        return None
    inside = [at for at in own if at > now - window]
    if len(inside) < limit:
        return None
    # Publishing needs at most limit - 1 of them left in the window: wait until the oldest
    # len - limit + 1 have aged out, i.e. until the (len - limit)-th one (0-based) is a window old.
    until = inside[len(inside) - limit] + window
    posts = "post" if limit == 1 else "posts"
    return Deferral(
        until=until,
        rule=rule,
        reason=f"at most {limit} {posts} per {unit} for this account; "
        f"next allowed at {format_utc(until)}",
    )


def _duplicate(
    seconds: int | None,
    history: Sequence[PastPublish],
    now: datetime,
    fingerprint: str,
    scope: str,
) -> Deferral | None:
    if seconds is None:
        return None
    window = timedelta(seconds=seconds)
    same = [
        p
        for p in history
        if p.fingerprint == fingerprint
        and (p.same_account or (scope != "" and p.scope == scope))
        and require_aware(p.at, "history.at") > now - window
    ]
    if not same:
        return None
    latest = max(same, key=lambda p: p.at)
    until = require_aware(latest.at, "history.at") + window
    where = "this account" if latest.same_account else scope
    return Deferral(
        until=until,
        rule="duplicate",
        reason=(
            f"identical content went to {where} at {format_utc(latest.at)}; the same content "
            f"may go again {format_duration(seconds)} later, at {format_utc(until)}"
        ),
    )


_WHITESPACE = re.compile(r"\s+")


def content_fingerprint(text: str, media_checksums: Sequence[str] = ()) -> str:
    """A stable sha256 hex digest of a post's content, to spot the same post again.

    The text is normalised (NFC, case-folded, runs of whitespace collapsed to one space, ends
    stripped) so that trivial differences do not hide a duplicate; the media checksums are
    taken in order (a carousel in another order is another post). Adapters use the same digest
    to recognise a post of theirs on the platform after a timeout.
    """
    normal = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    normal = _WHITESPACE.sub(" ", normal).strip()
    digest = hashlib.sha256(b"postwright-content-v1")
    # Each piece is length-prefixed, so no text can pass for another text plus media.
    for piece in (normal, *(checksum.strip().lower() for checksum in media_checksums)):
        data = piece.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()
