"""How media is used: how many a workspace holds, which posts still need a file, and whether
another media row shares the same stored bytes (files are content-addressed per workspace)."""

from __future__ import annotations

import uuid

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.states import PostStatus
from postwright.store.tables import media, posts

__all__ = ["count_media", "count_media_with_file", "unpublished_posts_using"]


async def count_media(conn: AsyncConnection, *, workspace_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(media).where(media.c.workspace_id == workspace_id)
    return int((await conn.execute(query)).scalar_one())


async def count_media_with_file(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, storage_path: str
) -> int:
    """How many media rows of the workspace point at this stored file."""
    query = (
        select(func.count())
        .select_from(media)
        .where(media.c.workspace_id == workspace_id, media.c.storage_path == storage_path)
    )
    return int((await conn.execute(query)).scalar_one())


async def unpublished_posts_using(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, media_id: uuid.UUID, limit: int = 20
) -> list[uuid.UUID]:
    """Posts of the workspace that attach this media and are not (wholly) published yet.

    `media_ids` is a JSON list of UUID strings on both dialects. Its text form is searched for the
    id to narrow the rows down portably (SQLite keeps JSON as text; PostgreSQL casts JSONB to
    text), then each candidate's list is checked exactly.
    """
    wanted = str(media_id)
    rows = (
        await conn.execute(
            select(posts.c.id, posts.c.media_ids)
            .where(
                posts.c.workspace_id == workspace_id,
                posts.c.status != PostStatus.PUBLISHED.value,
                cast(posts.c.media_ids, Text).contains(wanted, autoescape=True),
            )
            .order_by(posts.c.created_at, posts.c.id)
        )
    ).all()
    found = [r.id for r in rows if wanted in {str(m) for m in (r.media_ids or [])}]
    return found[:limit]
