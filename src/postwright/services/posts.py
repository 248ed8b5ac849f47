"""Posts: write once, target many accounts, schedule, edit, approve, cancel, retry.

A post and all of its deliveries are written in one transaction. Edits and state actions lock
the post's delivery rows first (`lock_deliveries`), the same rows the engine locks to start
publishing, so an edit either lands before publishing starts (and is what gets sent) or is
refused with 409 because publishing already started.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.principal import Principal
from postwright.domain import timeutil
from postwright.domain.content_rules import ContentDraft, MediaInfo, validate_content
from postwright.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Violation
from postwright.domain.models import Account, Delivery, Media, Post, Workspace, new_id
from postwright.domain.plans import check_schedule
from postwright.domain.recurrence import occurrences, validate_rrule
from postwright.domain.roles import Action
from postwright.domain.states import DeliveryState, PostStatus, Priority
from postwright.runtime import Runtime
from postwright.store import accounts as account_store
from postwright.store import audit, campaigns, identity
from postwright.store import media as media_store
from postwright.store import posts as post_store

__all__ = [
    "PostCreate",
    "PostFilter",
    "PostUpdate",
    "PostView",
    "RejectBody",
    "ScheduleBody",
    "TargetIn",
    "approve_post",
    "cancel_post",
    "create_post",
    "delete_post",
    "get_post",
    "list_posts",
    "publish_now",
    "reject_post",
    "retry_post",
    "schedule_post",
    "update_post",
]

PostFilter = post_store.PostFilter
PriorityName = Literal["urgent", "high", "normal", "low"]

MAX_TEXT = 100_000
# How far ahead a recurring series is turned into deliveries; the periodic job keeps it topped up.
RECURRENCE_HORIZON = timedelta(days=14)
RECURRENCE_BATCH = 100

# Deliveries that a person may still change; the rest are on their way or history.
_CHANGEABLE = (
    DeliveryState.DRAFT,
    DeliveryState.PENDING_APPROVAL,
    DeliveryState.SCHEDULED,
    DeliveryState.CLAIMED,
    DeliveryState.RETRY_WAIT,
    DeliveryState.FAILED,
    DeliveryState.CANCELLED,
)
_IN_FLIGHT = (DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    options: dict[str, Any] = Field(default_factory=dict)


class _Timing(BaseModel):
    scheduled_at: str | None = Field(
        default=None,
        description="RFC 3339 instant with a UTC offset, e.g. 2026-12-01T09:00:00+01:00.",
        max_length=64,
        # documents the shape (and lets generated clients and tests produce it); the parsing,
        # with its messages, stays in timeutil.parse_instant
        json_schema_extra={"format": "date-time"},
    )
    local_time: str | None = Field(
        default=None,
        description="Wall time without offset (YYYY-MM-DDTHH:MM[:SS]), read in `timezone`.",
        max_length=64,
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone the post is written in; default: the workspace's.",
        max_length=64,
    )


class PostCreate(_Timing):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=MAX_TEXT)
    targets: list[TargetIn] = Field(default_factory=list, max_length=100)
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    status: Literal["draft", "scheduled"] | None = Field(
        default=None, description="Default: `scheduled` when a time is given, else `draft`."
    )
    priority: PriorityName = "normal"
    campaign_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    approval_required: bool = False
    recurrence: str | None = Field(
        default=None, description="RFC 5545 RRULE, read in the post's time zone.", max_length=500
    )


class PostUpdate(_Timing):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT)
    targets: list[TargetIn] | None = Field(default=None, max_length=100)
    media_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    status: Literal["draft", "scheduled"] | None = None
    priority: PriorityName | None = None
    campaign_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    approval_required: bool | None = None
    recurrence: str | None = Field(default=None, max_length=500)


class ScheduleBody(_Timing):
    model_config = ConfigDict(extra="forbid")


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=5_000)


@dataclass(frozen=True, slots=True)
class PostView:
    post: Post
    deliveries: list[Delivery]


@dataclass(frozen=True, slots=True)
class _ResolvedTiming:
    scheduled_at: datetime | None
    timezone: str
    local_time: str | None


# -- reading ------------------------------------------------------------------------------


async def _view(conn: AsyncConnection, workspace_id: uuid.UUID, post: Post) -> PostView:
    deliveries = await post_store.list_deliveries(
        conn, workspace_id=workspace_id, post_ids=[post.id]
    )
    return PostView(post=post, deliveries=deliveries[post.id])


async def _require_post(conn: AsyncConnection, principal: Principal, post_id: uuid.UUID) -> Post:
    post = await post_store.get_post(conn, workspace_id=principal.workspace_id, post_id=post_id)
    if post is None:
        raise NotFound("no such post")
    return post


async def get_post(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> PostView:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await _view(
            conn, principal.workspace_id, await _require_post(conn, principal, post_id)
        )


async def list_posts(
    rt: Runtime,
    principal: Principal,
    *,
    filters: PostFilter,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[PostView], int]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        found, total = await post_store.list_posts(
            conn,
            workspace_id=principal.workspace_id,
            filters=filters,
            sort=sort,
            descending=descending,
            limit=limit,
            offset=offset,
        )
        deliveries = await post_store.list_deliveries(
            conn, workspace_id=principal.workspace_id, post_ids=[p.id for p in found]
        )
    return [PostView(p, deliveries[p.id]) for p in found], total


# -- validation ---------------------------------------------------------------------------


def _resolve_timing(
    body: _Timing, *, default_tz: str, current: Post | None = None
) -> _ResolvedTiming | None:
    """The post's instant and zone from whichever form the caller used; None if none given."""
    tz_name = body.timezone or (current.timezone if current else default_tz)
    tz = timeutil.load_timezone(tz_name, field="timezone")
    if body.scheduled_at is not None and body.local_time is not None:
        raise InvalidInput.one(
            "local_time",
            "exclusive",
            "give either scheduled_at (with an offset) or local_time plus timezone, not both",
        )
    if body.scheduled_at is not None:
        instant = timeutil.parse_instant(body.scheduled_at, field="scheduled_at")
        _check_year(instant, "scheduled_at")
        return _ResolvedTiming(instant, tz_name, None)
    if body.local_time is not None:
        local = timeutil.parse_local_time(body.local_time, field="local_time")
        _check_year(local, "local_time")
        resolved = timeutil.resolve_local_time(local, tz)
        return _ResolvedTiming(resolved.utc, tz_name, local.isoformat(timespec="seconds"))
    if body.timezone is not None and current is not None:
        # a new zone alone re-reads the post's wall time there
        if current.local_time is not None:
            local = timeutil.parse_local_time(current.local_time, field="local_time")
            return _ResolvedTiming(
                timeutil.resolve_local_time(local, tz).utc, tz_name, current.local_time
            )
        return _ResolvedTiming(current.scheduled_at, tz_name, None)
    return None


