"""Instagram's content publishing API as the emulator serves it, and the media-container state
machine it shares with `threads`.

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

Containers (the `Container` class, also used by `threads`):

- A container's first status read says IN_PROGRESS; the next ones FINISHED, or ERROR when any of
  its media URLs contains "fail" (a stand-in for a download or processing failure), EXPIRED when
  it is 24 h old and unpublished, PUBLISHED once published. The URL itself is not fetched.
- Publishing a container that has not been read as FINISHED is refused with code 9007, subcode
  2207027 ("not ready"): a client must poll. Publishing one twice is refused with code 100.
- A carousel's children must have been read as FINISHED before the carousel is made.
- Creating containers stores nothing in the ledger (and is not `creates=True`): only
  `media_publish` makes a post, so the fault rules without a path apply to it alone.
- The 24 h publishing quota (default 50, the figure in Meta's example; override with
  `rate_limits={"instagram.publishing": RateLimit(limit=n, window_seconds=s)}`) counts the
  account's posts in the ledger; over it, `media_publish` answers code 9, subcode 2207042.

Graph conventions (auth, errors, usage headers, throttling with code 80002) are those of the
`facebook` module.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.facebook import (
    GraphApi,
    GraphCall,
    GraphHandler,
    graph_error,
    graph_time,
    insight,
    invalid_metric,
    metric_names,
    metric_value,
    parse_since,
    unknown_field,
    unknown_object,
)
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["DEFAULT_PUBLISHING_QUOTA", "DEFAULT_RATE_LIMIT", "Container", "InstagramPlatform"]

NAME = Platform.INSTAGRAM.value
DEFAULT_RATE_LIMIT = RateLimit(limit=4800, window_seconds=3600)
DEFAULT_PUBLISHING_QUOTA = RateLimit(limit=50, window_seconds=86_400)
CONTAINER_TTL = 86_400.0
_MAX_CAPTION = 2200
_CAROUSEL = (2, 10)
_DEFAULT_PAGE = 25
_MAX_PAGE = 100
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


@dataclass(slots=True)
class Container:
    """A media container: created, processed (as seen through status reads), then published."""

    id: str
    owner: str
    media_type: str
    params: dict[str, JsonValue]
    created_at: float
    fails: bool = False
    is_item: bool = False
    children: list[str] = field(default_factory=list)
    polls: int = 0
    media_id: str | None = None

    def state(self, now: float) -> str:
        """IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED, without counting a read."""
        if self.media_id is not None:
            return "PUBLISHED"
        if now - self.created_at > CONTAINER_TTL:
            return "EXPIRED"
        if self.polls <= 1:
            return "IN_PROGRESS"
        return "ERROR" if self.fails else "FINISHED"

    def read(self, now: float) -> str:
        """The state a status read reports (the first read always says IN_PROGRESS)."""
        self.polls += 1
        return self.state(now)

    @property
    def ready(self) -> bool:
        """Reported FINISHED at least once, and not yet published."""
        return self.media_id is None and self.polls >= 2 and not self.fails


def shortcode(media_id: str) -> str:
    """A stable, Instagram-looking shortcode for a numeric id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    number, code = int(media_id), ""
    while number:
        number, digit = divmod(number, 64)
        code = alphabet[digit] + code
    return code or "A"


def quota_from(toolkit: Toolkit, key: str, default: RateLimit) -> RateLimit:
    return toolkit.rate_limits.get(key, default)


