"""Mastodon (any instance), through its REST API with an OAuth 2.0 user token.

    publish  media: POST /api/v2/media (multipart `file`, `description` = alt text)
                    -> 200 ready, or 202: GET /api/v1/media/{id} until 200 (206 = not yet)
             post:  POST /api/v1/statuses {"status", "media_ids", "visibility", "spoiler_text",
                    "sensitive", "language"} with `Idempotency-Key: <delivery's key>`, always
    find     < 55 min after the attempt: POST /api/v1/statuses again with the same key (a probe)
             later: GET /api/v1/accounts/{id}/statuses, matched by text
    delete   DELETE /api/v1/statuses/{id}
    metrics  GET /api/v1/statuses/{id}: favourites, reblogs, replies, quotes

Account: `options["instance_url"]` is the instance's base URL (e.g. `https://mastodon.social`);
the `platform_urls["mastodon"]` setting, when set, replaces it for every account (tests, the
demo, benchmarks). `credentials["access_token"]` is the user token (scopes `write:statuses
write:media read:statuses`; Mastodon tokens never expire, they are only revoked).
`external_id` is the account's id on its instance (else read from verify_credentials).
Target options: `visibility`, `spoiler_text`, `sensitive`, `language`.

Errors:

    429 + X-RateLimit-Reset (ISO 8601)  RateLimited until then (Retry-After if ever sent)
    401, 403                            AuthNeeded (revoked token, suspended or disabled account)
    422 {"error": "Validation ..."}     Permanent with Mastodon's message (and the file, for media)
    5xx, timeout after sending          Uncertain for the status; Retryable for media uploads,
                                        which come before it (no status can exist yet)
    other 4xx                           Permanent

Why `find` probes with the key: Mastodon keeps an Idempotency-Key for one hour, per account, and
checks it before anything else: a POST carrying a key it has seen returns the status made with
that key, whatever the body says. So `find` sends the same key with an empty status, a body that
Mastodon refuses (422 "Text can't be blank") whenever the key is unknown. A 200 means the earlier
attempt landed (that status is returned, nothing new is made); a 422 means it did not, and
nothing was created by looking. This is exact where matching by text is not (the same text may
have been posted by hand, and `content` is rendered HTML). Past the hour the key is forgotten and
the probe would prove nothing, so from 55 minutes on (a margin for clock skew and for the time
the reconciliation itself takes; `since` is already the attempt's start minus a skew) `find`
lists the account's statuses since the attempt began and compares their text with ours, as the
other platforms do. Even a wrong "not found" within the hour is safe: the engine's retry sends the
same key, and Mastodon answers with the existing status instead of making a second one.

Not emulated faithfully (see `emulator/mastodon.py`): real media transcoding, the HTML
sanitiser's every rule when rendering `content`, and per-instance limits other than
`max_characters`.
"""

from __future__ import annotations

import asyncio
import html
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any, ClassVar
from urllib.parse import quote

import httpx

from postwright.domain.content_rules import ContentDraft, validate_content
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
from postwright.domain.posting_rules import content_fingerprint
from postwright.domain.retry import parse_retry_after
from postwright.platforms.base import AccountRef, MediaFile, Published, PublishRequest
from postwright.platforms.http import rate_info_from_headers, translate_transport_errors
from postwright.settings import Settings

with warnings.catch_warnings():
    # twitter-text-parser warns at import time through `pkg_resources` (see domain/text.py).
    warnings.simplefilter("ignore")
    from twitter_text import extract_urls_with_indices

__all__ = [
    "IDEMPOTENCY_PROBE_WINDOW",
    "MastodonAdapter",
    "build",
    "classify_response",
    "plain_text",
    "same_status_text",
]

IDEMPOTENCY_PROBE_WINDOW = timedelta(minutes=55)
"""Up to this long after an attempt began, `find` asks by Idempotency-Key (kept 1 h)."""

