"""Serving a stored file to whoever holds a signed URL of it (see `platforms.media_urls`).

No principal: the signature names one media id and an expiry, and proves both. A wrong, expired
or malformed signature is `Forbidden` with one message for all cases, so a caller learns nothing
about which part failed or whether the media exists; only a valid signature can get `NotFound`.
"""

from __future__ import annotations

import os
import stat as file_modes
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from postwright.domain.errors import Forbidden, NotFound
from postwright.domain.models import Media
from postwright.platforms.media_urls import verify_media_signature
from postwright.runtime import Runtime
from postwright.store import public_media as store

__all__ = ["SignedFile", "open_signed_media"]

_REFUSED = "this media link is not valid, or has expired"


@dataclass(frozen=True, slots=True)
class SignedFile:
    """A file to serve, and until when its link works (unix seconds)."""

    media: Media
    path: Path
    stat: os.stat_result
    expires_at: int


async def open_signed_media(rt: Runtime, *, media_id: str, exp: str, sig: str) -> SignedFile:
    """The media a signed URL names, with its file; Forbidden or NotFound otherwise."""
    if not verify_media_signature(rt.secret_key, media_id, exp, sig, now=rt.now()):
        raise Forbidden(_REFUSED)
    try:
        parsed = uuid.UUID(media_id)
    except ValueError:  # signed, yet not a media id: nothing of ours was signed so
        raise NotFound("no such media") from None
    async with rt.db.read() as conn:
        media = await store.find_media(conn, media_id=parsed)
    if media is None:
        raise NotFound("no such media")
    path = _stored_path(rt, media)
    try:
        stat = await anyio.to_thread.run_sync(os.stat, path)
    except FileNotFoundError:
        raise NotFound("the file of this media is missing from storage") from None
    if not file_modes.S_ISREG(stat.st_mode):
        raise NotFound("the file of this media is missing from storage")
    return SignedFile(media=media, path=path, stat=stat, expires_at=int(exp))


def _stored_path(rt: Runtime, media: Media) -> Path:
    root = rt.settings.media_dir.resolve()
    path = (root / media.storage_path).resolve()
    if root not in path.parents:  # a stored path never leaves the media directory
        raise NotFound("the file of this media is missing from storage")
    return path
