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

Containers follow `meta_containers` (IN_PROGRESS on the first status read, then FINISHED, or
ERROR for a media URL containing "fail", with `error_message` FAILED_DOWNLOADING_VIDEO or
FAILED_DOWNLOADING_IMAGE; publishing before FINISHED: code 9007, subcode 2207027). A carousel
takes 2 to 20 children, and one that failed is only "not ready". Text is at
most 500 characters counted the Threads way (emoji by their UTF-8 bytes). The quota is 250
posts per 24 h (override with `rate_limits={"threads.publishing": RateLimit(...)}`); over it,
`threads_publish` answers code 9, subcode 2207042. Throttling uses code 4 and the BUC header.
Graph conventions are those of the `facebook` module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.domain.text import threads_length
from postwright.platforms.emulator.facebook import (
    GraphCall,
    GraphPlatform,
    graph_error,
    graph_time,
    metric_names,
    page_window,
    unknown_field,
    unknown_object,
)
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.meta_containers import (
    ContainerRules,
    Containers,
    insights_answer,
    shortcode,
)
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["DEFAULT_PUBLISHING_QUOTA", "DEFAULT_RATE_LIMIT", "ThreadsPlatform"]

NAME = Platform.THREADS.value
DEFAULT_RATE_LIMIT = RateLimit(limit=4800, window_seconds=3600)
DEFAULT_PUBLISHING_QUOTA = RateLimit(limit=250, window_seconds=86_400)
_MAX_TEXT = 500
_CONTAINERS = ContainerRules(
    first_id=18_050_000_000_000_001,
    default_quota=DEFAULT_PUBLISHING_QUOTA,
    carousel=(2, 20),
    invalid_child="(#100) Invalid children: {child}",
    says_child_failed=False,
    already_published="(#100) This container has already been published",
    quota_message="You can publish {limit} posts in 24 hours",
    limit_node="ThreadsPublishingLimit",
)
_REPLY_QUOTA: dict[str, JsonValue] = {
    "reply_quota_usage": 0,
    "reply_config": {"quota_total": 1000, "quota_duration": 86_400},
}
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


class ThreadsPlatform(GraphPlatform):
    """Threads' publishing API over the shared ledger, with containers beside it."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        super().__init__(
            toolkit, default_limit=DEFAULT_RATE_LIMIT, throttle_code=4, usage_type="threads"
        )
        self._containers = Containers(toolkit, name=NAME, rules=_CONTAINERS)

    def routes(self) -> Sequence[BaseRoute]:
        """The user edges (by `{account}`) and the nodes (containers and posts, by id)."""
        return [
            self._on_user("threads", self._create_container, "POST"),
            self._on_user("threads_publish", self._publish, "POST", creates=True),
            self._on_user("threads", self._list, "GET"),
            self._on_user("threads_publishing_limit", self._publishing_limit, "GET"),
            self._on_node("", self._read),
            self._on_node("", self._delete, "DELETE"),
            self._on_node("/insights", self._insights),
        ]

    def _owner_of(self, request: Request) -> str:
        return self._containers.owner_of(request)

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
            checked = self._containers.carousel_children(call)
            if isinstance(checked, Response):
                return checked
            children = checked
        return self._containers.create(call, media_type, params, is_item=is_item, children=children)

    async def _publish(self, call: GraphCall) -> Response:
        container = self._containers.publishable(call)
        if isinstance(container, Response):
            return container
        post = self._containers.publish(
            call,
            container,
            text=str(container.params.get("text") or ""),
            kind=_MEDIA_TYPES[container.media_type],
            attributes={},
        )
        return JSONResponse({"id": post.post_id})

    async def _publishing_limit(self, call: GraphCall) -> Response:
        return self._containers.publishing_limit(call, _REPLY_QUOTA)

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
        post = self._containers.post(object_id)
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
        window = page_window(call)
        if isinstance(window, Response):
            return window
        since, until, limit = window
        fields = call.fields(["id"])
        for name in fields:
            if name not in _MEDIA_FIELDS:
                return unknown_field(name, "ThreadsMedia")
        posts = self._ledger.recent(NAME, call.account, since=since, limit=limit)
        data: list[JsonValue] = [
            self._media_fields(post, fields)
            for post in posts
            if until is None or post.created_at <= until
        ]
        return JSONResponse({"data": data})

    async def _insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if self._containers.post(object_id) is None:
            return unknown_object(object_id)
        return insights_answer(NAME, object_id, metric_names(call), _METRICS, frozenset())

    async def _delete(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if not self._ledger.delete(NAME, self._containers.media_owner(object_id), object_id):
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
