"""Mastodon's REST API, the publishing subset: media, statuses, an account's statuses, instance.

    POST   /api/v2/media                       multipart {file, description?} -> 200 ready,
                                               202 processing (GIFs and videos)
    GET    /api/v1/media/{id}                  206 while processing, then 200 (422 if it failed)
    POST   /api/v1/statuses                    JSON or form -> 200 Status; honours Idempotency-Key
    GET    /api/v1/statuses/{id}               a Status (with favourites/reblogs/replies/quotes)
    DELETE /api/v1/statuses/{id}               -> 200 the deleted Status, with its `text`
    GET    /api/v1/accounts/{id}/statuses      newest first; limit (<= 40), max_id, since_id,
                                               min_id; a `Link` header to the next page
    GET    /api/v1/accounts/verify_credentials the token's account
    GET    /api/v2/instance                    configuration (statuses.max_characters, ...)

Auth and accounts: `Authorization: Bearer <token>`. A token `mastodon-account-<digits>` acts for
the account with that id; `expired...`/`revoked...` answer 401 {"error": "The access token is
invalid"}, `disabled...` 403 {"error": "Your login is currently disabled"}; any other token acts
for `DEFAULT_ACCOUNT_ID`. The ledger's account is the account id, its platform `mastodon`. All
accounts share one instance, served at whatever base URL the emulator has.

Like Mastodon:
- an `Idempotency-Key` seen for the same account in the last hour returns the status made with
  it (200) before the body is even looked at, so a retry never creates a second status
  (`received_count` counts the replays);
- errors are `{"error": "..."}`: 422 `Validation failed: Text can't be blank`, `... character
  limit of 500 exceeded` (links count 23), `Cannot attach more than 4 files`, `Media with IDs ...
  not found or already attached to another post`, `Cannot attach a video to a post that already
  contains images`, `Cannot attach files that have not finished processing...`; 404 `Record not
  found`; 429 `Too many requests`;
- every response to an account carries `X-RateLimit-Limit/-Remaining/-Reset` (ISO 8601) of its
  closest limit; over it, 429 without Retry-After. Families (override with `create_app(
  rate_limits=)`): `mastodon` (every request), `mastodon:media` (uploads), `mastodon:delete`.
  Defaults are generous; `REALISTIC_RATE_LIMITS` holds Mastodon's documented ones;
- `content` is HTML: paragraphs, `<br />`, links split into invisible/ellipsis spans, hashtags.

Not like Mastodon: media is not transcoded; a GIF or video "processes" for `PROCESSING_S` seconds
and fails only when a video has no `ftyp` box or a GIF no GIF signature; images are not
resized and have no blurhash; mentions are not resolved (a status' `mentions` is always empty);
scheduled statuses, polls, quotes and edits are not served; metrics are synthetic.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import JsonValue
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.domain.text import grapheme_length, mastodon_length
from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.ledger import IDEMPOTENCY_KEY_TTL, StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import Quota, RateLimit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # twitter-text-parser's pkg_resources warning
    from twitter_text import extract_urls_with_indices

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_RATE_LIMITS",
    "MAX_CHARACTERS",
    "PROCESSING_S",
    "REALISTIC_RATE_LIMITS",
    "MastodonPlatform",
]

NAME = Platform.MASTODON.value
DEFAULT_ACCOUNT_ID = "109000000000000001"
MAX_CHARACTERS = 500
MAX_MEDIA = 4
PROCESSING_S = 0.3
DEFAULT_RATE_LIMITS = {
    "mastodon": RateLimit(limit=100_000, window_seconds=300),
    "mastodon:media": RateLimit(limit=100_000, window_seconds=1800),
    "mastodon:delete": RateLimit(limit=100_000, window_seconds=1800),
}
REALISTIC_RATE_LIMITS = {
    # [MD:api/rate-limits.md]
    "mastodon": RateLimit(limit=300, window_seconds=300),
    "mastodon:media": RateLimit(limit=30, window_seconds=1800),
    "mastodon:delete": RateLimit(limit=30, window_seconds=1800),
}
_IMAGE_BYTES = 16 * 1_048_576
_VIDEO_BYTES = 99 * 1_048_576
_DESCRIPTION_LIMIT = 1500
_URL_LENGTH = 23
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/avif"})
_VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/ogg"})
_SUPPORTED_TYPES = sorted(_IMAGE_TYPES | _VIDEO_TYPES | {"image/gif"})
_VISIBILITIES = ("public", "unlisted", "private", "direct")
_HASHTAG = re.compile(r"(?<![\w/#])#(\w+)")
_DISPLAY_URL = 30  # Mastodon shows the first 30 characters of a link, then an ellipsis

Handler = Callable[[Request, str], Awaitable[Response]]


@dataclass(slots=True)
class _Media:
    """One uploaded attachment, until a status takes it."""

    id: str
    owner: str
    type: str  # image | gifv | video
    mime_type: str
    size: int
    description: str | None
    ready_at: float
    failed: bool
    status_id: str | None = None

    def to_json(self, base: str, now: float) -> dict[str, JsonValue]:
        ready = now >= self.ready_at and not self.failed
        extension = self.mime_type.rsplit("/", 1)[-1]
        path = f"{base}system/media_attachments/files/{self.id}/original/file.{extension}"
        return {
            "id": self.id,
            "type": self.type,
            "url": path if ready else None,
            "preview_url": f"{base}system/media_attachments/files/{self.id}/small/file.png",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {},
            "description": self.description,
            "blurhash": None,
        }


class MastodonPlatform:
    """A Mastodon instance over the shared ledger (see the module docstring)."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._limiters = {
            family: toolkit.limiter(family, default)
            for family, default in DEFAULT_RATE_LIMITS.items()
        }
        self._media: dict[str, _Media] = {}
        self._authors: dict[str, str] = {}  # status id -> account id
        self._keys: dict[tuple[str, str], tuple[str, float]] = {}  # (account, key) -> status
        self._sequence = itertools.count()

    def routes(self) -> Sequence[BaseRoute]:
        """The endpoints behind the fault gate; only POST /api/v1/statuses creates posts."""
        route = self._toolkit.route
        status = "/api/v1/statuses/{status_id}"

        def api(path: str, handler: Handler, method: str, *families: str) -> BaseRoute:
            return route(
                self,
                path,
                self._api(handler, families),
                methods=[method],
                creates=path == "/api/v1/statuses" and method == "POST",
                account_of=_account_of,
            )

        return [
            api("/api/v2/media", self._upload, "POST", "mastodon:media"),
            api("/api/v1/media/{media_id}", self._media_status, "GET"),
            api("/api/v1/statuses", self._create, "POST"),
            api(status, self._get, "GET"),
            api(status, self._delete, "DELETE", "mastodon:delete"),
            api("/api/v1/accounts/verify_credentials", self._verify, "GET"),
            api("/api/v1/accounts/{account_id}/statuses", self._statuses, "GET"),
            route(self, "/api/v2/instance", self._instance, methods=["GET"], account_of=_nobody),
        ]

    # -- the gate's error shapes -----------------------------------------------------------

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error as Mastodon words it, with the account's current quota."""
        if body is None:
            body = {"error": _REASONS.get(status, f"Error {status}")}
        return JSONResponse(
            body, status, headers=_quota_headers(self._limiters[NAME].peek(account))
        )

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429 (Mastodon sends no Retry-After: the reset header says when)."""
        headers = {
            "X-RateLimit-Limit": str(self._limiters[NAME].policy.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _iso(time.time() + retry_after),
        }
        return JSONResponse({"error": "Too many requests"}, 429, headers=headers)

    # -- plumbing --------------------------------------------------------------------------

    def _api(self, handler: Handler, families: tuple[str, ...]) -> Endpoint:
        """Authenticate, count the request in the account's windows, then handle it."""
        limiters = [self._limiters[NAME], *(self._limiters[family] for family in families)]

        async def endpoint(request: Request) -> Response:
            token = _bearer(request)
            account = account_of_token(token)
            if token is None:
                return _error(401, "The access token is invalid")
            if token.lower().startswith("disabled"):
                return _error(403, "Your login is currently disabled")
            if account is None:
                return _error(401, "The access token is invalid")
            quotas = [limiter.hit(account) for limiter in limiters]
            refused = [quota for quota in quotas if not quota.allowed]
            closest = refused[0] if refused else min(quotas, key=lambda quota: quota.remaining)
            response: Response
            if refused:
                response = _error(429, "Too many requests")
            else:
                response = await handler(request, account)
            response.headers.update(_quota_headers(closest))
            return response

        return endpoint

    def _new_id(self) -> str:
        """A Mastodon-like id: milliseconds since 1970 shifted 16 bits, plus a sequence."""
        return str((int(time.time() * 1000) << 16) | (next(self._sequence) & 0xFFFF))

    # -- media -----------------------------------------------------------------------------

    async def _upload(self, request: Request, account: str) -> Response:
        async with request.form(max_part_size=_DESCRIPTION_LIMIT * 4 + 1024) as form:
            upload = form.get("file")
            description = form.get("description")
            if not isinstance(upload, UploadFile):
                return _error(422, "Validation failed: File can't be blank")
            data = await upload.read()
            mime_type = (upload.content_type or "application/octet-stream").split(";")[0].strip()
        if isinstance(description, str) and len(description) > _DESCRIPTION_LIMIT:
            return _error(
                422,
                "Validation failed: Description is too long "
                f"(maximum is {_DESCRIPTION_LIMIT} characters)",
            )
        if mime_type not in _SUPPORTED_TYPES:
            return _error(422, "Validation failed: File content type is invalid")
        is_video = mime_type in _VIDEO_TYPES
        cap = _VIDEO_BYTES if is_video else _IMAGE_BYTES
        if len(data) > cap:
            return _error(
                422, f"Validation failed: File file size must be less than {cap // 1_048_576} MB"
            )
        kind = "video" if is_video else "gifv" if mime_type == "image/gif" else "image"
        failed = (is_video and data[4:8] != b"ftyp") or (
            kind == "gifv" and not data.startswith((b"GIF87a", b"GIF89a"))
        )
        now = time.time()
        media = _Media(
            id=self._new_id(),
            owner=account,
            type=kind,
            mime_type=mime_type,
            size=len(data),
            description=description if isinstance(description, str) and description else None,
            ready_at=now if kind == "image" else now + PROCESSING_S,
            failed=failed,
        )
        self._media[media.id] = media
        return JSONResponse(
            media.to_json(str(request.base_url), now), 200 if kind == "image" else 202
        )

    async def _media_status(self, request: Request, account: str) -> Response:
        media = self._media.get(request.path_params["media_id"])
        if media is None or media.owner != account:
            return _not_found()
        now = time.time()
        if now < media.ready_at:
            return JSONResponse(media.to_json(str(request.base_url), now), 206)
        if media.failed:
            return _error(422, "Error processing thumbnail for uploaded media")
        return JSONResponse(media.to_json(str(request.base_url), now))

    # -- statuses --------------------------------------------------------------------------

    async def _create(self, request: Request, account: str) -> Response:
        key = request.headers.get("idempotency-key") or None
        if key is not None:
            replayed = self._replay(account, key)
            if replayed is not None:
                return JSONResponse(self._status_json(request, replayed))
        try:
            fields = await _status_fields(request)
        except ValueError as exc:
            return _error(400, str(exc))
        text = fields.get("status")
        text = text if isinstance(text, str) else ""
        spoiler = fields.get("spoiler_text")
        spoiler = spoiler if isinstance(spoiler, str) else ""
        visibility = fields.get("visibility") or "public"
        if visibility not in _VISIBILITIES:
            return _error(422, f"'{visibility}' is not a valid visibility")
        media, refusal = self._attachments(fields.get("media_ids"), account)
        if refusal is not None:
            return _error(422, refusal)
        if not text.strip() and not media:
            return _error(422, "Validation failed: Text can't be blank")
        if (
            mastodon_length(text, url_length=_URL_LENGTH) + grapheme_length(spoiler)
            > MAX_CHARACTERS
        ):
            return _error(
                422, f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded"
            )
        language = fields.get("language")
        post, _ = self._ledger.record(
            platform=NAME,
            account=account,
            text=text,
            received_at=self._toolkit.received_at(request),
            idempotency_key=key,
            post_id=self._new_id(),
            attributes={
                "media": [item.id for item in media],
                "visibility": str(visibility),
                "spoiler_text": spoiler,
                "sensitive": _truthy(fields.get("sensitive")) or bool(spoiler),
                "language": language if isinstance(language, str) and language else None,
            },
        )
        for item in media:
            item.status_id = post.post_id
        self._authors[post.post_id] = account
        if key is not None:
            self._keys[(account, key)] = (post.post_id, time.time() + IDEMPOTENCY_KEY_TTL)
        return JSONResponse(self._status_json(request, post))

    def _replay(self, account: str, key: str) -> StoredPost | None:
        """The status made with this key in the last hour, counted as received again."""
        remembered = self._keys.get((account, key))
        if remembered is None:
            return None
        status_id, expires_at = remembered
        post = self._ledger.get(NAME, account, status_id)
        if post is None or time.time() >= expires_at:
            del self._keys[(account, key)]
            return None
        post.received_count += 1
        return post

    def _attachments(self, ids: Any, account: str) -> tuple[list[_Media], str | None]:
        if ids is None or ids == []:
            return [], None
        if not isinstance(ids, list):
            ids = [ids]
        if len(ids) > MAX_MEDIA:
            return [], f"Cannot attach more than {MAX_MEDIA} files"
        found = [self._media.get(str(media_id)) for media_id in ids]
        missing = [
            str(media_id)
            for media_id, media in zip(ids, found, strict=True)
            if media is None or media.owner != account or media.status_id is not None
        ]
        if missing:
            return [], (
                f"Media with IDs {', '.join(missing)} not found or already attached to another post"
            )
        media = [item for item in found if item is not None]
        if len(media) > 1 and any(item.type == "video" for item in media):
            return [], "Cannot attach a video to a post that already contains images"
        now = time.time()
        if any(now < item.ready_at or item.failed for item in media):
            return [], (
                "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        return media, None

    async def _get(self, request: Request, account: str) -> Response:
        post = self._post(request.path_params["status_id"])
        return _not_found() if post is None else JSONResponse(self._status_json(request, post))

    async def _delete(self, request: Request, account: str) -> Response:
        status_id = request.path_params["status_id"]
        post = self._post(status_id)
        if post is None or post.account != account:
            return _not_found()
        body = self._status_json(request, post)
        body["text"] = post.text
        self._ledger.delete(NAME, account, status_id)
        del self._authors[status_id]
        return JSONResponse(body)

    async def _statuses(self, request: Request, account: str) -> Response:
        owner = request.path_params["account_id"]
        params = request.query_params
        limit_text = params.get("limit", "20")
        limit = min(int(limit_text), 40) if limit_text.isdigit() and int(limit_text) > 0 else 20
        bounds = {name: params.get(name) for name in ("max_id", "since_id", "min_id")}
        posts = [
            post
            for post in self._ledger.recent(NAME, owner, limit=1_000_000)
            if _between(post.post_id, bounds)
        ]
        # With min_id, the page is the statuses immediately newer than it (the oldest ones).
        page = posts[-limit:] if bounds["min_id"] is not None else posts[:limit]
        headers: dict[str, str] = {}
        if page:
            url = f"{request.base_url}api/v1/accounts/{owner}/statuses"
            older = urlencode({"limit": limit, "max_id": page[-1].post_id})
            newer = urlencode({"limit": limit, "min_id": page[0].post_id})
            headers["Link"] = f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'
        data: list[JsonValue] = [self._status_json(request, post) for post in page]
        return JSONResponse(data, headers=headers)

    async def _verify(self, request: Request, account: str) -> Response:
        body = _account_json(request, account)
        body["source"] = {"privacy": "public", "sensitive": False, "language": None, "note": ""}
        return JSONResponse(body)

    async def _instance(self, request: Request) -> Response:
        return JSONResponse(_instance_json(request))

    def _post(self, status_id: str) -> StoredPost | None:
        author = self._authors.get(status_id)
        return None if author is None else self._ledger.get(NAME, author, status_id)

    def _status_json(self, request: Request, post: StoredPost) -> dict[str, JsonValue]:
        base = str(request.base_url)
        attributes = post.attributes
        media_ids = attributes.get("media")
        now = time.time()
        media: list[JsonValue] = [
            item.to_json(base, now)
            for media_id in (media_ids if isinstance(media_ids, list) else [])
            if (item := self._media.get(str(media_id))) is not None
        ]
        counts = metrics_of(post.post_id)
        account = _account_json(request, post.account)
        return {
            "id": post.post_id,
            "created_at": _iso(post.created_at, millis=True),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": bool(attributes.get("sensitive")),
            "spoiler_text": str(attributes.get("spoiler_text") or ""),
            "visibility": str(attributes.get("visibility") or "public"),
            "language": attributes.get("language"),
            "uri": f"{base}users/{account['username']}/statuses/{post.post_id}",
            "url": f"{base}@{account['username']}/{post.post_id}",
            "replies_count": counts["replies_count"],
            "reblogs_count": counts["reblogs_count"],
            "favourites_count": counts["favourites_count"],
            "quotes_count": counts["quotes_count"],
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": content_html(post.text, base),
            "filtered": [],
            "reblog": None,
            "application": {"name": "postwright", "website": None},
            "account": account,
            "media_attachments": media,
            "mentions": [],
            "tags": [
                {"name": tag.lower(), "url": f"{base}tags/{tag.lower()}"}
                for tag in _HASHTAG.findall(post.text)
            ],
            "emojis": [],
            "card": None,
            "poll": None,
        }


# -- rendering ----------------------------------------------------------------------------------


def content_html(text: str, base: str) -> str:
    """The status text as Mastodon's formatter renders it (links, hashtags, paragraphs)."""
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]
    return "".join(
        f"<p>{'<br />'.join(_linkify(line, base) for line in part.split(chr(10)))}</p>"
        for part in paragraphs
    )