_NAME = "Mastodon"
_STEP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_POLL_FIRST_S = 0.5
_POLL_MAX_S = 5.0
_PAGE = 40  # the most `GET /api/v1/accounts/{id}/statuses` returns at once
_FIND_PAGES = 10
_URL = "\u2063url\u2063"
# `@user@domain` mentions are shown as `@user` in `content`.
_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)@[\w.-]+\w", re.I)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.I)
_INVISIBLE = re.compile(r'<span class="invisible">([^<]*)</span>', re.I)
_TAG = re.compile(r"<[^>]+>")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MastodonAdapter:
    """Publishes to Mastodon instances (see the module docstring)."""

    platform: ClassVar[Platform] = Platform.MASTODON

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str | None = None,
        media_timeout_s: float = 600.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = _utcnow,
    ) -> None:
        self._client = client
        self._override = base_url.rstrip("/") if base_url else None
        self._media_timeout_s = media_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._account_ids: dict[tuple[str, str], str] = {}  # (base, token) -> account id

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        return validate_content(self.platform, draft, prefix=prefix)

    # -- publish ---------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        account = request.account
        base = self._base(account)
        media_ids: list[str] = []
        async with _nothing_posted_yet():
            for item in request.media:
                media_ids.append(await self._upload(base, account, item))
        response = await self._post_status(base, request, status_body(request, media_ids))
        error = classify_response(response, creating=True, now=self._clock())
        if error is not None:
            raise error
        return self._published(response, rate=True)

    async def _post_status(
        self, base: str, request: PublishRequest, body: dict[str, Any]
    ) -> httpx.Response:
        headers = {**_auth(request.account), "Idempotency-Key": request.idempotency_key}
        async with translate_transport_errors(_NAME):
            return await self._client.post(f"{base}/api/v1/statuses", json=body, headers=headers)

    async def _upload(self, base: str, account: AccountRef, item: MediaFile) -> str:
        data = {"description": item.alt_text} if item.alt_text else None
        try:
            handle: IO[bytes] = await asyncio.to_thread(item.path.open, "rb")
        except OSError as exc:
            raise Permanent(
                f"{item.filename} is missing from media storage: {exc.strerror}",
                media_file=item.filename,
            ) from exc
        try:
            async with translate_transport_errors(_NAME):
                response = await self._client.post(
                    f"{base}/api/v2/media",
                    headers=_auth(account),
                    files={"file": (item.filename, handle, item.mime_type)},
                    data=data,
                    timeout=_UPLOAD_TIMEOUT,
                )
        finally:
            await asyncio.to_thread(handle.close)
        self._raise_for(response, media=item)
        attachment = _json(response)
        if not attachment.get("id"):
            raise Retryable(f"{_NAME} answered the upload of {item.filename} without a media id")
        media_id = str(attachment["id"])
        if response.status_code == 202:
            await self._wait_processed(base, account, item, media_id)
        return media_id

    async def _wait_processed(
        self, base: str, account: AccountRef, item: MediaFile, media_id: str
    ) -> None:
        """Poll the attachment until 200 (206: still processing), within `media_timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._media_timeout_s
        wait_s = _POLL_FIRST_S
        while True:
            if loop.time() + wait_s > deadline:
                raise Retryable(
                    f"{_NAME} was still processing {item.filename} "
                    f"after {self._media_timeout_s:.0f} s"
                )
            await self._sleep(wait_s)
            async with translate_transport_errors(_NAME):
                response = await self._client.get(
                    f"{base}/api/v1/media/{quote(media_id, safe='')}",
                    headers=_auth(account),
                    timeout=_STEP_TIMEOUT,
                )
            if response.status_code == 200:
                return
            if response.status_code != 206:
                self._raise_for(response, media=item)
            wait_s = min(wait_s * 2, _POLL_MAX_S)

    # -- find, delete, metrics ---------------------------------------------------------------

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        if self._clock() - since < IDEMPOTENCY_PROBE_WINDOW:
            return await self._probe(request)
        return await self._search(request, since=since)

    async def _probe(self, request: PublishRequest) -> Published | None:
        """Ask by Idempotency-Key with a body that can create nothing (see module docstring)."""
        response = await self._post_status(self._base(request.account), request, {"status": ""})
        if response.status_code == 422:
            return None
        self._raise_for(response)
        return self._published(response, rate=False)

    async def _search(self, request: PublishRequest, *, since: datetime) -> Published | None:
        account = request.account
        base = self._base(account)
        account_id = account.external_id or await self._account_id(base, account)
        params = {"limit": str(_PAGE), "exclude_reblogs": "true"}
        for _ in range(_FIND_PAGES):
            statuses = await self._get(
                base, f"/api/v1/accounts/{quote(account_id, safe='')}/statuses", account, params
            )
            if not isinstance(statuses, list) or not statuses:
                return None
            for status in statuses:
                if not isinstance(status, dict):
                    continue
                created = _parse_time(status.get("created_at"))
                if created is not None and created < since:
                    return None  # newest first: nothing older can be ours
                content = status.get("content")
                if str(status.get("id")) in request.taken:
                    continue
                if isinstance(content, str) and same_status_text(request.text, content):
                    return Published(
                        external_id=str(status["id"]),
                        permalink=status.get("url") or status.get("uri"),
                    )
            params["max_id"] = str(statuses[-1].get("id"))
        return None

    async def delete(self, account: AccountRef, external_id: str) -> None:
        base = self._base(account)
        async with translate_transport_errors(_NAME):
            response = await self._client.delete(
                f"{base}/api/v1/statuses/{quote(external_id, safe='')}",
                headers=_auth(account),
                timeout=_STEP_TIMEOUT,
            )
        if response.status_code != 404:
            self._raise_for(response)

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        base = self._base(account)
        status = await self._get(
            base, f"/api/v1/statuses/{quote(external_id, safe='')}", account, {}
        )
        if not isinstance(status, dict):
            raise Permanent(f"{_NAME} answered something that is not a status")
        return metrics_of(status)

    async def aclose(self) -> None:
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _base(self, account: AccountRef) -> str:
        if self._override:
            return self._override
        url = account.options.get("instance_url")
        if not isinstance(url, str) or not url.strip():
            raise AuthNeeded("the Mastodon account has no instance_url; reconnect it")
        return url.strip().rstrip("/")

    async def _account_id(self, base: str, account: AccountRef) -> str:
        key = (base, str(account.credentials.get("access_token", "")))
        known = self._account_ids.get(key)
        if known is None:
            me = await self._get(base, "/api/v1/accounts/verify_credentials", account, {})
            if not isinstance(me, dict) or "id" not in me:
                raise Permanent(f"{_NAME} did not say which account the token belongs to")
            known = self._account_ids[key] = str(me["id"])
        return known

    async def _get(
        self, base: str, path: str, account: AccountRef, params: Mapping[str, str]
    ) -> Any:
        async with translate_transport_errors(_NAME):
            response = await self._client.get(
                base + path, params=params, headers=_auth(account), timeout=_STEP_TIMEOUT
            )
        self._raise_for(response)
        return response.json()

    def _raise_for(self, response: httpx.Response, *, media: MediaFile | None = None) -> None:
        error = classify_response(response, creating=False, media=media, now=self._clock())
        if error is not None:
            raise error

    def _published(self, response: httpx.Response, *, rate: bool) -> Published:
        status = _json(response)
        if "id" not in status:
            raise Uncertain(f"{_NAME} answered {response.status_code} without a status")
        return Published(
            external_id=str(status["id"]),
            permalink=status.get("url") or status.get("uri"),
            rate=rate_info_from_headers(response.headers, now=self._clock()) if rate else None,
        )


def build(client: httpx.AsyncClient, settings: Settings) -> MastodonAdapter:
    return MastodonAdapter(client, base_url=settings.platform_urls.get("mastodon"))


def status_body(request: PublishRequest, media_ids: list[str]) -> dict[str, Any]:
    """The JSON of `POST /api/v1/statuses` for this delivery."""
    body: dict[str, Any] = {"status": request.text}
    if media_ids:
        body["media_ids"] = media_ids
    options = request.options
    for key in ("visibility", "spoiler_text", "language"):
        value = options.get(key)
        if isinstance(value, str) and value:
            body[key] = value
    if options.get("sensitive") is not None:
        body["sensitive"] = bool(options["sensitive"])
    return body


def classify_response(
    response: httpx.Response,
    *,
    creating: bool,
    media: MediaFile | None = None,
    now: datetime | None = None,
) -> PlatformError | None:
    """The error a Mastodon answer stands for, or None for a success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    now = now or _utcnow()
    message = _message(response)
    file_note = f" ({media.filename})" if media is not None else ""
    if status == 429:
        retry_after = response.headers.get("retry-after")
        reset_at = parse_retry_after(retry_after, now) if retry_after else None
        if reset_at is None:
            info = rate_info_from_headers(response.headers, now=now)
            reset_at = info.reset_at if info is not None else None
        return RateLimited(
            f"{_NAME} rate limit reached{file_note}: {message}", reset_at=reset_at, status=status
        )
    if status in (401, 403):
        return AuthNeeded(f"{_NAME} refused the access token: {message}", status=status)
    if status >= 500:
        if creating:
            return Uncertain(
                f"{_NAME} answered {status}: {message}; the status may have been created",
                status=status,
            )
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    if status in (408, 425):
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    what = "the media file" if media is not None else "the status"
    return Permanent(
        f"{_NAME} refused {what}{file_note}: {message}",
        status=status,
        media_file=media.filename if media is not None else None,
    )


