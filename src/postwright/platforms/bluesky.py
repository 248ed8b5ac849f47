"""Bluesky (AT Protocol): a post is an `app.bsky.feed.post` record in the account's repository.

Plain httpx against XRPC, not the `atproto` SDK: the SDK's async client can be pointed at any
PDS, but it brings its own HTTP stack, session handling and generated models; the seven calls
below are small JSON requests, and doing them with the shared client keeps one HTTP stack, one
place for timeouts and one error mapping.

Account (from its connection; refreshing the session is the accounts module's job, not ours):

    credentials  access_jwt   the session's access token, sent as `Authorization: Bearer`
                 refresh_jwt  not used here
                 did          the repository, when `external_id` is not set
    external_id  the DID (the repository the post goes to)
    options      service      the PDS URL (default: the `bluesky` platform URL setting, else
                              https://bsky.social)

Post options: `langs` (up to 3 language codes), `link` (the URL of the link card; default: the
first link of the text), `link_title`, `link_description`, `link_card` (False: no card).

Publishing:

    1. refuse what cannot work, before any upload: video, more than 4 images, an image over
       1,000,000 bytes (Permanent, naming the file);
    2. `com.atproto.repo.uploadBlob` each image; `com.atproto.identity.resolveHandle` each
       @mention (one that does not resolve stays plain text);
    3. `com.atproto.repo.createRecord` at rkey `rkey_for(delivery_id)`.

Only step 3 can create a post, so only its failures are `Uncertain`; failures of the others are
`Retryable`. The record key is the idempotency key: it is derived from the delivery id, so every
attempt of a delivery writes to the same key, and the PDS refuses to write a key twice (the
reference PDS answers HTTP 500, "There is already a value at key"). `find` is a getRecord at that
key; and when createRecord fails with anything but an auth or rate-limit answer, `publish` looks
there too, so a retry after a lost answer returns the first post instead of an error.

Errors: 400 `ExpiredToken`/`InvalidToken` (Bluesky answers 400, not 401) and 401/403 ->
AuthNeeded; 429 -> RateLimited until the later of `Retry-After` and `RateLimit-Reset` (unix s);
400 `BlobNotFound` (an uploaded image was collected before the post was made) -> Retryable; other
4xx -> Permanent with the PDS's message; 5xx -> Uncertain for createRecord, Retryable otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

import httpx
from PIL import Image, UnidentifiedImageError

from postwright.domain.content_rules import GIF, IMAGE, VIDEO, ContentDraft, validate_content
from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    Uncertain,
    Violation,
)
from postwright.domain.platforms import Platform
from postwright.domain.retry import parse_retry_after
from postwright.platforms.base import AccountRef, MediaFile, Published, PublishRequest, RateInfo
from postwright.platforms.bluesky_facets import Segment, detect, to_facets
from postwright.platforms.http import rate_info_from_headers, translate_transport_errors
from postwright.settings import Settings

__all__ = [
    "DEFAULT_APPVIEW",
    "DEFAULT_SERVICE",
    "MAX_IMAGE_BYTES",
    "BlueskyAdapter",
    "LinkPreview",
    "LinkPreviewer",
    "OpenGraphPreviewer",
    "at_uri",
    "build",
    "classify",
    "rkey_for",
]

NAME = "Bluesky"
POST = "app.bsky.feed.post"
DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
"""The lexicon now takes 2,000,000-byte images, but Bluesky's docs still say 1 MB [BD:posts]."""

_CALL_TIMEOUT_S = 20.0
_UPLOAD_TIMEOUT_S = 60.0
_AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})
_NOT_FOUND_MESSAGE = "Could not locate record"  # older PDS versions: InvalidRequest, no name


# -- record keys ----------------------------------------------------------------------------

_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z in microseconds
_TID_SPAN_BITS = 46  # about 2.2 years of microseconds
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


def rkey_for(delivery_id: uuid.UUID) -> str:
    """The record key of a delivery's post: a valid TID, the same for every attempt.

    A TID is 64 bits (top bit 0, 53 bits of microseconds since 1970, a 10-bit clock id) written
    as 13 base32-sortable characters. Delivery ids are random, so no creation time can be read
    from them and none is stable across attempts; the key is therefore taken from a hash of the
    id: 46 bits place its timestamp in 2023-2025, 10 more are the clock id (56 bits in all, so
    two deliveries of one account never meet in practice). Bluesky's app orders posts by
    `createdAt`, not by key, so an old-looking key changes nothing users see.
    """
    digest = hashlib.sha256(b"postwright/bluesky/rkey/v1:" + delivery_id.bytes).digest()
    bits = int.from_bytes(digest[:8], "big")
    micros = _TID_EPOCH_US + (bits >> (64 - _TID_SPAN_BITS))
    clock_id = bits & 0x3FF
    value = (micros << 10) | clock_id
    return "".join(_B32_SORTABLE[(value >> (5 * (12 - i))) & 31] for i in range(13))


