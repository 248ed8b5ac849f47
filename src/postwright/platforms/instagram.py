"""Instagram (professional accounts), through the content publishing API.

Account: `external_id` is the Instagram user id; `credentials["access_token"]` its token. The
account option `login` picks the host: `instagram` (default; Instagram Login,
`graph.instagram.com`) or `facebook` (Facebook Login, `graph.facebook.com`, the account linked
to a Page). The `instagram` entry of `platform_urls` replaces either. Post options:
`media_type` (FEED, the default, REELS or STORIES) and `share_to_feed` (Reels, default true).

Flow (see `graph.ContainerFlow`): check the 24 h publishing quota; make a container per file
from a signed public URL of it (Instagram downloads media itself, see `media_urls`), children
first for a carousel; poll each until FINISHED (an ERROR names the file); publish with
`media_publish`; read the permalink. Only `media_publish` can create the post, so every failure
before it is Retryable (or Permanent, or RateLimited), never Uncertain. A container still
processing after `base.MEDIA_WAIT_SHARE` of the publish timeout (a video, most often) is
`StillProcessing` with the containers made (`graph.MadeContainers`); given that state back in
`PublishRequest.resume`, the next try polls those containers instead of making new ones.

Idempotency. Instagram has no idempotency key, and nothing of ours can be stored on a
container; the engine keeps the container ids only while they are still processing (the resume
state above). Two mechanisms cover a lost publish answer:

- within an attempt, a lost `media_publish` answer is settled by the container's own status,
  which the attempt still holds: PUBLISHED (the post exists: look it up) or FINISHED (publishing
  it again is safe, as a container publishes at most once);
- across processes (`find`, after a crash or a timeout the attempt could not settle), the
  account's recent media are listed and matched by caption fingerprint, media type and time; and
  a resumed try that finds its container already PUBLISHED looks the post up the same way
  instead of publishing again.

Quota. Over it, publishing is refused before any container is made, with a reset estimated
from the account's own posts (see `ContainerFlow.quota_exhausted`): Meta gives the usage and the
window but not when the oldest counted post leaves it.

Not supported by the API: deleting a post (`delete` raises Permanent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from postwright.domain.content_rules import IMAGE, VIDEO, ContentDraft, validate_content
from postwright.domain.errors import Permanent, Violation
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

__all__ = ["FACEBOOK_LOGIN_URL", "INSTAGRAM_LOGIN_URL", "InstagramAdapter", "build"]

INSTAGRAM_LOGIN_URL = "https://graph.instagram.com/v26.0"
FACEBOOK_LOGIN_URL = "https://graph.facebook.com/v26.0"

API = ContainerApi(
    platform="Instagram",
    create_edge="media",
    publish_edge="media_publish",
    status_fields="status_code,status",
    state_field="status_code",
    detail_field="status",
    quota_edge="content_publishing_limit",
    text_field="caption",
)

IMAGE_TYPES = frozenset({"image/jpeg"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
# Feed images must be between 4:5 and 1.91:1 (width / height) [Meta:"Content Publishing"].
MIN_ASPECT, MAX_ASPECT = 4 / 5, 1.91

MediaUrl = Callable[[MediaFile], str]


class InstagramAdapter:
    """Publishes through media containers; finds posts again by caption."""

    platform: ClassVar[Platform] = Platform.INSTAGRAM

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        settings: Settings,
        polling: Polling | None = None,
        media_url: MediaUrl | None = None,
    ) -> None:
        self._settings = settings
        self._graph = GraphClient(
            client, platform="Instagram", timeout_s=settings.publish_timeout_s
        )
        self._override = settings.platform_urls.get("instagram")
        self._polling = polling or Polling()
        self._media = MediaUrls(settings, platform="Instagram", override=self._override)
        self._media_url = media_url or self._media.sign

    # -- validation

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        where = f"{prefix}.media"
        feed = str(draft.options.get("media_type") or "FEED") == "FEED"
        for item in draft.media:
            if item.kind == IMAGE and item.mime_type not in IMAGE_TYPES:
                found.append(
                    Violation(
                        where,
                        "media_kind",
                        f"{item.filename} is {item.mime_type}; Instagram takes images only as JPEG",
                    )
                )
            elif item.kind == VIDEO and item.mime_type not in VIDEO_TYPES:
                found.append(
                    Violation(
                        where,
                        "media_kind",
                        f"{item.filename} is {item.mime_type}; Instagram takes videos as MP4 "
                        "or MOV",
                    )
                )
            if feed and item.kind == IMAGE and item.width and item.height:
                ratio = item.width / item.height
                if not MIN_ASPECT - 0.005 <= ratio <= MAX_ASPECT + 0.005:
                    found.append(
                        Violation(
                            where,
                            "media_size",
                            f"{item.filename} is {item.width}x{item.height} (aspect "
                            f"{ratio:.2f}:1); Instagram feed images must be between 4:5 (0.8:1) "
                            "and 1.91:1",
                        )
                    )
        share = draft.options.get("share_to_feed")
        if share is not None and not isinstance(share, bool):
            found.append(
                Violation(
                    f"{prefix}.options.share_to_feed", "invalid", "share_to_feed is true or false"
                )
            )
        return found

    # -- publishing

    async def publish(self, request: PublishRequest) -> Published:
        flow = self._flow(request.account)
        if not request.media:
            raise Permanent("Instagram posts need at least one image or video")
        self._media.require_public()
        deadline = time.monotonic() + self._settings.publish_timeout_s * MEDIA_WAIT_SHARE
        lookup = self._lookup(request)
        await flow.check_quota(lookup=lookup)
        ready = await flow.create(self._spec(request), deadline=deadline, resume=request.resume)
        return await flow.publish(ready, lookup=lookup)

    def _spec(self, request: PublishRequest) -> ContainerSpec:
        media_type = str(request.options.get("media_type") or "FEED")
        text = request.text
        if media_type == "STORIES":
            item = request.media[0]
            key = "video_url" if item.kind == VIDEO else "image_url"
            return ContainerSpec(
                {"media_type": "STORIES", key: self._media_url(item)},
                what=item.filename,
                media_file=item.filename,
            )
        if len(request.media) == 1:
            item = request.media[0]
            params = _with_caption({}, text)
            if item.kind == VIDEO or media_type == "REELS":
                share = request.options.get("share_to_feed", True)
                params.update(
                    media_type="REELS",
                    video_url=self._media_url(item),
                    share_to_feed="false" if share is False else "true",
                )
            else:
                params["image_url"] = self._media_url(item)
                if item.alt_text:
                    params["alt_text"] = item.alt_text
            return ContainerSpec(params, what=item.filename, media_file=item.filename)
        children = tuple(self._carousel_item(item) for item in request.media)
        return ContainerSpec(
            _with_caption({"media_type": "CAROUSEL"}, text), what="the carousel", children=children
        )

    def _carousel_item(self, item: MediaFile) -> ContainerSpec:
        params = {"is_carousel_item": "true"}
        if item.kind == VIDEO:
            params.update(media_type="VIDEO", video_url=self._media_url(item))
        else:
            params["image_url"] = self._media_url(item)
            if item.alt_text:
                params["alt_text"] = item.alt_text
        return ContainerSpec(params, what=item.filename, media_file=item.filename)

    @staticmethod
    def _lookup(request: PublishRequest) -> Lookup:
        media_type = str(request.options.get("media_type") or "FEED")
        kinds = {item.kind for item in request.media}
        if media_type == "STORIES":
            story = "VIDEO" if VIDEO in kinds else "IMAGE"
            return Lookup(
                "stories", request.text, frozenset({story}), match_text=False, taken=request.taken
            )
        if len(request.media) > 1:
            types = frozenset({"CAROUSEL_ALBUM"})
        elif VIDEO in kinds or media_type == "REELS":
            types = frozenset({"VIDEO"})
        else:
            types = frozenset({"IMAGE"})
        return Lookup("media", request.text, types, taken=request.taken)

    # -- reconciliation, deletion, metrics

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        return await self._flow(request.account).find(self._lookup(request), since=since)

    async def delete(self, account: AccountRef, external_id: str) -> None:
        raise Permanent(
            "Instagram's API cannot delete posts; delete it in the Instagram app instead"
        )

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        _, token = user_and_token(account, platform="Instagram")
        node = f"{self._base(account)}/{quote(external_id, safe='')}"
        answer = await self._graph.call(
            "GET",
            node,
            token=token,
            step=Step("reading the post's counts"),
            params={"fields": "like_count,comments_count"},
        )
        counts = {
            "likes": _count(answer.body.get("like_count")),
            "comments": _count(answer.body.get("comments_count")),
        }
        try:
            insights = await self._graph.call(
                "GET",
                f"{node}/insights",
                token=token,
                step=Step("reading the post's insights"),
                params={"metric": "views,reach,saved,shares"},
            )
        except Permanent:  # no insights for this media (too new, a story that expired...)
            return counts
        counts.update(read_insights(insights.body))
        return counts

    async def aclose(self) -> None:
        return None

    # -- plumbing

    def _base(self, account: AccountRef) -> str:
        if self._override:
            return self._override.rstrip("/")
        login = account.options.get("login", "instagram")
        return FACEBOOK_LOGIN_URL if login == "facebook" else INSTAGRAM_LOGIN_URL

    def _flow(self, account: AccountRef) -> ContainerFlow:
        user, token = user_and_token(account, platform="Instagram")
        return ContainerFlow(
            self._graph,
            API,
            base=self._base(account),
            user=user,
            token=token,
            polling=self._polling,
        )


def _with_caption(params: dict[str, str], text: str) -> dict[str, str]:
    if text.strip():
        params["caption"] = text
    return params


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def build(client: httpx.AsyncClient, settings: Settings) -> InstagramAdapter:
    return InstagramAdapter(client, settings=settings)
