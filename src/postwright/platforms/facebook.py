"""Facebook Pages, through the Graph API (`https://graph.facebook.com/v26.0`).

Account: `external_id` is the Page id; `credentials["access_token"]` is a Page access token
(from `GET /me/accounts`; it does not expire, but a password change or a lost role kills it).
Post options: `link` (a URL for the link preview of a text post).

Publishing, by what the post carries:

    text (and link)  POST /{page}/feed {message, link}                            -> {id}
    one photo        POST /{page}/photos {source, caption, alt_text_custom}       -> {id, post_id}
    several photos   POST /{page}/photos {source, published=false} for each, then
                     POST /{page}/feed {message, attached_media: [{media_fbid}, ...]}
    one video        POST /{page}/videos multipart {source, description}            -> {id}

Files go up as multipart `source` from local storage, so Facebook needs no public URL. Only the
last call of each flow creates the post; an unpublished photo left behind by a failed attempt is
invisible, so failures before that call are Retryable, and a lost answer to it is Uncertain.

Facebook has no idempotency key. After an uncertain attempt, `find` lists
`GET /{page}/published_posts?since=` and matches the text by content fingerprint.

The external id is the feed post id (`{page}_{post}`), except for a video, whose id is the
video's: its metrics then come from the video node and `video_insights`, as Meta has no
`insights` edge on videos. Metrics use the media-view metrics that replaced impressions
(`post_total_media_view_unique`), never the deprecated ones.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, ClassVar
from urllib.parse import quote

import httpx

from postwright.domain.content_rules import VIDEO, ContentDraft, validate_content
from postwright.domain.errors import AuthNeeded, Permanent, PlatformError, Uncertain, Violation
from postwright.domain.platforms import Platform
from postwright.domain.posting_rules import content_fingerprint
from postwright.platforms.base import AccountRef, MediaFile, Published, PublishRequest
from postwright.platforms.graph import (
    GraphClient,
    GraphResponse,
    Step,
    parse_graph_time,
    read_insights,
)
from postwright.settings import Settings

__all__ = ["DEFAULT_BASE_URL", "FacebookAdapter", "build"]

DEFAULT_BASE_URL = "https://graph.facebook.com/v26.0"
_NAME = "Facebook"
_URL = re.compile(r"^https?://[^\s/]+\S*$")
_FIND_LIMIT = 100


class FacebookAdapter:
    """Publishes to one Page per account with that Page's token."""

    platform: ClassVar[Platform] = Platform.FACEBOOK

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, timeout_s: float) -> None:
        self._graph = GraphClient(client, platform=_NAME, timeout_s=timeout_s)
        self._base = base_url.rstrip("/")

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
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
                        "Facebook shows a link preview only on posts without photos or video; "
                        "put the link in the text instead",
                    )
                )
        return found

    # -- publishing

    async def publish(self, request: PublishRequest) -> Published:
        page, token = _page_and_token(request.account)
        media = request.media
        if any(item.kind == VIDEO for item in media):
            return await self._publish_video(page, token, request.text, media[0])
        if len(media) == 1:
            return await self._publish_photo(page, token, request.text, media[0])
        if media:
            return await self._publish_album(page, token, request.text, media)
        body: dict[str, Any] = {"message": request.text}
        link = request.options.get("link")
        if isinstance(link, str) and link:
            body["link"] = link
        answer = await self._graph.call(
            "POST",
            f"{self._base}/{quote(page, safe='')}/feed",
            token=token,
            step=Step("publishing the post", creates=True),
            json_body=body,
        )
        return await self._published(token, answer, _created_id(answer, "id"))

    async def _publish_photo(self, page: str, token: str, text: str, photo: MediaFile) -> Published:
        data = {"caption": text, "published": "true"}
        if photo.alt_text:
            data["alt_text_custom"] = photo.alt_text
        with _opened(photo) as handle:
            answer = await self._graph.call(
                "POST",
                f"{self._base}/{quote(page, safe='')}/photos",
                token=token,
                step=Step("publishing the photo", creates=True, media_file=photo.filename),
                data=data,
                files={"source": (photo.filename, handle, photo.mime_type)},
            )
        post_id = answer.body.get("post_id") or _created_id(answer, "id")
        return await self._published(token, answer, str(post_id))

    async def _publish_album(
        self, page: str, token: str, text: str, photos: list[MediaFile]
    ) -> Published:
        photo_ids: list[str] = []
        for photo in photos:
            data = {"published": "false"}
            if photo.alt_text:
                data["alt_text_custom"] = photo.alt_text
            with _opened(photo) as handle:
                uploaded = await self._graph.call(
                    "POST",
                    f"{self._base}/{quote(page, safe='')}/photos",
                    token=token,
                    step=Step(f"uploading {photo.filename}", media_file=photo.filename),
                    data=data,
                    files={"source": (photo.filename, handle, photo.mime_type)},
                )
            photo_id = uploaded.body.get("id")
            if not photo_id:
                raise Permanent(
                    f"Facebook accepted {photo.filename} but returned no photo id",
                    media_file=photo.filename,
                )
            photo_ids.append(str(photo_id))
        answer = await self._graph.call(
            "POST",
            f"{self._base}/{quote(page, safe='')}/feed",
            token=token,
            step=Step("publishing the post", creates=True),
            json_body={
                "message": text,
                "attached_media": [{"media_fbid": photo_id} for photo_id in photo_ids],
            },
        )
        return await self._published(token, answer, _created_id(answer, "id"))

    async def _publish_video(self, page: str, token: str, text: str, video: MediaFile) -> Published:
        with _opened(video) as handle:
            answer = await self._graph.call(
                "POST",
                f"{self._base}/{quote(page, safe='')}/videos",
                token=token,
                step=Step("publishing the video", creates=True, media_file=video.filename),
                data={"description": text},
                files={"source": (video.filename, handle, video.mime_type)},
            )
        return await self._published(token, answer, _created_id(answer, "id"))

    async def _published(self, token: str, answer: GraphResponse, external_id: str) -> Published:
        """The result, with its permalink if Facebook tells it (the post exists: never raise)."""
        now = datetime.now(UTC)
        permalink = f"https://www.facebook.com/{external_id}"
        try:
            node = await self._graph.call(
                "GET",
                f"{self._base}/{quote(external_id, safe='')}",
                token=token,
                step=Step("reading the permalink"),
                params={"fields": "permalink_url"},
            )
        except PlatformError:
            node = None
        if node is not None and isinstance(node.body.get("permalink_url"), str):
            permalink = _absolute(node.body["permalink_url"])
        rate = answer.usage.rate_info(now) if answer.usage is not None else None
        return Published(external_id=external_id, permalink=permalink, rate=rate)

    # -- reconciliation, deletion, metrics

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        page, token = _page_and_token(request.account)
        answer = await self._graph.call(
            "GET",
            f"{self._base}/{quote(page, safe='')}/published_posts",
            token=token,
            step=Step("listing the Page's recent posts"),
            params={
                "since": str(int(since.timestamp())),
                "fields": "id,message,created_time,permalink_url",
                "limit": str(_FIND_LIMIT),
            },
        )
        wanted = content_fingerprint(request.text)
        matches: list[tuple[datetime, Published]] = []
        for post in answer.body.get("data") or []:
            if not isinstance(post, dict) or not post.get("id"):
                continue
            created = parse_graph_time(post.get("created_time"))
            if created is not None and created < since:
                continue
            if content_fingerprint(str(post.get("message") or "")) != wanted:
                continue
            post_id = str(post["id"])
            if post_id in request.taken:
                continue
            permalink = post.get("permalink_url")
            published = Published(
                external_id=post_id,
                permalink=_absolute(permalink)
                if isinstance(permalink, str)
                else f"https://www.facebook.com/{post_id}",
            )
            matches.append((created or since, published))
        if not matches:
            return None
        # the earliest match is the one closest to the attempt that started at `since`
        return min(matches, key=lambda match: match[0])[1]

    async def delete(self, account: AccountRef, external_id: str) -> None:
        _, token = _page_and_token(account)
        await self._graph.delete(f"{self._base}/{quote(external_id, safe='')}", token=token)

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        _, token = _page_and_token(account)
        node = f"{self._base}/{quote(external_id, safe='')}"
        is_post = "_" in external_id
        fields = "reactions.summary(total_count),comments.summary(total_count)"
        answer = await self._graph.call(
            "GET",
            node,
            token=token,
            step=Step("reading the post's counts"),
            params={"fields": f"shares,{fields}" if is_post else fields},
        )
        body = answer.body
        counts = {
            "likes": _summary_total(body.get("reactions")),
            "comments": _summary_total(body.get("comments")),
        }
        if is_post:
            shares = body.get("shares")
            counts["shares"] = _int(shares.get("count")) if isinstance(shares, dict) else 0
            insights = await self._insights(
                token, f"{node}/insights", "post_total_media_view_unique,post_clicks"
            )
            renamed = {"post_total_media_view_unique": "views", "post_clicks": "clicks"}
        else:
            insights = await self._insights(token, f"{node}/video_insights", "total_video_views")
            renamed = {"total_video_views": "views"}
        for name, value in insights.items():
            if name in renamed:
                counts[renamed[name]] = value
        return counts

    async def _insights(self, token: str, url: str, metrics: str) -> dict[str, int]:
        """Insight values by name; empty when Facebook has none for this post (a Page under 100
        likes, a post too old): the counts above are still worth returning."""
        try:
            answer = await self._graph.call(
                "GET",
                url,
                token=token,
                step=Step("reading the post's insights"),
                params={"metric": metrics},
            )
        except Permanent:
            return {}
        return read_insights(answer.body)

    async def aclose(self) -> None:
        return None


