"""X (formerly Twitter), through API v2 with an OAuth 2.0 user token.

    publish  media: POST /2/media/upload/initialize -> .../{id}/append (1 MiB chunks)
                    -> .../{id}/finalize, for every file; then for each
                    GET /2/media/upload?command=STATUS (while processing)
                    -> POST /2/media/metadata (alt text)
             post:  POST /2/tweets {"text", "media": {"media_ids"}, "reply_settings"?}
    find     GET /2/users/{me}/tweets?start_time=&max_results=100&tweet.fields=created_at
    delete   DELETE /2/tweets/{id}
    metrics  GET /2/tweets/{id}?tweet.fields=public_metrics,non_public_metrics

Account: `credentials["access_token"]` is the OAuth 2.0 user access token (scopes `tweet.read
tweet.write users.read media.write`, plus `offline.access` for the refresh the accounts service
does); `external_id` is the user's numeric id (else it is read once from `GET /2/users/me`);
`handle` is the @username, used for the permalink `https://x.com/{handle}/status/{id}`.
Target options: `reply_settings`. Base URL: the `platform_urls["x"]` setting, else the real API.

Errors, from status, body and headers:

    429 + x-rate-limit-reset          RateLimited until the latest exhausted window's reset
                                      (x-rate-limit-*, x-app-limit-24hour-*, x-user-limit-24hour-*)
    problem type .../usage-capped     Permanent: the app is out of credits or over its cap
    401                               AuthNeeded
    403 "duplicate content" (create)  Uncertain: see below
    other 403, 400, 404, ...          Permanent, with X's `detail` (and the file, for media)
    5xx, timeout after sending        Uncertain for the create; Retryable for every step before
                                      it (no post can exist while media is still uploading)
    200/201 with only `errors`        classified like the problem it carries

Media still processing when the publish's time is up (`media_timeout_s`, by default three
quarters of `publish_timeout_s`) is `StillProcessing`, after X's `check_after_secs`, carrying the
media ids uploaded (by our media id) and when: the next try polls STATUS for those instead of
uploading again, and uploads anew only a file whose session X no longer knows or that is older
than X's 24 h. Nothing is posted before every file succeeded, so waiting cannot post twice.

X has no idempotency key. A create whose answer was lost is found again by `find`; and X refuses
the same text twice from one account ("You are not allowed to create a Tweet with duplicate
content"). That 403 after an uncertain first try almost always means the first try landed, but it
can also mean an older post of the account has the same text, so the adapter does not guess: it
raises `Uncertain`, and reconciliation's `find` (which only looks at posts since the attempt
began) decides whether this delivery is on X.

Matching in `find`: X rewrites every link in a post's `text` to `https://t.co/...` (bare domains
such as `example.com` too), HTML-escapes `&`, `<` and `>`, and appends a t.co link for attached
media. So both texts are compared with every URL (found by twitter-text's grammar, as X finds
them) replaced by one placeholder, entities unescaped, and, for a post with media, trailing links
beyond the ones we sent dropped; then with `content_fingerprint` (case, Unicode form and
whitespace ignored). Media checksums cannot be compared: X does not return the bytes' hashes.

Not emulated faithfully (see `emulator/x.py`): real video transcoding and its failure reasons,
the 30-day window of `non_public_metrics`, and X's exact duplicate-content window.
"""

from __future__ import annotations

import asyncio
import html
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

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
    RateInfo,
    made_within,
)
from postwright.platforms.http import translate_transport_errors
from postwright.settings import Settings

with warnings.catch_warnings():
    # twitter-text-parser warns at import time through `pkg_resources` (see domain/text.py).
    warnings.simplefilter("ignore")
    from twitter_text import extract_urls_with_indices

__all__ = [
    "CHUNK_BYTES",
    "DEFAULT_BASE_URL",
    "XAdapter",
    "build",
    "classify_response",
    "rate_info",
    "same_post_text",
]

