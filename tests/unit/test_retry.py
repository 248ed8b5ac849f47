from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwright.domain.retry import RetryDecision, RetryPolicy, parse_retry_after

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class Highest(random.Random):
    """A random source that always draws the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Lowest(random.Random):
    """A random source that always draws the bottom of the range."""

    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.mark.parametrize(
    ("attempts", "cap_s"),
    [
        (1, 5.0),
        (2, 10.0),
        (3, 20.0),
        (4, 40.0),
        (8, 640.0),
        (10, 2560.0),
        (11, 3600.0),  # 5 * 2**10 = 5120 is past max_delay_s
        (30, 3600.0),
        (5000, 3600.0),  # no overflow however many attempts
    ],
)
def test_backoff_doubles_up_to_the_cap(attempts: int, cap_s: float) -> None:
    policy = RetryPolicy(max_attempts=10_000)
    assert policy.backoff_cap(attempts) == cap_s
    decision = policy.decide(attempts=attempts, now=NOW, retry_after=None, rng=Highest())
    assert decision is not None
    assert decision.retry_at == NOW + timedelta(seconds=cap_s)
    low = policy.decide(attempts=attempts, now=NOW, retry_after=None, rng=Lowest())
    assert low is not None
    assert low.retry_at == NOW


@pytest.mark.parametrize(
    ("max_attempts", "attempts", "retries"),
    [
        (6, 1, True),
        (6, 5, True),
        (6, 6, False),
        (6, 7, False),
        (1, 1, False),
    ],
)
def test_attempts_run_out(max_attempts: int, attempts: int, retries: bool) -> None:
    policy = RetryPolicy(max_attempts=max_attempts)
    decision = policy.decide(attempts=attempts, now=NOW, retry_after=None, rng=random.Random(1))
    assert (decision is not None) is retries


def test_exhausted_attempts_dead_letter_even_when_the_platform_gave_a_reset() -> None:
    decision = RetryPolicy().decide(
        attempts=6, now=NOW, retry_after=NOW + timedelta(minutes=1), rng=random.Random(1)
    )
    assert decision is None


@pytest.mark.parametrize(
    ("attempts", "reset_in", "rng", "expected_in"),
    [
        # reset far beyond the backoff: retry at the reset plus at most the spread
        (1, timedelta(minutes=15), Lowest(), timedelta(minutes=15)),
        (1, timedelta(minutes=15), Highest(), timedelta(minutes=15, seconds=30)),
        # reset beyond max_delay_s is still honoured
        (5, timedelta(hours=20), Lowest(), timedelta(hours=20)),
        # the backoff is later than the reset (+ spread): the backoff wins
        (5, timedelta(seconds=10), Highest(), timedelta(seconds=80)),
        # a reset in the past is no constraint
        (2, timedelta(seconds=-30), Highest(), timedelta(seconds=30)),
    ],
)
def test_retry_after_is_a_floor(
    attempts: int, reset_in: timedelta, rng: random.Random, expected_in: timedelta
) -> None:
    decision = RetryPolicy().decide(attempts=attempts, now=NOW, retry_after=NOW + reset_in, rng=rng)
    assert decision is not None
    assert decision.retry_at == NOW + expected_in


def test_reason_is_plain_words() -> None:
    rate_limited = RetryPolicy().decide(
        attempts=2, now=NOW, retry_after=NOW + timedelta(minutes=15), rng=Lowest()
    )
    assert rate_limited == RetryDecision(
        retry_at=datetime(2026, 3, 1, 10, 15, tzinfo=UTC),
        reason=(
            "attempt 2 of 6 failed; the platform asked to wait until 2026-03-01 10:15:00 UTC; "
            "retrying at 2026-03-01 10:15:00 UTC"
        ),
    )
    backoff = RetryPolicy().decide(attempts=3, now=NOW, retry_after=None, rng=Highest())
    assert backoff is not None
    assert backoff.reason == (
        "attempt 3 of 6 failed; retrying in 20 seconds at 2026-03-01 10:00:20 UTC"
    )


def test_decisions_are_deterministic_with_a_seeded_random() -> None:
    policy = RetryPolicy()

    def run(seed: int) -> list[RetryDecision | None]:
        rng = random.Random(seed)
        return [policy.decide(attempts=n, now=NOW, retry_after=None, rng=rng) for n in range(1, 8)]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert first[-2:] == [None, None]


def test_retry_times_are_utc_even_from_another_offset() -> None:
    paris_now = NOW.astimezone(ZoneInfo("Europe/Paris"))
    decision = RetryPolicy().decide(attempts=1, now=paris_now, retry_after=None, rng=Lowest())
    assert decision is not None
    assert decision.retry_at.tzinfo is UTC


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_s": 0.0},
        {"base_delay_s": -1.0},
        {"base_delay_s": 10.0, "max_delay_s": 5.0},
        {"reset_spread_s": -1.0},
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_decide_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().decide(attempts=0, now=NOW, retry_after=None, rng=random.Random(1))
    with pytest.raises(ValueError):
        RetryPolicy().decide(
            attempts=1, now=datetime(2026, 3, 1), retry_after=None, rng=random.Random(1)
        )
    with pytest.raises(ValueError):
        RetryPolicy().decide(
            attempts=1, now=NOW, retry_after=datetime(2026, 3, 1), rng=random.Random(1)
        )


@given(
    attempts=st.integers(min_value=1, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0.01, max_value=100.0),
    extra=st.floats(min_value=0.0, max_value=100_000.0),
)
def test_full_jitter_delay_stays_within_zero_and_the_cap(
    attempts: int, seed: int, base: float, extra: float
) -> None:
    policy = RetryPolicy(max_attempts=1000, base_delay_s=base, max_delay_s=base + extra)
    decision = policy.decide(attempts=attempts, now=NOW, retry_after=None, rng=random.Random(seed))
    assert decision is not None
    cap = min(policy.max_delay_s, base * 2.0 ** min(attempts - 1, 1000))
    delay = (decision.retry_at - NOW).total_seconds()
    assert 0 <= delay <= cap + 1e-6  # timedelta keeps microseconds
    assert delay <= policy.max_delay_s + 1e-6


@given(
    attempts=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32),
    reset_s=st.floats(min_value=-3600, max_value=86400 * 2),
)
def test_never_before_the_reset(attempts: int, seed: int, reset_s: float) -> None:
    reset = NOW + timedelta(seconds=reset_s)
    policy = RetryPolicy()
    decision = policy.decide(attempts=attempts, now=NOW, retry_after=reset, rng=random.Random(seed))
    assert decision is not None
    assert decision.retry_at >= reset
    assert decision.retry_at >= NOW
    latest = max(
        max(reset, NOW) + timedelta(seconds=policy.reset_spread_s),
        NOW + timedelta(seconds=policy.backoff_cap(attempts)),
    )
    assert decision.retry_at <= latest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        (" 5 ", NOW + timedelta(seconds=5)),
        ("0", NOW),
        ("1.5", NOW + timedelta(seconds=1.5)),
        ("99999999999999999999", NOW + timedelta(days=365)),  # capped at a year
        ("Sun, 01 Mar 2026 10:05:00 GMT", NOW + timedelta(minutes=5)),
        ("Sunday, 01-Mar-26 10:05:00 GMT", NOW + timedelta(minutes=5)),  # RFC 850
        ("Sun Mar  1 10:05:00 2026", NOW + timedelta(minutes=5)),  # asctime
        ("Sun, 01 Mar 2026 11:05:00 +0100", NOW + timedelta(minutes=5)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", NOW),  # in the past: now
        ("Fri, 01 Mar 2030 10:00:00 GMT", NOW + timedelta(days=365)),  # capped at a year
        ("", None),
        ("soon", None),
        ("-5", None),
        ("5 seconds", None),
        ("Sun, 32 Mar 2026 10:05:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str, expected: datetime | None) -> None:
    parsed = parse_retry_after(value, NOW)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_parse_retry_after_needs_an_aware_now() -> None:
    with pytest.raises(ValueError):
        parse_retry_after("5", datetime(2026, 3, 1))