# A post's time must fall in these years: wide enough for any real schedule, and far enough from
# datetime's limits (years 1 and 9999) that nothing computed from it (time-zone offsets, month
# boundaries for plan limits, recurrence horizons) can overflow into an error 500.
_YEARS = range(1970, 3000)


def _check_year(when: datetime, field: str) -> None:
    if when.year not in _YEARS:
        raise InvalidInput.one(
            field,
            "out_of_range",
            f"the year must be between {_YEARS[0]} and {_YEARS[-1]}, not {when.year}",
        )


async def _load_targets(
    conn: AsyncConnection, principal: Principal, targets: Sequence[TargetIn]
) -> dict[uuid.UUID, Account]:
    if not targets:
        raise InvalidInput.one("targets", "required", "pick at least one account to post to")
    seen: set[uuid.UUID] = set()
    for i, t in enumerate(targets):
        if t.account_id in seen:
            raise InvalidInput.one(
                f"targets.{i}.account_id", "duplicate", "this account is targeted twice"
            )
        seen.add(t.account_id)
    found = await account_store.get_accounts(
        conn, workspace_id=principal.workspace_id, account_ids=list(seen)
    )
    for t in targets:
        if t.account_id not in found:
            # the same answer whether it never existed or belongs to another workspace
            raise NotFound(f"no such account: {t.account_id}")
    return found