DEFAULT_BASE_URL = "https://api.x.com"
CHUNK_BYTES = 1_048_576
"""Bytes per APPEND segment: 1 MiB, as Postiz sends them; X takes up to 1,000 segments."""

MEDIA_LIFETIME = timedelta(hours=24)
"""How long X keeps an uploaded medium for a post (`expires_after_secs`)."""

_NAME = "X"
_CATEGORIES = {IMAGE: "tweet_image", GIF: "tweet_gif", VIDEO: "tweet_video"}
# MIME types X takes for posts [XD:best-practices]; the spec's enum lists more (dm, subtitles).
_MEDIA_TYPES = {
    IMAGE: frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/pjpeg"}),
    GIF: frozenset({"image/gif"}),
    VIDEO: frozenset({"video/mp4", "video/quicktime"}),
}
_ALT_TEXT_MAX = 1000
_FIND_PAGES = 5  # 500 posts since the attempt began: far more than one account posts
_STEP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_APPEND_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_START_TIME_LAG = timedelta(seconds=10)  # X refuses a start_time less than 10 s in the past
_URL = "\u2063url\u2063"  # placeholder for every link when comparing texts
# Rate-limit windows X reports, in the order their reset is preferred when several are spent.
_WINDOWS = ("x-rate-limit-", "x-app-limit-24hour-", "x-user-limit-24hour-")

Sleep = Callable[[float], Awaitable[None]]


