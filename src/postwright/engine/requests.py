"""Turning what the store read into what an adapter needs (credentials opened here, in memory)."""

from __future__ import annotations

from pathlib import Path

from postwright.auth.secretbox import SecretBox, SecretBoxError
from postwright.domain.errors import AuthNeeded
from postwright.domain.posting_rules import content_fingerprint
from postwright.engine.outcomes import resume_state
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.store.delivery_queue import PublishContext

__all__ = ["build_request"]


def build_request(ctx: PublishContext, *, secretbox: SecretBox, media_dir: Path) -> PublishRequest:
    """The adapter's request; media paths are stored relative to the media directory."""
    credentials = {}
    if ctx.credentials:
        try:
            credentials = secretbox.open(ctx.credentials)
        except SecretBoxError as exc:
            raise AuthNeeded(
                "the stored credentials cannot be decrypted with the current keys; "
                "reconnect the account"
            ) from exc
    d = ctx.delivery
    media = [
        MediaFile(
            id=m["id"],
            path=media_dir / m["storage_path"],
            filename=m["filename"],
            mime_type=m["mime_type"],
            kind=m["kind"],
            size_bytes=m["size_bytes"],
            checksum_sha256=m["checksum_sha256"],
            alt_text=m["alt_text"],
            width=m["width"],
            height=m["height"],
        )
        for m in ctx.media_rows
    ]
    return PublishRequest(
        delivery_id=d.id,
        idempotency_key=d.idempotency_key,
        text=ctx.text,
        media=media,
        options=d.options,
        account=AccountRef(
            id=d.account_id,
            handle=ctx.account_handle,
            external_id=ctx.account_external_id,
            options=ctx.account_options,
            credentials=credentials,
        ),
        fingerprint=content_fingerprint(ctx.text, [m.checksum_sha256 for m in media]),
        scheduled_at=d.scheduled_at,
        resume=resume_state(d.resume),
    )