def metrics_of(status: Mapping[str, Any]) -> dict[str, int]:
    """Our metric names from a Status' counters (quotes only on 4.5+)."""
    pairs = {
        "likes": status.get("favourites_count"),
        "shares": status.get("reblogs_count"),
        "comments": status.get("replies_count"),
        "quotes": status.get("quotes_count"),
    }
    return {name: int(value) for name, value in pairs.items() if isinstance(value, int)}


def plain_text(content: str) -> str:
    """A status' `content` HTML as text: paragraphs and breaks as newlines, links as written."""
    text = _PARAGRAPH.sub("\n\n", content)
    text = _BREAK.sub("\n", text)
    text = _INVISIBLE.sub(r"\1", text)  # the scheme and tail Mastodon hides in a long link
    return html.unescape(_TAG.sub("", text))


def same_status_text(sent: str, content: str) -> bool:
    """Whether a status' `content` shows the text we sent, links and mentions normalised."""
    return content_fingerprint(_comparable(sent)) == content_fingerprint(
        _comparable(plain_text(content))
    )


# -- helpers ----------------------------------------------------------------------------------


def _auth(account: AccountRef) -> dict[str, str]:
    token = account.credentials.get("access_token")
    if not token:
        raise AuthNeeded("the Mastodon account has no access token; reconnect it")
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def _nothing_posted_yet() -> AsyncIterator[None]:
    """Before POST /api/v1/statuses no status exists: an uncertain upload is merely retryable."""
    try:
        yield
    except Uncertain as exc:
        raise Retryable(f"{exc.message} (while uploading media: no status exists yet)") from exc


def _comparable(text: str) -> str:
    text = _MENTION.sub(r"@\1", text)
    entities = extract_urls_with_indices(text, extract_urls_without_protocol=False)
    pieces: list[str] = []
    position = 0
    for entity in sorted(entities, key=lambda e: int(e["indices"][0])):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        if start >= position:
            pieces.extend((text[position:start], _URL))
            position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(response: httpx.Response) -> str:
    body = _json(response)
    error = body.get("error")
    if isinstance(error, str) and error:
        description = body.get("error_description")
        return f"{error}: {description}" if isinstance(description, str) else error
    return response.text[:300] or response.reason_phrase or f"HTTP {response.status_code}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