async def _load_media(
    conn: AsyncConnection, principal: Principal, media_ids: Sequence[uuid.UUID]
) -> list[Media]:
    if len(set(media_ids)) != len(media_ids):
        raise InvalidInput.one("media_ids", "duplicate", "the same media is attached twice")
    found = await media_store.get_media_many(
        conn, workspace_id=principal.workspace_id, media_ids=list(media_ids)
    )
    missing = [(i, m) for i, m in enumerate(media_ids) if m not in found]
    if missing:
        i, m = missing[0]
        raise InvalidInput.one(f"media_ids.{i}", "not_found", f"no such media: {m}")
    return [found[m] for m in media_ids]


def _check_content(
    text: str,
    targets: Sequence[TargetIn],
    found: dict[uuid.UUID, Account],
    media: Sequence[Media],
) -> None:
    infos = [
        MediaInfo(
            filename=m.filename,
            kind=m.kind,
            mime_type=m.mime_type,
            size_bytes=m.size_bytes,
            width=m.width,
            height=m.height,
            duration_s=m.duration_s,
        )
        for m in media
    ]
    violations: list[Violation] = []
    for i, t in enumerate(targets):
        account = found[t.account_id]
        options = {**_platform_defaults(account), **t.options}
        draft = ContentDraft(
            text=t.text if t.text is not None else text, media=infos, options=options
        )
        violations.extend(validate_content(account.platform, draft, prefix=f"targets.{i}"))
    if violations:
        raise InvalidInput(violations)


def _platform_defaults(account: Account) -> dict[str, Any]:
    # per-instance limits (Mastodon's max_characters) live on the account
    return {k: v for k, v in account.options.items() if k in {"max_characters"}}


async def _check_plan(
    rt: Runtime,
    conn: AsyncConnection,
    workspace: Workspace,
    scheduled_at: datetime,
    *,
    exclude_post: uuid.UUID | None,
) -> None:
    # "a month" is the workspace's calendar month: a post at 09:00 on the 1st in Auckland
    # belongs to that month, not to the UTC month that is still ending
    month_start, next_month = timeutil.calendar_month(
        scheduled_at, timeutil.load_timezone(workspace.timezone)
    )
    count = await post_store.count_scheduled_between(
        conn,
        workspace_id=workspace.id,
        start=month_start,
        end=next_month,
        exclude_post=exclude_post,
    )
    check_schedule(
        rt.plan(workspace.plan), scheduled_at=scheduled_at, now=rt.now(), scheduled_this_month=count
    )


async def _workspace(conn: AsyncConnection, principal: Principal) -> Workspace:
    workspace = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
    if workspace is None:
        raise NotFound("no such workspace")
    return workspace


async def _check_campaign(
    conn: AsyncConnection, principal: Principal, campaign_id: uuid.UUID | None
) -> None:
    if campaign_id is not None and not await campaigns.get_campaign(
        conn, workspace_id=principal.workspace_id, campaign_id=campaign_id
    ):
        raise InvalidInput.one("campaign_id", "not_found", f"no such campaign: {campaign_id}")


def _future(rt: Runtime, when: datetime | None, field: str = "scheduled_at") -> datetime:
    if when is None:
        raise InvalidInput.one(
            field,
            "required",
            "a scheduled post needs a time: scheduled_at, or local_time with timezone",
        )
    if when <= rt.now():
        raise InvalidInput.one(
            field,
            "in_past",
            f"{timeutil.format_utc(when)} is in the past; pick a time in the future",
        )
    return when


# -- writing ------------------------------------------------------------------------------


def _occurrence_times(
    post_recurrence: str | None,
    *,
    first: datetime,
    tz_name: str,
    local_time: str | None,
    after: datetime,
    skips: Sequence[datetime] = (),
) -> list[datetime | None]:
    """The instants to create deliveries for: one (None = not recurring) or the series' next."""
    if post_recurrence is None:
        return [None]
    # occurrences fall on whole seconds; a fraction in the first time must not push it out
    after = after.replace(microsecond=0)
    tz = timeutil.load_timezone(tz_name)
    start_local = (
        timeutil.parse_local_time(local_time, field="local_time")
        if local_time
        else first.astimezone(tz).replace(tzinfo=None)
    )
    found = occurrences(
        post_recurrence,
        start_local=start_local,
        tz=tz,
        after=after,
        until=after + RECURRENCE_HORIZON,
        limit=RECURRENCE_BATCH,
        skip=skips,
    )
    if not found:
        # a sparse series (yearly, monthly) still gets its next occurrence
        found = occurrences(
            post_recurrence,
            start_local=start_local,
            tz=tz,
            after=after,
            until=after + timedelta(days=3660),
            limit=1,
            skip=skips,
        )
    return list(found)


