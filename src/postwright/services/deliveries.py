"""One delivery at a time: what the "needs attention" view lists and the fixes it offers.

A post goes to many accounts, and a recurring post many times; each of those is a delivery. The
post-level actions (`services/posts.py`) act on all of them; these act on one:

    retry           failed                                    -> scheduled now, fresh attempts
    cancel          draft | pending_approval | scheduled | claimed | retry_wait | failed
                                                              -> cancelled
    mark-published  failed | uncertain                        -> published (a person checked)
    edit            text and/or time of one occurrence or one target, while not on its way
    skip            every delivery of one occurrence of a series -> cancelled, and the instant
                    is remembered in the post's `recurrence_skips`

Like post edits, each action locks the delivery row first (`lock_delivery`): the engine's move
to `publishing` takes the same lock, so an action either lands before publishing begins or is
refused with 409 because it began.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.principal import Principal
from postwright.domain import timeutil
from postwright.domain.content_rules import ContentDraft, MediaInfo, validate_content
from postwright.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Violation
from postwright.domain.models import AccountStatus, Attempt, Delivery, Post, new_id
from postwright.domain.plans import check_schedule
from postwright.domain.recurrence import occurrences
from postwright.domain.roles import Action
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.store import accounts as account_store
from postwright.store import audit, identity
from postwright.store import delivery_queue as q
from postwright.store import media as media_store
from postwright.store import posts as post_store

__all__ = [
    "DeliveryItem",
    "DeliveryUpdate",
    "MarkPublished",
    "OccurrenceSkip",
    "SkippedOccurrence",
    "cancel_delivery",
    "get_delivery",
    "list_attempts",
    "list_deliveries",
    "mark_published",
    "operator_dead_letters",
    "operator_retry",
    "retry_delivery",
    "skip_occurrence",
    "update_delivery",
]

MAX_TEXT = 100_000
EXCERPT = 200

# what a person may still withdraw: nothing on its way, nothing done
_CANCELLABLE = (
    DeliveryState.DRAFT,
    DeliveryState.PENDING_APPROVAL,
    DeliveryState.SCHEDULED,
    DeliveryState.CLAIMED,
    DeliveryState.RETRY_WAIT,
    DeliveryState.FAILED,
)
_ON_ITS_WAY = (DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN)
_WAITING = (DeliveryState.SCHEDULED, DeliveryState.RETRY_WAIT)
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
# the years a time may fall in (as for posts): far from datetime's limits
_YEARS = range(1970, 3000)


class MarkPublished(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permalink: str = Field(
        max_length=2000, description="The post's address on the platform (http or https)."
    )
    external_id: str | None = Field(
        default=None, max_length=300, description="The platform's id of the post, if known."
    )


class DeliveryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        default=None,
        max_length=MAX_TEXT,
        description="This delivery's own text; null goes back to the post's text.",
    )
    scheduled_at: str | None = Field(
        default=None,
        max_length=64,
        description="RFC 3339 instant with a UTC offset; moves this delivery alone.",
    )


class OccurrenceSkip(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occurrence_at: str = Field(
        max_length=64,
        description="The occurrence's instant (RFC 3339 with a UTC offset), as in a delivery's "
        "`occurrence_at`.",
    )


@dataclass(frozen=True, slots=True)
class DeliveryItem:
    """A delivery as the "needs attention" view shows it."""

    row: post_store.DeliveryRow
    excerpt: str  # the start of the text that goes (or went) out
    reason: str | None  # why it needs attention, in plain words
    actions: list[str]  # what applies now: retry, cancel, mark_published, edit, ...

    @property
    def delivery(self) -> Delivery:
        return self.row.delivery


@dataclass(frozen=True, slots=True)
class SkippedOccurrence:
    post_id: uuid.UUID
    occurrence_at: datetime
    cancelled: int  # deliveries that were waiting and are now cancelled
    deliveries: list[Delivery]  # the occurrence's deliveries after the skip
    skips: list[datetime]  # every occurrence of the series skipped alone


# -- how a delivery reads -----------------------------------------------------------------

_ACCOUNT_HOLDS = {
    AccountStatus.NEEDS_RECONNECT: "the {platform} account {handle} needs reconnecting",
    AccountStatus.PAUSED: "the account {handle} is paused",
    AccountStatus.SUSPENDED: "{platform} suspended the account {handle}",
    AccountStatus.RESTRICTED: "{platform} restricted the account {handle}",
}


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def _account_hold(row: post_store.DeliveryRow) -> str | None:
    d = row.delivery
    if row.account_deleted:
        return f"the account {row.account_handle} was removed"
    template = _ACCOUNT_HOLDS.get(row.account_status)
    if template is None:
        return None
    reason = template.format(platform=d.platform.value, handle=row.account_handle)
    return f"{reason}: {row.account_status_reason}" if row.account_status_reason else reason


def _reason(row: post_store.DeliveryRow) -> str | None:
    d = row.delivery
    if d.state is DeliveryState.FAILED:
        return d.last_error or f"publishing to {d.platform.value} failed"
    if d.state is DeliveryState.UNCERTAIN:
        return (
            f"{d.platform.value} may have received it, or not; postwright is looking for it "
            "there before trying again" + (f" ({d.last_error})" if d.last_error else "")
        )
    if d.state in _WAITING:
        held = _account_hold(row)
        if held:
            return held
        if d.hold_reason:
            return d.hold_reason
        if d.state is DeliveryState.RETRY_WAIT and d.due_at is not None:
            after = f" after: {d.last_error}" if d.last_error else ""
            return f"trying again at {timeutil.format_utc(d.due_at)}{after}"
        return None
    if d.state is DeliveryState.CANCELLED:
        return d.last_error
    return None


def _actions(row: post_store.DeliveryRow) -> list[str]:
    d = row.delivery
    found: list[str] = []
    if d.state is DeliveryState.FAILED:
        found.append("retry")
    if d.state in (DeliveryState.FAILED, DeliveryState.UNCERTAIN):
        found.append("mark_published")
    if d.state in _CANCELLABLE:
        found += ["cancel", "edit"]
        if row.post_recurring and d.occurrence_at is not None:
            found.append("skip_occurrence")
    if d.state in _CANCELLABLE and not row.account_deleted:
        if row.account_status == AccountStatus.NEEDS_RECONNECT:
            found.append("reconnect_account")
        elif row.account_status == AccountStatus.PAUSED:
            found.append("resume_account")
    return found


def _item(row: post_store.DeliveryRow) -> DeliveryItem:
    d = row.delivery
    return DeliveryItem(
        row=row,
        excerpt=_excerpt(d.text if d.text is not None else row.post_text),
        reason=_reason(row),
        actions=_actions(row),
    )


# -- reading ------------------------------------------------------------------------------


async def list_deliveries(
    rt: Runtime,
    principal: Principal,
    *,
    states: Sequence[DeliveryState],
    held: bool | None,
    account_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[DeliveryItem], int]:
    """Deliveries in any of `states`, or held (`held=True`); every delivery with neither."""
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        rows, total = await post_store.list_delivery_rows(
            conn,
            workspace_id=principal.workspace_id,
            states=states,
            held=held,
            account_id=account_id,
            limit=limit,
            offset=offset,
        )
    return [_item(r) for r in rows], total


async def _read_item(
    conn: AsyncConnection, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryItem:
    row = await post_store.get_delivery_row(
        conn, workspace_id=workspace_id, delivery_id=delivery_id
    )
    if row is None:
        raise NotFound("no such delivery")
    return _item(row)


async def get_delivery(rt: Runtime, principal: Principal, delivery_id: uuid.UUID) -> DeliveryItem:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await _read_item(conn, principal.workspace_id, delivery_id)


async def list_attempts(rt: Runtime, principal: Principal, delivery_id: uuid.UUID) -> list[Attempt]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        await _read_item(conn, principal.workspace_id, delivery_id)
        return await q.list_attempts(
            conn, workspace_id=principal.workspace_id, delivery_id=delivery_id
        )


# -- actions ------------------------------------------------------------------------------


async def _lock(conn: AsyncConnection, workspace_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    delivery = await post_store.lock_delivery(
        conn, workspace_id=workspace_id, delivery_id=delivery_id
    )
    if delivery is None:
        # the same answer whether it never existed or belongs to another workspace
        raise NotFound("no such delivery")
    return delivery


def _refuse(d: Delivery, verb: str, allowed: str) -> Conflict:
    if d.state in _ON_ITS_WAY:
        why = f"it is being published to {d.platform.value} right now ({d.state.value})"
    else:
        why = f"it is {d.state.value.replace('_', ' ')}"
    return Conflict(f"cannot {verb} this delivery: {why}; only {allowed} can be")


async def _finish(
    rt: Runtime,
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    delivery: Delivery,
    action: str,
    details: dict[str, Any],
) -> DeliveryItem:
    now = rt.now()
    await post_store.refresh_post_status(conn, post_id=delivery.post_id, now=now)
    await audit.record(
        conn,
        workspace_id=workspace_id,
        actor_id=actor_id,
        action=f"delivery.{action}",
        target_type="delivery",
        target_id=delivery.id,
        details={"post_id": str(delivery.post_id), **details},
        now=now,
    )
    return await _read_item(conn, workspace_id, delivery.id)


async def _retry(
    rt: Runtime,
    *,
    workspace_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    delivery_id: uuid.UUID,
    via: str,
) -> DeliveryItem:
    now = rt.now()
    async with rt.db.write() as conn:
        d = await _lock(conn, workspace_id, delivery_id)
        moved = await post_store.transition_delivery(
            conn,
            workspace_id=workspace_id,
            delivery_id=delivery_id,
            from_states=[DeliveryState.FAILED],
            values={
                "state": DeliveryState.SCHEDULED.value,
                "due_at": now,
                "attempts": 0,
                "hold_reason": None,
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": now,
            },
        )
        if moved is None:
            raise _refuse(d, "retry", "a failed delivery")
        item = await _finish(
            rt,
            conn,
            workspace_id=workspace_id,
            actor_id=actor_id,
            delivery=moved,
            action="retried",
            details={"via": via, "last_error": d.last_error},
        )
        await rt.wakeup.notify_in(conn)
    rt.wakeup.poke()
    return item


async def retry_delivery(rt: Runtime, principal: Principal, delivery_id: uuid.UUID) -> DeliveryItem:
    """failed -> scheduled now, with a fresh attempt budget."""
    principal.require(Action.WRITE)
    return await _retry(
        rt,
        workspace_id=principal.workspace_id,
        actor_id=principal.user_id,
        delivery_id=delivery_id,
        via=principal.via,
    )


async def cancel_delivery(
    rt: Runtime, principal: Principal, delivery_id: uuid.UUID
) -> DeliveryItem:
    principal.require(Action.WRITE)
    now = rt.now()
    async with rt.db.write() as conn:
        d = await _lock(conn, principal.workspace_id, delivery_id)
        moved = await post_store.transition_delivery(
            conn,
            workspace_id=principal.workspace_id,
            delivery_id=delivery_id,
            from_states=_CANCELLABLE,
            values={
                "state": DeliveryState.CANCELLED.value,
                "due_at": None,
                "hold_reason": None,
                "resume": None,
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": now,
            },
        )
        if moved is None:
            raise _refuse(d, "cancel", "one that is not published or on its way")
        return await _finish(
            rt,
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            delivery=moved,
            action="cancelled",
            details={"from": d.state.value},
        )


async def mark_published(
    rt: Runtime, principal: Principal, delivery_id: uuid.UUID, body: MarkPublished
) -> DeliveryItem:
    """A person checked the platform by hand: the failed or uncertain delivery is there."""
    principal.require(Action.MANAGE)
    permalink = body.permalink.strip()
    if not _URL.match(permalink):
        raise InvalidInput.one(
            "permalink", "invalid", "give the post's http(s) address on the platform"
        )
    external_id = body.external_id.strip() if body.external_id else None
    now = rt.now()
    async with rt.db.write() as conn:
        d = await _lock(conn, principal.workspace_id, delivery_id)
        moved = await post_store.transition_delivery(
            conn,
            workspace_id=principal.workspace_id,
            delivery_id=delivery_id,
            from_states=[DeliveryState.FAILED, DeliveryState.UNCERTAIN],
            values={
                "state": DeliveryState.PUBLISHED.value,
                "permalink": permalink,
                "external_id": external_id or d.external_id,
                "published_at": now,
                "due_at": None,
                "last_error": None,
                "error_class": None,
                "hold_reason": None,
                "resume": None,
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": now,
            },
        )
        if moved is None:
            raise _refuse(d, "mark as published", "a failed or uncertain delivery")
        await q.record_attempt(
            conn,
            attempt=q.AttemptRecord(
                delivery_id=d.id,
                workspace_id=d.workspace_id,
                worker_id=None,
                started_at=now,
                finished_at=now,
                outcome="marked_published",
                error_class=None,
                http_status=None,
                error=None,
                latency_ms=None,
                execution_time_ms=None,
            ),
        )
        return await _finish(
            rt,
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            delivery=moved,
            action="marked_published",
            details={
                "from": d.state.value,
                "permalink": permalink,
                "external_id": external_id,
                "last_error": d.last_error,
            },
        )


# -- editing one delivery -----------------------------------------------------------------


def _check_year(when: datetime, field: str) -> None:
    if when.year not in _YEARS:
        raise InvalidInput.one(
            field,
            "out_of_range",
            f"the year must be between {_YEARS[0]} and {_YEARS[-1]}, not {when.year}",
        )


async def _check_text(
    conn: AsyncConnection, principal: Principal, post: Post, d: Delivery, text: str
) -> None:
    account = await account_store.get_account(
        conn, workspace_id=principal.workspace_id, account_id=d.account_id
    )
    if account is None:
        raise Conflict("cannot edit this delivery: its account was removed")
    found = await media_store.get_media_many(
        conn, workspace_id=principal.workspace_id, media_ids=list(post.media_ids)
    )
    media = [
        MediaInfo(
            filename=m.filename,
            kind=m.kind,
            mime_type=m.mime_type,
            size_bytes=m.size_bytes,
            width=m.width,
            height=m.height,
            duration_s=m.duration_s,
        )
        for m in (found[i] for i in post.media_ids if i in found)
    ]
    # per-instance limits (Mastodon's max_characters) live on the account
    options = {k: v for k, v in account.options.items() if k == "max_characters"}
    draft = ContentDraft(text=text, media=media, options={**options, **d.options})
    violations = validate_content(account.platform, draft, prefix="")
    if violations:
        raise InvalidInput([Violation(v.field.lstrip("."), v.rule, v.message) for v in violations])


async def _check_time(
    rt: Runtime, conn: AsyncConnection, principal: Principal, post: Post, value: str | None
) -> datetime:
    if value is None:
        raise InvalidInput.one("scheduled_at", "required", "give the new time, with its offset")
    when = timeutil.parse_instant(value, field="scheduled_at")
    _check_year(when, "scheduled_at")
    now = rt.now()
    if when <= now:
        raise InvalidInput.one(
            "scheduled_at",
            "in_past",
            f"{timeutil.format_utc(when)} is in the past; pick a time in the future",
        )
    workspace = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
    if workspace is None:
        raise NotFound("no such workspace")
    month_start, next_month = timeutil.calendar_month(
        when, timeutil.load_timezone(workspace.timezone)
    )
    count = await post_store.count_scheduled_between(
        conn,
        workspace_id=workspace.id,
        start=month_start,
        end=next_month,
        exclude_post=post.id,
    )
    check_schedule(rt.plan(workspace.plan), scheduled_at=when, now=now, scheduled_this_month=count)
    return when


async def update_delivery(
    rt: Runtime, principal: Principal, delivery_id: uuid.UUID, body: DeliveryUpdate
) -> DeliveryItem:
    """Change the text or the time of one delivery (one occurrence, one target) alone.

    A new time on a scheduled, claimed, retrying or failed delivery schedules it then (a
    failed one with a fresh attempt budget); on a draft or one awaiting approval it only
    records the time. `text: null` goes back to the post's text.
    """
    principal.require(Action.WRITE)
    fields = body.model_fields_set & {"text", "scheduled_at"}
    if not fields:
        raise InvalidInput.one("body", "empty", "give `text`, `scheduled_at` or both")
    now = rt.now()
    async with rt.db.write() as conn:
        d = await _lock(conn, principal.workspace_id, delivery_id)
        if d.state not in _CANCELLABLE:
            raise _refuse(d, "edit", "one that is not published, cancelled or on its way")
        post = await post_store.get_post(
            conn, workspace_id=principal.workspace_id, post_id=d.post_id
        )
        if post is None:
            raise NotFound("no such delivery")
        if (
            post.approval_required
            and d.state not in (DeliveryState.DRAFT, DeliveryState.PENDING_APPROVAL)
            and not principal.role.allows(Action.APPROVE)
        ):
            raise Forbidden(
                "this post was approved as it is; only an admin can change it now "
                "(or edit the whole post, which sends it back for approval)"
            )
        values: dict[str, Any] = {"updated_at": now}
        if "text" in fields:
            await _check_text(
                conn, principal, post, d, body.text if body.text is not None else post.text
            )
            values["text"] = body.text
            # media made for the old text (an Instagram container holds its caption) is stale
            values["resume"] = None
        wake = False
        if "scheduled_at" in fields:
            when = await _check_time(rt, conn, principal, post, body.scheduled_at)
            values["scheduled_at"] = when
            if d.state in (*_WAITING, DeliveryState.CLAIMED, DeliveryState.FAILED):
                # a claim is let go: the worker holding it finds it no longer claimed
                values.update(
                    state=DeliveryState.SCHEDULED.value,
                    due_at=when,
                    hold_reason=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                if d.state is DeliveryState.FAILED:
                    values["attempts"] = 0
                wake = True
        moved = await post_store.transition_delivery(
            conn,
            workspace_id=principal.workspace_id,
            delivery_id=delivery_id,
            from_states=[d.state],
            values=values,
        )
        if moved is None:  # cannot happen under the lock; kept as the guard it is
            raise _refuse(d, "edit", "one that is not published, cancelled or on its way")
        item = await _finish(
            rt,
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            delivery=moved,
            action="updated",
            details={"fields": sorted(fields), "from": d.state.value},
        )
        if wake:
            await rt.wakeup.notify_in(conn)
    if wake:
        rt.wakeup.poke()
    return item


# -- skipping one occurrence of a series --------------------------------------------------


def _is_occurrence(post: Post, when: datetime) -> bool:
    if post.recurrence is None or post.scheduled_at is None:
        return False
    tz = timeutil.load_timezone(post.timezone)
    start_local = (
        timeutil.parse_local_time(post.local_time, field="local_time")
        if post.local_time
        else post.scheduled_at.astimezone(tz).replace(tzinfo=None)
    )
    found = occurrences(
        post.recurrence,
        start_local=start_local,
        tz=tz,
        after=when,
        until=when + timedelta(seconds=1),
        limit=1,
    )
    return found == [when]


def _placeholders(
    post: Post, deliveries: Sequence[Delivery], when: datetime, now: datetime
) -> list[dict[str, Any]]:
    """Cancelled deliveries for an occurrence not materialised yet, one per target, so that
    the engine's materialiser (which adds only missing rows) never creates it."""
    latest: dict[uuid.UUID, Delivery] = {}
    for d in deliveries:
        seen = latest.get(d.account_id)
        if seen is None or (d.occurrence_at or now) > (seen.occurrence_at or now):
            latest[d.account_id] = d
    return [
        {
            "id": new_id(),
            "workspace_id": post.workspace_id,
            "post_id": post.id,
            "account_id": d.account_id,
            "platform": d.platform.value,
            "state": DeliveryState.CANCELLED.value,
            "scheduled_at": when,
            "due_at": None,
            "priority": int(post.priority),
            "text": d.text,
            "options": d.options,
            "attempts": 0,
            "idempotency_key": uuid.uuid4().hex,
            "last_error": "this occurrence was skipped",
            "occurrence_at": when,
            "created_at": now,
            "updated_at": now,
        }
        for d in latest.values()
    ]


