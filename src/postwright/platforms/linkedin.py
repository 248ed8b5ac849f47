"""LinkedIn, through the versioned Posts API (`https://api.linkedin.com/rest`).

    publish  image: POST /rest/images?action=initializeUpload {initializeUploadRequest: {owner}}
                    -> PUT {uploadUrl} with the bytes -> GET /rest/images/{urn} until AVAILABLE
             video: POST /rest/videos?action=initializeUpload {..., fileSizeBytes}
                    -> PUT each {uploadUrl} byte range, keeping its ETag
                    -> POST /rest/videos?action=finalizeUpload {video, uploadToken, uploadedPartIds}
                    -> GET /rest/videos/{urn} until AVAILABLE
             post:  POST /rest/posts {author, commentary, visibility, distribution,
                    lifecycleState: PUBLISHED, isReshareDisabledByAuthor: false, content?}
                    -> 201 with the post's URN in the `x-restli-id` header
    find     GET /rest/posts?author={urn}&q=author&count=50, matched by the text (read scopes)
    delete   DELETE /rest/posts/{urn}
    metrics  GET /rest/socialActions/{urn}: likesSummary, commentsSummary

Every call sends `LinkedIn-Version: <YYYYMM>` (`LINKEDIN_VERSION`, or the `linkedin_version`
setting: LinkedIn retires a version about a year after its release, and then answers 426) and
`X-Restli-Protocol-Version: 2.0.0`. Base URL: the `platform_urls["linkedin"]` setting, else the
real API.

Account: `credentials["access_token"]` is the OAuth token (60 days; scopes `w_member_social` to
post as the member, `w_organization_social` to post as a Page; `r_member_social` or
`r_organization_social` to let `find` read posts back). `external_id` is the author's URN,
`urn:li:person:{id}` or `urn:li:organization:{id}` (a bare id is taken as a person's).
The permalink is `https://www.linkedin.com/feed/update/{urn}/`.

Post options: `visibility` (PUBLIC, the default, CONNECTIONS, LOGGED_IN), `link` (the article a
text post shares; default: the first URL of the text), `link_title`, `link_description`,
`link_card` (False: no article). Content: one image (`media`), 2 to 20 images (`multiImage`),
one video (`media`), or a link (`article`; LinkedIn does not fetch a preview for API posts, so
the title is `link_title`, else the URL).

Text. `commentary` is in LinkedIn's "little" format, where `\\ | { } @ [ ] ( ) < > # * _ ~`
mean something (templates, mentions, hashtags). An unescaped one that does not form a valid
element is not refused: LinkedIn silently drops the commentary from that character on, and the
post goes out cut short with a 201. So every reserved character is escaped with a backslash,
and `#word` becomes the hashtag template `{hashtag|\\#|word}` so hashtags stay hashtags.
`find` un-escapes what LinkedIn returns before comparing (`unescape_commentary`).

Errors:

    401                          AuthNeeded
    403 (publish, delete)        AuthNeeded: the token lacks the scope, or the member is no
                                 longer an admin of the Page
    429                          RateLimited until Retry-After if given, else the next midnight
                                 UTC: LinkedIn's quotas are daily and it sends no rate headers
    426 (version not active)     Permanent, naming the setting to change
    422 "duplicate of urn:..."   Uncertain, as X's duplicate: see below
    400, 422, other 4xx          Permanent with LinkedIn's message (and the file, on media steps)
    5xx, lost answer             Uncertain for POST /rest/posts; Retryable for the media steps
    201 without x-restli-id      Uncertain: the anchors' "false success" was treating any 201 as
                                 published; without the URN nothing proves the post exists

Duplicates: LinkedIn refuses a post whose text repeats a recent post of the same author (422
"Content is a duplicate of urn:li:share:..."). After an uncertain first try that usually means the
first try landed, but it can also be an older post of the author; so, as for X, the adapter
raises Uncertain and reconciliation's `find` decides.

`find` needs read access: `r_organization_social` for Pages; for members `r_member_social`,
which LinkedIn grants only to approved partners. Without it LinkedIn answers 403, and `find`
raises Uncertain instead of returning None: None means "looked, and it is not there", which
lets the engine publish again, and after a lost answer that would duplicate the post. Raising
keeps the delivery `uncertain` (the reconciler tries again later), where a person can mark it
published or retry it by hand; a duplicate on a LinkedIn page could not be undone as quietly.

The create uses the client's timeout (the `publish_timeout_s` setting); the other calls have
their own per step.

Media still processing when the publish's share of time is up (`media_timeout_s`, by default
three quarters of `publish_timeout_s`): a video is `StillProcessing`, carrying its URN (by our
media id) and when it was made. The next try reads `GET /rest/videos/{urn}` first: AVAILABLE is
posted with that URN, PROCESSING (or WAITING_UPLOAD, which LinkedIn can report for a while after
finalizeUpload) is waited for again, PROCESSING_FAILED is Permanent; a URN LinkedIn answers 404
for, or one older than `VIDEO_LIFETIME`, is uploaded anew. Nothing is posted before the video is
AVAILABLE, so waiting cannot post twice. Images take seconds: one not AVAILABLE in time is
Retryable, and the next try uploads it again.

Not emulated faithfully (see `emulator/linkedin.py`): image and video processing (only the
first bytes are checked), documents, captions and thumbnails, real quota numbers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from postwright.domain.content_rules import GIF, IMAGE, VIDEO, ContentDraft, validate_content
from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
    Violation,
)
from postwright.domain.platforms import Platform
from postwright.domain.posting_rules import content_fingerprint
from postwright.domain.retry import parse_retry_after
from postwright.platforms.base import (
    MEDIA_WAIT_SHARE,
    AccountRef,
    MediaFile,
    Published,
    PublishRequest,
    made_within,
)
from postwright.platforms.http import translate_transport_errors
from postwright.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "LINKEDIN_VERSION",
    "VIDEO_LIFETIME",
    "LinkedInAdapter",
    "build",
    "classify_response",
    "escape_commentary",
    "next_midnight_utc",
    "post_body",
    "unescape_commentary",
]

DEFAULT_BASE_URL = "https://api.linkedin.com"
LINKEDIN_VERSION = "202601"
"""The `LinkedIn-Version` sent by default; the `linkedin_version` setting replaces it."""
RESTLI_PROTOCOL = "2.0.0"
VIDEO_LIFETIME = timedelta(hours=24)
"""How long a video made by an earlier try is trusted: LinkedIn documents no lifetime for a
video never attached to a post, and its upload URLs expire after a day, so an older one is
uploaded again rather than risking a post refused for a URN gone meanwhile."""
MAX_COMMENTARY = 3000

_NAME = "LinkedIn"
_STEP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_FIND_COUNT = 50
_FIND_PAGES = 4
_ALT_TEXT_MAX = 4086
_POLL_FIRST_S = 0.25
_POLL_MAX_S = 5.0
_MB = 1_000_000
# [PLATFORMS.md §3; 3P]: images up to 5 MB, videos up to 500 MB; JPEG, PNG, GIF and MP4.
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
_VIDEO_TYPES = frozenset({"video/mp4"})
_MAX_BYTES = {IMAGE: 5 * _MB, GIF: 5 * _MB, VIDEO: 500 * _MB}
_RESERVED = frozenset("\\|{}@[]()<>#*_~")
_URL_OR_TAG = re.compile(r"(?P<url>https?://\S+)|(?<![\w&#\\])#(?P<tag>\w+)")
_FIRST_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""
_LITTLE = re.compile(
    r"\{hashtag\|\\?#\|(?P<tag>(?:\\.|[^\\}])*)\}"
    r"|@\[(?P<name>(?:\\.|[^\\\]])*)\]\(urn:li:[^)\s]+\)"
    r"|\\(?P<char>.)",
    re.DOTALL,
)
_DUPLICATE = re.compile(r"duplicate of (urn:li:\w+:\w+)", re.IGNORECASE)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LinkedInAdapter:
    """Publishes to LinkedIn members and Pages through the Posts API (see the module doc)."""

    platform: ClassVar[Platform] = Platform.LINKEDIN

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        version: str = LINKEDIN_VERSION,
        media_timeout_s: float = 600.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = _utcnow,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._version = version
        self._media_timeout_s = media_timeout_s
        self._sleep = sleep
        self._clock = clock

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        escaped = len(escape_commentary(draft.text))
        if len(draft.text) <= MAX_COMMENTARY < escaped:
            found.append(
                Violation(
                    f"{prefix}.text",
                    "max_length",
                    f"{escaped:,} characters once LinkedIn's special characters "
                    f"(\\ | {{ }} @ [ ] ( ) < > # * _ ~) are escaped; LinkedIn allows "
                    f"{MAX_COMMENTARY:,}",
                )
            )
        if draft.options.get("visibility") == "CONTAINER":
            found.append(
                Violation(
                    f"{prefix}.options.visibility",
                    "invalid",
                    "CONTAINER visibility is for posts inside a group or event, which postwright "
                    "does not publish; use PUBLIC, CONNECTIONS or LOGGED_IN",
                )
            )
        for item in draft.media:
            accepted = _VIDEO_TYPES if item.kind == VIDEO else _IMAGE_TYPES
            if item.kind in (IMAGE, GIF, VIDEO) and item.mime_type not in accepted:
                found.append(
                    Violation(
                        f"{prefix}.media",
                        "media_kind",
                        f"{item.filename} is {item.mime_type}; LinkedIn accepts "
                        f"{', '.join(sorted(accepted))} for this kind of file",
                    )
                )
            cap = _MAX_BYTES.get(item.kind)
            if cap is not None and item.size_bytes > cap:
                found.append(
                    Violation(
                        f"{prefix}.media",
                        "media_size",
                        f"{item.filename} is {item.size_bytes / _MB:.1f} MB; LinkedIn accepts "
                        f"{'videos' if item.kind == VIDEO else 'images'} up to {cap // _MB} MB",
                    )
                )
        return found

    # -- publish ---------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        account = request.account
        author = author_urn(account)
        deadline = asyncio.get_running_loop().time() + self._media_timeout_s
        media_ids: list[tuple[str, str | None]] = []
        async with _nothing_posted_yet():
            for item in request.media:
                if item.kind == VIDEO:
                    urn = await self._video(request, author, item, deadline=deadline)
                    media_ids.append((urn, None))
                else:
                    urn = await self._upload_image(account, author, item, deadline=deadline)
                    media_ids.append((urn, item.alt_text))
        body = post_body(request, author=author, media=media_ids)
        async with translate_transport_errors(_NAME):
            response = await self._client.post(
                f"{self._base}/rest/posts", json=body, headers=self._headers(account)
            )
        error = classify_response(response, creating=True, now=self._clock())
        if error is not None:
            raise error
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn:
            raise Uncertain(
                f"{_NAME} answered {response.status_code} without the post's URN "
                "(no x-restli-id header): not treated as published; looking for it first",
                status=response.status_code,
            )
        return Published(external_id=urn, permalink=permalink(urn))

    async def _upload_image(
        self, account: AccountRef, author: str, item: MediaFile, *, deadline: float
    ) -> str:
        if item.mime_type not in _IMAGE_TYPES:
            raise Permanent(
                f"{_NAME} cannot take {item.filename} ({item.mime_type}) as an image",
                media_file=item.filename,
            )
        started = await self._call(
            "POST",
            "/rest/images",
            account,
            media=item,
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": author}},
        )
        value = started.get("value") if isinstance(started, dict) else None
        upload_url = value.get("uploadUrl") if isinstance(value, dict) else None
        urn = value.get("image") if isinstance(value, dict) else None
        if not isinstance(upload_url, str) or not isinstance(urn, str):
            raise Retryable(f"{_NAME} started no image upload for {item.filename}")
        data = await _read(item.path, item.filename)
        await self._put(account, upload_url, data, item)
        await self._wait_available(account, "images", urn, item, deadline=deadline)
        return urn

    async def _video(
        self, request: PublishRequest, author: str, item: MediaFile, *, deadline: float
    ) -> str:
        """The video's URN once AVAILABLE: the one an earlier try made while LinkedIn still
        knows it (see `_video_made`), else a new upload."""
        account = request.account
        made_at, urn = _video_made(request.resume, item, now=self._clock())
        asset = await self._video_asset(account, urn, item) if urn is not None else None
        if urn is None or asset is None:
            made_at = self._clock()
            urn = await self._upload_video(account, author, item)
        resume = {"made_at": made_at.isoformat(), "videos": {str(item.id): urn}}
        await self._wait_available(
            account, "videos", urn, item, deadline=deadline, resume=resume, asset=asset
        )
        return urn

    async def _video_asset(
        self, account: AccountRef, urn: str, item: MediaFile
    ) -> dict[str, Any] | None:
        """What LinkedIn says of a video an earlier try made; None if it no longer knows it."""
        try:
            asset = await self._call(
                "GET", f"/rest/videos/{quote(urn, safe='')}", account, media=item
            )
        except Permanent as exc:
            if exc.status == 404:
                return None
            raise
        return asset if isinstance(asset, dict) else {}

    async def _upload_video(self, account: AccountRef, author: str, item: MediaFile) -> str:
        if item.mime_type not in _VIDEO_TYPES:
            raise Permanent(
                f"{_NAME} cannot take {item.filename} ({item.mime_type}) as a video: MP4 only",
                media_file=item.filename,
            )
        size = await _size(item)
        started = await self._call(
            "POST",
            "/rest/videos",
            account,
            media=item,
            params={"action": "initializeUpload"},
            json={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": size,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
        )
        value = started.get("value") if isinstance(started, dict) else None
        urn = value.get("video") if isinstance(value, dict) else None
        parts = value.get("uploadInstructions") if isinstance(value, dict) else None
        upload_token = value.get("uploadToken") if isinstance(value, dict) else None
        if not isinstance(urn, str) or not isinstance(parts, list) or not parts:
            raise Retryable(f"{_NAME} started no video upload for {item.filename}")
        etags: list[str] = []
        for part in parts:
            if not isinstance(part, dict):
                raise Retryable(
                    f"{_NAME} gave an unreadable upload instruction for {item.filename}"
                )
            first, last = int(part["firstByte"]), int(part["lastByte"])
            chunk = await asyncio.to_thread(_read_range, item.path, first, last - first + 1)
            response = await self._put(account, str(part["uploadUrl"]), chunk, item)
            etag = response.headers.get("etag")
            if not etag:
                raise Retryable(f"{_NAME} kept no ETag for a part of {item.filename}")
            etags.append(etag)
        await self._call(
            "POST",
            "/rest/videos",
            account,
            media=item,
            params={"action": "finalizeUpload"},
            json={
                "finalizeUploadRequest": {
                    "video": urn,
                    "uploadToken": str(upload_token or ""),
                    "uploadedPartIds": etags,
                }
            },
        )
        return urn

    async def _put(
        self, account: AccountRef, url: str, data: bytes, item: MediaFile
    ) -> httpx.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if self._trusted(url):
            headers["Authorization"] = self._headers(account)["Authorization"]
        async with translate_transport_errors(_NAME):
            response = await self._client.put(
                url, content=data, headers=headers, timeout=_UPLOAD_TIMEOUT
            )
        error = classify_response(response, creating=False, media=item, now=self._clock())
        if error is not None:
            raise error
        return response

    async def _wait_available(
        self,
        account: AccountRef,
        collection: str,
        urn: str,
        item: MediaFile,
        *,
        deadline: float,
        resume: dict[str, Any] | None = None,
        asset: dict[str, Any] | None = None,
    ) -> None:
        """Poll the image or video until AVAILABLE (starting from `asset`, a status already
        read). Still processing at `deadline` is `StillProcessing` with `resume` when given
        (videos), else Retryable."""
        loop = asyncio.get_running_loop()
        wait_s = _POLL_FIRST_S
        while True:
            if asset is None:
                asset = await self._call(
                    "GET", f"/rest/{collection}/{quote(urn, safe='')}", account, media=item
                )
            status = asset.get("status") if isinstance(asset, dict) else None
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                reason = asset.get("processingFailureReason") or "no reason given"
                raise Permanent(
                    f"{_NAME} could not process {item.filename}: {reason}",
                    media_file=item.filename,
                    platform_code="PROCESSING_FAILED",
                )
            if loop.time() + wait_s > deadline:
                if resume is not None:
                    raise StillProcessing(
                        f"{_NAME} is still processing {item.filename}",
                        resume=resume,
                        check_after=timedelta(seconds=wait_s),
                    )
                raise Retryable(
                    f"{_NAME} was still processing {item.filename} "
                    f"after {self._media_timeout_s:.0f} s (status {status})"
                )
            await self._sleep(wait_s)
            wait_s = min(wait_s * 2, _POLL_MAX_S)
            asset = None

    # -- find, delete, metrics ---------------------------------------------------------------

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        account = request.account
        author = author_urn(account)
        target = content_fingerprint(request.text)
        since_ms = since.timestamp() * 1000
        start = 0
        for _ in range(_FIND_PAGES):
            # Rest.li 2.0 wants the URN encoded in the query, colons included.
            query = f"author={quote(author, safe='')}&q=author&count={_FIND_COUNT}&start={start}"
            async with translate_transport_errors(_NAME):
                response = await self._client.get(
                    f"{self._base}/rest/posts?{query}",
                    headers=self._headers(account),
                    timeout=_STEP_TIMEOUT,
                )
            if response.status_code == 403:
                raise Uncertain(
                    f"{_NAME} does not let this token read the author's posts "
                    f"({_message(_json(response), response)}); it needs r_organization_social "
                    "(Pages) or r_member_social (members). Whether the post exists cannot be "
                    "checked: mark the delivery published or retry it by hand",
                    status=403,
                )
            error = classify_response(response, creating=False, now=self._clock())
            if error is not None:
                raise error
            elements = _json(response).get("elements")
            if not isinstance(elements, list) or not elements:
                return None
            recent = False
            for post in elements:
                if not isinstance(post, dict):
                    continue
                created = post.get("createdAt") or post.get("publishedAt")
                modified = post.get("lastModifiedAt") or created
                if isinstance(modified, int | float) and modified >= since_ms:
                    recent = True
                if isinstance(created, int | float) and created < since_ms:
                    continue
                commentary = post.get("commentary")
                if (
                    isinstance(commentary, str)
                    and content_fingerprint(unescape_commentary(commentary)) == target
                    and isinstance(post.get("id"), str)
                    and post["id"] not in request.taken
                ):
                    urn = str(post["id"])
                    return Published(external_id=urn, permalink=permalink(urn))
            # Sorted by last modification, newest first: a page with nothing touched since the
            # attempt began means no later page can hold it.
            if not recent or len(elements) < _FIND_COUNT:
                return None
            start += len(elements)
        return None

    async def delete(self, account: AccountRef, external_id: str) -> None:
        async with translate_transport_errors(_NAME):
            response = await self._client.delete(
                f"{self._base}/rest/posts/{quote(external_id, safe='')}",
                headers={**self._headers(account), "X-RestLi-Method": "DELETE"},
                timeout=_STEP_TIMEOUT,
            )
        if response.status_code == 404:
            return  # already gone
        error = classify_response(response, creating=False, now=self._clock())
        if error is not None:
            raise error

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        actions = await self._call(
            "GET", f"/rest/socialActions/{quote(external_id, safe='')}", account
        )
        if not isinstance(actions, dict):
            raise Permanent(f"{_NAME} answered something that is not a social actions summary")
        return metrics_of(actions)

    async def aclose(self) -> None:
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self, account: AccountRef) -> dict[str, str]:
        token = account.credentials.get("access_token")
        if not token:
            raise AuthNeeded("the LinkedIn account has no access token; reconnect it")
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self._version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
        }

    def _trusted(self, url: str) -> bool:
        """Whether the token may go to an upload URL: LinkedIn's own hosts, or our base's."""
        host = (urlsplit(url).hostname or "").lower()
        base = (urlsplit(self._base).hostname or "").lower()
        return host == base or host == "linkedin.com" or host.endswith(".linkedin.com")

    async def _call(
        self,
        method: str,
        path: str,
        account: AccountRef,
        *,
        media: MediaFile | None = None,
        **kwargs: Any,
    ) -> Any:
        """One request that creates no post: its JSON body, or the error it stands for."""
        async with translate_transport_errors(_NAME):
            response = await self._client.request(
                method,
                self._base + path,
                headers=self._headers(account),
                timeout=_STEP_TIMEOUT,
                **kwargs,
            )
        error = classify_response(response, creating=False, media=media, now=self._clock())
        if error is not None:
            raise error
        return _json(response)


def build(client: httpx.AsyncClient, settings: Settings) -> LinkedInAdapter:
    return LinkedInAdapter(
        client,
        base_url=settings.platform_urls.get("linkedin", DEFAULT_BASE_URL),
        version=settings.linkedin_version or LINKEDIN_VERSION,
        media_timeout_s=settings.publish_timeout_s * MEDIA_WAIT_SHARE,
    )


def author_urn(account: AccountRef) -> str:
    """The account's URN: `external_id` as it is, or a bare id as a person's."""
    external = (account.external_id or "").strip()
    if not external:
        raise AuthNeeded("the LinkedIn account has no member or organization URN; reconnect it")
    return external if external.startswith("urn:li:") else f"urn:li:person:{external}"


def permalink(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def escape_commentary(text: str) -> str:
    """`text` in LinkedIn's "little" format: reserved characters escaped, hashtags as templates."""
    pieces: list[str] = []
    position = 0
    for match in _URL_OR_TAG.finditer(text):
        pieces.append(_escape(text[position : match.start()]))
        if match.group("url") is not None:
            pieces.append(_escape(match.group("url")))
        else:
            pieces.append("{hashtag|\\#|" + _escape(match.group("tag")) + "}")
        position = match.end()
    pieces.append(_escape(text[position:]))
    return "".join(pieces)