def _targets_json(targets: Sequence[TargetIn]) -> list[dict[str, Any]]:
    return [
        {"account_id": str(t.account_id), "text": t.text, "options": t.options} for t in targets
    ]


def _delivery_rows(
    *,
    post_id: uuid.UUID,
    workspace_id: uuid.UUID,
    targets: Sequence[TargetIn],
    found: dict[uuid.UUID, Account],
    state: DeliveryState,
    scheduled_at: datetime | None,
    priority: Priority,
    occurrence_times: Sequence[datetime | None],
    now: datetime,
) -> list[dict[str, Any]]:
    rows = []
    for when in occurrence_times:
        at = when if when is not None else scheduled_at
        for t in targets:
            rows.append(
                {
                    "id": new_id(),
                    "workspace_id": workspace_id,
                    "post_id": post_id,
                    "account_id": t.account_id,
                    "platform": found[t.account_id].platform.value,
                    "state": state.value,
                    "scheduled_at": at,
                    "due_at": at if state is DeliveryState.SCHEDULED else None,
                    "priority": int(priority),
                    "text": t.text,
                    "options": t.options,
                    "attempts": 0,
                    "idempotency_key": uuid.uuid4().hex,
                    "occurrence_at": when,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


def _target_state(status: str, approval_required: bool) -> DeliveryState:
    if status == "draft":
        return DeliveryState.DRAFT
    return DeliveryState.PENDING_APPROVAL if approval_required else DeliveryState.SCHEDULED


async def create_post(rt: Runtime, principal: Principal, body: PostCreate) -> PostView:
    principal.require(Action.WRITE)
    now = rt.now()
    async with rt.db.write() as conn:
        workspace = await _workspace(conn, principal)
        timing = _resolve_timing(body, default_tz=workspace.timezone)
        status = body.status or ("scheduled" if timing else "draft")
        scheduled_at = timing.scheduled_at if timing else None
        tz_name = timing.timezone if timing else (body.timezone or workspace.timezone)
        recurrence = validate_rrule(body.recurrence) if body.recurrence else None
        found = await _load_targets(conn, principal, body.targets)
        media = await _load_media(conn, principal, body.media_ids)
        _check_content(body.text, body.targets, found, media)
        await _check_campaign(conn, principal, body.campaign_id)
        if status == "scheduled":
            scheduled_at = _future(rt, scheduled_at)
            await _check_plan(rt, conn, workspace, scheduled_at, exclude_post=None)
        if recurrence and scheduled_at is None:
            raise InvalidInput.one(
                "scheduled_at",
                "required",
                "a recurring post needs the time of its first occurrence",
            )
        state = _target_state(status, body.approval_required)
        priority = Priority.parse(body.priority)
        post_id = new_id()
        post = await post_store.insert_post(
            conn,
            values={
                "id": post_id,
                "workspace_id": principal.workspace_id,
                "author_id": principal.user_id,
                "text": body.text,
                "media_ids": [str(m) for m in body.media_ids],
                "status": PostStatus.DRAFT.value,
                "scheduled_at": scheduled_at,
                "timezone": tz_name,
                "local_time": timing.local_time if timing else None,
                "priority": int(priority),
                "campaign_id": body.campaign_id,
                "notes": body.notes,
                "approval_required": body.approval_required,
                "recurrence": recurrence,
                "recurrence_skips": [],
                "targets": _targets_json(body.targets),
                "review_note": None,
                "created_at": now,
                "updated_at": now,
            },
        )
        times = (
            _occurrence_times(
                recurrence,
                first=scheduled_at,
                tz_name=tz_name,
                local_time=timing.local_time if timing else None,
                after=scheduled_at,
            )
            if recurrence and scheduled_at
            else [None]
        )
        await post_store.insert_deliveries(
            conn,
            rows=_delivery_rows(
                post_id=post_id,
                workspace_id=principal.workspace_id,
                targets=body.targets,
                found=found,
                state=state,
                scheduled_at=scheduled_at,
                priority=priority,
                occurrence_times=times,
                now=now,
            ),
        )
        if recurrence and times and times[-1] is not None:
            await post_store.update_post(
                conn,
                workspace_id=principal.workspace_id,
                post_id=post_id,
                values={"materialized_until": times[-1]},
            )
        await post_store.refresh_post_status(conn, post_id=post_id, now=now)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="post.created",
            target_type="post",
            target_id=post_id,
            details={"status": status, "targets": len(body.targets)},
            now=now,
        )
        if state is DeliveryState.SCHEDULED:
            await rt.wakeup.notify_in(conn)
        view = await _view(conn, principal.workspace_id, post)
        post = await _require_post(conn, principal, post_id)
        view = PostView(post=post, deliveries=view.deliveries)
    if state is DeliveryState.SCHEDULED:
        rt.wakeup.poke()
    return view


def _ensure_editable(post: Post, deliveries: Sequence[Delivery], verb: str) -> None:
    recurring = post.recurrence is not None
    for d in deliveries:
        if d.state in _IN_FLIGHT:
            raise Conflict(
                f"cannot {verb} this post: a delivery to {d.platform.value} is being published "
                f"right now (state {d.state.value})"
            )
        if d.state is DeliveryState.PUBLISHED and not recurring:
            raise Conflict(
                f"cannot {verb} this post: it was already published to {d.platform.value}"
            )


async def update_post(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, body: PostUpdate
) -> PostView:
    principal.require(Action.WRITE)
    fields = body.model_fields_set
    now = rt.now()
    async with rt.db.write() as conn:
        post = await _require_post(conn, principal, post_id)
        deliveries = await post_store.lock_deliveries(
            conn, workspace_id=principal.workspace_id, post_id=post_id
        )
        _ensure_editable(post, deliveries, "edit")
        if (
            "approval_required" in fields
            and body.approval_required is False
            and post.approval_required
            and not principal.role.allows(Action.APPROVE)
        ):
            # else an editor could lift it and publish at once, skipping the approver
            raise Forbidden(
                "only an admin or owner can lift a post's approval requirement; "
                "ask one to approve or reject it"
            )
        workspace = await _workspace(conn, principal)
        timing = _resolve_timing(body, default_tz=workspace.timezone, current=post)
        values: dict[str, Any] = {"updated_at": now}
        text = body.text if "text" in fields and body.text is not None else post.text
        if "text" in fields and body.text is not None:
            values["text"] = body.text
        if "priority" in fields and body.priority is not None:
            values["priority"] = int(Priority.parse(body.priority))
        if "campaign_id" in fields:
            await _check_campaign(conn, principal, body.campaign_id)
            values["campaign_id"] = body.campaign_id
        if "notes" in fields:
            values["notes"] = body.notes
        if "approval_required" in fields and body.approval_required is not None:
            values["approval_required"] = body.approval_required
        if "recurrence" in fields:
            values["recurrence"] = validate_rrule(body.recurrence) if body.recurrence else None
        if timing is not None:
            values.update(
                scheduled_at=timing.scheduled_at,
                timezone=timing.timezone,
                local_time=timing.local_time,
            )
        media_ids = body.media_ids if body.media_ids is not None else post.media_ids
        if body.media_ids is not None:
            values["media_ids"] = [str(m) for m in body.media_ids]

        live = [d for d in deliveries if d.state is not DeliveryState.PUBLISHED]
        if body.targets is None:
            targets = await _current_targets(conn, principal, post, live)
        else:
            targets = body.targets
        if body.targets is not None:
            values["targets"] = _targets_json(body.targets)
        found = await _load_targets(conn, principal, targets)
        media = await _load_media(conn, principal, media_ids)
        _check_content(text, targets, found, media)

        scheduled_at = values.get("scheduled_at", post.scheduled_at)
        was_active = any(
            d.state
            in (
                DeliveryState.SCHEDULED,
                DeliveryState.PENDING_APPROVAL,
                DeliveryState.CLAIMED,
                DeliveryState.RETRY_WAIT,
            )
            for d in live
        )
        if "status" in fields and body.status is not None:
            status = body.status
        else:
            status = "scheduled" if was_active else "draft"
        approval = values.get("approval_required", post.approval_required)
        if status == "scheduled":
            scheduled_at = _future(rt, scheduled_at)
            await _check_plan(rt, conn, workspace, scheduled_at, exclude_post=post_id)
        recurrence = values.get("recurrence", post.recurrence)
        if recurrence and scheduled_at is None:
            raise InvalidInput.one(
                "scheduled_at",
                "required",
                "a recurring post needs the time of its first occurrence",
            )
        state = _target_state(status, approval)
        if (
            state is DeliveryState.SCHEDULED
            and post.approval_required
            and any(d.state is DeliveryState.PENDING_APPROVAL for d in live)
        ):
            # an edit does not approve a post on its way to an approver
            state = DeliveryState.PENDING_APPROVAL
        post = await post_store.update_post(
            conn, workspace_id=principal.workspace_id, post_id=post_id, values=values
        )
        # Replace what has not been published: the simplest rule that is always right, because
        # nothing here can be on its way (the rows are locked and none is in flight).
        await post_store.delete_deliveries(conn, delivery_ids=[d.id for d in live])
        priority = Priority(values.get("priority", int(post.priority)))
        after = max(now, scheduled_at) if scheduled_at else now
        times = (
            _occurrence_times(
                recurrence,
                first=scheduled_at,
                tz_name=post.timezone,
                local_time=post.local_time,
                after=after,
                skips=post.recurrence_skips,
            )
            if recurrence and scheduled_at
            else [None]
        )
        published_occurrences = {
            (d.account_id, d.occurrence_at)
            for d in deliveries
            if d.state is DeliveryState.PUBLISHED
        }
        rows = _delivery_rows(
            post_id=post_id,
            workspace_id=principal.workspace_id,
            targets=targets,
            found=found,
            state=state,
            scheduled_at=scheduled_at,
            priority=priority,
            occurrence_times=times,
            now=now,
        )
        rows = [
            r for r in rows if (r["account_id"], r["occurrence_at"]) not in published_occurrences
        ]
        await post_store.insert_deliveries(conn, rows=rows)
        # the periodic job extends a series from its last occurrence: it must be this one
        last = times[-1] if times else None
        await post_store.update_post(
            conn,
            workspace_id=principal.workspace_id,
            post_id=post_id,
            values={"materialized_until": last if recurrence else None},
        )
        await post_store.refresh_post_status(conn, post_id=post_id, now=now)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="post.updated",
            target_type="post",
            target_id=post_id,
            details={"fields": sorted(fields)},
            now=now,
        )
        await rt.wakeup.notify_in(conn)
        view = await _view(
            conn, principal.workspace_id, await _require_post(conn, principal, post_id)
        )
    rt.wakeup.poke()
    return view