def _linkify(line: str, base: str) -> str:
    pieces: list[str] = []
    position = 0
    entities = extract_urls_with_indices(line, extract_urls_without_protocol=False)
    for entity in sorted(entities, key=lambda e: int(e["indices"][0])):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        if start >= position:
            pieces.append(_hashtags(line[position:start], base))
            pieces.append(_link(line[start:end]))
            position = end
    pieces.append(_hashtags(line[position:], base))
    return "".join(pieces)


def _link(url: str) -> str:
    match = re.match(r"(https?://(?:www\.)?)(.*)", url)
    prefix, rest = (match.group(1), match.group(2)) if match else ("", url)
    shown, hidden = rest[:_DISPLAY_URL], rest[_DISPLAY_URL:]
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(prefix)}</span>'
        f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def _hashtags(text: str, base: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _HASHTAG.finditer(text):
        tag = match.group(1)
        pieces.append(html.escape(text[position : match.start()], quote=False))
        pieces.append(
            f'<a href="{base}tags/{html.escape(tag.lower())}" class="mention hashtag" '
            f'rel="tag">#<span>{html.escape(tag)}</span></a>'
        )
        position = match.end()
    pieces.append(html.escape(text[position:], quote=False))
    return "".join(pieces)


def metrics_of(status_id: str) -> dict[str, int]:
    """Plausible counters that depend on the status id alone (so tests can pin them)."""
    digest = hashlib.blake2b(f"mastodon:{status_id}".encode(), digest_size=16).digest()
    seed = int.from_bytes(digest, "big")
    favourites = seed % 500
    return {
        "favourites_count": favourites,
        "reblogs_count": favourites * ((seed >> 20) % 40) // 100,
        "replies_count": favourites * ((seed >> 40) % 30) // 100,
        "quotes_count": favourites * ((seed >> 60) % 10) // 100,
    }


def _account_json(request: Request, account: str) -> dict[str, JsonValue]:
    base = str(request.base_url)
    username = f"user{account}"
    return {
        "id": account,
        "username": username,
        "acct": username,
        "display_name": f"User {account}",
        "locked": False,
        "bot": False,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": f"{base}@{username}",
        "avatar": f"{base}avatars/original/missing.png",
        "header": f"{base}headers/original/missing.png",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "emojis": [],
        "fields": [],
    }


def _instance_json(request: Request) -> dict[str, JsonValue]:
    host = request.url.netloc
    return {
        "domain": host,
        "title": "postwright emulator",
        "version": "4.5.0",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "An emulated Mastodon instance for tests, demos and benchmarks.",
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": f"{request.base_url}thumbnail.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": f"ws://{host}"},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": MAX_CHARACTERS,
                "max_media_attachments": MAX_MEDIA,
                "characters_reserved_per_url": _URL_LENGTH,
            },
            "media_attachments": {
                "supported_mime_types": list(_SUPPORTED_TYPES),
                "description_limit": _DESCRIPTION_LIMIT,
                "image_size_limit": _IMAGE_BYTES,
                "image_matrix_limit": 33_177_600,
                "video_size_limit": _VIDEO_BYTES,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8_294_400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2_629_746,
            },
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": "", "account": None},
        "rules": [],
        "api_versions": {"mastodon": 6},
    }


