"""Row -> domain object conversions, in one place so that every query returns the same shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from postwright.domain.models import (
    Account,
    Attempt,
    AuditEntry,
    Campaign,
    Delivery,
    Media,
    Post,
    Target,
    User,
    Workspace,
)
from postwright.domain.platforms import Platform
from postwright.domain.states import DeliveryState, PostStatus, Priority

__all__ = [
    "account_from_row",
    "attempt_from_row",
    "audit_from_row",
    "campaign_from_row",
    "delivery_from_row",
    "media_from_row",
    "post_from_row",
    "user_from_row",
    "workspace_from_row",
]


def workspace_from_row(row: Row[Any]) -> Workspace:
    m = row._mapping
    return Workspace(
        id=m["id"],
        name=m["name"],
        plan=m["plan"],
        timezone=m["timezone"],
        paused=bool(m["paused"]),
        catch_up_policy=m["catch_up_policy"],
        created_at=m["created_at"],
    )


def user_from_row(row: Row[Any]) -> User:
    m = row._mapping
    return User(id=m["id"], email=m["email"], name=m["name"], created_at=m["created_at"])


def account_from_row(row: Row[Any]) -> Account:
    m = row._mapping
    return Account(
        id=m["id"],
        workspace_id=m["workspace_id"],
        platform=Platform(m["platform"]),
        handle=m["handle"],
        display_name=m["display_name"],
        status=m["status"],
        status_reason=m["status_reason"],
        options=dict(m["options"] or {}),
        created_at=m["created_at"],
    )


def campaign_from_row(row: Row[Any]) -> Campaign:
    m = row._mapping
    return Campaign(
        id=m["id"],
        workspace_id=m["workspace_id"],
        name=m["name"],
        description=m["description"],
        color=m["color"],
        starts_on=m["starts_on"],
        ends_on=m["ends_on"],
        created_at=m["created_at"],
    )


def media_from_row(row: Row[Any]) -> Media:
    m = row._mapping
    return Media(
        id=m["id"],
        workspace_id=m["workspace_id"],
        kind=m["kind"],
        mime_type=m["mime_type"],
        size_bytes=m["size_bytes"],
        width=m["width"],
        height=m["height"],
        duration_s=m["duration_s"],
        checksum_sha256=m["checksum_sha256"],
        alt_text=m["alt_text"],
        filename=m["filename"],
        storage_path=m["storage_path"],
        source_url=m["source_url"],
        created_at=m["created_at"],
    )


def post_from_row(row: Row[Any]) -> Post:
    m = row._mapping
    return Post(
        id=m["id"],
        workspace_id=m["workspace_id"],
        author_id=m["author_id"],
        text=m["text"],
        media_ids=[uuid.UUID(str(x)) for x in (m["media_ids"] or [])],
        status=PostStatus(m["status"]),
        scheduled_at=m["scheduled_at"],
        timezone=m["timezone"],
        local_time=m["local_time"],
        priority=Priority(m["priority"]),
        campaign_id=m["campaign_id"],
        notes=m["notes"],
        approval_required=bool(m["approval_required"]),
        recurrence=m["recurrence"],
        review_note=m["review_note"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        recurrence_skips=[_instant(x) for x in (m["recurrence_skips"] or [])],
        targets=[
            Target(
                account_id=uuid.UUID(str(t["account_id"])),
                text=t.get("text"),
                options=dict(t.get("options") or {}),
            )
            for t in (m["targets"] or [])
        ],
    )


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def delivery_from_row(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        workspace_id=m["workspace_id"],
        post_id=m["post_id"],
        account_id=m["account_id"],
        platform=Platform(m["platform"]),
        state=DeliveryState(m["state"]),
        scheduled_at=m["scheduled_at"],
        due_at=m["due_at"],
        priority=Priority(m["priority"]),
        text=m["text"],
        options=dict(m["options"] or {}),
        attempts=m["attempts"],
        idempotency_key=m["idempotency_key"],
        external_id=m["external_id"],
        permalink=m["permalink"],
        last_error=m["last_error"],
        error_class=m["error_class"],
        hold_reason=m["hold_reason"],
        occurrence_at=m["occurrence_at"],
        publishing_started_at=m["publishing_started_at"],
        published_at=m["published_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        resume=m["resume"],
    )


def attempt_from_row(row: Row[Any]) -> Attempt:
    m = row._mapping
    return Attempt(
        id=m["id"],
        workspace_id=m["workspace_id"],
        delivery_id=m["delivery_id"],
        number=m["number"],
        worker_id=m["worker_id"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        outcome=m["outcome"],
        error_class=m["error_class"],
        http_status=m["http_status"],
        error=m["error"],
        latency_ms=m["latency_ms"],
        execution_time_ms=m["execution_time_ms"],
    )


def audit_from_row(row: Row[Any]) -> AuditEntry:
    m = row._mapping
    return AuditEntry(
        id=m["id"],
        workspace_id=m["workspace_id"],
        actor_id=m["actor_id"],
        action=m["action"],
        target_type=m["target_type"],
        target_id=m["target_id"],
        details=dict(m["details"] or {}),
        created_at=m["created_at"],
    )