class XAdapter:
    """Publishes to X through API v2 (see the module docstring)."""

    platform: ClassVar[Platform] = Platform.X

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        media_timeout_s: float = 600.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._media_timeout_s = media_timeout_s
        self._sleep = sleep
        self._user_ids: dict[str, str] = {}  # access token -> user id, when not on the account

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        for item in draft.media:
            accepted = _MEDIA_TYPES.get(item.kind)
            if accepted is not None and item.mime_type not in accepted:
                found.append(
                    Violation(
                        f"{prefix}.media",
                        "media_kind",
                        f"{item.filename} is {item.mime_type}; X accepts "
                        f"{', '.join(sorted(accepted))} for this kind of file",
                    )
                )
        return found

    # -- publish ---------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        account = request.account
        deadline = asyncio.get_running_loop().time() + self._media_timeout_s
        async with _nothing_posted_yet():
            media_ids = await self._media(request, deadline)
        body: dict[str, Any] = {"text": request.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        reply_settings = request.options.get("reply_settings")
        if reply_settings:
            body["reply_settings"] = reply_settings
        async with translate_transport_errors(_NAME):
            response = await self._client.post(
                f"{self._base}/2/tweets", json=body, headers=_auth(account)
            )
        data = self._data(response, creating=True)
        if not data.get("id"):
            raise Uncertain(f"X answered {response.status_code} without the new post's id")
        post_id = str(data["id"])
        return Published(
            external_id=post_id,
            permalink=permalink(account.handle, post_id),
            rate=rate_info(response.headers),
        )

    async def _media(self, request: PublishRequest, deadline: float) -> list[str]:
        """Every file uploaded (or, resuming, found uploaded) and processed; their media ids."""
        account = request.account
        now = datetime.now(UTC)
        made_at, known = _uploaded(request.resume, now=now)
        uploaded: dict[str, str] = {}  # our media id -> X's, what a resumed try continues with
        started: list[tuple[MediaFile, str, Any]] = []
        for item in request.media:
            media_id = known.get(str(item.id))
            processing: Any = None
            if media_id is not None:
                processing = await self._status(account, item, media_id)
            if processing is _GONE or media_id is None:
                media_id, processing = await self._upload(account, item)
            uploaded[str(item.id)] = media_id
            started.append((item, media_id, processing))
        for item, media_id, processing in started:
            await self._wait_processed(
                account,
                item,
                media_id,
                processing,
                deadline=deadline,
                resume={"made_at": (made_at or now).isoformat(), "media": uploaded},
            )
            if item.alt_text:
                await self._call(
                    "POST",
                    "/2/media/metadata",
                    account,
                    media=item,
                    json={
                        "id": media_id,
                        "metadata": {"alt_text": {"text": item.alt_text[:_ALT_TEXT_MAX]}},
                    },
                )
        return [media_id for _, media_id, _ in started]

    async def _status(self, account: AccountRef, item: MediaFile, media_id: str) -> Any:
        """The `processing_info` of an upload a previous try made; `_GONE` if X forgot it."""
        try:
            status = await self._call(
                "GET",
                "/2/media/upload",
                account,
                media=item,
                params={"command": "STATUS", "media_id": media_id},
            )
        except Permanent:
            return _GONE  # expired or unknown: upload the file again
        return status.get("processing_info")

    async def _upload(self, account: AccountRef, item: MediaFile) -> tuple[str, Any]:
        """initialize, append, finalize: the media id and its first `processing_info`."""
        category = _CATEGORIES.get(item.kind)
        if category is None:
            raise Permanent(
                f"X cannot attach {item.filename}: only images, GIFs and videos",
                media_file=item.filename,
            )
        size = await _file_size(item)
        init = await self._call(
            "POST",
            "/2/media/upload/initialize",
            account,
            media=item,
            json={"media_type": item.mime_type, "total_bytes": size, "media_category": category},
        )
        if not init.get("id"):
            raise Retryable(f"X started no upload session for {item.filename} (no media id)")
        media_id = str(init["id"])
        for segment, offset in enumerate(range(0, size, CHUNK_BYTES)):
            chunk = await asyncio.to_thread(_read_at, item.path, offset, CHUNK_BYTES)
            await self._call(
                "POST",
                f"/2/media/upload/{quote(media_id, safe='')}/append",
                account,
                media=item,
                data={"segment_index": str(segment)},
                files={"media": (item.filename, chunk, "application/octet-stream")},
                step_timeout=_APPEND_TIMEOUT,
            )
        final = await self._call(
            "POST", f"/2/media/upload/{quote(media_id, safe='')}/finalize", account, media=item
        )
        return media_id, final.get("processing_info")

    async def _wait_processed(
        self,
        account: AccountRef,
        item: MediaFile,
        media_id: str,
        processing: Any,
        *,
        deadline: float,
        resume: dict[str, Any],
    ) -> None:
        """Poll STATUS as `check_after_secs` says until the media succeeded or failed; still
        processing at `deadline` is `StillProcessing` with `resume`."""
        loop = asyncio.get_running_loop()
        while isinstance(processing, dict):
            state = processing.get("state")
            if state == "succeeded":
                return
            if state == "failed":
                error = processing.get("error") or {}
                reason = error.get("message") or error.get("name") or "no reason given"
                raise Permanent(
                    f"X could not process {item.filename}: {reason}",
                    media_file=item.filename,
                    platform_code=str(error.get("name")) if error.get("name") else None,
                )
            wait = processing.get("check_after_secs")
            wait_s = float(wait) if isinstance(wait, int | float) and wait > 0 else 1.0
            if loop.time() + wait_s > deadline:
                raise StillProcessing(
                    f"X is still processing {item.filename}",
                    resume=resume,
                    check_after=timedelta(seconds=wait_s),
                )
            await self._sleep(min(wait_s, 60.0))
            status = await self._call(
                "GET",
                "/2/media/upload",
                account,
                media=item,
                params={"command": "STATUS", "media_id": media_id},
            )
            processing = status.get("processing_info")

    # -- find, delete, metrics ---------------------------------------------------------------

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        account = request.account
        user_id = account.external_id or await self._user_id(account)
        start = min(since.astimezone(UTC), datetime.now(UTC) - _START_TIME_LAG)
        params = {
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": "100",
            "tweet.fields": "created_at",
        }
        for _ in range(_FIND_PAGES):
            page = await self._call(
                "GET",
                f"/2/users/{quote(user_id, safe='')}/tweets",
                account,
                params=params,
                raw=True,
            )
            if "data" not in page and "meta" not in page and page.get("errors"):
                raise _problem_error(page, status=200, creating=False, media=None)
            for post in page.get("data") or []:
                if isinstance(post, dict) and str(post.get("id")) in request.taken:
                    continue
                text = post.get("text") if isinstance(post, dict) else None
                if isinstance(text, str) and same_post_text(
                    request.text, text, with_media=bool(request.media)
                ):
                    post_id = str(post["id"])
                    return Published(
                        external_id=post_id, permalink=permalink(account.handle, post_id)
                    )
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return None
            params["pagination_token"] = str(token)
        return None

    async def delete(self, account: AccountRef, external_id: str) -> None:
        async with translate_transport_errors(_NAME):
            response = await self._client.delete(
                f"{self._base}/2/tweets/{quote(external_id, safe='')}", headers=_auth(account)
            )
        if response.status_code == 404:
            return  # already gone
        self._data(response, creating=False)

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        path = f"/2/tweets/{quote(external_id, safe='')}"
        fields = "public_metrics,non_public_metrics"
        body = await self._call("GET", path, account, params={"tweet.fields": fields}, raw=True)
        if not isinstance(body.get("data"), dict) and not _not_found(body):
            # non_public_metrics is refused for others' posts and posts older than 30 days.
            params = {"tweet.fields": "public_metrics"}
            body = await self._call("GET", path, account, params=params, raw=True)
        data = body.get("data")
        if not isinstance(data, dict):
            raise _problem_error(body, status=200, creating=False, media=None)
        return metrics_of(data)

    async def aclose(self) -> None:
        return None

    # -- plumbing ----------------------------------------------------------------------------

    async def _user_id(self, account: AccountRef) -> str:
        token = str(account.credentials.get("access_token", ""))
        known = self._user_ids.get(token)
        if known is None:
            me = await self._call("GET", "/2/users/me", account)
            known = self._user_ids[token] = str(me["id"])
        return known

    async def _call(
        self,
        method: str,
        path: str,
        account: AccountRef,
        *,
        media: MediaFile | None = None,
        raw: bool = False,
        step_timeout: httpx.Timeout = _STEP_TIMEOUT,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One request that creates no post: its `data` (or, with `raw`, the whole body)."""
        async with translate_transport_errors(_NAME):
            response = await self._client.request(
                method, self._base + path, headers=_auth(account), timeout=step_timeout, **kwargs
            )
        if raw and response.status_code == 200:
            return _json_object(response)
        return self._data(response, creating=False, media=media)

    @staticmethod
    def _data(
        response: httpx.Response, *, creating: bool, media: MediaFile | None = None
    ) -> dict[str, Any]:
        error = classify_response(response, creating=creating, media=media)
        if error is not None:
            raise error
        data = _json_object(response).get("data")
        return data if isinstance(data, dict) else {}


def build(client: httpx.AsyncClient, settings: Settings) -> XAdapter:
    return XAdapter(
        client,
        base_url=settings.platform_urls.get("x", DEFAULT_BASE_URL),
        media_timeout_s=settings.publish_timeout_s * MEDIA_WAIT_SHARE,
    )


def permalink(handle: str, post_id: str) -> str:
    """`https://x.com/{handle}/status/{id}` (X redirects `/i/web/status/{id}` when unknown)."""
    username = handle.strip().lstrip("@")
    return f"https://x.com/{quote(username or 'i/web', safe='/')}/status/{post_id}"


def classify_response(
    response: httpx.Response,
    *,
    creating: bool,
    media: MediaFile | None = None,
    now: datetime | None = None,
) -> PlatformError | None:
    """The error an X answer stands for, or None when it is a success with data.

    A 2xx whose body holds `errors` and no `data` is an error too (X answers 200 for a lookup of
    a post that does not exist, for example).
    """
    status = response.status_code
    body = _json_object(response)
    if 200 <= status < 300:
        if "data" in body or not body.get("errors"):
            return None
        return _problem_error(body, status=status, creating=creating, media=media)
    now = now or datetime.now(UTC)
    detail = _detail(body, response)
    file_note = f" ({media.filename})" if media is not None else ""
    if _problem_type(body).endswith("/usage-capped"):
        return Permanent(
            f"X refused the request because the app's usage cap is reached (out of credits or "
            f"over the plan's monthly cap): {detail}. Add credits or raise the cap in the X "
            "developer console, then retry",
            status=status,
            platform_code="usage-capped",
        )
    if status == 429:
        return RateLimited(
            f"X rate limit reached{file_note}: {detail}",
            reset_at=_reset_at(response.headers, now),
            status=status,
        )
    if status == 401:
        return AuthNeeded(f"X refused the access token: {detail}", status=status)
    if status == 403 and creating and "duplicate content" in detail.lower():
        return Uncertain(
            "X refused the post as a duplicate of a recent post with the same text: an earlier "
            "attempt probably created it; looking for it on the account before anything else",
            status=status,
        )
    if status >= 500 or status in (408, 425):
        if creating and status >= 500:
            return Uncertain(
                f"X answered {status}: {detail}; the post may have been created", status=status
            )
        return Retryable(f"X answered {status}{file_note}: {detail}", status=status)
    what = "the media file" if media is not None else "the request"
    return Permanent(
        f"X refused {what}{file_note}: {detail}",
        status=status,
        media_file=media.filename if media is not None else None,
        platform_code=_problem_type(body) or None,
    )


def rate_info(headers: Mapping[str, str]) -> RateInfo | None:
    """`x-rate-limit-limit/-remaining/-reset` (reset in unix seconds) as a RateInfo."""
    lowered = {key.lower(): value for key, value in headers.items()}
    values = [lowered.get(f"x-rate-limit-{name}") for name in ("limit", "remaining", "reset")]
    if all(value is None for value in values):
        return None
    limit, remaining, reset = values
    return RateInfo(limit=_int(limit), remaining=_int(remaining), reset_at=_epoch(reset))


def metrics_of(post: Mapping[str, Any]) -> dict[str, int]:
    """Our metric names from a post's `public_metrics` and `non_public_metrics`.

    Accepts both names of reposts: `retweet_count` (prose docs, spec 2.159) and `repost_count`
    (spec 2.167).
    """
    public = post.get("public_metrics") or {}
    private = post.get("non_public_metrics") or {}
    pairs = {
        "likes": public.get("like_count"),
        "comments": public.get("reply_count"),
        "shares": public.get("retweet_count", public.get("repost_count")),
        "quotes": public.get("quote_count"),
        "bookmarks": public.get("bookmark_count"),
        "views": public.get("impression_count", private.get("impression_count")),
        "clicks": private.get("url_link_clicks"),
        "profile_clicks": private.get("user_profile_clicks"),
        "engagements": private.get("engagements"),
    }
    return {name: int(value) for name, value in pairs.items() if isinstance(value, int)}


def same_post_text(sent: str, found: str, *, with_media: bool) -> bool:
    """Whether `found` (a post's `text` as X returns it) is the text we sent (see module doc)."""
    ours = _comparable(sent)
    theirs = _comparable(html.unescape(found))
    target = content_fingerprint(ours)
    if content_fingerprint(theirs) == target:
        return True
    if with_media:
        # X appends one t.co link per post with media; drop trailing links we did not send.
        stripped = theirs.rstrip()
        while stripped.endswith(_URL) and stripped.count(_URL) > ours.count(_URL):
            stripped = stripped[: -len(_URL)].rstrip()
            if content_fingerprint(stripped) == target:
                return True
    return False


# -- helpers ----------------------------------------------------------------------------------

_GONE = object()  # an earlier upload X no longer knows


def _uploaded(
    resume: Mapping[str, Any] | None, *, now: datetime
) -> tuple[datetime | None, dict[str, str]]:
    """When the uploads a previous try left were made, and its media ids by our media id;
    nothing when there are none or they are too old to attach."""
    media = resume.get("media") if resume else None
    when = made_within(resume, now=now, lifetime=MEDIA_LIFETIME)
    if not isinstance(media, dict) or when is None:
        return None, {}
    return when, {str(k): str(v) for k, v in media.items() if isinstance(v, str)}


def _auth(account: AccountRef) -> dict[str, str]:
    token = account.credentials.get("access_token")
    if not token:
        raise AuthNeeded("the X account has no access token; reconnect it")
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def _nothing_posted_yet() -> AsyncIterator[None]:
    """Before POST /2/tweets nothing can be on X: an uncertain media step is merely retryable."""
    try:
        yield
    except Uncertain as exc:
        raise Retryable(f"{exc.message} (while uploading media: no post exists yet)") from exc


def _comparable(text: str) -> str:
    entities = extract_urls_with_indices(text, extract_urls_without_protocol=True)
    pieces: list[str] = []
    position = 0
    for entity in sorted(entities, key=lambda e: int(e["indices"][0])):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        if start >= position:
            pieces.extend((text[position:start], _URL))
            position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_type(body: Mapping[str, Any]) -> str:
    value = body.get("type")
    if isinstance(value, str) and value != "about:blank":
        return value
    for error in body.get("errors") or []:
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return ""


def _detail(body: Mapping[str, Any], response: httpx.Response) -> str:
    """X's own words: `detail` of a problem, else the messages of its `errors` array."""
    messages = [
        str(error.get("message") or error.get("detail"))
        for error in body.get("errors") or []
        if isinstance(error, dict) and (error.get("message") or error.get("detail"))
    ]
    detail = body.get("detail")
    # "One or more parameters to your request was invalid." says less than the list.
    if isinstance(detail, str) and detail and not (messages and "One or more" in detail):
        return detail
    if messages:
        return "; ".join(messages)
    title = body.get("title")
    if isinstance(title, str) and title:
        return title
    return response.text[:300] or response.reason_phrase or f"HTTP {response.status_code}"


def _not_found(body: Mapping[str, Any]) -> bool:
    return _problem_type(body).endswith("/resource-not-found")


def _problem_error(
    body: Mapping[str, Any], *, status: int, creating: bool, media: MediaFile | None
) -> PlatformError:
    """An error for a 2xx body that carries only `errors`."""
    detail = (
        "; ".join(
            str(error.get("detail") or error.get("message") or error.get("title"))
            for error in body.get("errors") or []
            if isinstance(error, dict)
        )
        or "no data in the answer"
    )
    kind = _problem_type(body)
    if kind.endswith("/usage-capped"):
        return Permanent(f"X usage cap reached: {detail}", status=status, platform_code=kind)
    if creating and kind.endswith(("/internal-error", "/resource-unavailable")):
        return Uncertain(f"X answered with an error: {detail}", status=status)
    return Permanent(
        f"X answered with an error: {detail}",
        status=status,
        media_file=media.filename if media is not None else None,
        platform_code=kind or None,
    )


def _reset_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When the request may be tried again: the latest reset among spent windows."""
    lowered = {key.lower(): value for key, value in headers.items()}
    spent = [
        reset
        for prefix in _WINDOWS
        if lowered.get(prefix + "remaining") == "0"
        and (reset := _epoch(lowered.get(prefix + "reset"))) is not None
    ]
    if spent:
        return max(spent)
    retry_after = lowered.get("retry-after")
    if retry_after:
        return parse_retry_after(retry_after, now)
    return _epoch(lowered.get("x-rate-limit-reset"))


def _epoch(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _int(value: str | None) -> int | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value)


async def _file_size(item: MediaFile) -> int:
    try:
        return (await asyncio.to_thread(item.path.stat)).st_size
    except OSError as exc:
        raise Permanent(
            f"{item.filename} is missing from media storage: {exc.strerror}",
            media_file=item.filename,
        ) from exc


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)