def is_tid(text: str) -> bool:
    """Whether `text` is a syntactically valid TID."""
    return _TID.fullmatch(text) is not None


def at_uri(did: str, rkey: str, collection: str = POST) -> str:
    return f"at://{did}/{collection}/{rkey}"


def parse_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo, collection, rkey) of `at://repo/collection/rkey`."""
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://") or len(parts) != 3 or not all(parts):
        raise Permanent(f"{uri!r} is not the AT URI of a Bluesky post")
    return parts[0], parts[1], parts[2]


def permalink(account: AccountRef, did: str, rkey: str) -> str:
    profile = account.handle.lstrip("@") or did
    return f"https://bsky.app/profile/{quote(profile, safe='.:')}/post/{rkey}"


# -- errors ---------------------------------------------------------------------------------


def xrpc_error(response: httpx.Response) -> tuple[str, str]:
    """The `error` name and `message` of an XRPC error answer (or the HTTP reason)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase or str(response.status_code), response.text[:300]
    if not isinstance(body, dict):
        return response.reason_phrase, ""
    return str(body.get("error") or response.reason_phrase), str(body.get("message") or "")


def rate_info(headers: Mapping[str, str], now: datetime) -> RateInfo | None:
    """`RateLimit-Limit/-Remaining/-Reset` (the reset in unix seconds)."""
    return rate_info_from_headers(headers, now=now, prefix="ratelimit-")


def _reset_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """The later of `Retry-After` and `RateLimit-Reset`: waiting less would be refused again."""
    candidates: list[datetime] = []
    retry_after = headers.get("retry-after")
    if retry_after:
        parsed = parse_retry_after(retry_after, now)
        if parsed is not None:
            candidates.append(parsed)
    info = rate_info(headers, now)
    if info is not None and info.reset_at is not None:
        candidates.append(info.reset_at)
    return max(candidates, default=None)


def classify(
    response: httpx.Response, *, creates: bool, now: datetime, media_file: str | None = None
) -> PlatformError:
    """The error class of a non-200 XRPC answer. `creates`: the call may have made the post."""
    status = response.status_code
    error, message = xrpc_error(response)
    said = f"{error}: {message}" if message else error
    if status == 429:
        reset_at = _reset_at(response.headers, now)
        return RateLimited(f"{NAME} rate limit: {said}", reset_at=reset_at, status=status)
    if status in (401, 403) or error in _AUTH_ERRORS:
        return AuthNeeded(
            f"{NAME} refused the session ({said}); sign in to the account again", status=status
        )
    if status >= 500:
        if creates:
            return Uncertain(
                f"{NAME} answered {status} ({said}); the post may have been created",
                status=status,
            )
        return Retryable(f"{NAME} answered {status} ({said})", status=status)
    if status in (408, 425) or error == "BlobNotFound":
        return Retryable(f"{NAME} answered {status} ({said})", status=status)
    where = f" ({media_file})" if media_file else ""
    return Permanent(
        f"{NAME} refused the post{where}: {said}",
        status=status,
        media_file=media_file,
        platform_code=error,
    )


@asynccontextmanager
async def _cannot_create() -> AsyncIterator[None]:
    """Transport errors of a call that cannot create the post: never Uncertain."""
    try:
        async with translate_transport_errors(NAME):
            yield
    except Uncertain as exc:
        raise Retryable(exc.message) from exc


# -- link cards -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """What a link card shows; `thumb` is the image's bytes (at most 1,000,000)."""

    title: str
    description: str
    thumb: bytes | None = None
    thumb_mime: str | None = None


class LinkPreviewer(Protocol):
    """Builds a link card for a URL (Bluesky leaves that to the client), or None."""

    async def preview(self, url: str) -> LinkPreview | None: ...


