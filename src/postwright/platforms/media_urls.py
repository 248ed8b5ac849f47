"""Signed, expiring public URLs for stored media, for platforms that fetch media themselves.

Instagram and Threads do not take uploads: a post names its image or video by URL, and Meta's
servers download it while the container is processed. postwright serves media at
`GET /api/v1/media/{id}/content` to signed-in users only, so those platforms get a second,
public address instead, which proves itself with an HMAC and stops working after a while.

Contract (for the route that serves these URLs)
------------------------------------------------

    GET {public_url}/media/{media_id}?exp={unix_seconds}&sig={hex}      (and HEAD)

- `media_id` is the media row's UUID in canonical lower-case form; `exp` is a whole number of
  unix seconds (UTC); `sig` is 64 lower-case hex digits:

      key = HMAC-SHA256(secret_key, "postwright/media-url/v1")             # a key of its own
      sig = HMAC-SHA256(key, f"{media_id}\\n{exp}").hexdigest()

  `secret_key` is `Runtime.secret_key`. Deriving a purpose-bound key means a media signature can
  never stand in for any other value signed with the same secret.
- The route calls `verify_media_signature(secret_key, media_id, exp, sig, now=...)` and answers
  403 when it returns False (bad signature, malformed or past `exp`, all alike: say nothing
  more), 404 when no such media exists, else 200 with the file's bytes, its stored MIME type as
  `Content-Type`, `Content-Length`, and `Cache-Control: private, max-age=N` where N is the
  whole seconds left until `exp` (a fetcher never keeps the file past the link). No cookie, no
  session and no workspace check: the signature is the whole authorisation, and it names one
  file (`api/routes/public_media.py` serves it). Range requests (206) are honoured, since
  video fetchers use them.
- The URL must stay reachable from the internet for as long as the platform may fetch it
  (`MEDIA_URL_TTL`, counted from the publish attempt): a container is processed within minutes,
  and an unpublished one expires after 24 h, so a new attempt signs new URLs.
- Rotating `secret_key` invalidates every outstanding URL; nothing else can revoke one early.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from postwright.domain.errors import Permanent
from postwright.platforms.base import MediaFile
from postwright.settings import Settings

__all__ = [
    "MEDIA_URL_TTL",
    "MediaUrls",
    "is_public_address",
    "media_signature",
    "signed_media_url",
    "verify_media_signature",
]

MEDIA_URL_TTL = timedelta(hours=6)
"""How long a signed URL works: long enough for a slow video to be fetched and processed."""

_PURPOSE = b"postwright/media-url/v1"


def _canonical_id(media_id: uuid.UUID | str) -> str:
    if isinstance(media_id, uuid.UUID):
        return str(media_id)
    try:
        return str(uuid.UUID(media_id))
    except ValueError:
        return media_id


def media_signature(secret_key: str, media_id: uuid.UUID | str, exp: int) -> str:
    """The `sig` of one media id and expiry (64 hex digits)."""
    key = hmac.new(secret_key.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
    message = f"{_canonical_id(media_id)}\n{exp}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_media_url(
    settings: Settings, media_id: uuid.UUID | str, expires_at: datetime, *, secret_key: str
) -> str:
    """`{public_url}/media/{media_id}?exp=...&sig=...`, valid until `expires_at`."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    exp = int(expires_at.timestamp())
    canonical = _canonical_id(media_id)
    query = urlencode({"exp": exp, "sig": media_signature(secret_key, canonical, exp)})
    return f"{settings.public_url.rstrip('/')}/media/{canonical}?{query}"


def verify_media_signature(
    secret_key: str, media_id: uuid.UUID | str, exp: str | int, sig: str, *, now: datetime
) -> bool:
    """Whether `sig` was made by `signed_media_url` for this media and `exp`, and is unexpired."""
    if isinstance(exp, str):
        if not exp.isdigit() or len(exp) > 12:
            return False
        exp = int(exp)
    if exp <= now.timestamp():
        return False
    expected = media_signature(secret_key, media_id, exp)
    return hmac.compare_digest(expected, sig.strip().lower())


class MediaUrls:
    """The signed URLs one platform downloads a publish attempt's media from.

    `override` is the platform's entry of `platform_urls`: a stand-in for the platform (the
    emulator) fetches nothing, so postwright's own address need not be public for it.
    """

    def __init__(self, settings: Settings, *, platform: str, override: str | None) -> None:
        self._settings = settings
        self._platform = platform
        self._override = override
        self._secret: str | None = None

    def require_public(self) -> None:
        """Refuse, as Permanent, to send URLs the platform could not fetch."""
        if self._override is None and not is_public_address(self._settings.public_url):
            raise Permanent(
                f"{self._platform} downloads each image and video from postwright's public "
                f"address, and POSTWRIGHT_PUBLIC_URL ({self._settings.public_url}) cannot be "
                "reached from the internet; set it to the address where postwright is published"
            )

    def sign(self, media: MediaFile) -> str:
        """A URL of `media` valid for `MEDIA_URL_TTL` from now."""
        if self._secret is None:
            self._secret = self._settings.resolved_secret_key()
        expires_at = datetime.now(UTC) + MEDIA_URL_TTL
        return signed_media_url(self._settings, media.id, expires_at, secret_key=self._secret)


def is_public_address(url: str) -> bool:
    """False when `url`'s host is certainly not reachable from the internet (loopback, private,
    link-local, `localhost`, a name without a dot); True otherwise, including unresolved names."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global
