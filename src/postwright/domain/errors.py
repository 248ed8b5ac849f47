"""The domain's error tree. Every layer raises these; the API maps them to HTTP once.

PostwrightError
├── InvalidInput          422: one or more fields break a rule (carries `violations`)
├── NotFound              404: no such thing in this workspace (also for other tenants' ids)
├── Conflict              409: the thing is in a state that forbids the action
├── Forbidden             403: the role does not allow the action
│   └── PlanLimitExceeded 403: the workspace's plan does not allow it
├── Unauthenticated       401: no or bad credentials
├── TooManyAttempts       429: too many failed logins; try again after `retry_after_s`
├── TooLarge              413: a file (upload or fetched URL) is larger than the configured cap
└── PlatformError         raised by adapters; the engine decides from the class
    ├── Retryable         a transient failure known to have happened before the post existed
    ├── RateLimited       the platform asked us to wait until `reset_at`
    ├── AuthNeeded        the token expired or was revoked: refresh or reconnect
    ├── Permanent         the platform refused the content; retrying cannot help
    ├── Uncertain         the request may have reached the platform: reconcile before retrying
    └── StillProcessing   the platform is still processing the media; nothing was published,
                          look again after `check_after`, continuing from `resume`
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "AuthNeeded",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Permanent",
    "PlanLimitExceeded",
    "PlatformError",
    "PostwrightError",
    "RateLimited",
    "Retryable",
    "StillProcessing",
    "TooLarge",
    "TooManyAttempts",
    "Unauthenticated",
    "Uncertain",
    "Violation",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a dotted path like `targets.0.text`), which rule, and why."""

    field: str
    rule: str
    message: str


class PostwrightError(Exception):
    """Base of every error postwright raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PostwrightError):
    """The request breaks one or more rules; nothing was changed."""

    def __init__(self, violations: list[Violation]) -> None:
        if not violations:
            raise ValueError("InvalidInput needs at least one violation")
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in violations))
        self.violations = violations

    @classmethod
    def one(cls, field_path: str, rule: str, message: str) -> InvalidInput:
        return cls([Violation(field_path, rule, message)])


class NotFound(PostwrightError):
    """No such resource in the caller's workspace."""


class Conflict(PostwrightError):
    """The resource's state forbids the action (e.g. editing a published post)."""


class Forbidden(PostwrightError):
    """The caller's role does not allow the action."""


class PlanLimitExceeded(Forbidden):
    """The workspace's plan does not allow the action; the message names the limit."""


class Unauthenticated(PostwrightError):
    """Missing, malformed, expired or revoked credentials."""


class TooManyAttempts(PostwrightError):
    """Too many failed logins for this account or from this client; nothing was checked."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLarge(PostwrightError):
    """A file is larger than the configured limit; nothing was stored."""


class PlatformError(PostwrightError):
    """A platform call failed; the subclass tells the engine what to do next."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Retryable(PlatformError):
    """Transient failure that happened before the post could exist (e.g. 503 before storing)."""


class RateLimited(PlatformError):
    """The platform throttled us; do not call again for this account before `reset_at`."""

    def __init__(
        self, message: str, *, reset_at: datetime | None, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at


class AuthNeeded(PlatformError):
    """The credentials no longer work: refresh them, or ask a person to reconnect."""


class Permanent(PlatformError):
    """The platform refused the request for a reason retrying cannot fix."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        media_file: str | None = None,
        platform_code: str | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.media_file = media_file
        self.platform_code = platform_code


class Uncertain(PlatformError):
    """The request may have been applied (timeout, reset or 5xx after sending): reconcile first."""


class StillProcessing(PlatformError):
    """The platform is still processing media (a video, most often) and nothing was published.

    `resume` is the adapter's own small JSON state (the ids of what it made), handed back on the
    next try so that it continues with the same media instead of making new ones; `check_after`
    is when that try is worth making.
    """

    def __init__(self, message: str, *, resume: dict[str, Any], check_after: timedelta) -> None:
        super().__init__(message)
        self.resume = resume
        self.check_after = check_after