async def skip_occurrence(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, body: OccurrenceSkip
) -> SkippedOccurrence:
    """Skip one occurrence of a recurring post: cancel its deliveries and remember it."""
    principal.require(Action.WRITE)
    when = timeutil.parse_instant(body.occurrence_at, field="occurrence_at")
    _check_year(when, "occurrence_at")
    now = rt.now()
    async with rt.db.write() as conn:
        post = await post_store.get_post(conn, workspace_id=principal.workspace_id, post_id=post_id)
        if post is None:
            raise NotFound("no such post")
        if post.recurrence is None:
            raise Conflict("this post does not repeat; cancel it (or one delivery) instead")
        # delivery locks first, then the post's row: the order post edits take them in
        deliveries = await post_store.lock_deliveries(
            conn, workspace_id=principal.workspace_id, post_id=post_id
        )
        skips = await post_store.lock_recurrence_skips(
            conn, workspace_id=principal.workspace_id, post_id=post_id
        )
        if skips is None:
            raise NotFound("no such post")
        these = [d for d in deliveries if d.occurrence_at == when]
        if not these and not _is_occurrence(post, when):
            raise InvalidInput.one(
                "occurrence_at",
                "not_an_occurrence",
                f"{timeutil.format_utc(when)} is not an occurrence of this post's series",
            )
        for d in these:
            if d.state in _ON_ITS_WAY:
                raise Conflict(
                    f"cannot skip this occurrence: it is being published to {d.platform.value} "
                    f"right now ({d.state.value})"
                )
            if d.state is DeliveryState.PUBLISHED:
                raise Conflict(
                    f"cannot skip this occurrence: it was already published to {d.platform.value}"
                )
        waiting = [d for d in these if d.state in _CANCELLABLE]
        if when in skips and not waiting:
            raise Conflict("this occurrence is already skipped")
        if not these and when <= now:
            raise Conflict("this occurrence has passed; there is nothing left to skip")
        cancelled = 0
        if waiting:
            cancelled = await post_store.transition_deliveries(
                conn,
                workspace_id=principal.workspace_id,
                post_id=post_id,
                from_states=_CANCELLABLE,
                values={
                    "state": DeliveryState.CANCELLED.value,
                    "due_at": None,
                    "hold_reason": None,
                    "resume": None,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "last_error": "this occurrence was skipped",
                    "updated_at": now,
                },
                delivery_ids=[d.id for d in waiting],
            )
        if not these:
            await post_store.insert_deliveries(
                conn, rows=_placeholders(post, deliveries, when, now)
            )
        skips = sorted({*skips, when})
        await post_store.set_recurrence_skips(
            conn, workspace_id=principal.workspace_id, post_id=post_id, skips=skips, now=now
        )
        await post_store.refresh_post_status(conn, post_id=post_id, now=now)
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="post.occurrence_skipped",
            target_type="post",
            target_id=post_id,
            details={"occurrence_at": when.isoformat(), "cancelled": cancelled},
            now=now,
        )
        after = await post_store.list_deliveries(
            conn, workspace_id=principal.workspace_id, post_ids=[post_id]
        )
    return SkippedOccurrence(
        post_id=post_id,
        occurrence_at=when,
        cancelled=cancelled,
        deliveries=[d for d in after[post_id] if d.occurrence_at == when],
        skips=skips,
    )


# -- operators (CLI) ----------------------------------------------------------------------


async def operator_retry(rt: Runtime, delivery_id: uuid.UUID) -> DeliveryItem:
    """Retry a failed delivery named by its id alone, as an operator of the installation."""
    async with rt.db.read() as conn:
        workspace_id = await q.delivery_workspace(conn, delivery_id=delivery_id)
    if workspace_id is None:
        raise NotFound(f"no delivery with the id {delivery_id}")
    return await _retry(
        rt, workspace_id=workspace_id, actor_id=None, delivery_id=delivery_id, via="cli"
    )


async def operator_dead_letters(
    rt: Runtime, *, workspace_name: str | None, limit: int
) -> tuple[list[q.DeadLetter], int]:
    """Failed deliveries of one workspace (by name) or of all, the most recent first."""
    workspace_id = None
    async with rt.db.read() as conn:
        if workspace_name is not None:
            workspace = await identity.get_workspace_by_name(conn, name=workspace_name)
            if workspace is None:
                raise NotFound(f"no workspace named {workspace_name!r}")
            workspace_id = workspace.id
        return await q.dead_letters(conn, workspace_id=workspace_id, limit=limit)