def unescape_commentary(commentary: str) -> str:
    """The plain text of a "little" commentary: templates as they show, escapes removed."""

    def plain(match: re.Match[str]) -> str:
        if match.group("tag") is not None:
            return "#" + unescape_commentary(match.group("tag"))
        if match.group("name") is not None:
            return unescape_commentary(match.group("name"))
        return match.group("char")

    return _LITTLE.sub(plain, commentary)


def post_body(
    request: PublishRequest, *, author: str, media: Sequence[tuple[str, str | None]]
) -> dict[str, Any]:
    """The JSON of `POST /rest/posts` for this delivery (media: uploaded URNs and alt texts)."""
    options = request.options
    visibility = options.get("visibility")
    body: dict[str, Any] = {
        "author": author,
        "commentary": escape_commentary(request.text),
        "visibility": visibility if isinstance(visibility, str) and visibility else "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if len(media) == 1:
        urn, alt = media[0]
        item: dict[str, Any] = {"id": urn}
        if alt:
            item["altText"] = alt[:_ALT_TEXT_MAX]
        body["content"] = {"media": item}
    elif media:
        images = [
            {"id": urn, **({"altText": alt[:_ALT_TEXT_MAX]} if alt else {})} for urn, alt in media
        ]
        body["content"] = {"multiImage": {"images": images}}
    else:
        article = _article(request.text, options)
        if article is not None:
            body["content"] = {"article": article}
    return body


def classify_response(
    response: httpx.Response,
    *,
    creating: bool,
    media: MediaFile | None = None,
    now: datetime | None = None,
) -> PlatformError | None:
    """The error a LinkedIn answer stands for, or None for a success (see the module doc)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    now = now or _utcnow()
    body = _json(response)
    message = _message(body, response)
    file_note = f" ({media.filename})" if media is not None else ""
    if status == 429:
        retry_after = response.headers.get("retry-after")
        reset_at = parse_retry_after(retry_after, now) if retry_after else None
        return RateLimited(
            f"{_NAME} daily quota reached{file_note}: {message}",
            reset_at=reset_at or next_midnight_utc(now),
            status=status,
        )
    if status in (401, 403):
        return AuthNeeded(f"{_NAME} refused the access token{file_note}: {message}", status=status)
    if status == 426:
        return Permanent(
            f"{_NAME} no longer serves API version {_sent_version(response)}: {message}. "
            "Set POSTWRIGHT_LINKEDIN_VERSION to a current YYYYMM version",
            status=status,
            platform_code=str(body.get("code") or "NONEXISTENT_VERSION"),
        )
    if status >= 500:
        if creating:
            return Uncertain(
                f"{_NAME} answered {status}: {message}; the post may have been created",
                status=status,
            )
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    if status in (408, 425):
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    duplicate = _DUPLICATE.search(message)
    if creating and status == 422 and duplicate is not None:
        return Uncertain(
            f"{_NAME} refused the post as a duplicate of {duplicate.group(1)}: an earlier attempt "
            "probably created it; looking for it on the account before anything else",
            status=status,
        )
    what = "the media file" if media is not None else "the post"
    code = body.get("code")
    return Permanent(
        f"{_NAME} refused {what}{file_note}: {message}",
        status=status,
        media_file=media.filename if media is not None else None,
        platform_code=str(code) if isinstance(code, str) else None,
    )


def next_midnight_utc(now: datetime) -> datetime:
    """When LinkedIn's daily quotas start again: the next 00:00 UTC."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def metrics_of(actions: Mapping[str, Any]) -> dict[str, int]:
    """likes and comments from a socialActions summary (aggregated counts when present)."""
    likes = actions.get("likesSummary") or {}
    comments = actions.get("commentsSummary") or {}
    pairs = {
        "likes": likes.get("aggregatedTotalLikes", likes.get("totalLikes")),
        "comments": comments.get(
            "aggregatedTotalComments", comments.get("totalFirstLevelComments")
        ),
    }
    return {
        name: int(value)
        for name, value in pairs.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }


# -- helpers ----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return "".join("\\" + char if char in _RESERVED else char for char in text)


def _article(text: str, options: Mapping[str, Any]) -> dict[str, Any] | None:
    if options.get("link_card", True) is False:
        return None
    link = options.get("link")
    if not isinstance(link, str) or not link.strip():
        found = _FIRST_URL.search(text)
        if found is None:
            return None
        link = found.group(0).rstrip(_TRAILING)
    link = link.strip()
    title = options.get("link_title")
    article: dict[str, Any] = {
        "source": link,
        "title": title if isinstance(title, str) and title.strip() else link,
    }
    description = options.get("link_description")
    if isinstance(description, str) and description.strip():
        article["description"] = description
    return article


def _video_made(
    resume: Mapping[str, Any] | None, item: MediaFile, *, now: datetime
) -> tuple[datetime, str | None]:
    """When an earlier try made this file's video, and its URN; `now` and None when it made
    none or it is older than `VIDEO_LIFETIME`."""
    videos = resume.get("videos") if resume else None
    urn = videos.get(str(item.id)) if isinstance(videos, dict) else None
    when = made_within(resume, now=now, lifetime=VIDEO_LIFETIME)
    if not isinstance(urn, str) or when is None:
        return now, None
    return when, urn


@asynccontextmanager
async def _nothing_posted_yet() -> AsyncIterator[None]:
    """Before POST /rest/posts no post exists: an uncertain media step is merely retryable."""
    try:
        yield
    except Uncertain as exc:
        raise Retryable(f"{exc.message} (while uploading media: no post exists yet)") from exc


def _sent_version(response: httpx.Response) -> str:
    try:
        return response.request.headers.get("linkedin-version") or "(none)"
    except RuntimeError:  # a response made by hand, with no request
        return "(unknown)"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: Mapping[str, Any], response: httpx.Response) -> str:
    """LinkedIn's words: `message`, with the first input error's description when there is one."""
    message = body.get("message")
    text = message if isinstance(message, str) and message else ""
    details = body.get("errorDetails")
    inputs = details.get("inputErrors") if isinstance(details, dict) else None
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        description = inputs[0].get("description")
        if isinstance(description, str) and description and description not in text:
            text = f"{text}: {description}" if text else description
    return text or response.text[:300] or response.reason_phrase or f"HTTP {response.status_code}"


async def _size(item: MediaFile) -> int:
    try:
        return (await asyncio.to_thread(item.path.stat)).st_size
    except OSError as exc:
        raise Permanent(
            f"{item.filename} is missing from media storage: {exc.strerror}",
            media_file=item.filename,
        ) from exc


async def _read(path: Path, filename: str) -> bytes:
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise Permanent(
            f"{filename} is missing from media storage: {exc.strerror}", media_file=filename
        ) from exc


def _read_range(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)
