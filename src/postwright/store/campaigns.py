"""Campaigns group posts under one name and colour."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Campaign, new_id
from postwright.store.rows import campaign_from_row
from postwright.store.tables import campaigns

__all__ = [
    "create_campaign",
    "delete_campaign",
    "get_campaign",
    "list_campaigns",
    "update_campaign",
]


async def create_campaign(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, values: dict[str, Any], now: datetime
) -> Campaign:
    row = (
        await conn.execute(
            insert(campaigns)
            .values(
                id=new_id(), workspace_id=workspace_id, created_at=now, updated_at=now, **values
            )
            .returning(campaigns)
        )
    ).one()
    return campaign_from_row(row)


async def get_campaign(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, campaign_id: uuid.UUID
) -> Campaign | None:
    row = (
        await conn.execute(
            select(campaigns).where(
                campaigns.c.id == campaign_id, campaigns.c.workspace_id == workspace_id
            )
        )
    ).one_or_none()
    return campaign_from_row(row) if row else None


async def list_campaigns(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[Campaign], int]:
    where = campaigns.c.workspace_id == workspace_id
    rows = (
        await conn.execute(
            select(campaigns).where(where).order_by(campaigns.c.name).limit(limit).offset(offset)
        )
    ).all()
    total = (
        await conn.execute(select(func.count()).select_from(campaigns).where(where))
    ).scalar_one()
    return [campaign_from_row(r) for r in rows], int(total)


async def update_campaign(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    campaign_id: uuid.UUID,
    values: dict[str, Any],
    now: datetime,
) -> Campaign | None:
    row = (
        await conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.workspace_id == workspace_id)
            .values(updated_at=now, **values)
            .returning(campaigns)
        )
    ).one_or_none()
    return campaign_from_row(row) if row else None


async def delete_campaign(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, campaign_id: uuid.UUID
) -> bool:
    result = await conn.execute(
        delete(campaigns).where(
            campaigns.c.id == campaign_id, campaigns.c.workspace_id == workspace_id
        )
    )
    return result.rowcount > 0