class _OpenGraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and key not in self.meta and "content" in values:
                self.meta[key] = values["content"].strip()
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_open_graph(html: str) -> tuple[str, str, str | None]:
    """(title, description, image URL) from a page's Open Graph tags, `<title>` as fallback."""
    parser = _OpenGraph()
    parser.feed(html)
    parser.close()
    meta = parser.meta
    title = meta.get("og:title") or meta.get("twitter:title") or parser.title.strip()
    description = (
        meta.get("og:description")
        or meta.get("twitter:description")
        or meta.get("description")
        or ""
    )
    image = meta.get("og:image") or meta.get("twitter:image") or None
    return title, description, image


class OpenGraphPreviewer:
    """Fetches the page and its `og:image` to build a card; any failure means no card.

    Not enabled by `build`: it makes the worker fetch URLs written by users, which needs the same
    guard against private addresses as media fetching before it can be switched on.
    """

    def __init__(
        self, client: httpx.AsyncClient, *, max_page_bytes: int = 1_000_000, timeout_s: float = 5.0
    ) -> None:
        self._client = client
        self._max_page = max_page_bytes
        self._timeout = httpx.Timeout(timeout_s)

    async def preview(self, url: str) -> LinkPreview | None:
        page = await self._get(url, self._max_page, prefix="text/html")
        if page is None:
            return None
        content, _ = page
        title, description, image_url = parse_open_graph(content.decode("utf-8", "replace"))
        thumb = None
        if image_url:
            thumb = await self._get(str(httpx.URL(url).join(image_url)), MAX_IMAGE_BYTES, "image/")
        return LinkPreview(
            title=title or url,
            description=description,
            thumb=thumb[0] if thumb else None,
            thumb_mime=thumb[1] if thumb else None,
        )

    async def _get(self, url: str, limit: int, prefix: str) -> tuple[bytes, str] | None:
        try:
            async with self._client.stream(
                "GET", url, timeout=self._timeout, follow_redirects=True
            ) as response:
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if response.status_code != 200 or not mime.startswith(prefix):
                    return None
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        return None
                    chunks.append(chunk)
                return b"".join(chunks), mime
        except httpx.HTTPError:
            return None


# -- the adapter ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Repo:
    """Where an account's posts live: its PDS and its DID."""

    service: str
    did: str