class InstagramPlatform:
    """Instagram's publishing API over the shared ledger, with containers beside it."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._graph = GraphApi(
            toolkit,
            name=NAME,
            default_limit=DEFAULT_RATE_LIMIT,
            throttle_code=80002,
            usage_type="instagram",
        )
        self._quota = quota_from(toolkit, f"{NAME}.publishing", DEFAULT_PUBLISHING_QUOTA)
        self._ids = itertools.count(17_841_000_000_000_001)
        self._containers: dict[str, Container] = {}
        self._owners: dict[str, str] = {}  # media id -> account

    # FaultResponder
    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        return self._graph.error_response(account, status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return self._graph.rate_limited_response(account, retry_after)

    def routes(self) -> Sequence[BaseRoute]:
        """The user edges (by `{account}`) and the nodes (containers and media, by id)."""
        base = "/instagram/{version}"

        def on_user(edge: str, handler: GraphHandler, method: str, creates: bool = False) -> Route:
            return self._toolkit.route(
                self,
                f"{base}/{{account}}/{edge}",
                self._graph.api(handler, self._user_of),
                methods=[method],
                creates=creates,
                account_of=self._user_of,
            )

        def on_node(suffix: str, handler: GraphHandler) -> Route:
            return self._toolkit.route(
                self,
                f"{base}/{{object_id}}{suffix}",
                self._graph.api(handler, self._owner_of),
                methods=["GET"],
                account_of=self._owner_of,
            )

        return [
            on_user("media", self._create_container, "POST"),
            on_user("media_publish", self._publish, "POST", creates=True),
            on_user("media", self._list_media, "GET"),
            on_user("stories", self._list_stories, "GET"),
            on_user("content_publishing_limit", self._publishing_limit, "GET"),
            on_node("", self._read),
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
            checked = self._carousel_children(call)
            if isinstance(checked, Response):
                return checked
            children = checked
        else:
            problem = _check_media_params(media_type, params, is_item=is_item)
            if problem is not None:
                return problem
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
                return graph_error(
                    400, 100, f"(#100) Invalid children: {child_id} is not a carousel item"
                )
            if child.fails and child.polls >= 2:
                return graph_error(
                    400, 100, f"(#100) The carousel item {child_id} failed to process"
                )
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
        creation_id = call.text("creation_id")
        container = self._containers.get(creation_id or "")
        if container is None or container.owner != call.account or container.is_item:
            return graph_error(400, 100, "(#100) The parameter creation_id is invalid")
        if container.media_id is not None:
            return graph_error(400, 100, "(#100) This media container has already been published")
        if not container.ready:
            return graph_error(
                400,
                9007,
                "Media ID is not available",
                subcode=2207027,
                user_message="The media is not ready for publishing, please wait for a moment",
            )
        used = len(self._recent(call.account, self._quota.window_seconds))
        if used >= self._quota.limit:
            return graph_error(
                400,
                9,
                "(#9) Application request limit reached",
                subcode=2207042,
                user_message="You reached the maximum number of posts allowed in 24 hours",
            )
        post = self._store(call, container)
        return JSONResponse({"id": post.post_id})

    def _store(self, call: GraphCall, container: Container) -> StoredPost:
        media_id = str(next(self._ids))
        children: list[JsonValue] = [
            {"media_type": child.media_type, **child.params}
            for child in (self._containers[c] for c in container.children)
        ]
        product = {"REELS": "REELS", "STORIES": "STORY"}.get(container.media_type, "FEED")
        kind = {"CAROUSEL": "CAROUSEL_ALBUM", "REELS": "VIDEO"}.get(container.media_type)
        if kind is None:
            kind = "VIDEO" if "video_url" in container.params else "IMAGE"
        caption = container.params.get("caption")
        post, _ = self._ledger.record(
            platform=NAME,
            account=call.account,
            text=str(caption) if caption is not None and product != "STORY" else "",
            received_at=self._toolkit.received_at(call.request),
            post_id=media_id,
            attributes={
                "container_id": container.id,
                "media_type": kind,
                "media_product_type": product,
                "params": container.params,
                "children": children,
            },
        )
        container.media_id = media_id
        self._owners[media_id] = call.account
        return post

    def _recent(self, account: str, window: float) -> list[StoredPost]:
        return self._ledger.recent(NAME, account, since=time.time() - window, limit=10_000)

    async def _publishing_limit(self, call: GraphCall) -> Response:
        fields = call.fields(["quota_usage"])
        entry: dict[str, JsonValue] = {}
        for name in fields:
            if name == "quota_usage":
                entry[name] = len(self._recent(call.account, self._quota.window_seconds))
            elif name == "config":
                entry[name] = {
                    "quota_total": self._quota.limit,
                    "quota_duration": int(self._quota.window_seconds),
                }
            else:
                return unknown_field(name, "ContentPublishingLimit")
        return JSONResponse({"data": [entry]})

    # -- reading

    async def _read(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        container = self._containers.get(object_id)
        if container is not None:
            return self._read_container(call, container)
        post = self._ledger.get(NAME, self._owners.get(object_id, ""), object_id)
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
                return unknown_field(name, "IGMedia")
        found: list[JsonValue] = []
        for post in self._ledger.recent(NAME, call.account, since=since, limit=10_000):
            if (post.attributes.get("media_product_type") == "STORY") != stories:
                continue
            if until is not None and post.created_at > until:
                continue
            found.append(self._media_fields(post, fields))
            if len(found) >= int(limit_text):
                break
        return JSONResponse({"data": found})

    async def _insights(self, call: GraphCall) -> Response:
        object_id = str(call.request.path_params["object_id"])
        if self._ledger.get(NAME, self._owners.get(object_id, ""), object_id) is None:
            return unknown_object(object_id)
        return insights_answer(NAME, object_id, metric_names(call), _METRICS, _DEPRECATED_METRICS)


def insights_answer(
    platform: str,
    object_id: str,
    names: list[str],
    allowed: frozenset[str],
    deprecated: frozenset[str],
) -> Response:
    """`{"data": [insight, ...]}`, or code 100 for a missing, deprecated or unknown metric."""
    if not names:
        return graph_error(400, 100, "(#100) The parameter metric is required")
    data: list[JsonValue] = []
    for name in names:
        if name in deprecated:
            return graph_error(
                400,
                100,
                f"(#100) Starting from v22.0, {name} is no longer supported for this media",
            )
        if name not in allowed:
            return invalid_metric(name)
        data.append(insight(object_id, name, metric_value(platform, object_id, name)))
    return JSONResponse({"data": data})


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
