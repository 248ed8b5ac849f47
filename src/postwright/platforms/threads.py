"""Threads, through the Threads API (`https://graph.threads.net/v1.0`).

Account: `external_id` is the Threads user id; `credentials["access_token"]` a long-lived
Threads token (60 days, refreshable). Post options: `link` (the link preview of a text-only
post, `link_attachment`) and `reply_control` (everyone, accounts_you_follow, mentioned_only,
parent_post_author_only, followers_only).

Flow (see `graph.ContainerFlow`, shared with Instagram): check the 250-posts-a-day quota; make
a container (TEXT, IMAGE, VIDEO, or CAROUSEL with its children first; media by signed public
URL, as Threads downloads it, see `media_urls`); poll `status` until FINISHED (an ERROR names
the file and keeps `error_message`); `threads_publish`; read the permalink. A lost publish
answer is settled by the container's status within the attempt; `find` lists the account's
recent threads and matches text fingerprint, media type and time. A container still processing
after `base.MEDIA_WAIT_SHARE` of the publish timeout (a video) is `StillProcessing`, and the
next try continues with the same container (`PublishRequest.resume`, see
`graph.MadeContainers`).

Deleting needs the `threads_delete` permission on the token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar
from urllib.parse import quote

import httpx

from postwright.domain.content_rules import IMAGE, VIDEO, ContentDraft, validate_content
from postwright.domain.errors import Violation
from postwright.domain.platforms import Platform
from postwright.platforms.base import (
    MEDIA_WAIT_SHARE,
    AccountRef,
    MediaFile,
    Published,
    PublishRequest,
)
from postwright.platforms.graph import (
    ContainerApi,
    ContainerFlow,
    ContainerSpec,
    GraphClient,
    Lookup,
    Polling,
    Step,
    read_insights,
    user_and_token,
)
from postwright.platforms.media_urls import MediaUrls
from postwright.settings import Settings

__all__ = ["DEFAULT_BASE_URL", "REPLY_CONTROL", "ThreadsAdapter", "build"]

DEFAULT_BASE_URL = "https://graph.threads.net/v1.0"

API = ContainerApi(
    platform="Threads",
    create_edge="threads",
    publish_edge="threads_publish",
    status_fields="status,error_message",
    state_field="status",
    detail_field="error_message",
    quota_edge="threads_publishing_limit",
    text_field="text",
)

REPLY_CONTROL = (
    "everyone",
    "accounts_you_follow",
    "mentioned_only",
    "parent_post_author_only",
    "followers_only",
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
_URL = re.compile(r"^https?://[^\s/]+\S*$")
_METRICS = {
    "views": "views",
    "likes": "likes",
    "replies": "comments",
    "reposts": "reposts",
    "quotes": "quotes",
    "shares": "shares",
}

MediaUrl = Callable[[MediaFile], str]


class ThreadsAdapter:
    """Publishes text, images, a video or a carousel through Threads containers."""

    platform: ClassVar[Platform] = Platform.THREADS

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        settings: Settings,
        polling: Polling | None = None,
        media_url: MediaUrl | None = None,
    ) -> None:
        self._settings = settings
        self._graph = GraphClient(client, platform="Threads", timeout_s=settings.publish_timeout_s)
        override = settings.platform_urls.get("threads")
        self._base = (override or DEFAULT_BASE_URL).rstrip("/")
        self._polling = polling or Polling()
        self._media = MediaUrls(settings, platform="Threads", override=override)
        self._media_url = media_url or self._media.sign

    # -- validation

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        for item in draft.media:
            accepted = {IMAGE: IMAGE_TYPES, VIDEO: VIDEO_TYPES}.get(item.kind)
            if accepted is not None and item.mime_type not in accepted:
                formats = "JPEG or PNG" if item.kind == IMAGE else "MP4 or MOV"
                found.append(
                    Violation(
                        f"{prefix}.media",
                        "media_kind",
                        f"{item.filename} is {item.mime_type}; Threads takes "
                        f"{item.kind}s as {formats}",
                    )
                )
        link = draft.options.get("link")
        if link is not None:
            where = f"{prefix}.options.link"
            if not isinstance(link, str) or not _URL.match(link):
                found.append(Violation(where, "invalid", f"{link!r} is not an http(s) URL"))
            elif draft.media:
                found.append(
                    Violation(
                        where,
                        "invalid",
                        "Threads shows a link preview only on text posts; put the link in the "
                        "text, or remove the media",
                    )
                )
        reply_control = draft.options.get("reply_control")
        if reply_control is not None and reply_control not in REPLY_CONTROL:
            found.append(
                Violation(
                    f"{prefix}.options.reply_control",
                    "invalid",
                    f"{reply_control!r} is not a Threads reply control; use one of: "
                    + ", ".join(REPLY_CONTROL),
                )
            )
        return found

    # -- publishing

    async def publish(self, request: PublishRequest) -> Published:
        flow = self._flow(request.account)
        if request.media:
            self._media.require_public()
        deadline = time.monotonic() + self._settings.publish_timeout_s * MEDIA_WAIT_SHARE
        lookup = _lookup(request)
        await flow.check_quota(lookup=lookup)
        ready = await flow.create(self._spec(request), deadline=deadline, resume=request.resume)
        return await flow.publish(ready, lookup=lookup)

    def _spec(self, request: PublishRequest) -> ContainerSpec:
        params: dict[str, str] = {}
        if request.text.strip():
            params["text"] = request.text
        reply_control = request.options.get("reply_control")
        if isinstance(reply_control, str) and reply_control:
            params["reply_control"] = reply_control
        if not request.media:
            link = request.options.get("link")
            if isinstance(link, str) and link:
                params["link_attachment"] = link
            return ContainerSpec({"media_type": "TEXT", **params}, what="the post")
        if len(request.media) == 1:
            item = request.media[0]
            return ContainerSpec(
                {**params, **self._media_params(item)}, what=item.filename, media_file=item.filename
            )
        children = tuple(
            ContainerSpec(
                {**self._media_params(item), "is_carousel_item": "true"},
                what=item.filename,
                media_file=item.filename,
            )
            for item in request.media
        )
        return ContainerSpec(
            {"media_type": "CAROUSEL", **params}, what="the carousel", children=children
        )

    def _media_params(self, item: MediaFile) -> dict[str, str]:
        if item.kind == VIDEO:
            params = {"media_type": "VIDEO", "video_url": self._media_url(item)}
        else:
            params = {"media_type": "IMAGE", "image_url": self._media_url(item)}
        if item.alt_text:
            params["alt_text"] = item.alt_text
        return params

    # -- reconciliation, deletion, metrics

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        return await self._flow(request.account).find(_lookup(request), since=since)

    async def delete(self, account: AccountRef, external_id: str) -> None:
        _, token = user_and_token(account, platform="Threads")
        await self._graph.delete(f"{self._base}/{quote(external_id, safe='')}", token=token)

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        _, token = user_and_token(account, platform="Threads")
        answer = await self._graph.call(
            "GET",
            f"{self._base}/{quote(external_id, safe='')}/insights",
            token=token,
            step=Step("reading the post's insights"),
            params={"metric": ",".join(_METRICS)},
        )
        values = read_insights(answer.body)
        return {ours: values.get(theirs, 0) for theirs, ours in _METRICS.items()}

    async def aclose(self) -> None:
        return None

    # -- plumbing

    def _flow(self, account: AccountRef) -> ContainerFlow:
        user, token = user_and_token(account, platform="Threads")
        return ContainerFlow(
            self._graph, API, base=self._base, user=user, token=token, polling=self._polling
        )


def _lookup(request: PublishRequest) -> Lookup:
    if not request.media:
        types = frozenset({"TEXT_POST"})
    elif len(request.media) > 1:
        types = frozenset({"CAROUSEL_ALBUM"})
    elif request.media[0].kind == VIDEO:
        types = frozenset({"VIDEO"})
    else:
        types = frozenset({"IMAGE"})
    return Lookup("threads", request.text, types, taken=request.taken)


def build(client: httpx.AsyncClient, settings: Settings) -> ThreadsAdapter:
    return ThreadsAdapter(client, settings=settings)
