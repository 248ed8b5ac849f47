"""Media looked up by id alone, for the signed public media URLs (`api/routes/public_media.py`).

Every other media query is scoped to a workspace. This one is not, on purpose: a platform that
downloads a file (Instagram, Threads) presents only a signed media id, and the HMAC over that id
is the whole authorisation. On a database sharded by workspace this is a lookup by primary key
across shards; platforms fetch a file a handful of times per post, so that is acceptable.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Media
from postwright.store.rows import media_from_row
from postwright.store.tables import media

__all__ = ["find_media"]


async def find_media(conn: AsyncConnection, *, media_id: uuid.UUID) -> Media | None:
    """The media with this id in any workspace, or None."""
    row = (await conn.execute(select(media).where(media.c.id == media_id))).one_or_none()
    return media_from_row(row) if row else None
