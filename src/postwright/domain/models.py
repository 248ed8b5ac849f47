"""The nouns of postwright as plain, immutable values. The store builds them from rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState, PostStatus, Priority

__all__ = [
    "Account",
    "AccountStatus",
    "Attempt",
    "AuditEntry",
    "Campaign",
    "Delivery",
    "Media",
    "Membership",
    "Post",
    "Target",
    "User",
    "Workspace",
    "new_id",
]

JSON = dict[str, Any]


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class AccountStatus:
    """Health of a connected account; only `active` accounts are published to."""

    ACTIVE = "active"
    EXPIRING = "expiring"  # works today, needs a person before its token lapses
    NEEDS_RECONNECT = "needs_reconnect"
    SUSPENDED = "suspended"
    RESTRICTED = "restricted"
    PAUSED = "paused"

    ALL = frozenset({ACTIVE, EXPIRING, NEEDS_RECONNECT, SUSPENDED, RESTRICTED, PAUSED})
    PUBLISHABLE = frozenset({ACTIVE, EXPIRING})


@dataclass(frozen=True, slots=True)
class Workspace:
    id: uuid.UUID
    name: str
    plan: str
    timezone: str
    paused: bool
    catch_up_policy: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    workspace_id: uuid.UUID
    platform: Platform
    handle: str
    display_name: str
    status: str
    status_reason: str | None
    options: JSON
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Campaign:
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    color: str | None
    starts_on: datetime | None
    ends_on: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Media:
    id: uuid.UUID
    workspace_id: uuid.UUID
    kind: str  # image | video | gif | other
    mime_type: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    checksum_sha256: str
    alt_text: str | None
    filename: str
    storage_path: str
    source_url: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Target:
    """One account a post goes to, with optional per-platform text and options."""

    account_id: uuid.UUID
    text: str | None = None
    options: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Post:
    id: uuid.UUID
    workspace_id: uuid.UUID
    author_id: uuid.UUID | None
    text: str
    media_ids: list[uuid.UUID]
    status: PostStatus
    scheduled_at: datetime | None  # UTC
    timezone: str  # IANA name the post was written in
    local_time: str | None  # the wall time as written, when given that way
    priority: Priority
    campaign_id: uuid.UUID | None
    notes: str | None
    approval_required: bool
    recurrence: str | None
    review_note: str | None
    created_at: datetime
    updated_at: datetime
    recurrence_skips: list[datetime] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)  # as written; a series' template


@dataclass(frozen=True, slots=True)
class Delivery:
    id: uuid.UUID
    workspace_id: uuid.UUID
    post_id: uuid.UUID
    account_id: uuid.UUID
    platform: Platform
    state: DeliveryState
    scheduled_at: datetime | None  # the time the person asked for (UTC)
    due_at: datetime | None  # when the engine next acts on it: first try, retry or deferral
    priority: Priority
    text: str | None  # per-target override; None means the post's text
    options: JSON
    attempts: int
    idempotency_key: str
    external_id: str | None
    permalink: str | None
    last_error: str | None
    error_class: str | None
    hold_reason: str | None
    occurrence_at: datetime | None  # for recurring series: the occurrence this delivers
    publishing_started_at: datetime | None  # when the last attempt began
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # media the platform is still processing, to continue with on the next try (None: nothing)
    resume: JSON | None


@dataclass(frozen=True, slots=True)
class Attempt:
    id: uuid.UUID
    workspace_id: uuid.UUID
    delivery_id: uuid.UUID
    number: int
    worker_id: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # published | retry | rate_limited | auth_needed | failed | uncertain | found
    error_class: str | None
    http_status: int | None
    error: str | None
    latency_ms: float | None
    execution_time_ms: float | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: uuid.UUID
    workspace_id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str | None
    details: JSON
    created_at: datetime
