"""The delivery state machine and the post status derived from it, as tables.

`ALLOWED` is written out from ARCHITECTURE.md ("The life of a delivery") rather than copied from
the code, so that a change to either shows up here. Every (source, target) pair is checked: the
listed ones must be allowed and all the others forbidden.
"""

from __future__ import annotations

import itertools

import pytest

from postwright.domain.states import (
    DeliveryState,
    PostStatus,
    can_transition,
    post_status_from,
)

D = DeliveryState
P = PostStatus

ALLOWED: dict[DeliveryState, set[DeliveryState]] = {
    D.DRAFT: {D.PENDING_APPROVAL, D.SCHEDULED, D.CANCELLED},
    D.PENDING_APPROVAL: {D.SCHEDULED, D.DRAFT, D.CANCELLED},
    # scheduled -> scheduled: rescheduled, or deferred by a posting rule or the catch-up policy
    D.SCHEDULED: {D.CLAIMED, D.DRAFT, D.PENDING_APPROVAL, D.CANCELLED, D.SCHEDULED},
    # claimed -> scheduled: lease expired, or released by a stopping worker;
    # claimed -> failed: the catch-up policy skips a delivery too late after an outage
    D.CLAIMED: {D.PUBLISHING, D.SCHEDULED, D.CANCELLED, D.DRAFT, D.FAILED},
    # publishing -> scheduled: held (account needs reconnecting) or deferred by the gate
    D.PUBLISHING: {D.PUBLISHED, D.RETRY_WAIT, D.UNCERTAIN, D.FAILED, D.SCHEDULED},
    D.UNCERTAIN: {D.PUBLISHED, D.RETRY_WAIT, D.FAILED},
    D.RETRY_WAIT: {D.CLAIMED, D.SCHEDULED, D.CANCELLED, D.DRAFT},
    # failed -> scheduled: retried by hand
    D.FAILED: {D.SCHEDULED, D.CANCELLED},
    D.PUBLISHED: set(),
    # cancelled -> scheduled | pending_approval | draft: scheduled again (waiting for approval
    # when the post needs it), or edited back to a draft
    D.CANCELLED: {D.SCHEDULED, D.PENDING_APPROVAL, D.DRAFT},
}

ALLOWED_PAIRS = sorted((s, t) for s, targets in ALLOWED.items() for t in targets)
FORBIDDEN_PAIRS = sorted(
    (s, t) for s, t in itertools.product(D, D) if (s, t) not in set(ALLOWED_PAIRS)
)


def test_the_table_covers_every_state() -> None:
    assert set(ALLOWED) == set(D)


@pytest.mark.parametrize(("source", "target"), ALLOWED_PAIRS, ids=lambda s: s.value)
def test_allowed_transition(source: DeliveryState, target: DeliveryState) -> None:
    assert can_transition(source, target)


@pytest.mark.parametrize(("source", "target"), FORBIDDEN_PAIRS, ids=lambda s: s.value)
def test_forbidden_transition(source: DeliveryState, target: DeliveryState) -> None:
    assert not can_transition(source, target)


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        (D.PUBLISHED, D.SCHEDULED, "a published delivery is history"),
        (D.PUBLISHED, D.CANCELLED, "cancelling cannot unpublish"),
        (D.PUBLISHING, D.CANCELLED, "cancel is only possible before publishing"),
        (D.PUBLISHING, D.CLAIMED, "no second claim of a call that may have landed"),
        (D.UNCERTAIN, D.SCHEDULED, "uncertain is reconciled, never silently retried"),
        (D.UNCERTAIN, D.CLAIMED, "uncertain is reconciled, never silently retried"),
        (D.UNCERTAIN, D.CANCELLED, "the post may exist on the platform"),
        (D.SCHEDULED, D.PUBLISHING, "publishing needs a claim (a lease) first"),
        (D.SCHEDULED, D.PUBLISHED, "nothing is published without a call"),
        (D.DRAFT, D.CLAIMED, "the engine ignores drafts"),
        (D.PENDING_APPROVAL, D.CLAIMED, "the engine waits for the approver"),
        (D.FAILED, D.CLAIMED, "a dead letter is only retried by hand"),
        (D.CANCELLED, D.CLAIMED, "a cancelled delivery is never sent"),
        (D.RETRY_WAIT, D.PUBLISHING, "a retry is claimed first"),
    ],
)
def test_forbidden_for_a_reason(source: DeliveryState, target: DeliveryState, why: str) -> None:
    assert not can_transition(source, target), why