def _page_and_token(account: AccountRef) -> tuple[str, str]:
    token = account.credentials.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthNeeded("the Facebook account has no Page access token; reconnect it")
    if not account.external_id:
        raise AuthNeeded("the Facebook account has no Page id; reconnect it and choose a Page")
    return account.external_id, token


def _created_id(answer: GraphResponse, key: str) -> str:
    value = answer.body.get(key)
    if value is None or value == "":
        raise Uncertain(f"Facebook answered without a {key}; the post may have been created")
    return str(value)


@contextlib.contextmanager
def _opened(media: MediaFile) -> Iterator[IO[bytes]]:
    try:
        handle = media.path.open("rb")
    except OSError as exc:
        raise Permanent(
            f"{media.filename} cannot be read from media storage: {exc.strerror or exc}",
            media_file=media.filename,
        ) from exc
    with handle:
        yield handle


def _absolute(permalink: str) -> str:
    if permalink.startswith("/"):
        return f"https://www.facebook.com{permalink}"
    return permalink


def _summary_total(edge: Any) -> int:
    if isinstance(edge, dict) and isinstance(edge.get("summary"), dict):
        return _int(edge["summary"].get("total_count"))
    return 0


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def build(client: httpx.AsyncClient, settings: Settings) -> FacebookAdapter:
    return FacebookAdapter(
        client,
        base_url=settings.platform_urls.get("facebook") or DEFAULT_BASE_URL,
        timeout_s=settings.publish_timeout_s,
    )
