from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from postwright.domain.errors import Forbidden, InvalidInput, PlanLimitExceeded
from postwright.domain.plans import DEFAULT_PLAN, DEFAULT_PLANS, Plan, check_schedule, parse_plans

NOW = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "can_schedule", "max_days_ahead", "max_per_month"),
    [
        ("free", False, None, None),
        ("starter", False, None, None),
        ("pro", True, 7, None),
        ("premium", True, 30, None),
        ("unlimited", True, None, None),
    ],
)
def test_default_plans(
    name: str, can_schedule: bool, max_days_ahead: int | None, max_per_month: int | None
) -> None:
    assert DEFAULT_PLANS[name] == Plan(name, can_schedule, max_days_ahead, max_per_month)


def test_unlimited_is_the_self_hosted_default() -> None:
    assert DEFAULT_PLAN == "unlimited"
    assert DEFAULT_PLAN in DEFAULT_PLANS


def test_default_plans_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        DEFAULT_PLANS["free"] = DEFAULT_PLANS["unlimited"]  # type: ignore[index]


# --- parse_plans -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "  ", "{}", {}])
def test_nothing_configured_gives_the_defaults(raw: str | Mapping[str, object]) -> None:
    assert parse_plans(raw) == dict(DEFAULT_PLANS)


def test_overrides_merge_over_the_defaults() -> None:
    raw = json.dumps(
        {
            "pro": {"max_days_ahead": 14},
            "free": {"can_schedule": True, "max_scheduled_per_month": 10},
            "premium": {"max_days_ahead": None},
            "agency": {"can_schedule": True, "max_days_ahead": 90, "max_scheduled_per_month": 500},
            "trial": {"can_schedule": False},
        }
    )
    plans = parse_plans(raw)
    assert plans["pro"] == Plan("pro", True, 14, None)
    assert plans["free"] == Plan("free", True, None, 10)
    assert plans["premium"] == Plan("premium", True, None, None)
    assert plans["agency"] == Plan("agency", True, 90, 500)
    assert plans["trial"] == Plan("trial", False, None, None)
    assert plans["unlimited"] == DEFAULT_PLANS["unlimited"]
    assert plans["starter"] == DEFAULT_PLANS["starter"]


def test_a_mapping_works_like_its_json() -> None:
    assert parse_plans({"pro": {"max_days_ahead": 14}})["pro"].max_days_ahead == 14


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ("{not json", ["plans"]),
        ("[]", ["plans"]),
        ('"pro"', ["plans"]),
        ('{"pro": 7}', ["plans.pro"]),
        ('{"Pro Plan": {"can_schedule": true}}', ["plans.Pro Plan"]),
        ('{"pro": {"max_days_ahead": -1}}', ["plans.pro.max_days_ahead"]),
        ('{"pro": {"max_days_ahead": 1.5}}', ["plans.pro.max_days_ahead"]),
        ('{"pro": {"max_days_ahead": "7"}}', ["plans.pro.max_days_ahead"]),
        ('{"pro": {"max_days_ahead": true}}', ["plans.pro.max_days_ahead"]),
        ('{"pro": {"can_schedule": "yes"}}', ["plans.pro.can_schedule"]),
        ('{"pro": {"max_posts": 3}}', ["plans.pro.max_posts"]),
        ('{"agency": {"max_days_ahead": 90}}', ["plans.agency.can_schedule"]),
        (
            '{"pro": {"max_days_ahead": -1}, "free": {"can_schedule": null}}',
            ["plans.pro.max_days_ahead", "plans.free.can_schedule"],
        ),
    ],
)
def test_bad_plans_are_refused_with_field_paths(raw: str, fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_plans(raw)
    assert [v.field for v in caught.value.violations] == fields


def test_field_prefix_is_configurable() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_plans('{"pro": {"max_days_ahead": -1}}', field="settings.plans")
    assert caught.value.violations[0].field == "settings.plans.pro.max_days_ahead"


def test_plan_refuses_negative_limits() -> None:
    with pytest.raises(ValueError):
        Plan("x", True, -1, None)


# --- check_schedule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "scheduled_at", "this_month"),
    [
        (DEFAULT_PLANS["unlimited"], NOW + timedelta(days=3650), 100_000),
        (DEFAULT_PLANS["pro"], NOW + timedelta(days=7), 0),
        (DEFAULT_PLANS["pro"], NOW + timedelta(hours=1), 10_000),
        (DEFAULT_PLANS["pro"], NOW - timedelta(days=1), 0),
        (DEFAULT_PLANS["premium"], NOW + timedelta(days=30), 0),
        (Plan("metered", True, None, 10), NOW + timedelta(days=100), 9),
        (Plan("today", True, 0, None), NOW, 0),
    ],
)
def test_allowed(plan: Plan, scheduled_at: datetime, this_month: int) -> None:
    check_schedule(plan, scheduled_at=scheduled_at, now=NOW, scheduled_this_month=this_month)


@pytest.mark.parametrize(
    ("plan", "scheduled_at", "this_month", "message"),
    [
        (
            DEFAULT_PLANS["free"],
            NOW + timedelta(hours=1),
            0,
            "The free plan cannot schedule posts; save it as a draft or upgrade the plan",
        ),
        (
            DEFAULT_PLANS["starter"],
            NOW + timedelta(hours=1),
            0,
            "The starter plan cannot schedule posts; save it as a draft or upgrade the plan",
        ),
        (
            DEFAULT_PLANS["pro"],
            datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
            0,
            "The pro plan schedules at most 7 days ahead; 2026-03-20 is 12 days away",
        ),
        (
            DEFAULT_PLANS["pro"],
            NOW + timedelta(days=7, seconds=1),
            0,
            "The pro plan schedules at most 7 days ahead; 2026-03-15 is 8 days away",
        ),
        (
            DEFAULT_PLANS["premium"],
            NOW + timedelta(days=45),
            0,
            "The premium plan schedules at most 30 days ahead; 2026-04-22 is 45 days away",
        ),
        (
            Plan("daily", True, 1, None),
            NOW + timedelta(days=2),
            0,
            "The daily plan schedules at most 1 day ahead; 2026-03-10 is 2 days away",
        ),
        (
            Plan("metered", True, None, 10),
            NOW + timedelta(days=1),
            10,
            "The metered plan allows 10 scheduled posts a month; this workspace has 10",
        ),
        (
            Plan("tiny", True, None, 1),
            NOW + timedelta(days=1),
            3,
            "The tiny plan allows 1 scheduled post a month; this workspace has 3",
        ),
        (
            Plan("closed", True, None, 0),
            NOW + timedelta(days=1),
            0,
            "The closed plan allows 0 scheduled posts a month; this workspace has 0",
        ),
    ],
)
def test_refused(plan: Plan, scheduled_at: datetime, this_month: int, message: str) -> None:
    with pytest.raises(PlanLimitExceeded) as caught:
        check_schedule(plan, scheduled_at=scheduled_at, now=NOW, scheduled_this_month=this_month)
    assert caught.value.message == message
    assert isinstance(caught.value, Forbidden)


def test_check_schedule_wants_aware_times() -> None:
    with pytest.raises(ValueError):
        check_schedule(
            DEFAULT_PLANS["pro"],
            scheduled_at=datetime(2026, 3, 9),
            now=NOW,
            scheduled_this_month=0,
        )