async def _current_targets(
    conn: AsyncConnection, principal: Principal, post: Post, live: Sequence[Delivery]
) -> list[TargetIn]:
    """The targets as written (a series' template), else as its deliveries show them; accounts
    removed since are left out, so a post can still be edited after an account was removed."""
    if post.targets:
        targets = [
            TargetIn(account_id=t.account_id, text=t.text, options=t.options) for t in post.targets
        ]
    else:
        seen: dict[uuid.UUID, TargetIn] = {}
        for d in live:
            seen.setdefault(
                d.account_id, TargetIn(account_id=d.account_id, text=d.text, options=d.options)
            )
        targets = list(seen.values())
    existing = await account_store.get_accounts(
        conn, workspace_id=principal.workspace_id, account_ids=[t.account_id for t in targets]
    )
    return [t for t in targets if t.account_id in existing]


async def delete_post(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> None:
    principal.require(Action.WRITE)
    now = rt.now()
    async with rt.db.write() as conn:
        post = await _require_post(conn, principal, post_id)
        deliveries = await post_store.lock_deliveries(
            conn, workspace_id=principal.workspace_id, post_id=post_id
        )
        _ensure_editable(post, deliveries, "delete")
        if any(d.state is DeliveryState.PUBLISHED for d in deliveries):
            raise Conflict("cannot delete this post: some of it was already published")
        await post_store.delete_post(conn, workspace_id=principal.workspace_id, post_id=post_id)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="post.deleted",
            target_type="post",
            target_id=post_id,
            now=now,
        )


