"""Uploaded or fetched media files' metadata; the bytes live on disk under the data directory."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Media
from postwright.store.rows import media_from_row
from postwright.store.tables import media

__all__ = ["create_media", "delete_media", "get_media", "get_media_many", "list_media"]


async def create_media(
    conn: AsyncConnection,
    *,
    media_id: uuid.UUID,
    workspace_id: uuid.UUID,
    values: dict[str, Any],
    now: datetime,
) -> Media:
    row = (
        await conn.execute(
            insert(media)
            .values(id=media_id, workspace_id=workspace_id, created_at=now, **values)
            .returning(media)
        )
    ).one()
    return media_from_row(row)


async def get_media(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> Media | None:
    row = (
        await conn.execute(
            select(media).where(media.c.id == media_id, media.c.workspace_id == workspace_id)
        )
    ).one_or_none()
    return media_from_row(row) if row else None


async def get_media_many(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, media_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Media]:
    if not media_ids:
        return {}
    rows = (
        await conn.execute(
            select(media).where(media.c.id.in_(media_ids), media.c.workspace_id == workspace_id)
        )
    ).all()
    return {r.id: media_from_row(r) for r in rows}


async def list_media(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, limit: int, offset: int
) -> list[Media]:
    rows = (
        await conn.execute(
            select(media)
            .where(media.c.workspace_id == workspace_id)
            .order_by(media.c.created_at.desc(), media.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [media_from_row(r) for r in rows]


async def delete_media(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> bool:
    result = await conn.execute(
        delete(media).where(media.c.id == media_id, media.c.workspace_id == workspace_id)
    )
    return result.rowcount > 0