# -- requests -----------------------------------------------------------------------------------


def account_of_token(token: str | None) -> str | None:
    """The account a bearer token acts for, or None when it is missing or no longer works."""
    if not token:
        return None
    lowered = token.lower()
    if lowered.startswith(("expired", "revoked", "disabled")):
        return None
    if lowered.startswith("mastodon-account-"):
        account = token[len("mastodon-account-") :]
        return account if account.isdigit() else None
    return DEFAULT_ACCOUNT_ID


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _account_of(request: Request) -> str:
    """The account fault rules match: the token's account id (or `anonymous`)."""
    return account_of_token(_bearer(request)) or "anonymous"


def _nobody(request: Request) -> str:
    return "anonymous"


async def _status_fields(request: Request) -> dict[str, Any]:
    """The create parameters from a JSON body or a form (`media_ids[]` repeated)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body
    async with request.form() as form:
        return _form_fields(form)


def _form_fields(form: FormData) -> dict[str, Any]:
    fields: dict[str, Any] = {
        key: value for key, value in form.items() if isinstance(value, str) and "[" not in key
    }
    media_ids = [value for value in form.getlist("media_ids[]") if isinstance(value, str)]
    if media_ids:
        fields["media_ids"] = media_ids
    return fields


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "on")
    return bool(value)


def _between(post_id: str, bounds: dict[str, str | None]) -> bool:
    number = int(post_id)
    max_id, since_id, min_id = bounds["max_id"], bounds["since_id"], bounds["min_id"]
    if max_id is not None and max_id.isdigit() and number >= int(max_id):
        return False
    lower = since_id if since_id is not None else min_id
    return not (lower is not None and lower.isdigit() and number <= int(lower))


# -- responses ----------------------------------------------------------------------------------

_REASONS = {
    400: "Bad request",
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    410: "Gone",
    422: "Validation failed",
    429: "Too many requests",
    500: "We're sorry, but something went wrong on our end.",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def _not_found() -> JSONResponse:
    return _error(404, "Record not found")


def _iso(timestamp: float, *, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": _iso(quota.reset_at),
    }
