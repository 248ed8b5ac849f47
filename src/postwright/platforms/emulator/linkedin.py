"""LinkedIn's versioned REST API (api.linkedin.com/rest), the publishing subset.

    POST   /rest/posts                          create -> 201, empty body, `x-restli-id: <urn>`
    GET    /rest/posts?author=&q=author&count=&start=   an author's posts (read permission)
    GET    /rest/posts/{urn}                    one post (read permission)
    DELETE /rest/posts/{urn}                    -> 204
    POST   /rest/images?action=initializeUpload {initializeUploadRequest: {owner}}
                                                -> {value: {uploadUrl, image, uploadUrlExpiresAt}}
    GET    /rest/images/{urn}                   {status: WAITING_UPLOAD | PROCESSING | AVAILABLE |
                                                PROCESSING_FAILED, ...}
    POST   /rest/videos?action=initializeUpload {initializeUploadRequest: {owner, fileSizeBytes,
                                                uploadCaptions, uploadThumbnail}}
                                                -> {value: {video, uploadToken, uploadInstructions:
                                                [{uploadUrl, firstByte, lastByte}]}}
                                                (parts of `PART_BYTES`)
    POST   /rest/videos?action=finalizeUpload   {finalizeUploadRequest: {video, uploadToken,
                                                uploadedPartIds}} -> 200
    GET    /rest/videos/{urn}                   {status, ...}
    PUT    /dms-uploads/image/{asset}           the image's bytes -> 201
    PUT    /dms-uploads/video/{asset}/{part}    one part's bytes -> 200 with its `ETag`
    GET    /rest/socialActions/{urn}            likesSummary, commentsSummary

Auth: `Authorization: Bearer <token>`. A token `li-person-<id>` acts for `urn:li:person:<id>`;
`expired...` answers 401 INVALID_ACCESS_TOKEN, `revoked...` 401 REVOKED_ACCESS_TOKEN; any other
token acts for `DEFAULT_PERSON`. A token containing `noread` lacks the read permissions
(`r_member_social`, `r_organization_social`): reading posts answers 403 ACCESS_DENIED. A member
may author as themself or as any organization; another member's URN is 403. The ledger's
account is the author URN, its platform `linkedin`, its text the commentary as LinkedIn shows it.

Like LinkedIn:
- `/rest` calls need `LinkedIn-Version: YYYYMM`: none is 400 VERSION_MISSING; one older than
  `OLDEST_ACTIVE_VERSION`, malformed or in the future is 426 NONEXISTENT_VERSION;
- `commentary` is read in the "little" format: `\\x` is a literal x, `{hashtag|\\#|tag}` a
  hashtag, `@[Name](urn:li:...)` a mention; an unescaped reserved character that forms none of
  these silently cuts the commentary there (the post is still created, with a 201);
- errors are `{"status", "code"?, "serviceErrorCode"?, "message"}`; invalid posts are 422 with
  `errorDetails.inputErrors`, unknown body fields 400 "Unpermitted fields present in
  REQUEST_BODY"; the same author posting the same text again within `DUPLICATE_WINDOW_S` is 422
  "Content is a duplicate of urn:li:share:..."; media not AVAILABLE cannot be attached;
- quotas are daily, per member, and end at midnight UTC: over the `linkedin` limit (only its
  `limit` counts; the window is always the UTC day), POST /rest/posts is 429 TOO_MANY_REQUESTS
  with no rate-limit header and no Retry-After.

Not like LinkedIn: images and videos "process" for `PROCESSING_S` seconds (videos: for
`toolkit.processing.seconds["linkedin"]` when set, see `processing`, where every image and video
made is recorded) and fail only when the first bytes are not an image's signature or a video's
`ftyp` box; an unused video is kept as long as the emulator runs; documents, captions,
thumbnails, polls, reshares and edits are not served; metrics are synthetic.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = [
    "DEFAULT_PERSON",
    "DUPLICATE_WINDOW_S",
    "OLDEST_ACTIVE_VERSION",
    "PART_BYTES",
    "PROCESSING_S",
    "LinkedInPlatform",
    "read_little",
]

NAME = Platform.LINKEDIN.value
DEFAULT_PERSON = "pw4Tester"
OLDEST_ACTIVE_VERSION = "202507"
DUPLICATE_WINDOW_S = 24 * 3600.0
PROCESSING_S = 0.2
PART_BYTES = 4 * 1024 * 1024
MAX_COMMENTARY = 3000
MAX_VIDEO_BYTES = 500 * 1000 * 1000
DEFAULT_DAILY_LIMIT = RateLimit(limit=100_000, window_seconds=86_400)

_RESERVED = frozenset("\\|{}@[]()<>#*_~")
_HASHTAG = re.compile(r"\{hashtag\|\\?#\|((?:\\.|[^\\}])*)\}", re.DOTALL)
_MENTION = re.compile(r"@\[((?:\\.|[^\\\]])*)\]\((urn:li:(?:person|organization):[^)\s]+)\)")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PERSON = re.compile(r"urn:li:person:[A-Za-z0-9_-]+")
_ORGANIZATION = re.compile(r"urn:li:organization:\d+")
_POST_FIELDS = frozenset(
    {
        "author",
        "commentary",
        "visibility",
        "distribution",
        "lifecycleState",
        "isReshareDisabledByAuthor",
        "content",
        "contentLandingPage",
        "contentCallToActionLabel",
        "reshareContext",
        "container",
        "adContext",
    }
)
_VISIBILITY = ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "ACCESS_DENIED",
    404: "NOT_FOUND",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

Handler = Callable[[Request, "_Caller"], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Caller:
    """Who a token acts for, and whether it may read posts."""

    person: str  # urn:li:person:...
    can_read: bool
    version: str


@dataclass(slots=True)
class _Asset:
    """An image or video, from initializeUpload to AVAILABLE."""

    urn: str
    owner: str
    kind: str  # image | video
    size: int = 0
    parts: list[tuple[int, int]] = field(default_factory=list)  # (first byte, last byte)
    etags: dict[int, str] = field(default_factory=dict)
    upload_token: str = ""
    head: bytes = b""
    uploaded: bool = False
    ready_at: float | None = None
    failure: str | None = None

    def status(self, now: float) -> str:
        if not self.uploaded or self.ready_at is None:
            return "WAITING_UPLOAD"
        if now < self.ready_at:
            return "PROCESSING"
        return "PROCESSING_FAILED" if self.failure else "AVAILABLE"


class LinkedInPlatform:
    """LinkedIn's REST API over the shared ledger (see the module docstring)."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._daily_limit = toolkit.rate_limits.get(NAME, DEFAULT_DAILY_LIMIT).limit
        self._daily: dict[tuple[str, str], int] = {}  # (member, UTC date) -> posts created
        self._assets: dict[str, _Asset] = {}  # urn -> asset
        self._uploads: dict[str, str] = {}  # upload path id -> urn
        self._authors: dict[str, str] = {}  # post urn -> author urn
        self._ids = itertools.count(7_260_000_000_000_000_001)

    def routes(self) -> Sequence[BaseRoute]:
        """The endpoints behind the fault gate; only POST /rest/posts creates posts."""
        route = self._toolkit.route
        api = self._api
        return [
            route(
                self,
                "/rest/posts",
                api(self._create),
                methods=["POST"],
                creates=True,
                account_of=_account_of,
            ),
            route(self, "/rest/posts", api(self._find), methods=["GET"], account_of=_account_of),
            route(
                self,
                "/rest/posts/{urn}",
                api(self._get_post),
                methods=["GET"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/posts/{urn}",
                api(self._delete),
                methods=["DELETE"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/images",
                api(self._images_action),
                methods=["POST"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/images/{urn}",
                api(self._get_asset),
                methods=["GET"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/videos",
                api(self._videos_action),
                methods=["POST"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/videos/{urn}",
                api(self._get_asset),
                methods=["GET"],
                account_of=_account_of,
            ),
            route(
                self,
                "/rest/socialActions/{urn}",
                api(self._social_actions),
                methods=["GET"],
                account_of=_account_of,
            ),
            route(
                self,
                "/dms-uploads/image/{upload}",
                self._put_image,
                methods=["PUT"],
                account_of=_account_of,
            ),
            route(
                self,
                "/dms-uploads/video/{upload}/{part:int}",
                self._put_video_part,
                methods=["PUT"],
                account_of=_account_of,
            ),
        ]

    # -- the gate's error shapes -----------------------------------------------------------

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error as LinkedIn words it."""
        if body is None:
            body = _error_body(status, _CODES.get(status, "ERROR"), f"HTTP {status}")
        return JSONResponse(body, status)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429: LinkedIn sends neither Retry-After nor rate-limit headers."""
        return _too_many()

    # -- plumbing --------------------------------------------------------------------------

    def _api(self, handler: Handler) -> Endpoint:
        """Check the token and the LinkedIn-Version, then handle the request."""

        async def endpoint(request: Request) -> Response:
            token = _bearer(request)
            person = person_of_token(token)
            if person is None or token is None:
                lowered = (token or "").lower()
                if lowered.startswith("revoked"):
                    body = _error_body(
                        401,
                        "REVOKED_ACCESS_TOKEN",
                        "The token used in the request has been revoked by the user",
                        service_code=65601,
                    )
                else:
                    body = _error_body(
                        401, "INVALID_ACCESS_TOKEN", "Invalid access token", service_code=65600
                    )
                return JSONResponse(body, 401)
            version = request.headers.get("linkedin-version")
            if not version:
                return JSONResponse(
                    _error_body(
                        400,
                        "VERSION_MISSING",
                        "A version must be present. Please specify a version by adding the "
                        "LinkedIn-Version header.",
                    ),
                    400,
                )
            current = datetime.now(UTC).strftime("%Y%m")
            if not re.fullmatch(r"\d{6}", version) or not (
                OLDEST_ACTIVE_VERSION <= version <= current
            ):
                return JSONResponse(
                    _error_body(
                        426, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
                    ),
                    426,
                )
            caller = _Caller(person=person, can_read="noread" not in token.lower(), version=version)
            return await handler(request, caller)

        return endpoint

    def _may_act_as(self, caller: _Caller, author: str) -> bool:
        return author == caller.person or _ORGANIZATION.fullmatch(author) is not None

    def _new_id(self) -> str:
        return str(next(self._ids))

    # -- posts -----------------------------------------------------------------------------

    async def _create(self, request: Request, caller: _Caller) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _invalid(400, "The request body is not a JSON object")
        unknown = sorted(set(body) - _POST_FIELDS)
        if unknown:
            fields = ", ".join(f"/{name}" for name in unknown)
            return _invalid(
                400,
                "Unpermitted fields present in REQUEST_BODY: Data Processing Exception while "
                f"processing fields [{fields}]",
            )
        author = body.get("author")
        if not isinstance(author, str) or not (
            _PERSON.fullmatch(author) or _ORGANIZATION.fullmatch(author)
        ):
            return _input_error("/author", "author must be a person or organization URN")
        if not self._may_act_as(caller, author):
            return JSONResponse(
                _error_body(
                    403,
                    "ACCESS_DENIED",
                    f"Not enough permissions to access: partnerApiPostsExternal.CREATE."
                    f"{caller.version}01",
                    service_code=100,
                ),
                403,
            )
        commentary = body.get("commentary")
        if not isinstance(commentary, str):
            return _input_error("/commentary", "commentary is required")
        problem = _check_shape(body)
        if problem is not None:
            return _input_error(*problem)
        content = body.get("content")
        content_problem = self._check_content(content, author)
        if content_problem is not None:
            return _input_error(*content_problem)
        shown, stored = read_little(commentary)
        if len(shown) > MAX_COMMENTARY:
            return _input_error(
                "/commentary", f"length of commentary exceeds {MAX_COMMENTARY} characters"
            )
        now = time.time()
        duplicate = self._duplicate_of(author, shown, now)
        if duplicate is not None:
            return JSONResponse(
                {
                    "errorDetailType": "com.linkedin.common.error.BadRequest",
                    "message": f"Content is a duplicate of {duplicate}",
                    "status": 422,
                },
                422,
            )
        day = (caller.person, datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d"))
        if self._daily.get(day, 0) >= self._daily_limit:
            return _too_many()
        self._daily[day] = self._daily.get(day, 0) + 1
        urn = f"urn:li:share:{self._new_id()}"
        post, _ = self._ledger.record(
            platform=NAME,
            account=author,
            text=shown,
            received_at=self._toolkit.received_at(request),
            post_id=urn,
            attributes={
                "commentary": stored,
                "visibility": body.get("visibility"),
                "distribution": body.get("distribution"),
                "lifecycleState": body.get("lifecycleState"),
                "isReshareDisabledByAuthor": body.get("isReshareDisabledByAuthor"),
                "content": content,
                "linkedin_version": caller.version,
                "restli_protocol": request.headers.get("x-restli-protocol-version"),
            },
        )
        self._authors[post.post_id] = author
        return Response(status_code=201, headers={"x-restli-id": urn})

    def _check_content(self, content: Any, author: str) -> tuple[str, str] | None:
        if content is None:
            return None
        if not isinstance(content, dict) or len(content) != 1:
            return "/content", "content must hold exactly one of media, multiImage, article"
        kind, value = next(iter(content.items()))
        if not isinstance(value, dict):
            return f"/content/{kind}", "must be an object"
        now = time.time()
        if kind == "media":
            return self._check_media(value.get("id"), author, now, "/content/media/id")
        if kind == "multiImage":
            images = value.get("images")
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                return "/content/multiImage/images", "a multiImage post takes 2 to 20 images"
            for index, image in enumerate(images):
                where = f"/content/multiImage/images/{index}/id"
                media_id = image.get("id") if isinstance(image, dict) else None
                if not isinstance(media_id, str) or not media_id.startswith("urn:li:image:"):
                    return where, "must be an image URN"
                problem = self._check_media(media_id, author, now, where)
                if problem is not None:
                    return problem
            return None
        if kind == "article":
            source = value.get("source")
            title = value.get("title")
            if not isinstance(source, str) or not source.startswith(("http://", "https://")):
                return "/content/article/source", "source must be an http(s) URL"
            if not isinstance(title, str) or not title.strip():
                return "/content/article/title", "title is required"
            return None
        return f"/content/{kind}", f"{kind} content is not supported here"

    def _check_media(
        self, media_id: Any, author: str, now: float, where: str
    ) -> tuple[str, str] | None:
        asset = self._assets.get(media_id) if isinstance(media_id, str) else None
        if asset is None or asset.owner != author:
            return where, f"{media_id} does not exist or does not belong to {author}"
        status = asset.status(now)
        if status != "AVAILABLE":
            return where, f"{media_id} is not available (status {status})"
        return None

    def _duplicate_of(self, author: str, text: str, now: float) -> str | None:
        if not text.strip():
            return None
        for post in self._ledger.recent(NAME, author, since=now - DUPLICATE_WINDOW_S, limit=10_000):
            if post.text.strip() == text.strip():
                return post.post_id
        return None

    async def _find(self, request: Request, caller: _Caller) -> Response:
        params = request.query_params
        if params.get("q") != "author":
            return _invalid(400, "Query parameter q must be one of: author")
        author = params.get("author", "")
        if not (_PERSON.fullmatch(author) or _ORGANIZATION.fullmatch(author)):
            return _invalid(400, f"Invalid value for param author: {author!r}")
        if not caller.can_read:
            return _no_read(caller, "FINDER-author")
        count_text = params.get("count", "10")
        start_text = params.get("start", "0")
        if not count_text.isdigit() or not 1 <= int(count_text) <= 100:
            return _invalid(400, "count must be from 1 to 100")
        if not start_text.isdigit():
            return _invalid(400, "start must be a whole number")
        count, start = int(count_text), int(start_text)
        posts = self._ledger.recent(NAME, author, limit=1_000_000)
        page = posts[start : start + count]
        elements: list[JsonValue] = [_public(post) for post in page]
        return JSONResponse(
            {
                "paging": {"start": start, "count": count, "links": [], "total": len(posts)},
                "elements": elements,
            }
        )

    async def _get_post(self, request: Request, caller: _Caller) -> Response:
        if not caller.can_read:
            return _no_read(caller, "GET")
        post = self._post(request.path_params["urn"])
        if post is None:
            return _not_found()
        return JSONResponse(_public(post))

    async def _delete(self, request: Request, caller: _Caller) -> Response:
        post = self._post(request.path_params["urn"])
        if post is None:
            return _not_found()
        if not self._may_act_as(caller, post.account):
            return JSONResponse(
                _error_body(403, "ACCESS_DENIED", "Not enough permissions to delete this post"),
                403,
            )
        self._ledger.delete(NAME, post.account, post.post_id)
        self._authors.pop(post.post_id, None)
        return Response(status_code=204)

    async def _social_actions(self, request: Request, caller: _Caller) -> Response:
        urn = request.path_params["urn"]
        if self._post(urn) is None:
            return _not_found()
        counts = metrics_of(urn)
        return JSONResponse(
            {
                "target": urn,
                "likesSummary": {
                    "totalLikes": counts["likes"],
                    "aggregatedTotalLikes": counts["likes"],
                    "likedByCurrentUser": False,
                },
                "commentsSummary": {
                    "totalFirstLevelComments": counts["comments"],
                    "aggregatedTotalComments": counts["comments"],
                },
            }
        )

    def _post(self, urn: str) -> StoredPost | None:
        author = self._authors.get(urn)
        return None if author is None else self._ledger.get(NAME, author, urn)

    # -- media -----------------------------------------------------------------------------

    async def _images_action(self, request: Request, caller: _Caller) -> Response:
        if request.query_params.get("action") != "initializeUpload":
            return _invalid(400, "action must be initializeUpload")
        owner = await self._owner(request, caller)
        if isinstance(owner, Response):
            return owner
        upload = secrets.token_urlsafe(12)
        urn = f"urn:li:image:C4E10AQ{secrets.token_urlsafe(9)}"
        self._assets[urn] = _Asset(urn=urn, owner=owner, kind="image")
        self._uploads[upload] = urn
        self._toolkit.processing.record(NAME, owner, urn)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "value": {
                    "uploadUrlExpiresAt": int((time.time() + 86_400) * 1000),
                    "uploadUrl": f"{base}/dms-uploads/image/{upload}?ca=vector_feedshare&sync=0",
                    "image": urn,
                }
            }
        )

    async def _videos_action(self, request: Request, caller: _Caller) -> Response:
        action = request.query_params.get("action")
        if action == "initializeUpload":
            return await self._video_initialize(request, caller)
        if action == "finalizeUpload":
            return await self._video_finalize(request, caller)
        return _invalid(400, "action must be initializeUpload or finalizeUpload")

    async def _video_initialize(self, request: Request, caller: _Caller) -> Response:
        owner = await self._owner(request, caller)
        if isinstance(owner, Response):
            return owner
        body = await _json_body(request)
        init = body.get("initializeUploadRequest") if isinstance(body, dict) else None
        size = init.get("fileSizeBytes") if isinstance(init, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return _input_error(
                "/initializeUploadRequest/fileSizeBytes", "fileSizeBytes must be positive"
            )
        if size > MAX_VIDEO_BYTES:
            return _input_error(
                "/initializeUploadRequest/fileSizeBytes",
                f"video files may be at most {MAX_VIDEO_BYTES} bytes",
            )
        upload = secrets.token_urlsafe(12)
        urn = f"urn:li:video:C5F10AQ{secrets.token_urlsafe(9)}"
        parts = [(first, min(first + PART_BYTES, size) - 1) for first in range(0, size, PART_BYTES)]
        token = "" if len(parts) == 1 else secrets.token_urlsafe(16)
        self._assets[urn] = _Asset(
            urn=urn, owner=owner, kind="video", size=size, parts=parts, upload_token=token
        )
        self._uploads[upload] = urn
        self._toolkit.processing.record(NAME, owner, urn)
        base = str(request.base_url).rstrip("/")
        instructions: list[JsonValue] = [
            {
                "uploadUrl": f"{base}/dms-uploads/video/{upload}/{index}?ca=vector_feedshare",
                "firstByte": first,
                "lastByte": last,
            }
            for index, (first, last) in enumerate(parts)
        ]
        return JSONResponse(
            {
                "value": {
                    "uploadUrlsExpireAt": int((time.time() + 86_400) * 1000),
                    "video": urn,
                    "uploadInstructions": instructions,
                    "uploadToken": token,
                }
            }
        )

    async def _video_finalize(self, request: Request, caller: _Caller) -> Response:
        body = await _json_body(request)
        final = body.get("finalizeUploadRequest") if isinstance(body, dict) else None
        if not isinstance(final, dict):
            return _input_error("/finalizeUploadRequest", "finalizeUploadRequest is required")
        asset = self._assets.get(str(final.get("video")))
        if asset is None or asset.kind != "video" or not self._may_act_as(caller, asset.owner):
            return _input_error("/finalizeUploadRequest/video", "unknown video")
        if str(final.get("uploadToken") or "") != asset.upload_token:
            return _input_error("/finalizeUploadRequest/uploadToken", "invalid upload token")
        expected = [asset.etags.get(index) for index in range(len(asset.parts))]
        if None in expected or final.get("uploadedPartIds") != expected:
            return _input_error(
                "/finalizeUploadRequest/uploadedPartIds",
                "uploadedPartIds do not match the uploaded parts, in order",
            )
        asset.uploaded = True
        asset.ready_at = time.time() + self._toolkit.processing.delay(NAME, PROCESSING_S)
        if asset.head[4:8] != b"ftyp":
            asset.failure = "The video could not be transcoded: unsupported format"
        return JSONResponse({})

    async def _owner(self, request: Request, caller: _Caller) -> str | Response:
        body = await _json_body(request)
        init = body.get("initializeUploadRequest") if isinstance(body, dict) else None
        owner = init.get("owner") if isinstance(init, dict) else None
        if not isinstance(owner, str) or not (
            _PERSON.fullmatch(owner) or _ORGANIZATION.fullmatch(owner)
        ):
            return _input_error("/initializeUploadRequest/owner", "owner must be a URN")
        if not self._may_act_as(caller, owner):
            return JSONResponse(
                _error_body(403, "ACCESS_DENIED", f"Not enough permissions to act as {owner}"),
                403,
            )
        return owner

    async def _get_asset(self, request: Request, caller: _Caller) -> Response:
        asset = self._assets.get(request.path_params["urn"])
        if asset is None or not self._may_act_as(caller, asset.owner):
            return _not_found()
        status = asset.status(time.time())
        body: dict[str, JsonValue] = {"id": asset.urn, "owner": asset.owner, "status": status}
        if status == "AVAILABLE":
            body["downloadUrl"] = f"https://media.licdn.com/dms/{asset.kind}/{asset.urn[-12:]}"
            body["downloadUrlExpiresAt"] = int((time.time() + 3600) * 1000)
        if status == "PROCESSING_FAILED":
            body["processingFailureReason"] = asset.failure
        return JSONResponse(body)

    async def _put_image(self, request: Request) -> Response:
        asset = self._assets.get(self._uploads.get(request.path_params["upload"], ""))
        if asset is None or asset.kind != "image" or asset.uploaded:
            return JSONResponse(_error_body(404, "NOT_FOUND", "No such upload"), 404)
        data = await request.body()
        asset.size = len(data)
        asset.uploaded = True
        asset.ready_at = time.time() + PROCESSING_S
        if not data.startswith(_SIGNATURES):
            asset.failure = "The image could not be processed: unsupported image format"
        return Response(status_code=201)

    async def _put_video_part(self, request: Request) -> Response:
        asset = self._assets.get(self._uploads.get(request.path_params["upload"], ""))
        index: int = request.path_params["part"]
        if asset is None or asset.kind != "video" or not 0 <= index < len(asset.parts):
            return JSONResponse(_error_body(404, "NOT_FOUND", "No such upload"), 404)
        data = await request.body()
        first, last = asset.parts[index]
        if len(data) != last - first + 1:
            return _invalid(400, f"part {index} must be {last - first + 1} bytes, not {len(data)}")
        if index == 0:
            asset.head = data[:16]
        etag = f"/ambry-video/signedId/{hashlib.sha256(data).hexdigest()[:32]}"
        asset.etags[index] = etag
        return Response(status_code=200, headers={"ETag": etag})


# -- the little format --------------------------------------------------------------------------


def read_little(commentary: str) -> tuple[str, str]:
    """(the text LinkedIn shows, the commentary it keeps) for a `commentary` as sent.

    Escapes become their characters, hashtag templates `#tag`, mentions their name. At the first
    reserved character that is not escaped and starts no template, the commentary is cut: that
    is what LinkedIn does, without an error.
    """
    shown: list[str] = []
    position = 0
    while position < len(commentary):
        char = commentary[position]
        if char == "\\" and position + 1 < len(commentary):
            shown.append(commentary[position + 1])
            position += 2
            continue
        tag = _HASHTAG.match(commentary, position)
        if tag is not None:
            shown.append("#" + _ESCAPE.sub(r"\1", tag.group(1)))
            position = tag.end()
            continue
        mention = _MENTION.match(commentary, position)
        if mention is not None:
            shown.append(_ESCAPE.sub(r"\1", mention.group(1)))
            position = mention.end()
            continue
        if char in _RESERVED:
            return "".join(shown), commentary[:position]
        shown.append(char)
        position += 1
    return "".join(shown), commentary


def metrics_of(urn: str) -> dict[str, int]:
    """Plausible counts that depend on the post URN alone (so tests can pin them)."""
    seed = int.from_bytes(hashlib.blake2b(f"linkedin:{urn}".encode(), digest_size=8).digest())
    likes = seed % 2000
    return {"likes": likes, "comments": likes * ((seed >> 20) % 25) // 100}


def _public(post: StoredPost) -> dict[str, JsonValue]:
    created = int(post.created_at * 1000)
    data: dict[str, JsonValue] = {
        "id": post.post_id,
        "author": post.account,
        "commentary": post.attributes.get("commentary"),
        "visibility": post.attributes.get("visibility"),
        "distribution": post.attributes.get("distribution"),
        "lifecycleState": post.attributes.get("lifecycleState"),
        "isReshareDisabledByAuthor": post.attributes.get("isReshareDisabledByAuthor"),
        "createdAt": created,
        "publishedAt": created,
        "lastModifiedAt": created,
        "lifecycleStateInfo": {"isEditedByAuthor": False},
    }
    if post.attributes.get("content") is not None:
        data["content"] = post.attributes["content"]
    return data


def _check_shape(body: dict[str, Any]) -> tuple[str, str] | None:
    if body.get("visibility") not in _VISIBILITY:
        return "/visibility", f"visibility must be one of {', '.join(_VISIBILITY)}"
    distribution = body.get("distribution")
    feed = distribution.get("feedDistribution") if isinstance(distribution, dict) else None
    if feed not in ("MAIN_FEED", "NONE"):
        return "/distribution/feedDistribution", "feedDistribution must be MAIN_FEED or NONE"
    if body.get("lifecycleState") not in ("PUBLISHED", "DRAFT"):
        return "/lifecycleState", "lifecycleState must be PUBLISHED or DRAFT"
    reshare = body.get("isReshareDisabledByAuthor")
    if reshare is not None and not isinstance(reshare, bool):
        return "/isReshareDisabledByAuthor", "must be a boolean"
    return None


# -- requests and responses ---------------------------------------------------------------------


def person_of_token(token: str | None) -> str | None:
    """The member URN a bearer token acts for, or None when it is missing or no longer works."""
    if not token:
        return None
    lowered = token.lower()
    if lowered.startswith(("expired", "revoked")):
        return None
    if lowered.startswith("li-person-"):
        person = token[len("li-person-") :].split("+", 1)[0]
        urn = f"urn:li:person:{person}"
        return urn if _PERSON.fullmatch(urn) else None
    return f"urn:li:person:{DEFAULT_PERSON}"


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _account_of(request: Request) -> str:
    """The account fault rules match: the token's member URN (or `anonymous`)."""
    return person_of_token(_bearer(request)) or "anonymous"


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _error_body(
    status: int, code: str, message: str, *, service_code: int | None = None
) -> dict[str, JsonValue]:
    body: dict[str, JsonValue] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return body


def _invalid(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status)


def _input_error(path: str, description: str) -> JSONResponse:
    body: dict[str, JsonValue] = {
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": f"ERROR :: {path} :: {description}",
        "errorDetails": {
            "inputErrors": [
                {
                    "description": description,
                    "input": {"inputPath": {"fieldPath": path}},
                    "code": "INVALID_VALUE",
                }
            ]
        },
        "status": 422,
    }
    return JSONResponse(body, 422)


def _no_read(caller: _Caller, method: str) -> JSONResponse:
    return JSONResponse(
        _error_body(
            403,
            "ACCESS_DENIED",
            f"Not enough permissions to access: partnerApiPostsExternal.{method}."
            f"{caller.version}01",
            service_code=100,
        ),
        403,
    )


def _not_found() -> JSONResponse:
    return JSONResponse(_error_body(404, "NOT_FOUND", "Not Found"), 404)


def _too_many() -> JSONResponse:
    return JSONResponse(
        _error_body(
            429,
            "TOO_MANY_REQUESTS",
            "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
            service_code=101,
        ),
        429,
    )
