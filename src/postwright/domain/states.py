"""The life of a post and of each of its deliveries, with every allowed transition.

A delivery (one post going to one account) moves through:

    draft -> pending_approval -> scheduled -> claimed -> publishing -> published
                                   ^            |            |
                                   |            v            v
                              retry_wait <- (retryable)   uncertain -> published | retry_wait
                                   |
                                   v
                            failed (dead letter)      cancelled (any time before publishing)

`publishing` is committed before the platform is called, so a crash there can never lead to a
silent second call: the delivery becomes `uncertain` and is reconciled against the platform.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "ACTIVE_DELIVERY_STATES",
    "EDITABLE_DELIVERY_STATES",
    "DeliveryState",
    "PostStatus",
    "Priority",
    "can_transition",
    "post_status_from",
]


class DeliveryState(StrEnum):
    DRAFT = "draft"  # written, not scheduled; the engine ignores it
    PENDING_APPROVAL = "pending_approval"  # scheduled by an editor, waiting for an approver
    SCHEDULED = "scheduled"  # due at `due_at`; eligible for claiming when due
    CLAIMED = "claimed"  # leased by a worker that waits for the exact due instant
    PUBLISHING = "publishing"  # committed right before the platform call
    PUBLISHED = "published"  # the platform confirmed it (or reconciliation found it)
    RETRY_WAIT = "retry_wait"  # failed retryably; due again at `due_at` (backoff)
    UNCERTAIN = "uncertain"  # the call may have landed: reconcile before anything else
    FAILED = "failed"  # dead letter: permanent error or attempts exhausted; retry by hand
    CANCELLED = "cancelled"  # withdrawn before publishing


_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.DRAFT: frozenset(
        {DeliveryState.PENDING_APPROVAL, DeliveryState.SCHEDULED, DeliveryState.CANCELLED}
    ),
    DeliveryState.PENDING_APPROVAL: frozenset(
        {DeliveryState.SCHEDULED, DeliveryState.DRAFT, DeliveryState.CANCELLED}
    ),
    DeliveryState.SCHEDULED: frozenset(
        {
            DeliveryState.CLAIMED,
            DeliveryState.DRAFT,
            DeliveryState.PENDING_APPROVAL,
            DeliveryState.CANCELLED,
            DeliveryState.SCHEDULED,  # rescheduled or deferred by a posting rule
        }
    ),
    DeliveryState.CLAIMED: frozenset(
        {
            DeliveryState.PUBLISHING,
            DeliveryState.SCHEDULED,  # lease expired, or released by a stopping worker
            DeliveryState.CANCELLED,
            DeliveryState.DRAFT,
            DeliveryState.FAILED,  # the catch-up policy skips it: too late after an outage
        }
    ),
    DeliveryState.PUBLISHING: frozenset(
        {
            DeliveryState.PUBLISHED,
            DeliveryState.RETRY_WAIT,  # failed before the post could exist
            DeliveryState.UNCERTAIN,  # timeout/5xx after sending, or the worker died
            DeliveryState.FAILED,
            DeliveryState.SCHEDULED,  # held: account needs reconnecting, rule deferral
        }
    ),
    DeliveryState.UNCERTAIN: frozenset(
        {DeliveryState.PUBLISHED, DeliveryState.RETRY_WAIT, DeliveryState.FAILED}
    ),
    DeliveryState.RETRY_WAIT: frozenset(
        {
            DeliveryState.CLAIMED,
            DeliveryState.SCHEDULED,
            DeliveryState.CANCELLED,
            DeliveryState.DRAFT,
        }
    ),
    DeliveryState.FAILED: frozenset({DeliveryState.SCHEDULED, DeliveryState.CANCELLED}),
    DeliveryState.PUBLISHED: frozenset(),
    DeliveryState.CANCELLED: frozenset(
        {DeliveryState.SCHEDULED, DeliveryState.PENDING_APPROVAL, DeliveryState.DRAFT}
    ),
}


def can_transition(source: DeliveryState, target: DeliveryState) -> bool:
    """Whether a delivery may move from `source` to `target`."""
    return target in _TRANSITIONS[source]


# A post whose deliveries are all in these states may still be edited or deleted.
EDITABLE_DELIVERY_STATES = frozenset(
    {
        DeliveryState.DRAFT,
        DeliveryState.PENDING_APPROVAL,
        DeliveryState.SCHEDULED,
        DeliveryState.CLAIMED,
        DeliveryState.RETRY_WAIT,
        DeliveryState.FAILED,
        DeliveryState.CANCELLED,
    }
)

# States the engine still has work to do for.
ACTIVE_DELIVERY_STATES = frozenset(
    {
        DeliveryState.SCHEDULED,
        DeliveryState.CLAIMED,
        DeliveryState.PUBLISHING,
        DeliveryState.RETRY_WAIT,
        DeliveryState.UNCERTAIN,
    }
)


class PostStatus(StrEnum):
    """What a person sees for the post as a whole; derived from its deliveries once scheduled."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"  # at least one delivery is on its way
    PUBLISHED = "published"  # every delivery published
    PARTIALLY_PUBLISHED = "partially_published"  # some published, the rest failed or cancelled
    FAILED = "failed"  # nothing published and at least one delivery failed
    CANCELLED = "cancelled"


def post_status_from(states: list[DeliveryState]) -> PostStatus:
    """The post's status as a function of its deliveries' states."""
    s = set(states)
    if not s:
        return PostStatus.DRAFT
    if s <= {DeliveryState.CANCELLED}:
        return PostStatus.CANCELLED
    if s & {DeliveryState.CLAIMED, DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN}:
        return PostStatus.PUBLISHING
    if DeliveryState.PENDING_APPROVAL in s:
        return PostStatus.PENDING_APPROVAL
    if s & {DeliveryState.SCHEDULED, DeliveryState.RETRY_WAIT}:
        if DeliveryState.PUBLISHED in s:
            return PostStatus.PUBLISHING
        return PostStatus.SCHEDULED
    if DeliveryState.DRAFT in s:
        return PostStatus.DRAFT
    if s <= {DeliveryState.PUBLISHED, DeliveryState.CANCELLED}:
        return PostStatus.PUBLISHED
    if DeliveryState.PUBLISHED in s:
        return PostStatus.PARTIALLY_PUBLISHED
    return PostStatus.FAILED


class Priority(IntEnum):
    """When many deliveries are due at once, lower values go first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @classmethod
    def parse(cls, name: str) -> Priority:
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()