class BlueskyAdapter:
    """Publishes to an account's PDS; reads metrics from the public AppView."""

    platform: ClassVar[Platform] = Platform.BLUESKY

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        default_service: str = DEFAULT_SERVICE,
        appview: str = DEFAULT_APPVIEW,
        previewer: LinkPreviewer | None = None,
        call_timeout_s: float = _CALL_TIMEOUT_S,
        upload_timeout_s: float = _UPLOAD_TIMEOUT_S,
    ) -> None:
        self._client = client
        self._call_timeout = httpx.Timeout(call_timeout_s, connect=min(call_timeout_s, 10.0))
        self._upload_timeout = httpx.Timeout(
            max(upload_timeout_s, call_timeout_s), connect=min(call_timeout_s, 10.0)
        )
        self._default_service = default_service.rstrip("/")
        self._appview = appview.rstrip("/")
        self._previewer = previewer

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        for item in draft.media:
            if item.kind == VIDEO:
                found.append(
                    Violation(
                        f"{prefix}.media",
                        "media_kind",
                        f"{item.filename} is a video; postwright cannot post video to Bluesky "
                        "yet (images only)",
                    )
                )
        return found

    # publish ---------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        account = request.account
        repo = self._repo(account)
        token = _access_token(account)
        rkey = rkey_for(request.delivery_id)
        _check_media(request.media)

        segments = detect(request.text)
        handles = {s.value.lower() for s in segments if s.kind == "mention"}
        dids = await self._resolve_handles(repo, handles)
        record: dict[str, Any] = {"$type": POST, "text": request.text, "createdAt": _now_iso()}
        langs = request.options.get("langs")
        if isinstance(langs, list | tuple) and langs:
            record["langs"] = [str(lang) for lang in langs]
        facets = to_facets(segments, dids)
        if facets:
            record["facets"] = facets
        embed = await self._embed(request, repo, token, segments)
        if embed is not None:
            record["embed"] = embed

        body = {"repo": repo.did, "collection": POST, "rkey": rkey, "record": record}
        async with translate_transport_errors(NAME):
            response = await self._client.post(
                _xrpc(repo.service, "com.atproto.repo.createRecord"),
                json=body,
                headers=_bearer(token),
                timeout=self._call_timeout,
            )
        now = datetime.now(UTC)
        if response.status_code == 200:
            data = response.json()
            return Published(
                external_id=str(data["uri"]),
                permalink=permalink(account, repo.did, rkey),
                rate=rate_info(response.headers, now),
            )
        error = classify(response, creates=True, now=now)
        if isinstance(error, Uncertain | Permanent):
            # A PDS refuses a second write at the same key (the reference PDS with a 500): if an
            # earlier attempt of this delivery landed, that is the post.
            try:
                existing = await self._get_record(account, repo, rkey)
            except PlatformError:
                existing = None
            if existing is not None:
                return existing
        raise error

    async def _resolve_handles(self, repo: _Repo, handles: Iterable[str]) -> dict[str, str]:
        """DIDs of the handles that resolve; the others are left out (they stay plain text)."""
        dids: dict[str, str] = {}
        for handle in sorted(handles):
            async with _cannot_create():
                response = await self._client.get(
                    _xrpc(repo.service, "com.atproto.identity.resolveHandle"),
                    params={"handle": handle},
                    timeout=self._call_timeout,
                )
            if response.status_code == 200:
                did = response.json().get("did")
                if isinstance(did, str) and did.startswith("did:"):
                    dids[handle] = did
            elif response.status_code == 400:
                continue  # HandleNotFound, or not a handle after all
            else:
                raise classify(response, creates=False, now=datetime.now(UTC))
        return dids

    async def _embed(
        self, request: PublishRequest, repo: _Repo, token: str, segments: Sequence[Segment]
    ) -> dict[str, Any] | None:
        if request.media:
            images = []
            for media in request.media:
                data = await _read(media)
                blob = await self._upload(repo, token, data, media.mime_type, media.filename)
                image: dict[str, Any] = {"image": blob, "alt": media.alt_text or ""}
                ratio = _aspect_ratio(media, data)
                if ratio is not None:
                    image["aspectRatio"] = {"width": ratio[0], "height": ratio[1]}
                images.append(image)
            return {"$type": "app.bsky.embed.images", "images": images}
        return await self._link_card(request, repo, token, segments)

    async def _link_card(
        self, request: PublishRequest, repo: _Repo, token: str, segments: Sequence[Segment]
    ) -> dict[str, Any] | None:
        options = request.options
        if options.get("link_card", True) is False:
            return None
        url = options.get("link") or next((s.value for s in segments if s.kind == "link"), None)
        if not isinstance(url, str) or not url:
            return None
        preview = await self._previewer.preview(url) if self._previewer is not None else None
        title = options.get("link_title") or (preview.title if preview else "") or url
        description = options.get("link_description") or (preview.description if preview else "")
        external: dict[str, Any] = {
            "uri": url,
            "title": str(title),
            "description": str(description),
        }
        if preview is not None and preview.thumb and len(preview.thumb) <= MAX_IMAGE_BYTES:
            mime = preview.thumb_mime or "image/jpeg"
            external["thumb"] = await self._upload(repo, token, preview.thumb, mime, "link card")
        return {"$type": "app.bsky.embed.external", "external": external}

    async def _upload(
        self, repo: _Repo, token: str, data: bytes, mime_type: str, filename: str
    ) -> dict[str, Any]:
        async with _cannot_create():
            response = await self._client.post(
                _xrpc(repo.service, "com.atproto.repo.uploadBlob"),
                content=data,
                headers={**_bearer(token), "Content-Type": mime_type},
                timeout=self._upload_timeout,
            )
        if response.status_code != 200:
            raise classify(response, creates=False, now=datetime.now(UTC), media_file=filename)
        blob = response.json().get("blob")
        if not isinstance(blob, dict):
            raise Retryable(f"{NAME} answered uploadBlob without a blob for {filename}")
        return blob

    # find, delete, metrics -------------------------------------------------------------

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        """The record at this delivery's key, if there is one (`since` is not needed)."""
        account = request.account
        return await self._get_record(account, self._repo(account), rkey_for(request.delivery_id))

    async def _get_record(self, account: AccountRef, repo: _Repo, rkey: str) -> Published | None:
        async with _cannot_create():
            response = await self._client.get(
                _xrpc(repo.service, "com.atproto.repo.getRecord"),
                params={"repo": repo.did, "collection": POST, "rkey": rkey},
                timeout=self._call_timeout,
            )
        if response.status_code == 200:
            return Published(
                external_id=str(response.json()["uri"]),
                permalink=permalink(account, repo.did, rkey),
            )
        error, message = xrpc_error(response)
        if response.status_code == 400 and (
            error == "RecordNotFound" or message.startswith(_NOT_FOUND_MESSAGE)
        ):
            return None
        raise classify(response, creates=False, now=datetime.now(UTC))

    async def delete(self, account: AccountRef, external_id: str) -> None:
        repo = self._repo(account)
        did, collection, rkey = parse_at_uri(external_id)
        async with _cannot_create():
            response = await self._client.post(
                _xrpc(repo.service, "com.atproto.repo.deleteRecord"),
                json={"repo": did, "collection": collection, "rkey": rkey},
                headers=_bearer(_access_token(account)),
                timeout=self._call_timeout,
            )
        if response.status_code != 200:
            raise classify(response, creates=False, now=datetime.now(UTC))

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        """likes, comments (replies), shares (reposts), quotes (and bookmarks when reported).

        Empty when the AppView does not know the post (deleted, or not indexed yet).
        """
        parse_at_uri(external_id)
        async with _cannot_create():
            response = await self._client.get(
                _xrpc(self._appview, "app.bsky.feed.getPosts"),
                params={"uris": external_id},
                timeout=self._call_timeout,
            )
        if response.status_code != 200:
            raise classify(response, creates=False, now=datetime.now(UTC))
        posts = response.json().get("posts") or []
        post = next((p for p in posts if isinstance(p, dict) and p.get("uri") == external_id), None)
        if post is None:
            return {}
        counts = {
            "likes": post.get("likeCount"),
            "comments": post.get("replyCount"),
            "shares": post.get("repostCount"),
            "quotes": post.get("quoteCount"),
            "bookmarks": post.get("bookmarkCount"),
        }
        return {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}

    async def aclose(self) -> None:
        return None

    def _repo(self, account: AccountRef) -> _Repo:
        did = account.external_id or account.credentials.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise AuthNeeded(f"the {NAME} account @{account.handle} has no DID; connect it again")
        service = account.options.get("service") or self._default_service
        return _Repo(service=str(service).rstrip("/"), did=did)


