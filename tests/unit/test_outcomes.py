"""What the engine stores after each kind of publish result: a table of error class -> outcome."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.domain.retry import RetryPolicy
from postwright.domain.states import DeliveryState
from postwright.engine import outcomes
from postwright.platforms.base import Published

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
SETTLE = timedelta(seconds=10)
POLICY = RetryPolicy(max_attempts=4, base_delay_s=5.0, max_delay_s=3600.0)
BUDGET = timedelta(hours=2)


class Highest(random.Random):
    """A random source that always draws the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def after(exc: BaseException, attempts: int = 1) -> outcomes.Outcome:
    return outcomes.after_error(
        exc,
        attempts=attempts,
        policy=POLICY,
        now=NOW,
        rng=Highest(),
        settle=SETTLE,
        processing_budget=BUDGET,
    )


def test_success() -> None:
    result = outcomes.after_success(
        Published(external_id="42", permalink="https://x/42"), now=NOW, fingerprint="f" * 64
    )
    assert result.state is DeliveryState.PUBLISHED
    assert result.columns == {
        "state": "published",
        "external_id": "42",
        "permalink": "https://x/42",
        "published_at": NOW,
        "fingerprint": "f" * 64,
        "due_at": None,
        "last_error": None,
        "error_class": None,
        "hold_reason": None,
        "resume": None,
    }
    assert result.attempt_outcome == "published"
    assert result.account_status is None
    assert result.blocked_until is None


def test_rate_limited_waits_for_the_reset_without_spending_an_attempt() -> None:
    reset = NOW + timedelta(seconds=90)
    result = after(RateLimited("slow down", reset_at=reset), attempts=3)
    assert result.state is DeliveryState.RETRY_WAIT
    # the reset, plus a jitter of at most min(30 s, 2 * base delay) so the queue does not stampede
    assert result.values["due_at"] == reset + timedelta(seconds=10)
    assert result.values["attempts"] == 2  # the try that hit the limit is given back
    assert result.values["error_class"] == "rate_limited"
    assert result.values["hold_reason"] == (
        "rate limited by the platform until 2026-03-01 10:01:30 UTC"
    )
    assert result.blocked_until == reset  # every worker holds the account until then
    assert (result.attempt_outcome, result.error_class, result.http_status) == (
        "rate_limited",
        "rate_limited",
        429,
    )
    assert result.account_status is None


@pytest.mark.parametrize(
    "reset_at", [None, NOW - timedelta(seconds=5), NOW], ids=["no-reset", "past", "now"]
)
def test_rate_limited_without_a_future_reset_retries_from_now(reset_at: datetime | None) -> None:
    result = after(RateLimited("slow down", reset_at=reset_at), attempts=1)
    assert result.state is DeliveryState.RETRY_WAIT
    assert result.values["due_at"] == NOW + timedelta(seconds=10)
    assert result.values["attempts"] == 0
    assert result.blocked_until == NOW


def test_rate_limits_never_dead_letter() -> None:
    result = after(RateLimited("slow down", reset_at=None), attempts=POLICY.max_attempts + 5)
    assert result.state is DeliveryState.RETRY_WAIT


def test_auth_needed_holds_the_delivery_and_flags_the_account() -> None:
    result = after(AuthNeeded("token revoked", status=401), attempts=2)
    assert result.state is DeliveryState.SCHEDULED
    assert result.values["due_at"] == NOW
    assert result.values["attempts"] == 1
    assert result.values["error_class"] == "auth_needed"
    assert result.values["hold_reason"].startswith("the account needs reconnecting: token revoked")
    assert result.account_status is not None
    assert result.account_status[0] == "needs_reconnect"
    assert (result.attempt_outcome, result.http_status) == ("auth_needed", 401)
    assert result.blocked_until is None


def test_permanent_fails_at_once_with_the_platforms_message() -> None:
    result = after(Permanent("sandbox refused the post: text too long", status=422), attempts=1)
    assert result.state is DeliveryState.FAILED
    assert result.columns == {
        "state": "failed",
        "due_at": None,
        "last_error": "sandbox refused the post: text too long",
        "error_class": "permanent",
        "resume": None,
    }
    assert (result.attempt_outcome, result.error_class, result.http_status) == (
        "failed",
        "permanent",
        422,
    )
    assert "attempts" not in result.values  # the failed try counts


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_retryable_backs_off_exponentially(attempts: int) -> None:
    result = after(Retryable("connection refused", status=None), attempts=attempts)
    assert result.state is DeliveryState.RETRY_WAIT
    assert result.values["due_at"] == NOW + timedelta(seconds=5.0 * 2 ** (attempts - 1))
    assert result.values["error_class"] == "retryable"
    assert result.values["last_error"] == "connection refused"
    assert "attempts" not in result.values  # the try is spent
    assert result.attempt_outcome == "retry"