# -- actions ------------------------------------------------------------------------------


async def _act(
    rt: Runtime,
    principal: Principal,
    post_id: uuid.UUID,
    *,
    action: str,
    from_states: Sequence[DeliveryState],
    values: dict[str, Any],
    nothing_message: str,
    post_values: dict[str, Any] | None = None,
    wake: bool = False,
    pick: Callable[[Sequence[Delivery]], dict[uuid.UUID, dict[str, Any]]] | None = None,
) -> PostView:
    """Move the post's deliveries in `from_states` with `values`, in one transaction.

    `pick`, when given, sees those deliveries and says which of them move, each with its own
    extra values (a recurring series' occurrences each keep their own time).
    """
    now = rt.now()
    async with rt.db.write() as conn:
        post = await _require_post(conn, principal, post_id)
        locked = await post_store.lock_deliveries(
            conn, workspace_id=principal.workspace_id, post_id=post_id
        )
        if pick is None:
            moved = await post_store.transition_deliveries(
                conn,
                workspace_id=principal.workspace_id,
                post_id=post_id,
                from_states=from_states,
                values={**values, "updated_at": now},
            )
        else:
            moved = 0
            chosen = pick([d for d in locked if d.state in from_states])
            for delivery_id, extra in chosen.items():
                moved += await post_store.transition_deliveries(
                    conn,
                    workspace_id=principal.workspace_id,
                    post_id=post_id,
                    from_states=from_states,
                    values={**values, **extra, "updated_at": now},
                    delivery_ids=[delivery_id],
                )
        if moved == 0:
            raise Conflict(nothing_message)
        if post_values:
            await post_store.update_post(
                conn,
                workspace_id=principal.workspace_id,
                post_id=post_id,
                values={**post_values, "updated_at": now},
            )
        await post_store.refresh_post_status(conn, post_id=post_id, now=now)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action=f"post.{action}",
            target_type="post",
            target_id=post.id,
            details={"deliveries": moved},
            now=now,
        )
        if wake:
            await rt.wakeup.notify_in(conn)
        view = await _view(
            conn, principal.workspace_id, await _require_post(conn, principal, post_id)
        )
    if wake:
        rt.wakeup.poke()
    return view


