"""What to store after a publish attempt: a pure function of the result and the delivery.

The worker only executes the decision, like procrastinate's RetryStrategy: the rules for each
error class live here, table-tested.

Media still processing (`StillProcessing`) is not a failed try: the delivery goes back to
`scheduled` for when the platform said to look again, with the attempt given back, and its
`resume` column keeps `{"since": <ISO time of the first such answer>, "state": <the adapter's
state>}`. The processing budget counts from `since`; past it the delivery fails. `resume` is
cleared when the delivery is published or fails (and by cancelling or editing it, elsewhere);
any other outcome keeps it, so a retry continues with the media already made.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.domain.retry import RetryPolicy
from postwright.domain.states import DeliveryState
from postwright.domain.timeutil import format_duration, format_utc
from postwright.platforms.account_signals import account_signal
from postwright.platforms.base import Published

__all__ = [
    "Outcome",
    "after_error",
    "after_not_found",
    "after_success",
    "resume_since",
    "resume_state",
]

_MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class Outcome:
    state: DeliveryState
    values: dict[str, Any]  # columns to set on the delivery besides `state`
    attempt_outcome: str  # published | retry | rate_limited | auth_needed | failed | uncertain
    error_class: str | None
    http_status: int | None = None
    error: str | None = None
    account_status: tuple[str, str] | None = None  # (status, reason) to set on the account
    blocked_until: datetime | None = None  # the account's rate limit, for every worker
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, Any]:
        return {"state": self.state.value, **self.values}


def after_success(published: Published, *, now: datetime, fingerprint: str) -> Outcome:
    return Outcome(
        state=DeliveryState.PUBLISHED,
        values={
            "external_id": published.external_id,
            "permalink": published.permalink,
            "published_at": now,
            "fingerprint": fingerprint,
            "due_at": None,
            "last_error": None,
            "error_class": None,
            "hold_reason": None,
            "resume": None,
        },
        attempt_outcome="published",
        error_class=None,
    )


def _retry_or_fail(
    *,
    message: str,
    error_class: str,
    status: int | None,
    attempts: int,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
    retry_after: datetime | None = None,
) -> Outcome:
    decision = policy.decide(attempts=attempts, now=now, retry_after=retry_after, rng=rng)
    if decision is None:
        reason = f"gave up after {attempts} attempts: {message}"[:_MAX_ERROR]
        return Outcome(
            state=DeliveryState.FAILED,
            values={
                "due_at": None,
                "last_error": reason,
                "error_class": error_class,
                "resume": None,
            },
            attempt_outcome="failed",
            error_class=error_class,
            http_status=status,
            error=message[:_MAX_ERROR],
        )
    return Outcome(
        state=DeliveryState.RETRY_WAIT,
        values={
            "due_at": decision.retry_at,
            "last_error": message[:_MAX_ERROR],
            "error_class": error_class,
        },
        attempt_outcome="retry",
        error_class=error_class,
        http_status=status,
        error=message[:_MAX_ERROR],
    )


def after_error(
    exc: BaseException,
    *,
    attempts: int,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
    settle: timedelta,
    platform: str | None = None,
    processing_budget: timedelta,
    resume: Mapping[str, Any] | None = None,
) -> Outcome:
    """The outcome of a failed publish; `attempts` counts the one that just failed.

    With `platform`, an answer saying the account is suspended or restricted
    (`platforms.account_signals`) holds the delivery and sets the account's health. `resume` is
    what the delivery's `resume` column held before this try.
    """
    status = exc.status if isinstance(exc, PlatformError) else None
    message = str(exc) or type(exc).__name__
    signal = account_signal(platform, exc) if platform is not None else None
    if signal is not None:
        return Outcome(
            state=DeliveryState.SCHEDULED,
            values={
                "due_at": now,
                "last_error": message[:_MAX_ERROR],
                "error_class": "account_health",
                "attempts": max(0, attempts - 1),
                "hold_reason": f"the account is {signal.status}: {signal.reason}"[:_MAX_ERROR],
            },
            attempt_outcome="auth_needed",
            error_class="account_health",
            http_status=status,
            error=message[:_MAX_ERROR],
            account_status=(signal.status, signal.reason[:_MAX_ERROR]),
        )
    if isinstance(exc, RateLimited):
        retry_at = exc.reset_at if exc.reset_at and exc.reset_at > now else now
        jitter = timedelta(seconds=rng.uniform(0, min(30.0, policy.base_delay_s * 2)))
        return Outcome(
            state=DeliveryState.RETRY_WAIT,
            values={
                "due_at": retry_at + jitter,
                "last_error": message[:_MAX_ERROR],
                "error_class": "rate_limited",
                # waiting for a platform's window is not a failed try
                "attempts": max(0, attempts - 1),
                "hold_reason": f"rate limited by the platform until {format_utc(retry_at)}",
            },
            attempt_outcome="rate_limited",
            error_class="rate_limited",
            http_status=status,
            error=message[:_MAX_ERROR],
            blocked_until=retry_at,
        )
    if isinstance(exc, AuthNeeded):
        reason = f"the account needs reconnecting: {message}"[:_MAX_ERROR]
        return Outcome(
            state=DeliveryState.SCHEDULED,
            values={
                "due_at": now,
                "last_error": message[:_MAX_ERROR],
                "error_class": "auth_needed",
                "attempts": max(0, attempts - 1),
                "hold_reason": reason,
            },
            attempt_outcome="auth_needed",
            error_class="auth_needed",
            http_status=status,
            error=message[:_MAX_ERROR],
            # a refresher that was refused has set the account's health itself
            account_status=None
            if getattr(exc, "account_marked", False)
            else ("needs_reconnect", message[:_MAX_ERROR]),
        )
    if isinstance(exc, Permanent):
        return Outcome(
            state=DeliveryState.FAILED,
            values={
                "due_at": None,
                "last_error": message[:_MAX_ERROR],
                "error_class": "permanent",
                "resume": None,
            },
            attempt_outcome="failed",
            error_class="permanent",
            http_status=status,
            error=message[:_MAX_ERROR],
        )
    if isinstance(exc, StillProcessing):
        return _still_processing(
            exc, attempts=attempts, now=now, resume=resume, budget=processing_budget
        )
    if isinstance(exc, Retryable):
        return _retry_or_fail(
            message=message,
            error_class="retryable",
            status=status,
            attempts=attempts,
            policy=policy,
            now=now,
            rng=rng,
        )
    # Uncertain, a timeout, or anything unexpected after the request may have left: look first.
    if not isinstance(exc, Uncertain):
        message = f"unexpected {type(exc).__name__} while publishing: {message}"
    return Outcome(
        state=DeliveryState.UNCERTAIN,
        values={
            "due_at": now + settle,
            "last_error": message[:_MAX_ERROR],
            "error_class": "uncertain",
        },
        attempt_outcome="uncertain",
        error_class="uncertain",
        http_status=status,
        error=message[:_MAX_ERROR],
    )


def _still_processing(
    exc: StillProcessing,
    *,
    attempts: int,
    now: datetime,
    resume: Mapping[str, Any] | None,
    budget: timedelta,
) -> Outcome:
    since = resume_since(resume) or now
    if now - since >= budget:
        reason = (
            f"{exc.message}; gave up after waiting {format_duration((now - since).total_seconds())}"
            f" for the platform to finish processing (the limit is "
            f"{format_duration(budget.total_seconds())}, setting processing_budget_s); nothing "
            "was published"
        )[:_MAX_ERROR]
        return Outcome(
            state=DeliveryState.FAILED,
            values={
                "due_at": None,
                "last_error": reason,
                "error_class": "processing_timeout",
                "hold_reason": None,
                "resume": None,
            },
            attempt_outcome="failed",
            error_class="processing_timeout",
            error=reason,
        )
    check_at = now + max(exc.check_after, timedelta(0))
    return Outcome(
        state=DeliveryState.SCHEDULED,
        values={
            "due_at": check_at,
            "last_error": exc.message[:_MAX_ERROR],
            "error_class": "still_processing",
            # the platform working on the media is not a failed try
            "attempts": max(0, attempts - 1),
            "hold_reason": f"{exc.message}; checking again at {format_utc(check_at)}"[:_MAX_ERROR],
            "resume": {"since": since.isoformat(), "state": exc.resume},
        },
        attempt_outcome="processing",
        error_class="still_processing",
        error=exc.message[:_MAX_ERROR],
    )


def resume_since(stored: Mapping[str, Any] | None) -> datetime | None:
    """When the platform first said the delivery's media was still processing."""
    since = stored.get("since") if stored else None
    if not isinstance(since, str):
        return None
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        return None


def resume_state(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The adapter's part of a delivery's stored `resume`, for `PublishRequest.resume`."""
    state = stored.get("state") if stored else None
    return dict(state) if isinstance(state, dict) else None


def after_not_found(
    *, attempts: int, policy: RetryPolicy, now: datetime, rng: random.Random, last_error: str
) -> Outcome:
    """Reconciliation looked and the post is not on the platform: it is safe to send again."""
    return _retry_or_fail(
        message=f"not found on the platform after: {last_error}",
        error_class="retryable",
        status=None,
        attempts=attempts,
        policy=policy,
        now=now,
        rng=rng,
    )
