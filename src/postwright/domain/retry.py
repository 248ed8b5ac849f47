"""When to try a failed delivery again, as a pure decision.

The engine stores what `RetryPolicy.decide` returns and nothing else: a `RetryDecision` (retry
at this instant) or `None` (dead-letter: attempts are exhausted). Like procrastinate's
`RetryStrategy.get_retry_decision`, it depends only on its arguments; the clock and the random
source are passed in, so a seeded `random.Random` makes every decision reproducible.

The rule:

- Exponential backoff with full jitter: after attempt n fails, wait a uniformly random delay in
  [0, min(max_delay_s, base_delay_s * 2 ** (n - 1))]. Spreading the whole range keeps many
  failing deliveries from retrying in lockstep (the AWS "full jitter" scheme).
- When the platform says when its limit resets (a Retry-After header, a rate-limit reset
  time), the retry is never before that instant: it is the later of the backoff and the reset
  plus a small random spread (`reset_spread_s`), so the deliveries of one account that all hit
  the same limit do not all fire again at the reset's exact millisecond. A reset may be further
  away than `max_delay_s`; it is still honoured.
- After `max_attempts` attempts, `None`.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from postwright.domain.timeutil import format_duration, format_utc, require_aware

__all__ = ["RetryDecision", "RetryPolicy", "parse_retry_after"]

_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")
# Retry-After values beyond this are treated as this (a year): a header cannot park work forever.
_MAX_RETRY_AFTER_S = 365 * 86400


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Try again at `retry_at` (aware UTC); `reason` says why then, in plain words."""

    retry_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to try a delivery, and how long to wait between tries."""

    max_attempts: int = 6
    base_delay_s: float = 5.0
    max_delay_s: float = 3600.0
    reset_spread_s: float = 30.0  # random spread added after a platform's reset time

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 < self.base_delay_s <= self.max_delay_s:
            raise ValueError("need 0 < base_delay_s <= max_delay_s")
        if self.reset_spread_s < 0:
            raise ValueError("reset_spread_s must not be negative")

    def backoff_cap(self, attempts: int) -> float:
        """The longest backoff after `attempts` failed attempts: min(max, base * 2**(n-1))."""
        exponent = max(0, attempts - 1)
        if exponent >= 64:  # 2**64 times any sane base is past any sane cap; avoid overflow
            return self.max_delay_s
        return min(self.max_delay_s, self.base_delay_s * 2.0**exponent)

    def decide(
        self,
        *,
        attempts: int,
        now: datetime,
        retry_after: datetime | None,
        rng: random.Random,
    ) -> RetryDecision | None:
        """What to do after a retryable failure; `None` means dead-letter.

        `attempts` counts the attempts made so far, including the one that just failed.
        `retry_after` is the platform's own "not before" instant, if it gave one.
        """
        if attempts < 1:
            raise ValueError("attempts counts the attempt that just failed, so it is at least 1")
        now = require_aware(now, "now")
        if attempts >= self.max_attempts:
            return None
        cap = self.backoff_cap(attempts)
        delay = rng.uniform(0.0, cap)
        backoff_at = now + timedelta(seconds=delay)
        progress = f"attempt {attempts} of {self.max_attempts} failed"
        if retry_after is not None:
            reset = max(require_aware(retry_after, "retry_after"), now)
            spread = rng.uniform(0.0, self.reset_spread_s)
            reset_at = reset + timedelta(seconds=spread)
            if reset_at >= backoff_at:
                return RetryDecision(
                    retry_at=reset_at,
                    reason=(
                        f"{progress}; the platform asked to wait until {format_utc(reset)}; "
                        f"retrying at {format_utc(reset_at)}"
                    ),
                )
        return RetryDecision(
            retry_at=backoff_at,
            reason=(
                f"{progress}; retrying in {format_duration(math.ceil(delay))} "
                f"at {format_utc(backoff_at)}"
            ),
        )


def parse_retry_after(value: str, now: datetime) -> datetime | None:
    """The instant a `Retry-After` header value points to, or `None` if it is not one.

    Both forms of RFC 9110 are read: delta-seconds ("120") and an HTTP-date
    ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime forms). A date in
    the past means "now"; a fractional number of seconds is accepted, as some servers send one.
    """
    now = require_aware(now, "now")
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = min(float(text), _MAX_RETRY_AFTER_S)
        return now + timedelta(seconds=seconds)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000" or asctime: HTTP-dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    latest = now + timedelta(seconds=_MAX_RETRY_AFTER_S)
    return min(max(parsed.astimezone(UTC), now), latest)
