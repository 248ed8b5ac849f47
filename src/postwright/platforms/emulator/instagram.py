"""Instagram's content publishing API as the emulator serves it.

Base URL for adapters: `{emulator}/instagram/v26.0` (either login variant; any version).

    POST /{ig-user-id}/media                     a container: image_url (+ caption, alt_text);
                                                 media_type=REELS|STORIES + video_url/image_url;
                                                 is_carousel_item=true children, then
                                                 media_type=CAROUSEL&children=id,id -> {id}
    GET  /{container-id}?fields=status_code,status
    POST /{ig-user-id}/media_publish             creation_id -> {id} (the media id)
    GET  /{ig-user-id}/content_publishing_limit  fields=quota_usage,config
    GET  /{ig-user-id}/media, /stories           id, caption, media_type, permalink, timestamp...
    GET  /{media-id}?fields=                     permalink, like_count, comments_count, ...
    GET  /{media-id}/insights?metric=            views, reach, likes, comments, saved, shares...

Containers follow `meta_containers` (IN_PROGRESS on the first status read, then FINISHED, or
ERROR for a media URL containing "fail"; publishing before FINISHED: code 9007, subcode 2207027).
A carousel takes 2 to 10 children, and one that failed is named as such. The 24 h publishing
quota is 50 posts, the figure in Meta's example (override with
`rate_limits={"instagram.publishing": RateLimit(limit=n, window_seconds=s)}`); over it,
`media_publish` answers code 9, subcode 2207042.

Graph conventions (auth, errors, usage headers, throttling with code 80002) are those of the
`facebook` module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.facebook import (
    GraphCall,
    GraphPlatform,
    graph_error,
    graph_time,
    metric_names,
    metric_value,
    page_window,
    unknown_field,
    unknown_object,
)
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.meta_containers import (
    Container,
    ContainerRules,
    Containers,
    insights_answer,
    shortcode,
)
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["DEFAULT_PUBLISHING_QUOTA", "DEFAULT_RATE_LIMIT", "InstagramPlatform"]

NAME = Platform.INSTAGRAM.value
DEFAULT_RATE_LIMIT = RateLimit(limit=4800, window_seconds=3600)
DEFAULT_PUBLISHING_QUOTA = RateLimit(limit=50, window_seconds=86_400)
_MAX_CAPTION = 2200
_CONTAINERS = ContainerRules(
    first_id=17_841_000_000_000_001,
    default_quota=DEFAULT_PUBLISHING_QUOTA,
    carousel=(2, 10),
    invalid_child="(#100) Invalid children: {child} is not a carousel item",
    says_child_failed=True,
    already_published="(#100) This media container has already been published",
    quota_message="You reached the maximum number of posts allowed in 24 hours",
    limit_node="ContentPublishingLimit",
)
_URL = re.compile(r"^https?://\S+$")
_MEDIA_FIELDS = frozenset(
    {
        "id",
        "caption",
        "media_type",
        "media_product_type",
        "permalink",
        "shortcode",
        "timestamp",
        "like_count",
        "comments_count",
        "username",
        "is_comment_enabled",
    }
)
_METRICS = frozenset(
    {"views", "reach", "likes", "comments", "saved", "shares", "total_interactions", "follows"}
)
_DEPRECATED_METRICS = frozenset({"impressions", "plays", "video_views", "clips_replays_count"})


class InstagramPlatform(GraphPlatform):
    """Instagram's publishing API over the shared ledger, with containers beside it."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        super().__init__(
            toolkit, default_limit=DEFAULT_RATE_LIMIT, throttle_code=80002, usage_type="instagram"
        )
        self._containers = Containers(toolkit, name=NAME, rules=_CONTAINERS)

    def routes(self) -> Sequence[BaseRoute]:
        """The user edges (by `{account}`) and the nodes (containers and media, by id)."""
        return [
            self._on_user("media", self._create_container, "POST"),
            self._on_user("media_publish", self._publish, "POST", creates=True),
            self._on_user("media", self._list_media, "GET"),
            self._on_user("stories", self._list_stories, "GET"),
            self._on_user("content_publishing_limit", self._publishing_limit, "GET"),
            self._on_node("", self._read),
            self._on_node("/insights", self._insights),
        ]

    def _owner_of(self, request: Request) -> str:
        return self._containers.owner_of(request)

    # -- containers

    async def _create_container(self, call: GraphCall) -> Response:
        media_type = (call.text("media_type") or "IMAGE").upper()
        caption = call.text("caption")
        if caption is not None and len(caption) > _MAX_CAPTION:
            return graph_error(
                400, 100, f"(#100) The caption is longer than {_MAX_CAPTION} characters"
            )
        is_item = call.flag("is_carousel_item", False)
        params: dict[str, JsonValue] = {
            key: call.text(key)
            for key in ("caption", "image_url", "video_url", "alt_text", "cover_url")
            if call.text(key) is not None
        }
        params["share_to_feed"] = call.flag("share_to_feed", True)
        children: list[str] = []
        if media_type == "CAROUSEL":
            checked = self._containers.carousel_children(call)
            if isinstance(checked, Response):
                return checked
            children = checked
        else:
            problem = _check_media_params(media_type, params, is_item=is_item)
            if problem is not None:
                return problem
        return self._containers.create(call, media_type, params, is_item=is_item, children=children)

    async def _publish(self, call: GraphCall) -> Response:
        container = self._containers.publishable(call)
        if isinstance(container, Response):
            return container
        product = {"REELS": "REELS", "STORIES": "STORY"}.get(container.media_type, "FEED")
        kind = {"CAROUSEL": "CAROUSEL_ALBUM", "REELS": "VIDEO"}.get(container.media_type)
        if kind is None:
            kind = "VIDEO" if "video_url" in container.params else "IMAGE"
        caption = container.params.get("caption")
        post = self._containers.publish(
            call,
            container,
            text=str(caption) if caption is not None and product != "STORY" else "",
            kind=kind,
            attributes={"media_product_type": product},
        )
        return JSONResponse({"id": post.post_id})

    async def _publishing_limit(self, call: GraphCall) -> Response:
        return self._containers.publishing_limit(call)

    # -- reading

    async def _read(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        container = self._containers.get(object_id)
        if container is not None:
            return self._read_container(call, container)
        post = self._containers.post(object_id)
        if post is None:
            return unknown_object(object_id)
        fields = call.fields(["id"])
        for name in fields:
            if name not in _MEDIA_FIELDS:
                return unknown_field(name, "IGMedia")
        return JSONResponse(self._media_fields(post, fields))

    def _read_container(self, call: GraphCall, container: Container) -> Response:
        fields = call.fields(["id"])
        body: dict[str, JsonValue] = {"id": container.id}
        if "status_code" in fields or "status" in fields:
            state = container.read(time.time())
            if "status_code" in fields:
                body["status_code"] = state
            if "status" in fields:
                body["status"] = _status_text(state)
        for name in fields:
            if name not in ("id", "status_code", "status"):
                return unknown_field(name, "ShadowIGMediaBuilder")
        return JSONResponse(body)

    def _media_fields(self, post: StoredPost, fields: Sequence[str]) -> dict[str, JsonValue]:
        body: dict[str, JsonValue] = {}
        code = shortcode(post.post_id)
        product = post.attributes.get("media_product_type")
        for name in ["id", *fields]:
            if name == "id":
                body["id"] = post.post_id
            elif name == "caption" and post.text:
                body["caption"] = post.text
            elif name in ("media_type", "media_product_type"):
                body[name] = post.attributes.get(name)
            elif name == "permalink":
                path = "reel" if product == "REELS" else "p"
                body["permalink"] = f"https://www.instagram.com/{path}/{code}/"
            elif name == "shortcode":
                body["shortcode"] = code
            elif name == "timestamp":
                body["timestamp"] = graph_time(post.created_at)
            elif name == "username":
                body["username"] = post.account
            elif name == "is_comment_enabled":
                body["is_comment_enabled"] = True
            elif name in ("like_count", "comments_count"):
                body[name] = metric_value(NAME, post.post_id, name)
        return body

    async def _list_media(self, call: GraphCall) -> Response:
        return self._list(call, stories=False)

    async def _list_stories(self, call: GraphCall) -> Response:
        return self._list(call, stories=True)

    def _list(self, call: GraphCall, *, stories: bool) -> Response:
        window = page_window(call)
        if isinstance(window, Response):
            return window
        since, until, limit = window
        fields = call.fields(["id"])
        for name in fields:
            if name not in _MEDIA_FIELDS:
                return unknown_field(name, "IGMedia")
        found: list[JsonValue] = []
        for post in self._ledger.recent(NAME, call.account, since=since, limit=10_000):
            if (post.attributes.get("media_product_type") == "STORY") != stories:
                continue
            if until is not None and post.created_at > until:
                continue
            found.append(self._media_fields(post, fields))
            if len(found) >= limit:
                break
        return JSONResponse({"data": found})

    async def _insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if self._containers.post(object_id) is None:
            return unknown_object(object_id)
        return insights_answer(NAME, object_id, metric_names(call), _METRICS, _DEPRECATED_METRICS)


def _check_media_params(
    media_type: str, params: dict[str, Any], *, is_item: bool
) -> Response | None:
    image, video = params.get("image_url"), params.get("video_url")
    if media_type == "IMAGE":
        if image is None:
            return graph_error(400, 100, "(#100) The parameter image_url is required.")
    elif media_type == "VIDEO":
        if not is_item:
            return graph_error(
                400,
                100,
                "(#100) The VIDEO media type is no longer supported; use REELS",
                subcode=2207067,
            )
        if video is None:
            return graph_error(400, 100, "(#100) The parameter video_url is required.")
    elif media_type == "REELS":
        if video is None:
            return graph_error(400, 100, "(#100) The parameter video_url is required.")
    elif media_type == "STORIES":
        if (image is None) == (video is None):
            return graph_error(400, 100, "(#100) A story needs one of image_url or video_url.")
    else:
        return graph_error(400, 100, f"(#100) media_type {media_type!r} is not supported")
    for url in (image, video):
        if url is not None and not _URL.match(str(url)):
            return graph_error(
                400,
                9004,
                "(#9004) The media could not be fetched from this URI",
                subcode=2207052,
            )
    if "alt_text" in params and image is None:
        return graph_error(400, 100, "(#100) alt_text is only supported on images")
    return None


def _status_text(state: str) -> str:
    return {
        "IN_PROGRESS": "In Progress: Media is still being processed.",
        "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
        "ERROR": "Error: Media download has failed. The media URI doesn't meet our "
        "requirements. (2207052)",
        "EXPIRED": "Expired: The container was not published within 24 hours.",
        "PUBLISHED": "Published: Media has been published.",
    }[state]
