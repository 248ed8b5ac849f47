"""The one interface every platform adapter implements, and the values that cross it.

An adapter speaks one platform's HTTP API. It never touches the database: the engine hands it a
`PublishRequest` (content, decrypted credentials, idempotency key, fingerprint) and gets back a
`Published` or one of the `PlatformError` classes of `domain.errors`, which tell the engine what
to do next:

    Retryable   -> retry_wait with backoff (the post cannot exist on the platform)
    RateLimited -> retry_wait until the reset, without spending an attempt
    AuthNeeded  -> held until the account is refreshed or reconnected
    Permanent   -> failed at once, with the platform's message
    Uncertain   -> reconcile with `find` before anything else (timeouts, resets, 5xx)
    StillProcessing -> scheduled again after `check_after`, without spending an attempt; the
                   next `publish` gets its `resume` state in `PublishRequest.resume`

Idempotency contract: `publish` must be safe to call again for the same `delivery_id` after
`find` returned None; where the platform supports it, the adapter sends `idempotency_key` (or
derives a record key from `delivery_id`) so that a replay cannot create a second post.

Resume contract: `StillProcessing` is raised only before the step that creates the post, so
nothing was published; its `resume` is small JSON (ids of containers or uploaded media, and when
they were made). Given it back in `PublishRequest.resume`, `publish` looks at those first and
makes new ones only when they are gone (expired) or do not fit the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

from postwright.domain.content_rules import ContentDraft
from postwright.domain.errors import Violation
from postwright.domain.platforms import Platform

__all__ = [
    "MEDIA_WAIT_SHARE",
    "AccountRef",
    "Adapter",
    "MediaFile",
    "PublishRequest",
    "Published",
    "RateInfo",
    "made_within",
]

MEDIA_WAIT_SHARE = 0.75
"""The share of `publish_timeout_s` (the engine's cap on one publish) an adapter spends making
and waiting for media before it raises `StillProcessing`; the rest is left for the post itself."""


def made_within(
    resume: Mapping[str, Any] | None, *, now: datetime, lifetime: timedelta
) -> datetime | None:
    """When the media in a `resume` state were made (its ISO `made_at`), if less than `lifetime`
    ago; None when it has no readable time or they are too old to use."""
    made_at = resume.get("made_at") if resume else None
    if not isinstance(made_at, str):
        return None
    try:
        when = datetime.fromisoformat(made_at)
    except ValueError:
        return None
    return when if now - when < lifetime else None


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: uuid.UUID
    handle: str
    external_id: str | None
    options: dict[str, Any]
    credentials: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class MediaFile:
    id: uuid.UUID
    path: Path
    filename: str
    mime_type: str
    kind: str
    size_bytes: int
    checksum_sha256: str
    alt_text: str | None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class PublishRequest:
    delivery_id: uuid.UUID
    idempotency_key: str
    text: str
    media: list[MediaFile]
    options: dict[str, Any]
    account: AccountRef
    fingerprint: str
    scheduled_at: datetime | None
    # the account's posts that other deliveries already own: `find` must never return one of
    # them, or a twin with the same text would be taken for this delivery's post
    taken: frozenset[str] = frozenset()
    # what the adapter's last `StillProcessing` said to continue from (None: start afresh)
    resume: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RateInfo:
    """What the platform said about the caller's remaining budget."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class Published:
    external_id: str
    permalink: str | None
    rate: RateInfo | None = None


class Adapter(Protocol):
    """One platform's API. Implementations raise `domain.errors.PlatformError` subclasses."""

    platform: ClassVar[Platform]

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        """Every rule the content breaks on this platform (text counted its way, media, options)."""
        ...

    async def publish(self, request: PublishRequest) -> Published:
        """Create the post; raise a PlatformError subclass when it did not (or may not) work."""
        ...

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        """Look on the platform for this delivery's post, created at or after `since`."""
        ...

    async def delete(self, account: AccountRef, external_id: str) -> None:
        """Remove a published post."""
        ...

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        """Engagement counts: likes, comments, shares, views or impressions, clicks."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
