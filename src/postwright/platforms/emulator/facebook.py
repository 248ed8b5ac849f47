"""Facebook Pages (Graph API) as the emulator serves it, and the Graph conventions it shares with
the `instagram` and `threads` modules.

Base URL for adapters: `{emulator}/facebook/v26.0` (any `v<major>.<minor>` is accepted).

    POST   /{page-id}/feed               message, link, attached_media=[{"media_fbid"}] -> {id}
    POST   /{page-id}/photos             multipart `source` or `url`; caption, alt_text_custom,
                                         published (default true) -> {id, post_id} | {id}
    POST   /{page-id}/videos             multipart `source` or `file_url`; description -> {id}
    GET    /{page-id}/published_posts    since, until (unix or ISO 8601), limit, fields
    GET    /{object-id}?fields=          a post, a photo or a video
    DELETE /{object-id}                  -> {"success": true}
    GET    /{post-id}/insights?metric=   post_total_media_view_unique, post_clicks, ...
    GET    /{video-id}/video_insights?metric=

Graph conventions (all three Meta platforms):

- A request's parameters come from the query string and from the body, which may be JSON, a
  urlencoded form or a multipart form (files). The token is `Authorization: Bearer|OAuth <token>`
  or an `access_token` parameter. No token: 400, code 104. A token starting with `expired`:
  400, code 190, subcode 463; with `invalid` or `revoked`: 400, code 190, subcode 467.
- Errors are `{"error": {message, type, code, error_subcode?, is_transient?, fbtrace_id}}`.
- Every answer carries `X-App-Usage` and `X-Business-Use-Case-Usage` (percentages of the
  account's call window, and `estimated_time_to_regain_access` in minutes once it is spent).
  Over the window: 403 with the platform's throttle code (Pages 80001, Instagram 80002,
  Threads 4). An injected `rate_limit` fault answers 429 with `Retry-After` and the same body.
- Injected statuses without a body become Graph errors: 400 -> code 100, 401/403 -> 190,
  404 -> 100/33, 429 -> the throttle code, 500 -> code 1 and 503 -> code 2 (both transient).
- Unknown object ids: 400, code 100, subcode 33 ("Unsupported get/delete request").
- Unknown `fields` or insight metrics: 400, code 100, as Meta answers for deprecated ones.

Only the creating routes (feed, photos, videos) are `creates=True`; an unpublished photo is not a
post and stays out of the ledger until a feed post attaches it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import JsonValue
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.gate import AccountOf, Endpoint, account_in_path
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import Quota, RateLimit
from postwright.platforms.graph import parse_graph_time, split_fields

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "FacebookPlatform",
    "GraphApi",
    "GraphCall",
    "GraphHandler",
    "GraphPlatform",
    "Upload",
    "graph_error",
    "graph_time",
    "insight",
    "invalid_metric",
    "metric_names",
    "metric_value",
    "page_window",
    "parse_since",
    "unknown_field",
    "unknown_object",
]

NAME = Platform.FACEBOOK.value
DEFAULT_RATE_LIMIT = RateLimit(limit=4800, window_seconds=3600)
"""Calls per Page per hour (a BUC budget is 4,800 x engaged users a day; this is a stand-in)."""

_MAX_MESSAGE = 63206
_URL = re.compile(r"^https?://\S+$")


# -- Graph conventions ---------------------------------------------------------------------------


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    transient: bool = False,
    user_message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A Graph API error answer."""
    error: dict[str, JsonValue] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    if user_message is not None:
        error["error_user_msg"] = user_message
    error["fbtrace_id"] = secrets.token_urlsafe(12)
    return JSONResponse({"error": error}, status, headers=dict(headers or {}))