def _access_token(account: AccountRef) -> str:
    token = account.credentials.get("access_jwt")
    if not isinstance(token, str) or not token:
        raise AuthNeeded(f"the {NAME} account @{account.handle} has no session; connect it again")
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _xrpc(base: str, method: str) -> str:
    return f"{base}/xrpc/{method}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_media(media: Sequence[MediaFile]) -> None:
    """Refuse, before uploading anything, what Bluesky cannot take."""
    for item in media:
        if item.kind == VIDEO:
            raise Permanent(
                f"{item.filename} is a video; postwright cannot post video to {NAME} yet",
                media_file=item.filename,
            )
        if item.kind not in (IMAGE, GIF) or not item.mime_type.startswith("image/"):
            raise Permanent(
                f"{item.filename} is {item.mime_type}; {NAME} takes images only",
                media_file=item.filename,
            )
        if item.size_bytes > MAX_IMAGE_BYTES:
            raise _too_large(item, item.size_bytes)
    if len(media) > MAX_IMAGES:
        raise Permanent(f"{len(media)} images; {NAME} takes at most {MAX_IMAGES} per post")


def _too_large(item: MediaFile, size: int) -> Permanent:
    return Permanent(
        f"{item.filename} is {size:,} bytes; {NAME} takes images up to "
        f"{MAX_IMAGE_BYTES:,} bytes (1 MB)",
        media_file=item.filename,
        platform_code="BlobTooLarge",
    )


async def _read(item: MediaFile) -> bytes:
    try:
        data = await asyncio.to_thread(item.path.read_bytes)
    except OSError as exc:
        raise Permanent(
            f"{item.filename} cannot be read: {exc.strerror or exc}", media_file=item.filename
        ) from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(item, len(data))
    return data


def _aspect_ratio(item: MediaFile, data: bytes) -> tuple[int, int] | None:
    """Width and height, from the media record, else from the image itself."""
    if item.width and item.height and item.width > 0 and item.height > 0:
        return item.width, item.height
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def build(client: httpx.AsyncClient, settings: Settings) -> BlueskyAdapter:
    return BlueskyAdapter(
        client,
        default_service=settings.platform_urls.get("bluesky", DEFAULT_SERVICE),
        appview=settings.platform_urls.get("bluesky_appview", DEFAULT_APPVIEW),
        call_timeout_s=settings.publish_timeout_s,
    )