async def schedule_post(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, body: ScheduleBody
) -> PostView:
    """Draft -> scheduled (or pending approval), optionally at a new time."""
    principal.require(Action.WRITE)
    async with rt.db.read() as conn:
        post = await _require_post(conn, principal, post_id)
        workspace = await _workspace(conn, principal)
        deliveries = (await _view(conn, principal.workspace_id, post)).deliveries
    if post.recurrence is not None:
        # A series' occurrences follow from its first time, so scheduling one recomputes them
        # (as an edit does) instead of moving every occurrence to that first time.
        if not any(d.state in (DeliveryState.DRAFT, DeliveryState.CANCELLED) for d in deliveries):
            raise Conflict("only a draft or cancelled post can be scheduled")
        update = PostUpdate(status="scheduled", **body.model_dump(exclude_unset=True))
        return await update_post(rt, principal, post_id, update)
    timing = _resolve_timing(body, default_tz=workspace.timezone, current=post)
    scheduled_at = _future(rt, timing.scheduled_at if timing else post.scheduled_at)
    async with rt.db.read() as conn:
        await _check_plan(rt, conn, workspace, scheduled_at, exclude_post=post_id)
    state = DeliveryState.PENDING_APPROVAL if post.approval_required else DeliveryState.SCHEDULED
    post_values: dict[str, Any] = {"scheduled_at": scheduled_at}
    if timing is not None:
        post_values.update(timezone=timing.timezone, local_time=timing.local_time)
    return await _act(
        rt,
        principal,
        post_id,
        action="scheduled",
        from_states=[DeliveryState.DRAFT, DeliveryState.CANCELLED],
        values={
            "state": state.value,
            "scheduled_at": scheduled_at,
            "due_at": scheduled_at if state is DeliveryState.SCHEDULED else None,
            "last_error": None,
        },
        post_values=post_values,
        nothing_message="only a draft or cancelled post can be scheduled",
        wake=True,
    )


