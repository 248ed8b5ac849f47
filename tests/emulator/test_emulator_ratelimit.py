"""Fixed-window quotas."""

from __future__ import annotations

import pytest

from postwright.platforms.emulator.ratelimit import FixedWindowLimiter, RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_counts_per_key_and_refuses_past_the_limit() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(RateLimit(limit=2, window_seconds=60), clock=clock)

    quotas = [limiter.hit("a") for _ in range(3)]
    other = limiter.hit("b")

    assert [(q.allowed, q.remaining) for q in quotas] == [(True, 1), (True, 0), (False, 0)]
    assert quotas[2].reset_epoch == 1_060
    assert quotas[2].retry_after(clock.now + 59.5) == 1
    assert (other.allowed, other.remaining) == (True, 1)


def test_the_window_starts_afresh_once_it_ends() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(RateLimit(limit=1, window_seconds=60), clock=clock)
    limiter.hit("a")

    clock.now += 60
    quota = limiter.hit("a")

    assert (quota.allowed, quota.remaining, quota.reset_at) == (True, 0, 1_120.0)
    assert limiter.peek("a").remaining == 0


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (10, 0.0)])
def test_a_rate_limit_must_allow_something(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="rate limit needs"):
        RateLimit(limit=limit, window_seconds=window)