def graph_time(timestamp: float) -> str:
    """Unix seconds as Graph writes them: `2026-08-01T12:00:00+0000`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def metric_value(platform: str, object_id: str, metric: str) -> int:
    """A plausible count that depends on the ids alone, so tests can pin it."""
    digest = hashlib.blake2b(f"{platform}:{object_id}:{metric}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 5000


def insight(object_id: str, name: str, value: JsonValue) -> dict[str, JsonValue]:
    """One entry of an insights answer."""
    return {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": name.replace("_", " ").capitalize(),
        "id": f"{object_id}/insights/{name}/lifetime",
    }


@dataclass(frozen=True, slots=True)
class Upload:
    """A file received in a multipart body."""

    filename: str
    content_type: str
    size: int
    sha256: str

    def describe(self) -> dict[str, JsonValue]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(slots=True)
class GraphCall:
    """One authenticated request, its account and its parameters (query and body merged)."""

    request: Request
    account: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes")

    def fields(self, default: Sequence[str]) -> list[str]:
        raw = self.text("fields")
        return split_fields(raw) if raw else list(default)


GraphHandler = Callable[[GraphCall], Awaitable[Response]]


class _BadBody(ValueError):
    pass


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise _BadBody(f"the body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise _BadBody("the JSON body must be an object")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form(max_part_size=8 * 1024 * 1024) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    files[key] = Upload(
                        filename=value.filename or key,
                        content_type=value.content_type or "application/octet-stream",
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                    )
                else:
                    params[key] = value
    return params, files


def _token(request: Request, params: Mapping[str, Any]) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    token = params.get("access_token")
    return token if isinstance(token, str) and token else None


class GraphApi:
    """The parts every emulated Meta platform shares: auth, call windows, usage headers, errors."""

    def __init__(
        self,
        toolkit: Toolkit,
        *,
        name: str,
        default_limit: RateLimit,
        throttle_code: int,
        usage_type: str,
    ) -> None:
        self.toolkit = toolkit
        self.name = name
        self.limiter = toolkit.limiter(name, default_limit)
        self.throttle_code = throttle_code
        self.usage_type = usage_type

    def usage_headers(self, account: str, quota: Quota) -> dict[str, str]:
        """`X-App-Usage` and `X-Business-Use-Case-Usage` for the account's window."""
        used = quota.limit - quota.remaining
        percent = min(100, math.ceil(100 * used / quota.limit))
        regain = (
            0 if quota.remaining > 0 else math.ceil(max(0.0, quota.reset_at - time.time()) / 60)
        )
        buc = {
            account: [
                {
                    "type": self.usage_type,
                    "call_count": percent,
                    "total_cputime": max(1, percent // 2),
                    "total_time": max(1, percent // 2),
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        app = {"call_count": percent, "total_cputime": max(1, percent // 2), "total_time": 1}
        return {
            "X-App-Usage": json.dumps(app, separators=(",", ":")),
            "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
        }

    def throttled(self, account: str, *, status: int, regain_minutes: int) -> JSONResponse:
        """The platform's throttle answer, with the BUC header saying when access returns."""
        quota = self.limiter.peek(account)
        headers = self.usage_headers(account, quota)
        buc = json.loads(headers["X-Business-Use-Case-Usage"])
        for entry in buc[account]:
            entry["call_count"] = 100
            entry["estimated_time_to_regain_access"] = regain_minutes
        headers["X-Business-Use-Case-Usage"] = json.dumps(buc, separators=(",", ":"))
        return graph_error(
            status,
            self.throttle_code,
            f"(#{self.throttle_code}) There have been too many calls for this {self.usage_type} "
            "account. Wait a bit and try again.",
            headers=headers,
        )

    # FaultResponder
    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error: the rule's body, or the Graph error that status stands for."""
        headers = self.usage_headers(account, self.limiter.peek(account))
        if body is not None:
            return JSONResponse(body, status, headers=headers)
        if status == 429:
            return self.throttled(account, status=429, regain_minutes=1)
        if status in (401, 403):
            return graph_error(
                status, 190, "Error validating access token (injected fault)", headers=headers
            )
        if status == 404:
            return graph_error(
                status, 100, "Unsupported request (injected fault)", subcode=33, headers=headers
            )
        if status == 503:
            return graph_error(
                status,
                2,
                "Service temporarily unavailable",
                transient=True,
                headers=headers,
            )
        if status >= 500:
            return graph_error(
                status,
                1,
                "An unknown error has occurred.",
                transient=True,
                headers=headers,
            )
        return graph_error(
            status, 100, "(#100) Invalid parameter (injected fault)", headers=headers
        )

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected throttle: 429, `Retry-After`, and the BUC header's estimate in minutes."""
        response = self.throttled(account, status=429, regain_minutes=math.ceil(retry_after / 60))
        response.headers["Retry-After"] = str(retry_after)
        return response

    def api(self, handler: GraphHandler, account_of: AccountOf) -> Endpoint:
        """Check the token, count the call against the account's window, then handle it."""

        async def endpoint(request: Request) -> Response:
            account = account_of(request)
            try:
                params, files = await _read_params(request)
            except _BadBody as exc:
                return graph_error(400, 100, f"(#100) {exc}")
            token = _token(request, params)
            params.pop("access_token", None)
            if token is None:
                return graph_error(
                    400, 104, "An access token is required to request this resource."
                )
            if token.startswith("expired"):
                return graph_error(
                    400,
                    190,
                    "Error validating access token: Session has expired.",
                    subcode=463,
                )
            if token.startswith(("invalid", "revoked")):
                return graph_error(
                    400, 190, "Invalid OAuth access token - Cannot parse access token", subcode=467
                )
            quota = self.limiter.hit(account)
            if not quota.allowed:
                regain = math.ceil(max(0.0, quota.reset_at - time.time()) / 60)
                return self.throttled(account, status=403, regain_minutes=max(1, regain))
            response = await handler(GraphCall(request, account, params, files))
            response.headers.update(self.usage_headers(account, quota))
            return response

        return endpoint


class GraphPlatform:
    """What each Meta platform's class shares: its `GraphApi` (whose errors answer injected
    faults) and its routes under `/{name}/{version}`, on a user by `{account}` or on a node by
    `{object_id}`, whose owner the platform looks up in `_owner_of`."""

    name: str

    def __init__(
        self, toolkit: Toolkit, *, default_limit: RateLimit, throttle_code: int, usage_type: str
    ) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._graph = GraphApi(
            toolkit,
            name=self.name,
            default_limit=default_limit,
            throttle_code=throttle_code,
            usage_type=usage_type,
        )

    # FaultResponder
    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        return self._graph.error_response(account, status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return self._graph.rate_limited_response(account, retry_after)

    def _owner_of(self, request: Request) -> str:
        raise NotImplementedError

    def _on_user(
        self, edge: str, handler: GraphHandler, method: str, *, creates: bool = False
    ) -> Route:
        return self._toolkit.route(
            self,
            f"/{self.name}/{{version}}/{{account}}/{edge}",
            self._graph.api(handler, account_in_path),
            methods=[method],
            creates=creates,
            account_of=account_in_path,
        )

    def _on_node(self, suffix: str, handler: GraphHandler, method: str = "GET") -> Route:
        return self._toolkit.route(
            self,
            f"/{self.name}/{{version}}/{{object_id}}{suffix}",
            self._graph.api(handler, self._owner_of),
            methods=[method],
            account_of=self._owner_of,
        )


def unknown_object(object_id: str, verb: str = "get") -> JSONResponse:
    """What Graph answers for an id that does not exist (or is not the caller's)."""
    return graph_error(
        400,
        100,
        f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        subcode=33,
        error_type="GraphMethodException",
    )


def unknown_field(name: str, node: str) -> JSONResponse:
    return graph_error(
        400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
    )


def invalid_metric(name: str) -> JSONResponse:
    return graph_error(
        400,
        100,
        f"(#100) The value must be a valid insights metric: {name}",
        error_type="OAuthException",
    )


def parse_since(value: str | None) -> float | None:
    """`since`/`until` as unix seconds (Graph takes unix seconds or a date string)."""
    if value is None or value == "":
        return None
    if value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return float(value)
    moment = parse_graph_time(value)
    if moment is None:
        raise ValueError(value)
    return moment.timestamp()


_DEFAULT_PAGE = 25
_MAX_PAGE = 100


def page_window(call: GraphCall) -> tuple[float | None, float | None, int] | Response:
    """A listing's `since`, `until` and `limit`, or the code 100 answer to a bad one."""
    try:
        since = parse_since(call.text("since"))
        until = parse_since(call.text("until"))
    except ValueError as exc:
        return graph_error(400, 100, f"(#100) since/until is not a time: {exc}")
    limit_text = call.text("limit") or str(_DEFAULT_PAGE)
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= _MAX_PAGE:
        return graph_error(400, 100, f"(#100) limit must be from 1 to {_MAX_PAGE}")
    return since, until, int(limit_text)


def metric_names(call: GraphCall) -> list[str]:
    raw = call.text("metric") or ""
    return [name.strip() for name in raw.split(",") if name.strip()]


def _summary(total: int) -> dict[str, JsonValue]:
    return {"data": [], "summary": {"total_count": total}}


# -- Facebook Pages ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Media:
    """A photo or video object: its Page, what was uploaded, and the post showing it."""

    kind: str  # photo | video
    page: str
    created_at: float
    attributes: dict[str, JsonValue]
    post_id: str | None = None


_POST_FIELDS = frozenset(
    {"id", "message", "created_time", "permalink_url", "shares", "reactions", "comments", "from"}
)
_PHOTO_FIELDS = frozenset(
    {"id", "name", "created_time", "link", "alt_text_custom", "page_story_id"}
)
_VIDEO_FIELDS = frozenset(
    {"id", "description", "created_time", "permalink_url", "reactions", "comments", "post_id"}
)
_POST_METRICS = frozenset(
    {
        "post_total_media_view_unique",
        "post_media_view",
        "post_clicks",
        "post_clicks_by_type",
        "post_reactions_by_type_total",
    }
)
_VIDEO_METRICS = frozenset(
    {"total_video_views", "total_video_views_unique", "total_video_impressions_unique"}
)


class FacebookPlatform(GraphPlatform):
    """Pages API over the shared ledger: posts there, photos and videos beside it."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        super().__init__(
            toolkit, default_limit=DEFAULT_RATE_LIMIT, throttle_code=80001, usage_type="pages"
        )
        self._ids = itertools.count(122_000_000_001)
        self._media: dict[str, _Media] = {}

    def routes(self) -> Sequence[BaseRoute]:
        """The Page edges (by `{account}`, the Page id) and the object nodes (by `{object_id}`,
        whose Page is looked up); only the three creating edges are `creates=True`."""
        return [
            self._on_user("feed", self._feed, "POST", creates=True),
            self._on_user("photos", self._photos, "POST", creates=True),
            self._on_user("videos", self._videos, "POST", creates=True),
            self._on_user("published_posts", self._published, "GET"),
            self._on_node("", self._read),
            self._on_node("", self._delete, "DELETE"),
            self._on_node("/insights", self._insights),
            self._on_node("/video_insights", self._video_insights),
        ]

    # -- who owns what

    def _owner_of(self, request: Request) -> str:
        object_id = str(request.path_params["object_id"])
        media = self._media.get(object_id)
        if media is not None:
            return media.page
        return object_id.split("_", 1)[0]

    def _post(self, post_id: str) -> StoredPost | None:
        return self._ledger.get(NAME, post_id.split("_", 1)[0], post_id)

    def _new_post_id(self, page: str) -> str:
        return f"{page}_{next(self._ids)}"

    # -- creating

    async def _feed(self, call: GraphCall) -> Response:
        message = call.text("message") or ""
        link = call.text("link")
        if link is not None and not _URL.match(link):
            return graph_error(400, 100, "(#100) The parameter link must be a valid URL")
        if len(message) > _MAX_MESSAGE:
            return graph_error(400, 100, f"(#100) message is longer than {_MAX_MESSAGE} characters")
        try:
            photo_ids = _attached_media(call.params)
        except ValueError as exc:
            return graph_error(400, 100, f"(#100) {exc}")
        photos: list[_Media] = []
        for index, photo_id in enumerate(photo_ids):
            media = self._media.get(photo_id)
            if media is None or media.kind != "photo" or media.page != call.account:
                return graph_error(
                    400, 100, f"(#100) param attached_media[{index}] must be a valid media_fbid"
                )
            if media.post_id is not None:
                return graph_error(
                    400, 100, f"(#100) media_fbid {photo_id} is already attached to a post"
                )
            photos.append(media)
        if not message.strip() and link is None and not photos:
            return graph_error(400, 100, "(#100) Missing message or attachment")
        kind = "album" if photos else ("link" if link else "status")
        post = self._record(
            call,
            text=message,
            attributes={
                "kind": kind,
                "link": link,
                "photos": [
                    {"id": pid, **m.attributes} for pid, m in zip(photo_ids, photos, strict=True)
                ],
            },
        )
        for media in photos:
            media.post_id = post.post_id
        return JSONResponse({"id": post.post_id})

    async def _photos(self, call: GraphCall) -> Response:
        upload = call.files.get("source")
        url = call.text("url")
        if upload is None and url is None:
            return graph_error(400, 324, "(#324) Requires upload file")
        if upload is not None and upload.size == 0:
            return graph_error(400, 324, "(#324) Missing or invalid image file", subcode=2069019)
        if url is not None and (not _URL.match(url) or "fail" in url):
            return graph_error(400, 324, "(#324) Missing or invalid image file", subcode=2069019)
        attributes: dict[str, JsonValue] = {
            "source": upload.describe() if upload is not None else None,
            "url": url,
            "alt_text": call.text("alt_text_custom"),
        }
        photo_id = str(next(self._ids))
        media = _Media("photo", call.account, time.time(), attributes)
        self._media[photo_id] = media
        if not call.flag("published", True):
            return JSONResponse({"id": photo_id})
        caption = call.text("caption") or call.text("message") or ""
        post = self._record(
            call,
            text=caption,
            attributes={"kind": "photo", "photos": [{"id": photo_id, **attributes}]},
        )
        media.post_id = post.post_id
        return JSONResponse({"id": photo_id, "post_id": post.post_id})

    async def _videos(self, call: GraphCall) -> Response:
        upload = call.files.get("source")
        file_url = call.text("file_url")
        if upload is None and file_url is None:
            return graph_error(400, 100, "(#100) Provide a video file in 'source' or 'file_url'")
        if upload is not None and upload.size == 0:
            return graph_error(400, 351, "(#351) Sorry, there was a problem with your video file")
        if file_url is not None and (not _URL.match(file_url) or "fail" in file_url):
            return graph_error(400, 389, "(#389) Unable to fetch video file from URL.")
        attributes: dict[str, JsonValue] = {
            "source": upload.describe() if upload is not None else None,
            "file_url": file_url,
            "title": call.text("title"),
        }
        video_id = str(next(self._ids))
        media = _Media("video", call.account, time.time(), attributes)
        self._media[video_id] = media
        description = call.text("description") or ""
        post = self._record(
            call,
            text=description,
            attributes={"kind": "video", "video": {"id": video_id, **attributes}},
        )
        media.post_id = post.post_id
        return JSONResponse({"id": video_id})

    def _record(
        self, call: GraphCall, *, text: str, attributes: dict[str, JsonValue]
    ) -> StoredPost:
        post, _ = self._ledger.record(
            platform=NAME,
            account=call.account,
            text=text,
            received_at=self._toolkit.received_at(call.request),
            post_id=self._new_post_id(call.account),
            attributes=attributes,
        )
        return post

    # -- reading

    async def _published(self, call: GraphCall) -> Response:
        window = page_window(call)
        if isinstance(window, Response):
            return window
        since, until, limit = window
        fields = call.fields(["id", "message", "created_time"])
        for name in fields:
            if _field_name(name) not in _POST_FIELDS:
                return unknown_field(_field_name(name), "PagePost")
        posts = self._ledger.recent(NAME, call.account, since=since, limit=limit)
        data: list[JsonValue] = [
            self._post_fields(post, fields)
            for post in posts
            if until is None or post.created_at <= until
        ]
        return JSONResponse({"data": data})

    async def _read(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        media = self._media.get(object_id)
        if media is not None:
            return self._read_media(call, object_id, media)
        post = self._post(object_id)
        if post is None:
            return unknown_object(object_id)
        fields = call.fields(["id", "message", "created_time"])
        for name in fields:
            if _field_name(name) not in _POST_FIELDS:
                return unknown_field(_field_name(name), "PagePost")
        return JSONResponse(self._post_fields(post, fields))

    def _read_media(self, call: GraphCall, object_id: str, media: _Media) -> Response:
        post = self._post(media.post_id) if media.post_id else None
        if media.post_id is not None and post is None:
            return unknown_object(object_id)  # its post was deleted
        allowed = _PHOTO_FIELDS if media.kind == "photo" else _VIDEO_FIELDS
        fields = call.fields(["id", "created_time"])
        body: dict[str, JsonValue] = {"id": object_id}
        for name in fields:
            key = _field_name(name)
            if key not in allowed:
                return unknown_field(key, media.kind.capitalize())
            if key == "created_time":
                body[key] = graph_time(media.created_at)
            elif key in ("name", "description") and post is not None and post.text:
                body[key] = post.text
            elif key == "alt_text_custom":
                body[key] = media.attributes.get("alt_text")
            elif key in ("page_story_id", "post_id") and media.post_id:
                body[key] = media.post_id
            elif key in ("permalink_url", "link"):
                body[key] = f"/{media.page}/{media.kind}s/{object_id}/"
            elif key in ("reactions", "comments"):
                body[key] = _summary(metric_value(NAME, object_id, key))
        return JSONResponse(body)

    def _post_fields(self, post: StoredPost, fields: Iterable[str]) -> dict[str, JsonValue]:
        page, _, number = post.post_id.partition("_")
        body: dict[str, JsonValue] = {}
        for name in ["id", *fields]:
            key = _field_name(name)
            if key == "id":
                body["id"] = post.post_id
            elif key == "message" and post.text:
                body["message"] = post.text
            elif key == "created_time":
                body["created_time"] = graph_time(post.created_at)
            elif key == "permalink_url":
                body["permalink_url"] = f"https://www.facebook.com/{page}/posts/{number}"
            elif key == "from":
                body["from"] = {"id": page, "name": page}
            elif key == "shares":
                shares = metric_value(NAME, post.post_id, "shares")
                if shares:
                    body["shares"] = {"count": shares}
            elif key in ("reactions", "comments"):
                body[key] = _summary(metric_value(NAME, post.post_id, key))
        return body

    async def _insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if object_id in self._media:
            return unknown_field("insights", self._media[object_id].kind.capitalize())
        if self._post(object_id) is None:
            return unknown_object(object_id)
        return _insights_answer(object_id, metric_names(call), _POST_METRICS)

    async def _video_insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        media = self._media.get(object_id)
        if media is None or media.kind != "video":
            return unknown_object(object_id)
        return _insights_answer(object_id, metric_names(call), _VIDEO_METRICS)

    async def _delete(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        media = self._media.get(object_id)
        post_id = object_id
        if media is not None:
            if media.post_id is None:  # an unpublished photo
                del self._media[object_id]
                return JSONResponse({"success": True})
            post_id = media.post_id
        if not self._ledger.delete(NAME, post_id.split("_", 1)[0], post_id):
            return unknown_object(object_id, "delete")
        for key in [k for k, m in self._media.items() if m.post_id == post_id]:
            del self._media[key]
        return JSONResponse({"success": True})


def _insights_answer(object_id: str, names: list[str], allowed: frozenset[str]) -> Response:
    if not names:
        return graph_error(400, 100, "(#100) The parameter metric is required")
    data: list[JsonValue] = []
    for name in names:
        if name not in allowed:
            return invalid_metric(name)
        value: JsonValue = metric_value(NAME, object_id, name)
        if name.endswith("_by_type_total") or name.endswith("_by_type"):
            value = {"like": metric_value(NAME, object_id, "like"), "love": 1}
        data.append(insight(object_id, name, value))
    return JSONResponse({"data": data})


def _field_name(field_spec: str) -> str:
    """`reactions.summary(total_count)` -> `reactions`; `children{id}` -> `children`."""
    return re.split(r"[.{(]", field_spec, maxsplit=1)[0].strip()


def _attached_media(params: Mapping[str, Any]) -> list[str]:
    """The photo ids of `attached_media`: a JSON list, a JSON string of one, or indexed keys."""
    raw = params.get("attached_media")
    items: list[Any]
    if raw is None:
        indexed = sorted(
            (int(m.group(1)), value)
            for key, value in params.items()
            if (m := re.fullmatch(r"attached_media\[(\d+)\]", key))
        )
        items = [value for _, value in indexed]
    elif isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ValueError("attached_media must be a JSON array") from exc
        items = parsed if isinstance(parsed, list) else [parsed]
    elif isinstance(raw, list):
        items = raw
    else:
        raise ValueError("attached_media must be an array")
    ids: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError as exc:
                raise ValueError(f"attached_media[{index}] is not JSON") from exc
        if not isinstance(item, dict) or "media_fbid" not in item:
            raise ValueError(f"param attached_media[{index}] must be an object with media_fbid")
        ids.append(str(item["media_fbid"]))
    return ids
