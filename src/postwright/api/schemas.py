"""What the API answers with: one Public model per resource, built from domain objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from postwright.domain.models import Account, AuditEntry, Campaign, Delivery, Media, User
from postwright.domain.roles import Role
from postwright.services.calendar import CalendarEntry
from postwright.services.posts import PostView
from postwright.store.identity import ApiTokenRecord

__all__ = [
    "AccountPublic",
    "ApiTokenCreated",
    "ApiTokenPublic",
    "AuditEntryPublic",
    "AuditPage",
    "CalendarEvent",
    "CalendarEventProps",
    "CampaignPublic",
    "CampaignsPage",
    "DeliveryPublic",
    "MediaPage",
    "MediaPublic",
    "MemberPublic",
    "Page",
    "PostPublic",
    "PostsPage",
    "TokenPairPublic",
]


class Page(BaseModel):
    count: int = Field(description="How many match the filters in all (not just this page).")
    limit: int
    offset: int


class AccountPublic(BaseModel):
    id: uuid.UUID
    platform: str
    handle: str
    display_name: str
    status: str
    status_reason: str | None
    options: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountPublic:
        return cls(
            id=a.id,
            platform=a.platform.value,
            handle=a.handle,
            display_name=a.display_name,
            status=a.status,
            status_reason=a.status_reason,
            options=a.options,
            created_at=a.created_at,
        )


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    state: str
    scheduled_at: datetime | None
    due_at: datetime | None
    text: str | None = Field(description="Per-account text; null means the post's text.")
    options: dict[str, Any]
    external_id: str | None
    permalink: str | None
    last_error: str | None
    error_class: str | None
    hold_reason: str | None = Field(description="Why it waits: a posting rule, a rate limit...")
    attempts: int
    occurrence_at: datetime | None
    published_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryPublic:
        return cls(
            id=d.id,
            account_id=d.account_id,
            platform=d.platform.value,
            state=d.state.value,
            scheduled_at=d.scheduled_at,
            due_at=d.due_at,
            text=d.text,
            options=d.options,
            external_id=d.external_id,
            permalink=d.permalink,
            last_error=d.last_error,
            error_class=d.error_class,
            hold_reason=d.hold_reason,
            attempts=d.attempts,
            occurrence_at=d.occurrence_at,
            published_at=d.published_at,
        )


class PostPublic(BaseModel):
    id: uuid.UUID
    status: str
    text: str
    media_ids: list[uuid.UUID]
    scheduled_at: datetime | None
    timezone: str
    local_time: str | None
    priority: str
    campaign_id: uuid.UUID | None
    notes: str | None
    approval_required: bool
    recurrence: str | None
    review_note: str | None
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    deliveries: list[DeliveryPublic]

    @classmethod
    def of(cls, view: PostView) -> PostPublic:
        p = view.post
        return cls(
            id=p.id,
            status=p.status.value,
            text=p.text,
            media_ids=p.media_ids,
            scheduled_at=p.scheduled_at,
            timezone=p.timezone,
            local_time=p.local_time,
            priority=p.priority.label,
            campaign_id=p.campaign_id,
            notes=p.notes,
            approval_required=p.approval_required,
            recurrence=p.recurrence,
            review_note=p.review_note,
            author_id=p.author_id,
            created_at=p.created_at,
            updated_at=p.updated_at,
            deliveries=[DeliveryPublic.of(d) for d in view.deliveries],
        )


class PostsPage(Page):
    data: list[PostPublic]


class CampaignPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    color: str | None
    starts_on: datetime | None
    ends_on: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: Campaign) -> CampaignPublic:
        return cls(
            id=c.id,
            name=c.name,
            description=c.description,
            color=c.color,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            created_at=c.created_at,
        )


class MediaPublic(BaseModel):
    id: uuid.UUID
    type: str = Field(description="image, gif, video or other")
    mime_type: str
    size: int = Field(description="Bytes")
    width: int | None
    height: int | None
    duration_s: float | None
    checksum: str = Field(description="SHA-256 of the bytes, hex")
    alt_text: str | None
    filename: str
    created_at: datetime

    @classmethod
    def of(cls, m: Media) -> MediaPublic:
        return cls(
            id=m.id,
            type=m.kind,
            mime_type=m.mime_type,
            size=m.size_bytes,
            width=m.width,
            height=m.height,
            duration_s=m.duration_s,
            checksum=m.checksum_sha256,
            alt_text=m.alt_text,
            filename=m.filename,
            created_at=m.created_at,
        )


class CampaignsPage(Page):
    data: list[CampaignPublic]


class MediaPage(Page):
    data: list[MediaPublic]


class CalendarEventProps(BaseModel):
    post_id: uuid.UUID
    delivery_id: uuid.UUID
    account_id: uuid.UUID
    handle: str
    platform: str
    state: str = Field(description="The delivery's state.")
    post_status: str
    campaign_id: uuid.UUID | None
    permalink: str | None
    last_error: str | None


class CalendarEvent(BaseModel):
    """One delivery as a FullCalendar event object."""

    id: str = Field(description="The delivery id.")
    title: str = Field(description="The start of the text this delivery sends.")
    start: datetime = Field(description="When it was published, else when it is scheduled.")
    all_day: bool = Field(serialization_alias="allDay")
    editable: bool = Field(description="Whether it can still be moved to another time.")
    color: str = Field(description="The platform's colour.")
    class_names: list[str] = Field(serialization_alias="classNames")
    extended_props: CalendarEventProps = Field(serialization_alias="extendedProps")

    @classmethod
    def of(cls, e: CalendarEntry) -> CalendarEvent:
        d = e.delivery
        return cls(
            id=str(d.id),
            title=e.title,
            start=e.start,
            all_day=False,
            editable=e.editable,
            color=e.color,
            class_names=[f"state-{d.state.value}", f"platform-{d.platform.value}"],
            extended_props=CalendarEventProps(
                post_id=d.post_id,
                delivery_id=d.id,
                account_id=d.account_id,
                handle=e.handle,
                platform=d.platform.value,
                state=d.state.value,
                post_status=e.post_status,
                campaign_id=e.campaign_id,
                permalink=d.permalink,
                last_error=d.last_error,
            ),
        )


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str

    @classmethod
    def of(cls, user: User, role: Role) -> MemberPublic:
        return cls(user_id=user.id, email=user.email, name=user.name, role=role.value)


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    actor_id: uuid.UUID | None = Field(description="Who did it; null for the system.")
    action: str = Field(description="e.g. `post.created`, `member.role_changed`")
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, a: AuditEntry) -> AuditEntryPublic:
        return cls(
            id=a.id,
            actor_id=a.actor_id,
            action=a.action,
            target_type=a.target_type,
            target_id=a.target_id,
            details=a.details,
            created_at=a.created_at,
        )


class AuditPage(BaseModel):
    data: list[AuditEntryPublic]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")


class ApiTokenPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters, to tell tokens apart.")
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiTokenRecord) -> ApiTokenPublic:
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            user_id=t.user_id,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="Shown once; store it now. postwright keeps only a hash.")


class TokenPairPublic(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    workspace_id: uuid.UUID
