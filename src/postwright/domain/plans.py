"""Plans: what a workspace may schedule, as configuration rather than code.

A workspace names its plan; the plan says whether it may schedule at all, how far ahead, and how
many scheduled posts a month (a calendar month in the workspace's time zone, from
`timeutil.calendar_month`). The built-in plans are:

    plan       can schedule  max days ahead  max scheduled a month
    free       no            -               -
    starter    no            -               -
    pro        yes           7               no limit
    premium    yes           30              no limit
    unlimited  yes           no limit        no limit

`unlimited` is the self-hosted default: a workspace that nobody has put on another plan can do
everything. Operators who sell plans override or extend these with a JSON setting
(`POSTWRIGHT_PLANS`, read by `parse_plans`), for example

    {"pro": {"max_days_ahead": 14}, "agency": {"can_schedule": true, "max_days_ahead": 90,
     "max_scheduled_per_month": 500}}

which lengthens `pro` to 14 days and adds an `agency` plan. A field left out of an existing plan
keeps its default; a new plan must say `can_schedule`, and its limits default to none.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from postwright.domain.errors import InvalidInput, PlanLimitExceeded, Violation
from postwright.domain.timeutil import require_aware

__all__ = ["DEFAULT_PLAN", "DEFAULT_PLANS", "Plan", "check_schedule", "parse_plans"]

DEFAULT_PLAN = "unlimited"
_PLAN_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_LIMIT_FIELDS = ("max_days_ahead", "max_scheduled_per_month")


@dataclass(frozen=True, slots=True)
class Plan:
    """What a workspace on this plan may schedule; `None` means no limit."""

    name: str
    can_schedule: bool
    max_days_ahead: int | None
    max_scheduled_per_month: int | None

    def __post_init__(self) -> None:
        for name in _LIMIT_FIELDS:
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


DEFAULT_PLANS: Mapping[str, Plan] = MappingProxyType(
    {
        "free": Plan("free", can_schedule=False, max_days_ahead=None, max_scheduled_per_month=None),
        "starter": Plan(
            "starter", can_schedule=False, max_days_ahead=None, max_scheduled_per_month=None
        ),
        "pro": Plan("pro", can_schedule=True, max_days_ahead=7, max_scheduled_per_month=None),
        "premium": Plan(
            "premium", can_schedule=True, max_days_ahead=30, max_scheduled_per_month=None
        ),
        "unlimited": Plan(
            "unlimited", can_schedule=True, max_days_ahead=None, max_scheduled_per_month=None
        ),
    }
)


def parse_plans(raw: str | Mapping[str, object], *, field: str = "plans") -> dict[str, Plan]:
    """The default plans with `raw` (a JSON object, or its text) merged over them.

    Raises `InvalidInput` with one violation per bad entry (paths like `plans.pro.max_days_ahead`).
    """
    data: object = raw
    if isinstance(raw, str):
        if not raw.strip():
            return dict(DEFAULT_PLANS)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput.one(field, "invalid_json", f"is not valid JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidInput.one(
            field, "invalid_type", 'must be a JSON object like {"pro": {"max_days_ahead": 14}}'
        )
    plans = dict(DEFAULT_PLANS)
    violations: list[Violation] = []
    for name, spec in data.items():
        path = f"{field}.{name}"
        if not isinstance(name, str) or not _PLAN_NAME.fullmatch(name):
            violations.append(
                Violation(
                    path,
                    "invalid_plan_name",
                    "plan names are 1-32 lower-case letters, digits, '-' or '_'",
                )
            )
            continue
        if not isinstance(spec, Mapping):
            violations.append(Violation(path, "invalid_type", "must be an object"))
            continue
        plan, problems = _merge(DEFAULT_PLANS.get(name), name, spec, path)
        violations.extend(problems)
        if plan is not None:
            plans[name] = plan
    if violations:
        raise InvalidInput(violations)
    return plans


def _merge(
    base: Plan | None, name: str, spec: Mapping[object, object], path: str
) -> tuple[Plan | None, list[Violation]]:
    problems: list[Violation] = []
    can_schedule = base.can_schedule if base is not None else None
    limits: dict[str, int | None] = {
        key: getattr(base, key) if base is not None else None for key in _LIMIT_FIELDS
    }
    for key, value in spec.items():
        where = f"{path}.{key}"
        if key == "can_schedule":
            if isinstance(value, bool):
                can_schedule = value
            else:
                problems.append(Violation(where, "invalid_type", "must be true or false"))
        elif isinstance(key, str) and key in _LIMIT_FIELDS:
            if value is None or (
                isinstance(value, int) and not isinstance(value, bool) and value >= 0
            ):
                limits[key] = value
            else:
                problems.append(
                    Violation(
                        where, "invalid_limit", "must be a whole number of 0 or more, or null"
                    )
                )
        else:
            problems.append(
                Violation(
                    where,
                    "unknown_field",
                    "unknown plan field; use can_schedule, max_days_ahead, max_scheduled_per_month",
                )
            )
    if can_schedule is None and "can_schedule" not in spec:
        problems.append(
            Violation(f"{path}.can_schedule", "required", "a new plan must say can_schedule")
        )
    if problems or can_schedule is None:
        return None, problems
    plan = Plan(
        name,
        can_schedule=can_schedule,
        max_days_ahead=limits["max_days_ahead"],
        max_scheduled_per_month=limits["max_scheduled_per_month"],
    )
    return plan, []


def check_schedule(
    plan: Plan, *, scheduled_at: datetime, now: datetime, scheduled_this_month: int
) -> None:
    """Raise `PlanLimitExceeded` unless `plan` lets the workspace schedule a post then.

    `scheduled_this_month` counts the workspace's posts already scheduled in the calendar month
    (in the workspace's time zone) that holds `scheduled_at`, without the one being checked.
    """
    scheduled_at = require_aware(scheduled_at, "scheduled_at")
    now = require_aware(now, "now")
    title = f"The {plan.name} plan"
    if not plan.can_schedule:
        raise PlanLimitExceeded(
            f"{title} cannot schedule posts; save it as a draft or upgrade the plan"
        )
    if plan.max_days_ahead is not None:
        ahead = scheduled_at - now
        if ahead > timedelta(days=plan.max_days_ahead):
            days = math.ceil(ahead / timedelta(days=1))
            raise PlanLimitExceeded(
                f"{title} schedules at most {_count(plan.max_days_ahead, 'day')} ahead; "
                f"{scheduled_at:%Y-%m-%d} is {_count(days, 'day')} away"
            )
    limit = plan.max_scheduled_per_month
    if limit is not None and scheduled_this_month >= limit:
        raise PlanLimitExceeded(
            f"{title} allows {_count(limit, 'scheduled post')} a month; "
            f"this workspace has {scheduled_this_month}"
        )


def _count(amount: int, noun: str) -> str:
    return f"{amount} {noun}{'' if amount == 1 else 's'}"