def test_retryable_dead_letters_after_the_last_attempt() -> None:
    result = after(Retryable("connection refused", status=408), attempts=POLICY.max_attempts)
    assert result.state is DeliveryState.FAILED
    assert result.values["due_at"] is None
    assert result.values["last_error"] == "gave up after 4 attempts: connection refused"
    assert (result.attempt_outcome, result.error_class, result.http_status) == (
        "failed",
        "retryable",
        408,
    )


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            Uncertain("sandbox answered 503; the post may have been created", status=503),
            "sandbox answered 503; the post may have been created",
        ),
        (TimeoutError(), "unexpected TimeoutError while publishing: TimeoutError"),
        (ValueError("boom"), "unexpected ValueError while publishing: boom"),
    ],
    ids=["uncertain", "timeout", "unexpected"],
)
def test_anything_that_may_have_landed_is_reconciled_first(
    exc: BaseException, message: str
) -> None:
    result = after(exc, attempts=POLICY.max_attempts)  # even on the last attempt: look first
    assert result.state is DeliveryState.UNCERTAIN
    assert result.values == {
        "due_at": NOW + SETTLE,
        "last_error": message,
        "error_class": "uncertain",
    }
    assert result.attempt_outcome == "uncertain"
    assert result.http_status == (503 if isinstance(exc, Uncertain) else None)


def test_long_messages_are_cut() -> None:
    result = after(Permanent("x" * 10_000))
    assert len(result.values["last_error"]) == 2000
    assert result.error is not None
    assert len(result.error) == 2000


@pytest.mark.parametrize(
    ("attempts", "state"),
    [(1, DeliveryState.RETRY_WAIT), (3, DeliveryState.RETRY_WAIT), (4, DeliveryState.FAILED)],
)
def test_not_found_after_an_uncertain_outcome(attempts: int, state: DeliveryState) -> None:
    result = outcomes.after_not_found(
        attempts=attempts, policy=POLICY, now=NOW, rng=Highest(), last_error="timed out"
    )
    assert result.state is state
    assert result.error_class == "retryable"
    if state is DeliveryState.RETRY_WAIT:
        assert result.values["due_at"] == NOW + timedelta(seconds=5.0 * 2 ** (attempts - 1))
        assert result.values["last_error"] == "not found on the platform after: timed out"
    else:
        assert result.values["last_error"] == (
            "gave up after 4 attempts: not found on the platform after: timed out"
        )


def test_the_same_seed_gives_the_same_decision() -> None:
    def decide(seed: int) -> datetime:
        result = outcomes.after_error(
            Retryable("x"),
            attempts=2,
            policy=POLICY,
            now=NOW,
            rng=random.Random(seed),
            settle=SETTLE,
            processing_budget=BUDGET,
        )
        due: datetime = result.values["due_at"]
        return due

    assert decide(7) == decide(7)
    assert NOW <= decide(7) <= NOW + timedelta(seconds=10)


def still_processing(check_after_s: float = 30) -> StillProcessing:
    return StillProcessing(
        "Instagram is still processing clip.mp4",
        resume={"containers": ["17"]},
        check_after=timedelta(seconds=check_after_s),
    )


def test_still_processing_waits_without_spending_an_attempt_and_keeps_the_state() -> None:
    result = after(still_processing(), attempts=3)
    assert result.state is DeliveryState.SCHEDULED
    assert result.values["due_at"] == NOW + timedelta(seconds=30)
    assert result.values["attempts"] == 2
    assert result.values["error_class"] == "still_processing"
    assert result.values["hold_reason"] == (
        "Instagram is still processing clip.mp4; checking again at 2026-03-01 10:00:30 UTC"
    )
    # the budget counts from this first answer
    assert result.values["resume"] == {"since": NOW.isoformat(), "state": {"containers": ["17"]}}
    assert outcomes.resume_state(result.values["resume"]) == {"containers": ["17"]}
    assert (result.attempt_outcome, result.error_class) == ("processing", "still_processing")


def test_still_processing_keeps_counting_from_the_first_answer() -> None:
    first = NOW - timedelta(minutes=30)
    result = outcomes.after_error(
        still_processing(),
        attempts=1,
        policy=POLICY,
        now=NOW,
        rng=Highest(),
        settle=SETTLE,
        processing_budget=BUDGET,
        resume={"since": first.isoformat(), "state": {"containers": ["16"]}},
    )
    assert result.state is DeliveryState.SCHEDULED
    assert result.values["resume"] == {"since": first.isoformat(), "state": {"containers": ["17"]}}
    assert outcomes.resume_since(result.values["resume"]) == first


def test_still_processing_past_the_budget_fails_and_says_why() -> None:
    result = outcomes.after_error(
        still_processing(),
        attempts=1,
        policy=POLICY,
        now=NOW,
        rng=Highest(),
        settle=SETTLE,
        processing_budget=BUDGET,
        resume={"since": (NOW - BUDGET).isoformat(), "state": {}},
    )
    assert result.state is DeliveryState.FAILED
    assert result.values["resume"] is None
    assert result.values["error_class"] == "processing_timeout"
    assert result.values["last_error"] == (
        "Instagram is still processing clip.mp4; gave up after waiting 2 hours for the platform "
        "to finish processing (the limit is 2 hours, setting processing_budget_s); nothing was "
        "published"
    )


def test_retries_keep_the_resume_state_and_failures_clear_it() -> None:
    assert "resume" not in after(Retryable("503"), attempts=1).values
    assert "resume" not in after(Uncertain("timeout"), attempts=1).values
    assert after(Retryable("503"), attempts=POLICY.max_attempts).values["resume"] is None
