"""Campaigns: a name, a colour and an optional date range that group posts.

Names are unique within a workspace (the database constraint decides, so two people creating
the same name at once get one campaign and one 409). Deleting a campaign keeps its posts: the
foreign key sets their `campaign_id` to null.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from postwright.auth.principal import Principal
from postwright.domain import timeutil
from postwright.domain.errors import Conflict, InvalidInput, NotFound
from postwright.domain.models import Campaign
from postwright.domain.roles import Action
from postwright.runtime import Runtime
from postwright.store import audit, campaigns
from postwright.store.integrity import unique_violation_as

__all__ = [
    "CampaignCreate",
    "CampaignUpdate",
    "create_campaign",
    "delete_campaign",
    "get_campaign",
    "list_campaigns",
    "update_campaign",
]

MAX_NAME = 200
MAX_DESCRIPTION = 5_000
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOUND = "A date (2026-03-01, read as 00:00 UTC) or an RFC 3339 instant with a UTC offset."


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    color: str | None = Field(default=None, max_length=7, description="`#rrggbb`")
    starts_on: str | None = Field(default=None, max_length=64, description=_BOUND)
    ends_on: str | None = Field(
        default=None, max_length=64, description=f"Not before starts_on. {_BOUND}"
    )


class CampaignUpdate(BaseModel):
    """Only the fields sent change; null clears description, color and the dates."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    color: str | None = Field(default=None, max_length=7, description="`#rrggbb`")
    starts_on: str | None = Field(default=None, max_length=64, description=_BOUND)
    ends_on: str | None = Field(default=None, max_length=64, description=_BOUND)


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput.one("name", "required", "give the campaign a name")
    return name


def _color(value: str | None) -> str | None:
    if value is None:
        return None
    if not _COLOR.fullmatch(value):
        raise InvalidInput.one("color", "invalid", "a colour is written #rrggbb, e.g. #1f6feb")
    return value.lower()


def _bound(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            return timeutil.parse_instant(f"{text}T00:00:00Z", field=field)
        except InvalidInput:
            raise InvalidInput.one(field, "invalid_date", f"{text!r} is not a date") from None
    return timeutil.parse_instant(text, field=field)


def _check_range(starts_on: datetime | None, ends_on: datetime | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput.one("ends_on", "before_start", "ends_on must not be before starts_on")


def _taken(name: str) -> Conflict:
    return Conflict(f"a campaign named {name!r} already exists in this workspace")


async def create_campaign(rt: Runtime, principal: Principal, body: CampaignCreate) -> Campaign:
    principal.require(Action.WRITE)
    values: dict[str, Any] = {
        "name": _name(body.name),
        "description": body.description.strip(),
        "color": _color(body.color),
        "starts_on": _bound(body.starts_on, "starts_on"),
        "ends_on": _bound(body.ends_on, "ends_on"),
    }
    _check_range(values["starts_on"], values["ends_on"])
    now = rt.now()
    with unique_violation_as(_taken(values["name"])):
        async with rt.db.write() as conn:
            campaign = await campaigns.create_campaign(
                conn, workspace_id=principal.workspace_id, values=values, now=now
            )
            await audit.record(
                conn,
                workspace_id=principal.workspace_id,
                actor_id=principal.user_id,
                action="campaign.created",
                target_type="campaign",
                target_id=campaign.id,
                details={"name": campaign.name},
                now=now,
            )
    return campaign


async def list_campaigns(
    rt: Runtime, principal: Principal, *, limit: int, offset: int
) -> tuple[list[Campaign], int]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await campaigns.list_campaigns(
            conn, workspace_id=principal.workspace_id, limit=limit, offset=offset
        )


async def get_campaign(rt: Runtime, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        campaign = await campaigns.get_campaign(
            conn, workspace_id=principal.workspace_id, campaign_id=campaign_id
        )
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


async def update_campaign(
    rt: Runtime, principal: Principal, campaign_id: uuid.UUID, body: CampaignUpdate
) -> Campaign:
    principal.require(Action.WRITE)
    fields = body.model_fields_set
    values: dict[str, Any] = {}
    if "name" in fields:
        values["name"] = _name(body.name)
    if "description" in fields:
        values["description"] = (body.description or "").strip()
    if "color" in fields:
        values["color"] = _color(body.color)
    if "starts_on" in fields:
        values["starts_on"] = _bound(body.starts_on, "starts_on")
    if "ends_on" in fields:
        values["ends_on"] = _bound(body.ends_on, "ends_on")
    now = rt.now()
    with unique_violation_as(_taken(values.get("name", ""))):
        async with rt.db.write() as conn:
            current = await campaigns.get_campaign(
                conn, workspace_id=principal.workspace_id, campaign_id=campaign_id
            )
            if current is None:
                raise NotFound("no such campaign")
            _check_range(
                values.get("starts_on", current.starts_on), values.get("ends_on", current.ends_on)
            )
            updated = await campaigns.update_campaign(
                conn,
                workspace_id=principal.workspace_id,
                campaign_id=campaign_id,
                values=values,
                now=now,
            )
            assert updated is not None  # read in this transaction, and it is a write transaction
            await audit.record(
                conn,
                workspace_id=principal.workspace_id,
                actor_id=principal.user_id,
                action="campaign.updated",
                target_type="campaign",
                target_id=campaign_id,
                details={"fields": sorted(values)},
                now=now,
            )
    return updated


async def delete_campaign(rt: Runtime, principal: Principal, campaign_id: uuid.UUID) -> None:
    """Delete the campaign; its posts stay, without a campaign."""
    principal.require(Action.WRITE)
    now = rt.now()
    async with rt.db.write() as conn:
        current = await campaigns.get_campaign(
            conn, workspace_id=principal.workspace_id, campaign_id=campaign_id
        )
        if current is None:
            raise NotFound("no such campaign")
        await campaigns.delete_campaign(
            conn, workspace_id=principal.workspace_id, campaign_id=campaign_id
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="campaign.deleted",
            target_type="campaign",
            target_id=campaign_id,
            details={"name": current.name},
            now=now,
        )
