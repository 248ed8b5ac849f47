"""X API v2, the publishing subset: posts, the chunked media upload, timelines, lookups.

    POST   /2/tweets                              create -> 201 {"data": {id, text, ...}}
    GET    /2/tweets/{id}?tweet.fields=           one post (public_metrics, non_public_metrics)
    DELETE /2/tweets/{id}                         -> 200 {"data": {"deleted": true}}
    GET    /2/users/me                            the token's user
    GET    /2/users/{id}/tweets?start_time=&...   a user's posts, newest first, paginated
    POST   /2/media/upload/initialize             {media_type, total_bytes, media_category}
    POST   /2/media/upload/{id}/append            multipart {media, segment_index}
    POST   /2/media/upload/{id}/finalize          -> processing_info for GIFs and videos
    GET    /2/media/upload?command=STATUS&media_id=
    POST   /2/media/metadata                      {id, metadata: {alt_text: {text}}}

Auth and accounts: every request needs `Authorization: Bearer <token>`. A token `x-user-<digits>`
acts for the user with that id; `expired`, `expired-...`, `revoked` and `revoked-...` are refused
with 401 (a token that stopped working); any other non-empty token acts for `DEFAULT_USER_ID`.
The ledger's account is the user id, its platform `x`.

Like X:
- a create's `text` comes back with every link (bare domains too) rewritten to a `https://t.co/`
  link, `&`, `<` and `>` HTML-escaped, and a t.co link appended when media is attached;
- the same user posting the same text again within `DUPLICATE_WINDOW_S` gets 403 `{"detail":
  "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
  "title": "Forbidden", "status": 403}`;
- text over 280 weighted characters, unknown body keys, bad media ids and mixes (4 images, or 1
  GIF, or 1 video) are 400 problems; a lookup of an unknown post is a 200 with only `errors`;
- responses carry `x-rate-limit-limit/-remaining/-reset` (unix seconds) for the user and endpoint
  family; over the limit: 429 `{"errors": [{"code": 88, "message": "Rate limit exceeded"}]}`
  and no Retry-After (X documents none). Families (override with `create_app(rate_limits=)`):
  `x` (POST /2/tweets), `x:delete`, `x:read`, `x:media`. Defaults are generous so tests and
  benchmarks are not throttled by accident; `REALISTIC_RATE_LIMITS` holds X's documented ones;
- a lookup asked with `tweet.fields` names reposts `retweet_count` (the prose docs, spec 2.159),
  one asked with `post.fields` names them `repost_count` (spec 2.167).

Not like X: GIFs and videos "process" for `PROCESSING_S` seconds (or for
`toolkit.processing.seconds["x"]`, see `processing`, where every upload is recorded), and fail
(state `failed`, `InvalidMedia`) only when a video has no MP4/QuickTime `ftyp` box or an image's
first bytes are not its format's signature; no transcoding, duration, resolution or codec
checks; `check_after_secs` is always 1. The duplicate window is a guess (X does not document it)
and a deleted post no longer counts as a duplicate.
`non_public_metrics` are served for the author's posts of any age (X: the last 30 days).
Metrics are synthetic, derived from the post id.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import string
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.domain.text import x_weighted_length
from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import Quota, RateLimit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # twitter-text-parser's pkg_resources warning
    from twitter_text import extract_urls_with_indices

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DEFAULT_USER_ID",
    "DUPLICATE_WINDOW_S",
    "PROCESSING_S",
    "REALISTIC_RATE_LIMITS",
    "XPlatform",
]

NAME = Platform.X.value
DEFAULT_USER_ID = "2244994945"
DUPLICATE_WINDOW_S = 24 * 3600.0
PROCESSING_S = 0.5
MAX_WEIGHTED_LENGTH = 280
_WINDOW = 15 * 60
DEFAULT_RATE_LIMITS = {
    "x": RateLimit(limit=100_000, window_seconds=_WINDOW),
    "x:delete": RateLimit(limit=100_000, window_seconds=_WINDOW),
    "x:read": RateLimit(limit=100_000, window_seconds=_WINDOW),
    "x:media": RateLimit(limit=100_000, window_seconds=_WINDOW),
}
REALISTIC_RATE_LIMITS = {
    # Per user per 15 minutes [XD:rate-limits]; the media family takes initialize/append/finalize.
    "x": RateLimit(limit=100, window_seconds=_WINDOW),
    "x:delete": RateLimit(limit=50, window_seconds=_WINDOW),
    "x:read": RateLimit(limit=900, window_seconds=_WINDOW),
    "x:media": RateLimit(limit=1875, window_seconds=_WINDOW),
}

_PROBLEMS = "https://api.x.com/2/problems/"
_TWEPOCH_MS = 1288834974657
_MEDIA_TYPES = {
    # media_type -> the kind it is by default (a GIF may also go up as a still `tweet_image`)
    "image/jpeg": "image",
    "image/pjpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "image/gif": "gif",
    "video/mp4": "video",
    "video/quicktime": "video",
}
_CATEGORY_KIND = {"tweet_image": "image", "tweet_gif": "gif", "tweet_video": "video"}
_KEY_PREFIX = {"image": "3", "gif": "16", "video": "7"}  # X's media_key prefixes
_MAX_BYTES = {"image": 5 * 1_048_576, "gif": 15 * 1_048_576, "video": 512 * 1_048_576}
_MAX_SEGMENT_BYTES = 5 * 1_048_576
_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/pjpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_CREATE_KEYS = frozenset(
    {
        "card_uri",
        "community_id",
        "direct_message_deep_link",
        "edit_options",
        "for_super_followers_only",
        "geo",
        "made_with_ai",
        "media",
        "nullcast",
        "paid_partnership",
        "poll",
        "quote_tweet_id",
        "reply",
        "reply_settings",
        "share_with_followers",
        "text",
    }
)
_REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
_POST_FIELDS = frozenset(
    {
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "media_metadata",
        "non_public_metrics",
        "note_tweet",
        "organic_metrics",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "text",
        "withheld",
    }
)
_DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
_TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text."
)
_BASE62 = string.digits + string.ascii_letters

Handler = Callable[[Request, str], Awaitable[Response]]


@dataclass(slots=True)
class _Upload:
    """One media upload session, from initialize to attachment."""

    id: str
    owner: str
    media_type: str
    kind: str
    total_bytes: int
    expires_at: float
    segments: dict[int, int] = field(default_factory=dict)  # segment index -> bytes
    head: bytes = b""  # the first bytes of segment 0, to check the format
    finalized: bool = False
    ready_at: float | None = None
    failure: str | None = None
    alt_text: str | None = None

    @property
    def media_key(self) -> str:
        return f"{_KEY_PREFIX[self.kind]}_{self.id}"

    def state(self, now: float) -> str:
        if self.ready_at is None or now < self.ready_at:
            return "in_progress" if self.ready_at is not None else "pending"
        return "failed" if self.failure else "succeeded"


class XPlatform:
    """X API v2 over the shared ledger (see the module docstring)."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._limiters = {
            family: toolkit.limiter(family, default)
            for family, default in DEFAULT_RATE_LIMITS.items()
        }
        self._uploads: dict[str, _Upload] = {}
        self._authors: dict[str, str] = {}  # post id -> user id
        self._recent_texts: dict[tuple[str, str], tuple[str, float]] = {}  # (user, text) -> post
        self._sequence = itertools.count()

    def routes(self) -> Sequence[BaseRoute]:
        """The endpoints, each behind the fault gate; only POST /2/tweets creates posts."""
        route = self._toolkit.route
        account_of = _account_of
        return [
            route(
                self,
                "/2/tweets",
                self._api(self._create, "x"),
                methods=["POST"],
                creates=True,
                account_of=account_of,
            ),
            route(
                self,
                "/2/tweets/{post_id}",
                self._api(self._lookup, "x:read"),
                methods=["GET"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/tweets/{post_id}",
                self._api(self._delete, "x:delete"),
                methods=["DELETE"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/users/me",
                self._api(self._me, "x:read"),
                methods=["GET"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/users/{user_id}/tweets",
                self._api(self._timeline, "x:read"),
                methods=["GET"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/media/upload/initialize",
                self._api(self._initialize, "x:media"),
                methods=["POST"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/media/upload/{media_id}/append",
                self._api(self._append, "x:media"),
                methods=["POST"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/media/upload/{media_id}/finalize",
                self._api(self._finalize, "x:media"),
                methods=["POST"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/media/upload",
                self._api(self._status, "x:read"),
                methods=["GET"],
                account_of=account_of,
            ),
            route(
                self,
                "/2/media/metadata",
                self._api(self._metadata, "x:media"),
                methods=["POST"],
                account_of=account_of,
            ),
        ]

    # -- the gate's error shapes -----------------------------------------------------------

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error in X's shape, with the user's current create quota."""
        if body is None:
            body = _problem_body(status)
        headers = _quota_headers(self._limiters["x"].peek(account))
        return JSONResponse(body, status, headers=headers)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429: the window is spent until `retry_after` from now (no Retry-After)."""
        headers = {
            "x-rate-limit-limit": str(self._limiters["x"].policy.limit),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time()) + retry_after),
        }
        return JSONResponse(_RATE_LIMITED, 429, headers=headers)

    # -- plumbing --------------------------------------------------------------------------

    def _api(self, handler: Handler, family: str) -> Endpoint:
        """Authenticate, count the request in the user's window of `family`, then handle it."""
        limiter = self._limiters[family]

        async def endpoint(request: Request) -> Response:
            user = user_of_token(_bearer(request))
            if user is None:
                return _problem(401, "Unauthorized", "Unauthorized")
            quota = limiter.hit(user)
            response: Response
            if not quota.allowed:
                response = JSONResponse(_RATE_LIMITED, 429)
            else:
                response = await handler(request, user)
            response.headers.update(_quota_headers(quota))
            return response

        return endpoint

    def _new_id(self) -> str:
        """A snowflake-like id: milliseconds since X's epoch, then a sequence number."""
        millis = int(time.time() * 1000) - _TWEPOCH_MS
        return str((millis << 22) | (next(self._sequence) & 0x3FFFFF))

    # -- posts -----------------------------------------------------------------------------

    async def _create(self, request: Request, user: str) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _invalid("The request body is not a JSON object")
        unknown = sorted(set(body) - _CREATE_KEYS)
        if unknown:
            return _invalid(f"The `{unknown[0]}` field is not a valid field of a Post")
        text = body.get("text", "")
        if not isinstance(text, str):
            return _invalid("`text` must be a string")
        reply_settings = body.get("reply_settings")
        if reply_settings is not None and reply_settings not in _REPLY_SETTINGS:
            return _invalid(f"`reply_settings` must be one of {', '.join(_REPLY_SETTINGS)}")
        attached, error = self._attachments(body.get("media"), user)
        if error is not None:
            return error
        if not text.strip() and not attached:
            return _invalid("Post text is required unless media is attached")
        if x_weighted_length(text) > MAX_WEIGHTED_LENGTH:
            return _problem(400, "Bad Request", _TOO_LONG)
        now = time.time()
        key = (user, text.strip())
        previous = self._recent_texts.get(key)
        if (
            text.strip()
            and previous is not None
            and now - previous[1] < DUPLICATE_WINDOW_S
            and previous[0] in self._authors
        ):
            return _problem(403, "Forbidden", _DUPLICATE)
        media: list[JsonValue] = [
            {"id": u.id, "media_key": u.media_key, "type": u.kind, "alt_text": u.alt_text}
            for u in attached
        ]
        post, _ = self._ledger.record(
            platform=NAME,
            account=user,
            text=text,
            received_at=self._toolkit.received_at(request),
            post_id=self._new_id(),
            attributes={"media": media, "reply_settings": reply_settings},
        )
        self._authors[post.post_id] = user
        if text.strip():
            self._recent_texts[key] = (post.post_id, now)
        for upload in attached:
            self._uploads.pop(upload.id, None)  # a media id is attached once
        data = {
            "id": post.post_id,
            "text": rendered_text(post),
            "edit_history_post_ids": [post.post_id],
        }
        return JSONResponse({"data": data}, 201)

    def _attachments(self, media: Any, user: str) -> tuple[list[_Upload], Response | None]:
        if media is None:
            return [], None
        ids = media.get("media_ids") if isinstance(media, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
            return [], _invalid("`media.media_ids` must list 1 to 4 media ids")
        found: list[_Upload] = []
        now = time.time()
        for media_id in ids:
            upload = self._uploads.get(str(media_id))
            if (
                upload is None
                or upload.owner != user
                or not upload.finalized
                or upload.state(now) != "succeeded"
            ):
                return [], _invalid("Your media IDs are invalid.", value=str(media_id))
            found.append(upload)
        kinds = {upload.kind for upload in found}
        if len(found) > 1 and kinds != {"image"}:
            return [], _invalid("A post takes up to 4 images, or 1 GIF, or 1 video")
        return found, None

    async def _lookup(self, request: Request, user: str) -> Response:
        post_id = request.path_params["post_id"]
        fields, name = _fields(request)
        if fields is None:
            return _invalid(f"`{name}` holds an unknown field")
        post = self._post(post_id)
        if post is None:
            return JSONResponse({"errors": [_not_found_error(post_id)]}, 200)
        data = _public(post, fields, field_name=name, own=post.account == user)
        errors: list[JsonValue] = []
        if "non_public_metrics" in fields and post.account != user:
            errors.append(
                {
                    "type": _PROBLEMS + "not-authorized-for-field",
                    "title": "Field Authorization Error",
                    "detail": "Sorry, you are not authorized to access 'non_public_metrics'.",
                    "resource_type": "tweet",
                    "field": "non_public_metrics",
                    "resource_id": post_id,
                }
            )
        body: dict[str, JsonValue] = {"data": data}
        if errors:
            body["errors"] = errors
        return JSONResponse(body)

    async def _delete(self, request: Request, user: str) -> Response:
        post_id = request.path_params["post_id"]
        post = self._post(post_id)
        if post is None:
            return JSONResponse(
                {**_not_found_error(post_id), "status": 404}, 404, media_type="application/json"
            )
        if post.account != user:
            return _problem(403, "Forbidden", "You are not allowed to delete this Post.")
        self._ledger.delete(NAME, user, post_id)
        self._authors.pop(post_id, None)
        return JSONResponse({"data": {"deleted": True}})

    async def _me(self, request: Request, user: str) -> Response:
        return JSONResponse({"data": {"id": user, "name": f"User {user}", "username": f"u{user}"}})

    async def _timeline(self, request: Request, user: str) -> Response:
        owner = request.path_params["user_id"]
        if not owner.isdigit() or len(owner) > 19:
            return _invalid("The `id` query parameter value is not valid", value=owner)
        params = request.query_params
        fields, name = _fields(request)
        if fields is None:
            return _invalid(f"`{name}` holds an unknown field")
        max_results = params.get("max_results", "10")
        if not max_results.isdigit() or not 5 <= int(max_results) <= 100:
            return _invalid("`max_results` must be a number from 5 to 100", value=max_results)
        try:
            start = _time_param(params.get("start_time"))
            end = _time_param(params.get("end_time"))
        except ValueError as exc:
            return _invalid(str(exc))
        until = params.get("until_id") or params.get("pagination_token")
        since_id = params.get("since_id")
        posts = [
            post
            for post in self._ledger.recent(NAME, owner, since=start, limit=1_000_000)
            if (end is None or post.created_at < end)
            and (until is None or int(post.post_id) < _int_or(until, 0))
            and (since_id is None or int(post.post_id) > _int_or(since_id, 0))
        ]
        page = posts[: int(max_results)]
        if not page:
            return JSONResponse({"meta": {"result_count": 0}})
        meta: dict[str, JsonValue] = {
            "result_count": len(page),
            "newest_id": page[0].post_id,
            "oldest_id": page[-1].post_id,
        }
        if len(posts) > len(page):
            meta["next_token"] = page[-1].post_id
        data: list[JsonValue] = [
            _public(post, fields, field_name=name, own=owner == user) for post in page
        ]
        return JSONResponse({"data": data, "meta": meta})

    def _post(self, post_id: str) -> StoredPost | None:
        author = self._authors.get(post_id)
        return None if author is None else self._ledger.get(NAME, author, post_id)

    # -- media -----------------------------------------------------------------------------

    async def _initialize(self, request: Request, user: str) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _invalid("The request body is not a JSON object")
        media_type = body.get("media_type")
        if media_type not in _MEDIA_TYPES:
            return _invalid("`media_type` is not a supported media type", value=str(media_type))
        kind = _MEDIA_TYPES[str(media_type)]
        category = body.get("media_category")
        if media_type == "image/gif" and category == "tweet_image":
            kind = "image"  # a GIF posted as a still image
        if category is not None and _CATEGORY_KIND.get(str(category)) != kind:
            return _invalid(
                f"`media_category` {category!r} does not fit {media_type}", value=str(category)
            )
        total = body.get("total_bytes")
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            return _invalid("`total_bytes` must be a positive integer")
        if total > _MAX_BYTES[kind]:
            return _invalid(
                f"File size exceeds {_MAX_BYTES[kind]} bytes for {kind} media", value=str(total)
            )
        upload = _Upload(
            id=self._new_id(),
            owner=user,
            media_type=str(media_type),
            kind=kind,
            total_bytes=total,
            expires_at=time.time() + 86_400,
        )
        self._uploads[upload.id] = upload
        self._toolkit.processing.record(NAME, user, upload.id)
        data = {"id": upload.id, "media_key": upload.media_key, "expires_after_secs": 86_400}
        return JSONResponse({"data": data})

    async def _append(self, request: Request, user: str) -> Response:
        upload = self._session(request, user)
        if upload is None or upload.finalized:
            return _invalid("The media id is not an open upload session")
        async with request.form(max_part_size=_MAX_SEGMENT_BYTES) as form:
            index = form.get("segment_index")
            chunk = form.get("media")
            if not isinstance(index, str) or not index.isdigit() or int(index) > 999:
                return _invalid("`segment_index` must be an integer from 0 to 999")
            if isinstance(chunk, UploadFile):
                data = await chunk.read()
            elif isinstance(chunk, str):
                data = chunk.encode("latin-1")
            else:
                return _invalid("`media` is required")
        if len(data) > _MAX_SEGMENT_BYTES:
            return _invalid("A segment may hold at most 5 MB")
        upload.segments[int(index)] = len(data)
        if int(index) == 0:
            upload.head = data[:16]
        return JSONResponse({"data": {"expires_at": int(upload.expires_at)}})

    async def _finalize(self, request: Request, user: str) -> Response:
        upload = self._session(request, user)
        if upload is None or upload.finalized:
            return _invalid("The media id is not an open upload session")
        indices = sorted(upload.segments)
        if indices != list(range(len(indices))) or not indices:
            return _invalid("Segments are missing: append them from segment_index 0 on")
        if sum(upload.segments.values()) != upload.total_bytes:
            return _invalid("Segments do not add up to the provided total file size.")
        upload.finalized = True
        now = time.time()
        if upload.kind == "image":
            if not upload.head.startswith(_SIGNATURES.get(upload.media_type, (b"",))):
                return _invalid("Invalid or Unsupported media: the file is not a valid image")
            upload.ready_at = now
        else:
            upload.ready_at = now + self._toolkit.processing.delay(NAME, PROCESSING_S)
            if not _looks_valid(upload):
                upload.failure = "Invalid or Unsupported media, Reason: UnsupportedMedia."
        data: dict[str, JsonValue] = {
            "id": upload.id,
            "media_key": upload.media_key,
            "size": upload.total_bytes,
            "expires_after_secs": int(upload.expires_at - now),
        }
        if upload.kind != "image":
            data["processing_info"] = {"state": "pending", "check_after_secs": 1}
        return JSONResponse({"data": data})

    async def _status(self, request: Request, user: str) -> Response:
        params = request.query_params
        if params.get("command", "STATUS") != "STATUS":
            return _invalid("`command` must be STATUS", value=params.get("command"))
        upload = self._uploads.get(params.get("media_id", ""))
        if upload is None or upload.owner != user or not upload.finalized:
            return _invalid("The media id is not valid", value=params.get("media_id"))
        state = upload.state(time.time())
        processing: dict[str, JsonValue] = {"state": state}
        if state in ("pending", "in_progress"):
            processing.update(check_after_secs=1, progress_percent=50)
        else:
            processing["progress_percent"] = 100
        if state == "failed":
            processing["error"] = {"code": 1, "name": "InvalidMedia", "message": upload.failure}
        data = {"id": upload.id, "media_key": upload.media_key, "processing_info": processing}
        return JSONResponse({"data": data})

    async def _metadata(self, request: Request, user: str) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return _invalid("`id` is required")
        upload = self._uploads.get(body["id"])
        if upload is None or upload.owner != user:
            return _invalid("The media id is not valid", value=body["id"])
        metadata = body.get("metadata")
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(text, str):
            return _invalid("`metadata.alt_text.text` is required")
        if len(text) > 1000:
            return _invalid("`metadata.alt_text.text` may be at most 1000 characters")
        upload.alt_text = text
        data = {"id": upload.id, "associated_metadata": {"alt_text": {"text": text}}}
        return JSONResponse({"data": data})

    def _session(self, request: Request, user: str) -> _Upload | None:
        upload = self._uploads.get(request.path_params["media_id"])
        return upload if upload is not None and upload.owner == user else None


def _looks_valid(upload: _Upload) -> bool:
    """Whether a GIF or video starts like one (an MP4/QuickTime `ftyp` box, a GIF signature)."""
    if upload.kind == "video":
        return upload.head[4:8] == b"ftyp"
    return upload.head.startswith(_SIGNATURES["image/gif"])


# -- rendering ----------------------------------------------------------------------------------


def rendered_text(post: StoredPost) -> str:
    """The post's text as X returns it: links on t.co, entities escaped, a media link appended."""
    text = post.text
    pieces: list[str] = []
    position = 0
    entities = extract_urls_with_indices(text, extract_urls_without_protocol=True)
    for entity in sorted(entities, key=lambda e: int(e["indices"][0])):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        if start >= position:
            pieces.append(_escape(text[position:start]))
            pieces.append(_tco(text[start:end]))
            position = end
    pieces.append(_escape(text[position:]))
    shown = "".join(pieces)
    if post.attributes.get("media"):
        shown = f"{shown} {_tco('media:' + post.post_id)}".lstrip()
    return shown


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _tco(target: str) -> str:
    number = int.from_bytes(hashlib.sha256(target.encode()).digest()[:8], "big")
    code = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        code += _BASE62[digit]
    return f"https://t.co/{code}"


def metrics_of(post_id: str) -> dict[str, int]:
    """Plausible counts that depend on the post id alone (so tests can pin them)."""
    seed = int.from_bytes(hashlib.blake2b(f"x:{post_id}".encode(), digest_size=16).digest(), "big")
    impressions = 100 + seed % 50_000
    likes = impressions * (5 + (seed >> 20) % 75) // 1000
    return {
        "like_count": likes,
        "reply_count": likes * ((seed >> 40) % 30) // 100,
        "repost_count": likes * ((seed >> 60) % 40) // 100,
        "quote_count": likes * ((seed >> 70) % 10) // 100,
        "bookmark_count": likes * ((seed >> 75) % 20) // 100,
        "impression_count": impressions,
        "url_link_clicks": impressions * (1 + (seed >> 80) % 50) // 1000,
        "user_profile_clicks": impressions * (1 + (seed >> 90) % 20) // 1000,
    }


def _public(
    post: StoredPost, fields: frozenset[str], *, field_name: str, own: bool
) -> dict[str, JsonValue]:
    history = "edit_history_post_ids" if field_name == "post.fields" else "edit_history_tweet_ids"
    data: dict[str, JsonValue] = {
        "id": post.post_id,
        "text": rendered_text(post),
        history: [post.post_id],
    }
    if "created_at" in fields:
        created = datetime.fromtimestamp(post.created_at, UTC)
        data["created_at"] = (
            created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"
        )
    if "author_id" in fields:
        data["author_id"] = post.account
    counts = metrics_of(post.post_id)
    if "public_metrics" in fields:
        reposts = "repost_count" if field_name == "post.fields" else "retweet_count"
        data["public_metrics"] = {
            reposts: counts["repost_count"],
            "reply_count": counts["reply_count"],
            "like_count": counts["like_count"],
            "quote_count": counts["quote_count"],
            "bookmark_count": counts["bookmark_count"],
            "impression_count": counts["impression_count"],
        }
    if "non_public_metrics" in fields and own:
        data["non_public_metrics"] = {
            "impression_count": counts["impression_count"],
            "url_link_clicks": counts["url_link_clicks"],
            "user_profile_clicks": counts["user_profile_clicks"],
        }
    return data


# -- requests -----------------------------------------------------------------------------------


def user_of_token(token: str | None) -> str | None:
    """The user a bearer token acts for, or None when it is missing or no longer works."""
    if not token:
        return None
    lowered = token.lower()
    if lowered in ("expired", "revoked") or lowered.startswith(("expired-", "revoked-")):
        return None
    if lowered.startswith("x-user-"):
        user = token[len("x-user-") :]
        return user if user.isdigit() and len(user) <= 19 else None
    return DEFAULT_USER_ID


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _account_of(request: Request) -> str:
    """The account fault rules match: the token's user id (or `anonymous`)."""
    return user_of_token(_bearer(request)) or "anonymous"


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _fields(request: Request) -> tuple[frozenset[str] | None, str]:
    """The requested post fields and the parameter's name (`tweet.fields` or `post.fields`)."""
    for name in ("tweet.fields", "post.fields"):
        value = request.query_params.get(name)
        if value is not None:
            fields = frozenset(part.strip() for part in value.split(",") if part.strip())
            return (fields if fields <= _POST_FIELDS else None), name
    return frozenset(), "tweet.fields"


def _time_param(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Invalid time {value!r}: use YYYY-MM-DDTHH:mm:ssZ") from None
    if moment.tzinfo is None:
        raise ValueError(f"Invalid time {value!r}: use YYYY-MM-DDTHH:mm:ssZ")
    return moment.timestamp()


def _int_or(value: str, default: int) -> int:
    return int(value) if value.isdigit() else default


# -- responses ----------------------------------------------------------------------------------

_RATE_LIMITED: dict[str, JsonValue] = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _problem_body(status: int) -> dict[str, JsonValue]:
    title = _TITLES.get(status, "Error")
    return {"title": title, "detail": title, "type": "about:blank", "status": status}


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    return JSONResponse(body, status, media_type="application/problem+json")


def _invalid(message: str, *, value: str | None = None) -> JSONResponse:
    error: dict[str, JsonValue] = {"message": message}
    if value is not None:
        error["value"] = value
    body: dict[str, JsonValue] = {
        "errors": [error],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": _PROBLEMS + "invalid-request",
    }
    return JSONResponse(body, 400, media_type="application/problem+json")


def _not_found_error(post_id: str) -> dict[str, JsonValue]:
    return {
        "value": post_id,
        "detail": f"Could not find tweet with id: [{post_id}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "id",
        "resource_id": post_id,
        "type": _PROBLEMS + "resource-not-found",
    }


def _quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(quota.limit),
        "x-rate-limit-remaining": str(quota.remaining),
        "x-rate-limit-reset": str(quota.reset_epoch),
    }
