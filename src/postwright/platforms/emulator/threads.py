"""The Threads API as the emulator serves it.

Base URL for adapters: `{emulator}/threads/v1.0` (any version).

    POST   /{user-id}/threads                 a container: media_type=TEXT|IMAGE|VIDEO|CAROUSEL,
                                              text, image_url/video_url, alt_text,
                                              link_attachment (TEXT only), reply_control,
                                              is_carousel_item, children -> {id}
    GET    /{container-id}?fields=status,error_message
    POST   /{user-id}/threads_publish         creation_id -> {id}
    GET    /{user-id}/threads_publishing_limit  fields=quota_usage,config,reply_quota_usage,...
    GET    /{user-id}/threads                 id, text, media_type, permalink, timestamp, ...
    GET    /{media-id}?fields=                id, text, media_type, permalink, timestamp, ...
    GET    /{media-id}/insights?metric=       views, likes, replies, reposts, quotes, shares
    DELETE /{media-id}                        -> {"success": true, "deleted_id"}

Containers follow `instagram.Container` (IN_PROGRESS on the first status read, then FINISHED, or
ERROR for a media URL containing "fail", with `error_message` FAILED_DOWNLOADING_VIDEO or
FAILED_DOWNLOADING_IMAGE; publishing before FINISHED: code 9007, subcode 2207027). Text is at
most 500 characters counted the Threads way (emoji by their UTF-8 bytes). The quota is 250
posts per 24 h (override with `rate_limits={"threads.publishing": RateLimit(...)}`); over it,
`threads_publish` answers code 9, subcode 2207042. Throttling uses code 4 and the BUC header.
Graph conventions are those of the `facebook` module.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Sequence

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.domain.platforms import Platform
from postwright.domain.text import threads_length
from postwright.platforms.emulator.facebook import (
    GraphApi,
    GraphCall,
    GraphHandler,
    graph_error,
    graph_time,
    metric_names,
    parse_since,
    unknown_field,
    unknown_object,
)
from postwright.platforms.emulator.instagram import (
    Container,
    insights_answer,
    quota_from,
    shortcode,
)
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["DEFAULT_PUBLISHING_QUOTA", "DEFAULT_RATE_LIMIT", "ThreadsPlatform"]

NAME = Platform.THREADS.value
DEFAULT_RATE_LIMIT = RateLimit(limit=4800, window_seconds=3600)
DEFAULT_PUBLISHING_QUOTA = RateLimit(limit=250, window_seconds=86_400)
_MAX_TEXT = 500
_CAROUSEL = (2, 20)
_DEFAULT_PAGE = 25
_MAX_PAGE = 100
_URL = re.compile(r"^https?://\S+$")
_REPLY_CONTROL = frozenset(
    {
        "everyone",
        "accounts_you_follow",
        "mentioned_only",
        "parent_post_author_only",
        "followers_only",
    }
)
_MEDIA_TYPES = {
    "TEXT": "TEXT_POST",
    "IMAGE": "IMAGE",
    "VIDEO": "VIDEO",
    "CAROUSEL": "CAROUSEL_ALBUM",
}
_MEDIA_FIELDS = frozenset(
    {
        "id",
        "text",
        "media_type",
        "media_product_type",
        "permalink",
        "shortcode",
        "timestamp",
        "username",
        "is_quote_post",
        "link_attachment_url",
    }
)
_METRICS = frozenset({"views", "likes", "replies", "reposts", "quotes", "shares"})


class ThreadsPlatform:
    """Threads' publishing API over the shared ledger, with containers beside it."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._graph = GraphApi(
            toolkit,
            name=NAME,
            default_limit=DEFAULT_RATE_LIMIT,
            throttle_code=4,
            usage_type="threads",
        )
        self._quota = quota_from(toolkit, f"{NAME}.publishing", DEFAULT_PUBLISHING_QUOTA)
        self._ids = itertools.count(18_050_000_000_000_001)
        self._containers: dict[str, Container] = {}
        self._owners: dict[str, str] = {}

    # FaultResponder
    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        return self._graph.error_response(account, status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return self._graph.rate_limited_response(account, retry_after)

    def routes(self) -> Sequence[BaseRoute]:
        """The user edges (by `{account}`) and the nodes (containers and posts, by id)."""
        base = "/threads/{version}"

        def on_user(edge: str, handler: GraphHandler, method: str, creates: bool = False) -> Route:
            return self._toolkit.route(
                self,
                f"{base}/{{account}}/{edge}",
                self._graph.api(handler, self._user_of),
                methods=[method],
                creates=creates,
                account_of=self._user_of,
            )

        def on_node(suffix: str, handler: GraphHandler, method: str = "GET") -> Route:
            return self._toolkit.route(
                self,
                f"{base}/{{object_id}}{suffix}",
                self._graph.api(handler, self._owner_of),
                methods=[method],
                account_of=self._owner_of,
            )

        return [
            on_user("threads", self._create_container, "POST"),
            on_user("threads_publish", self._publish, "POST", creates=True),
            on_user("threads", self._list, "GET"),
            on_user("threads_publishing_limit", self._publishing_limit, "GET"),
            on_node("", self._read),
            on_node("", self._delete, "DELETE"),
            on_node("/insights", self._insights),
        ]

    @staticmethod
    def _user_of(request: Request) -> str:
        return str(request.path_params["account"])

    def _owner_of(self, request: Request) -> str:
        object_id = str(request.path_params["object_id"])
        container = self._containers.get(object_id)
        if container is not None:
            return container.owner
        return self._owners.get(object_id, object_id)

    def _post(self, object_id: str) -> StoredPost | None:
        return self._ledger.get(NAME, self._owners.get(object_id, ""), object_id)

    # -- containers

    async def _create_container(self, call: GraphCall) -> Response:
        media_type = (call.text("media_type") or "").upper()
        if media_type not in _MEDIA_TYPES:
            return graph_error(
                400, 100, "(#100) media_type must be one of TEXT, IMAGE, VIDEO, CAROUSEL"
            )
        text = call.text("text") or ""
        if threads_length(text) > _MAX_TEXT:
            return graph_error(
                400,
                100,
                f"(#100) The text is {threads_length(text)} characters; the limit is {_MAX_TEXT}",
                subcode=4279009,
            )
        reply_control = call.text("reply_control")
        if reply_control is not None and reply_control not in _REPLY_CONTROL:
            return graph_error(400, 100, f"(#100) reply_control {reply_control!r} is invalid")
        params: dict[str, JsonValue] = {
            key: value
            for key in ("text", "image_url", "video_url", "alt_text", "link_attachment")
            if (value := call.text(key)) is not None
        }
        if reply_control is not None:
            params["reply_control"] = reply_control
        is_item = call.flag("is_carousel_item", False)
        problem = _check_params(media_type, params, is_item=is_item)
        if problem is not None:
            return problem
        children: list[str] = []
        if media_type == "CAROUSEL":
            checked = self._carousel_children(call)
            if isinstance(checked, Response):
                return checked
            children = checked
        urls = [str(params[k]) for k in ("image_url", "video_url") if k in params]
        container = Container(
            id=str(next(self._ids)),
            owner=call.account,
            media_type=media_type,
            params=params,
            created_at=time.time(),
            fails=any("fail" in url for url in urls),
            is_item=is_item,
            children=children,
        )
        self._containers[container.id] = container
        return JSONResponse({"id": container.id})

    def _carousel_children(self, call: GraphCall) -> list[str] | Response:
        raw = call.params.get("children")
        if isinstance(raw, list):
            ids = [str(item) for item in raw]
        else:
            ids = [part.strip() for part in str(raw or "").split(",") if part.strip()]
        low, high = _CAROUSEL
        if not low <= len(ids) <= high:
            return graph_error(
                400, 100, f"(#100) A carousel needs {low} to {high} children, not {len(ids)}"
            )
        for child_id in ids:
            child = self._containers.get(child_id)
            if child is None or child.owner != call.account or not child.is_item:
                return graph_error(400, 100, f"(#100) Invalid children: {child_id}")
            if not child.ready:
                return graph_error(
                    400,
                    9007,
                    "Media ID is not available",
                    subcode=2207027,
                    user_message=f"The carousel item {child_id} is not ready yet",
                )
        return ids

    async def _publish(self, call: GraphCall) -> Response:
        container = self._containers.get(call.text("creation_id") or "")
        if container is None or container.owner != call.account or container.is_item:
            return graph_error(400, 100, "(#100) The parameter creation_id is invalid")
        if container.media_id is not None:
            return graph_error(400, 100, "(#100) This container has already been published")
        if not container.ready:
            return graph_error(
                400,
                9007,
                "Media ID is not available",
                subcode=2207027,
                user_message="The media is not ready for publishing, please wait for a moment",
            )
        if len(self._recent(call.account)) >= self._quota.limit:
            return graph_error(
                400,
                9,
                "(#9) Application request limit reached",
                subcode=2207042,
                user_message=f"You can publish {self._quota.limit} posts in 24 hours",
            )
        media_id = str(next(self._ids))
        children: list[JsonValue] = [
            {"media_type": child.media_type, **child.params}
            for child in (self._containers[c] for c in container.children)
        ]
        self._ledger.record(
            platform=NAME,
            account=call.account,
            text=str(container.params.get("text") or ""),
            received_at=self._toolkit.received_at(call.request),
            post_id=media_id,
            attributes={
                "container_id": container.id,
                "media_type": _MEDIA_TYPES[container.media_type],
                "params": container.params,
                "children": children,
            },
        )
        container.media_id = media_id
        self._owners[media_id] = call.account
        return JSONResponse({"id": media_id})

    def _recent(self, account: str) -> list[StoredPost]:
        since = time.time() - self._quota.window_seconds
        return self._ledger.recent(NAME, account, since=since, limit=10_000)

    async def _publishing_limit(self, call: GraphCall) -> Response:
        entry: dict[str, JsonValue] = {}
        for name in call.fields(["quota_usage"]):
            if name == "quota_usage":
                entry[name] = len(self._recent(call.account))
            elif name == "config":
                entry[name] = {
                    "quota_total": self._quota.limit,
                    "quota_duration": int(self._quota.window_seconds),
                }
            elif name == "reply_quota_usage":
                entry[name] = 0
            elif name == "reply_config":
                entry[name] = {"quota_total": 1000, "quota_duration": 86_400}
            else:
                return unknown_field(name, "ThreadsPublishingLimit")
        return JSONResponse({"data": [entry]})

    # -- reading, deleting

    async def _read(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        container = self._containers.get(object_id)
        fields = call.fields(["id"])
        if container is not None:
            body: dict[str, JsonValue] = {"id": container.id}
            if "status" in fields or "error_message" in fields:
                state = container.read(time.time())
                if "status" in fields:
                    body["status"] = state
                if "error_message" in fields and state == "ERROR":
                    video = "video_url" in container.params
                    body["error_message"] = (
                        "FAILED_DOWNLOADING_VIDEO" if video else "FAILED_DOWNLOADING_IMAGE"
                    )
            for name in fields:
                if name not in ("id", "status", "error_message"):
                    return unknown_field(name, "ThreadsMediaContainer")
            return JSONResponse(body)
        post = self._post(object_id)
        if post is None:
            return unknown_object(object_id)
        for name in fields:
            if name not in _MEDIA_FIELDS:
                return unknown_field(name, "ThreadsMedia")
        return JSONResponse(self._media_fields(post, fields))

    def _media_fields(self, post: StoredPost, fields: Sequence[str]) -> dict[str, JsonValue]:
        body: dict[str, JsonValue] = {}
        code = shortcode(post.post_id)
        params = post.attributes.get("params")
        link = params.get("link_attachment") if isinstance(params, dict) else None
        for name in ["id", *fields]:
            if name == "id":
                body["id"] = post.post_id
            elif name == "text" and post.text:
                body["text"] = post.text
            elif name == "media_type":
                body["media_type"] = post.attributes.get("media_type")
            elif name == "media_product_type":
                body["media_product_type"] = "THREADS"
            elif name == "permalink":
                body["permalink"] = f"https://www.threads.com/@{post.account}/post/{code}"
            elif name == "shortcode":
                body["shortcode"] = code
            elif name == "timestamp":
                body["timestamp"] = graph_time(post.created_at)
            elif name == "username":
                body["username"] = post.account
            elif name == "is_quote_post":
                body["is_quote_post"] = False
            elif name == "link_attachment_url" and link:
                body["link_attachment_url"] = link
        return body

    async def _list(self, call: GraphCall) -> Response:
        try:
            since = parse_since(call.text("since"))
            until = parse_since(call.text("until"))
        except ValueError as exc:
            return graph_error(400, 100, f"(#100) since/until is not a time: {exc}")
        limit_text = call.text("limit") or str(_DEFAULT_PAGE)
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _MAX_PAGE:
            return graph_error(400, 100, f"(#100) limit must be from 1 to {_MAX_PAGE}")
        fields = call.fields(["id"])
        for name in fields:
            if name not in _MEDIA_FIELDS:
                return unknown_field(name, "ThreadsMedia")
        posts = self._ledger.recent(NAME, call.account, since=since, limit=int(limit_text))
        data: list[JsonValue] = [
            self._media_fields(post, fields)
            for post in posts
            if until is None or post.created_at <= until
        ]
        return JSONResponse({"data": data})

    async def _insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if self._post(object_id) is None:
            return unknown_object(object_id)
        return insights_answer(NAME, object_id, metric_names(call), _METRICS, frozenset())

    async def _delete(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if not self._ledger.delete(NAME, self._owners.get(object_id, ""), object_id):
            return unknown_object(object_id, "delete")
        return JSONResponse({"success": True, "deleted_id": object_id})


def _check_params(
    media_type: str, params: dict[str, JsonValue], *, is_item: bool
) -> Response | None:
    image, video = params.get("image_url"), params.get("video_url")
    if media_type == "TEXT":
        if is_item:
            return graph_error(400, 100, "(#100) A carousel item must be an IMAGE or a VIDEO")
        if not str(params.get("text") or "").strip():
            return graph_error(400, 100, "(#100) The parameter text is required for TEXT posts")
        if image is not None or video is not None:
            return graph_error(400, 100, "(#100) TEXT posts take no image_url or video_url")
    elif "link_attachment" in params:
        return graph_error(400, 100, "(#100) link_attachment is only supported on TEXT posts")
    if media_type == "IMAGE" and image is None:
        return graph_error(400, 100, "(#100) The parameter image_url is required")
    if media_type == "VIDEO" and video is None:
        return graph_error(400, 100, "(#100) The parameter video_url is required")
    if media_type == "CAROUSEL" and (image is not None or video is not None):
        return graph_error(400, 100, "(#100) A CAROUSEL takes children, not a media URL")
    for url in (image, video, params.get("link_attachment")):
        if url is not None and not _URL.match(str(url)):
            return graph_error(400, 100, f"(#100) {url!r} is not a valid URL")
    return None
