"""Fixed-window request quotas, one window per key (an account, a token, an IP...).

Platforms name the resulting headers their own way (`X-RateLimit-*`, `x-rate-limit-*`,
`RateLimit-*`), so this module only counts; each platform module renders a `Quota`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FixedWindowLimiter", "Quota", "RateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` requests per key in each window of `window_seconds`."""

    limit: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_seconds <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window_seconds > 0, not {self}")


@dataclass(frozen=True, slots=True)
class Quota:
    """What is left of one key's window after a request."""

    limit: int
    remaining: int
    reset_at: float
    """Unix seconds when the window ends."""
    allowed: bool
    """False when the request was over the limit (and was not counted)."""

    @property
    def reset_epoch(self) -> int:
        """`reset_at` rounded up to whole unix seconds, as rate-limit headers carry it."""
        return math.ceil(self.reset_at)

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends, at least 1: the value of a `Retry-After` header."""
        return max(1, math.ceil(self.reset_at - now))


class FixedWindowLimiter:
    """Counts requests per key; a key's window starts with its first request."""

    def __init__(self, policy: RateLimit, *, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self._clock = clock
        self._windows: dict[str, list[float]] = {}  # key -> [window start, requests counted]

    def hit(self, key: str) -> Quota:
        """Count one request for `key` if the window has room."""
        window = self._window(key)
        allowed = window[1] < self.policy.limit
        if allowed:
            window[1] += 1
        return self._quota(window, allowed=allowed)

    def peek(self, key: str) -> Quota:
        """The key's quota without counting a request."""
        return self._quota(self._window(key), allowed=True)

    def reset(self) -> None:
        """Start every key's window afresh."""
        self._windows.clear()

    def _window(self, key: str) -> list[float]:
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now >= window[0] + self.policy.window_seconds:
            window = self._windows[key] = [now, 0]
        return window

    def _quota(self, window: list[float], *, allowed: bool) -> Quota:
        return Quota(
            limit=self.policy.limit,
            remaining=self.policy.limit - int(window[1]),
            reset_at=window[0] + self.policy.window_seconds,
            allowed=allowed,
        )