# Transitions the code performs today (store and services), each named after where. The table
# must allow every one of them.
PERFORMED = [
    pytest.param(D.SCHEDULED, D.CLAIMED, id="claim_due"),
    pytest.param(D.RETRY_WAIT, D.CLAIMED, id="claim_due-retry"),
    pytest.param(D.CLAIMED, D.PUBLISHING, id="begin_publishing"),
    pytest.param(D.PUBLISHING, D.PUBLISHED, id="finish-published"),
    pytest.param(D.PUBLISHING, D.RETRY_WAIT, id="finish-retry"),
    pytest.param(D.PUBLISHING, D.UNCERTAIN, id="finish-uncertain"),
    pytest.param(D.PUBLISHING, D.FAILED, id="finish-failed"),
    pytest.param(D.PUBLISHING, D.SCHEDULED, id="finish-held-or-deferred"),
    pytest.param(D.UNCERTAIN, D.PUBLISHED, id="reconcile-found"),
    pytest.param(D.UNCERTAIN, D.RETRY_WAIT, id="reconcile-not-found"),
    pytest.param(D.UNCERTAIN, D.FAILED, id="reconcile-gave-up"),
    pytest.param(D.CLAIMED, D.SCHEDULED, id="release-reap-defer"),
    pytest.param(D.PUBLISHING, D.UNCERTAIN, id="reap-publishing"),
    pytest.param(D.CLAIMED, D.CANCELLED, id="cancel_post-claimed"),
    pytest.param(D.FAILED, D.SCHEDULED, id="retry_post"),
    pytest.param(D.RETRY_WAIT, D.SCHEDULED, id="publish_now"),
    pytest.param(D.PENDING_APPROVAL, D.SCHEDULED, id="approve_post"),
    pytest.param(D.PENDING_APPROVAL, D.DRAFT, id="reject_post"),
    pytest.param(D.CANCELLED, D.SCHEDULED, id="schedule_post-cancelled"),
    pytest.param(
        D.CLAIMED,
        D.FAILED,
        id="skip_overdue",
    ),
    pytest.param(
        D.CANCELLED,
        D.PENDING_APPROVAL,
        id="schedule_post-cancelled-needing-approval",
    ),
]


@pytest.mark.parametrize(("source", "target"), PERFORMED)
def test_the_code_only_makes_allowed_transitions(
    source: DeliveryState, target: DeliveryState
) -> None:
    assert can_transition(source, target)


# -- the post's status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ([], P.DRAFT),
        ([D.DRAFT], P.DRAFT),
        ([D.DRAFT, D.CANCELLED], P.DRAFT),
        ([D.PENDING_APPROVAL], P.PENDING_APPROVAL),
        ([D.PENDING_APPROVAL, D.DRAFT], P.PENDING_APPROVAL),
        ([D.SCHEDULED], P.SCHEDULED),
        ([D.SCHEDULED, D.SCHEDULED], P.SCHEDULED),
        ([D.RETRY_WAIT], P.SCHEDULED),
        ([D.SCHEDULED, D.FAILED], P.SCHEDULED),
        ([D.SCHEDULED, D.CANCELLED], P.SCHEDULED),
        ([D.CLAIMED], P.PUBLISHING),
        ([D.PUBLISHING], P.PUBLISHING),
        ([D.UNCERTAIN], P.PUBLISHING),
        ([D.CLAIMED, D.SCHEDULED], P.PUBLISHING),
        ([D.UNCERTAIN, D.FAILED], P.PUBLISHING),
        ([D.PUBLISHING, D.PUBLISHED], P.PUBLISHING),
        ([D.PUBLISHED, D.SCHEDULED], P.PUBLISHING),  # part out, the rest on its way
        ([D.PUBLISHED, D.RETRY_WAIT], P.PUBLISHING),
        ([D.PUBLISHED], P.PUBLISHED),
        ([D.PUBLISHED, D.PUBLISHED], P.PUBLISHED),
        ([D.PUBLISHED, D.CANCELLED], P.PUBLISHED),
        ([D.PUBLISHED, D.FAILED], P.PARTIALLY_PUBLISHED),
        ([D.PUBLISHED, D.FAILED, D.CANCELLED], P.PARTIALLY_PUBLISHED),
        ([D.FAILED], P.FAILED),
        ([D.FAILED, D.FAILED], P.FAILED),
        ([D.FAILED, D.CANCELLED], P.FAILED),
        ([D.CANCELLED], P.CANCELLED),
        ([D.CANCELLED, D.CANCELLED], P.CANCELLED),
    ],
    ids=lambda v: "+".join(s.value for s in v) if isinstance(v, list) else str(v),
)
def test_post_status_from(states: list[DeliveryState], status: PostStatus) -> None:
    assert post_status_from(states) is status
    assert post_status_from(list(reversed(states))) is status  # order never matters


IN_FLIGHT = {D.CLAIMED, D.PUBLISHING, D.UNCERTAIN}
WAITING = {D.SCHEDULED, D.RETRY_WAIT}


@pytest.mark.parametrize("size", [1, 2, 3])
def test_post_status_invariants_over_every_combination(size: int) -> None:
    for combo in itertools.combinations_with_replacement(list(D), size):
        s = set(combo)
        status = post_status_from(list(combo))
        where = f"{[c.value for c in combo]} -> {status.value}"
        # anything on its way makes the post "publishing", whatever else it holds
        assert (status is P.PUBLISHING) == bool(
            s & IN_FLIGHT or (s & WAITING and D.PUBLISHED in s and D.PENDING_APPROVAL not in s)
        ), where
        assert (status is P.CANCELLED) == (s == {D.CANCELLED}), where
        if status is P.PUBLISHED:
            assert D.PUBLISHED in s, where
            assert s <= {D.PUBLISHED, D.CANCELLED}, where
        if status is P.PARTIALLY_PUBLISHED:
            assert {D.PUBLISHED, D.FAILED} <= s, where
            assert not s & (IN_FLIGHT | WAITING | {D.DRAFT, D.PENDING_APPROVAL}), where
        if status is P.FAILED:
            assert D.FAILED in s, where
            assert s <= {D.FAILED, D.CANCELLED}, where
        if status is P.SCHEDULED:
            assert s & WAITING, where
            assert not s & (IN_FLIGHT | {D.PUBLISHED, D.PENDING_APPROVAL}), where
        if status is P.DRAFT:
            assert D.DRAFT in s, where