async def publish_now(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> PostView:
    principal.require(Action.WRITE)
    async with rt.db.read() as conn:
        post = await _require_post(conn, principal, post_id)
    if post.approval_required and not principal.role.allows(Action.APPROVE):
        async with rt.db.read() as conn:
            deliveries = (await _view(conn, principal.workspace_id, post)).deliveries
        if any(
            d.state in (DeliveryState.PENDING_APPROVAL, DeliveryState.DRAFT) for d in deliveries
        ):
            raise Forbidden("this post needs approval; an admin must approve it first")
    now = rt.now()
    recurring = post.recurrence is not None
    return await _act(
        rt,
        principal,
        post_id,
        action="published_now",
        from_states=[
            DeliveryState.DRAFT,
            DeliveryState.PENDING_APPROVAL,
            DeliveryState.SCHEDULED,
            DeliveryState.RETRY_WAIT,
        ],
        values={
            "state": DeliveryState.SCHEDULED.value,
            "scheduled_at": now,
            "due_at": now,
            "hold_reason": None,
        },
        # a series sends its next occurrence now and keeps its times (they anchor the rest)
        post_values=None if recurring else {"scheduled_at": now, "local_time": None},
        pick=_next_occurrence if recurring else None,
        nothing_message="nothing of this post is waiting to be published",
        wake=True,
    )


def _next_occurrence(waiting: Sequence[Delivery]) -> dict[uuid.UUID, dict[str, Any]]:
    """The deliveries of a series' earliest waiting occurrence (one per account)."""
    times = [d.occurrence_at for d in waiting if d.occurrence_at is not None]
    first = min(times, default=None)
    return {d.id: {} for d in waiting if d.occurrence_at == first}


async def cancel_post(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> PostView:
    principal.require(Action.WRITE)
    return await _act(
        rt,
        principal,
        post_id,
        action="cancelled",
        from_states=[
            DeliveryState.DRAFT,
            DeliveryState.PENDING_APPROVAL,
            DeliveryState.SCHEDULED,
            DeliveryState.CLAIMED,
            DeliveryState.RETRY_WAIT,
            DeliveryState.FAILED,
        ],
        values={
            "state": DeliveryState.CANCELLED.value,
            "due_at": None,
            "lease_owner": None,
            "lease_expires_at": None,
            "hold_reason": None,
            "resume": None,
        },
        nothing_message="nothing of this post can be cancelled: it is published or on its way",
    )


async def retry_post(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> PostView:
    """Send failed (dead-lettered) deliveries again, with a fresh attempt budget."""
    principal.require(Action.WRITE)
    now = rt.now()
    return await _act(
        rt,
        principal,
        post_id,
        action="retried",
        from_states=[DeliveryState.FAILED],
        values={
            "state": DeliveryState.SCHEDULED.value,
            "due_at": now,
            "attempts": 0,
            "hold_reason": None,
        },
        nothing_message="no delivery of this post has failed",
        wake=True,
    )


async def approve_post(rt: Runtime, principal: Principal, post_id: uuid.UUID) -> PostView:
    principal.require(Action.APPROVE)
    async with rt.db.read() as conn:
        post = await _require_post(conn, principal, post_id)
    if post.scheduled_at is not None and post.scheduled_at <= rt.now():
        raise Conflict(
            f"this post was due at {timeutil.format_utc(post.scheduled_at)}, which has passed; "
            "reschedule it (PATCH scheduled_at) and approve it again, or publish it now"
        )
    return await _act(
        rt,
        principal,
        post_id,
        action="approved",
        from_states=[DeliveryState.PENDING_APPROVAL],
        values={"state": DeliveryState.SCHEDULED.value},
        # each delivery is due at its own time: a series' occurrences differ
        pick=lambda waiting: {d.id: {"due_at": d.scheduled_at} for d in waiting},
        post_values={"review_note": None},
        nothing_message="this post is not waiting for approval",
        wake=True,
    )


async def reject_post(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, body: RejectBody
) -> PostView:
    principal.require(Action.APPROVE)
    return await _act(
        rt,
        principal,
        post_id,
        action="rejected",
        from_states=[DeliveryState.PENDING_APPROVAL],
        values={"state": DeliveryState.DRAFT.value, "due_at": None},
        post_values={"review_note": body.note or "rejected"},
        nothing_message="this post is not waiting for approval",
    )
