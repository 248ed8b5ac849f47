"""Reddit, through its OAuth API (`https://oauth.reddit.com`) with a user's bearer token.

    publish  self:  POST /api/submit {api_type=json, sr, kind=self, title, text, ...}
             link:  POST /api/submit {..., kind=link, url, resubmit}
             image: POST /api/media/asset.json {filepath, mimetype} -> an upload lease
                    -> POST {args.action} multipart {args.fields..., file} -> XML <Location>
                    -> POST /api/submit {..., kind=image, url=<Location>}
                    -> GET /user/{me}/submitted?sort=new (an image submit answers no post id)
    find     GET /user/{me}/submitted?sort=new&limit=100, matched by subreddit, title and time
    delete   POST /api/del {id=t3_...}
    metrics  GET /api/info?id=t3_...: score, ups, upvote_ratio, num_comments

Account: `credentials["access_token"]` is the OAuth bearer token (scopes `identity submit read
history edit`: `history` lists the account's submissions for `find`, `edit` deletes); `handle` is
the Reddit username (`u/` prefixes are fine; without one it is read once from `/api/v1/me`).
The external id is the post's fullname (`t3_...`); the permalink is `https://www.reddit.com` +
its `permalink`. Base URL: the `platform_urls["reddit"]` setting, else the real API.

Every request carries the unique User-Agent Reddit requires, `web:<app id>:<version> (by
/u/<username>)`: the app id is the `reddit_client_id` setting (else `postwright`), the version
postwright's; generic agents are throttled hard.

Target options: `subreddit` and `title` (required), `kind` (self, link or image; by default an
image post when an image is attached, a link post when `link` is set or the text is nothing but
one URL, else a text post), `link`, `nsfw`, `spoiler`, `flair_id`, `flair_text`, `sendreplies`
(default true), `resubmit` (default false). Link and image posts have no body text on Reddit, so
`validate` refuses text beside them rather than drop it; videos are not supported yet (a video
submit needs a poster image, `video_poster_url`, that postwright does not make).

Errors. Reddit answers most refusals of a submit with HTTP 200 and `{"json": {"errors": [[CODE,
message, field], ...]}}`, so the body decides before the status:

    RATELIMIT            RateLimited, reset from `json.ratelimit` (seconds) or the message's
                         "try again in 7 minutes" / "Take a break for 30 seconds"
    USER_REQUIRED        AuthNeeded
    ALREADY_SUB          Permanent, unless the account itself has this link in this subreddit
                         with this title since the delivery was due: then Uncertain (below)
    anything else        Permanent with Reddit's message (SUBREDDIT_NOEXIST, NO_SELFS,
                         SUBMIT_VALIDATION_FLAIR_REQUIRED, SUBREDDIT_NOTALLOWED, TOO_LONG...)
    429                  RateLimited until `X-Ratelimit-Reset` (seconds from now)
    401, 403             AuthNeeded
    5xx, lost answer     Uncertain for the submit; Retryable for the media steps before it
    other 4xx            Permanent (naming the file for the media steps)

Why ALREADY_SUB is not simply Permanent: without `resubmit`, Reddit refuses a link that is already
in the subreddit. Usually someone else posted it, and retrying cannot help. But the same answer
comes back when a first attempt of this very delivery landed and its answer was lost: the engine
then asks `find`, and if `find` missed it (Reddit's listings lag a little), the retry meets
ALREADY_SUB. The adapter is not told whether an attempt came before, so it looks: when the
account's own recent submissions hold this link in this subreddit with this title, created since
the delivery was due, it raises Uncertain and reconciliation decides (its `find` only accepts
posts made since the attempt began, and no post is claimed by two deliveries); otherwise the link
is someone else's (or an old post of ours) and the refusal is Permanent, with a hint to set
`resubmit`.

`find` lists the account's submissions, which Reddit scopes under `history`. Without that
scope Reddit answers 403, and `find` raises Uncertain rather than return None: None would let the
engine submit again after a lost answer, duplicating the post; raising keeps the delivery
`uncertain` for the reconciler to try again (or a person to settle).

The submit itself uses the client's timeout (the `publish_timeout_s` setting); the other calls
have their own per step.

Rate limits: `X-Ratelimit-Used/-Remaining/-Reset` (Reset in seconds left of the 10-minute
window, Remaining a decimal) become the RateInfo of a publish.

Not emulated faithfully (see `emulator/reddit.py`): media processing and its failures, the
websocket that announces a media post, karma-based throttles beyond the RATELIMIT body.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, ClassVar
from urllib.parse import quote

import httpx

from postwright import __version__
from postwright.domain.content_rules import (
    GIF,
    IMAGE,
    ContentDraft,
    MediaInfo,
    validate_content,
)
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
from postwright.platforms.base import AccountRef, MediaFile, Published, PublishRequest, RateInfo
from postwright.platforms.http import translate_transport_errors
from postwright.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "RedditAdapter",
    "Submission",
    "build",
    "classify_response",
    "plan_submission",
    "rate_info",
    "ratelimit_delay",
    "user_agent",
]

DEFAULT_BASE_URL = "https://oauth.reddit.com"
WEB_URL = "https://www.reddit.com"

_NAME = "Reddit"
_STEP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_PAGE = 100  # the most a listing returns at once
_FIND_PAGES = 3
_SKEW = timedelta(minutes=2)  # between our clock and Reddit's `created_utc`
_DEFAULT_THROTTLE = timedelta(minutes=10)  # a RATELIMIT whose message names no delay
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
_KINDS = ("self", "link", "image")
_BOOL_OPTIONS = ("nsfw", "spoiler", "sendreplies", "resubmit")
_ONLY_URL = re.compile(r"\s*(https?://\S+)\s*")
_DELAY = re.compile(r"(\d+(?:\.\d+)?)\s*(millisecond|second|minute|hour)s?", re.IGNORECASE)
_LOCATION = re.compile(r"<Location>(.*?)</Location>", re.DOTALL)
_S3_ERROR = re.compile(r"<Code>(.*?)</Code>.*?<Message>(.*?)</Message>", re.DOTALL)
_AUTH_ERRORS = frozenset({"USER_REQUIRED", "INVALID_CREDENTIALS"})

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Submission:
    """What one delivery submits: the kind, and the link or text that goes with it."""

    kind: str  # self | link | image
    subreddit: str
    title: str
    text: str
    url: str | None


class RedditAdapter:
    """Publishes to Reddit through its OAuth API (see the module docstring)."""

    platform: ClassVar[Platform] = Platform.REDDIT

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        app_id: str | None = None,
        appear_timeout_s: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = _utcnow,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._app_id = app_id or "postwright"
        self._appear_timeout_s = appear_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._names: dict[str, str] = {}  # access token -> username, when not on the account

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        found = validate_content(self.platform, draft, prefix=prefix)
        reported = {violation.field for violation in found}
        _, problems = plan_submission(draft.text, draft.media, draft.options)
        found.extend(
            Violation(f"{prefix}.{where}", rule, message)
            for where, rule, message in problems
            if f"{prefix}.{where}" not in reported
        )
        for key in _BOOL_OPTIONS:
            value = draft.options.get(key)
            if value is not None and not isinstance(value, bool):
                found.append(
                    Violation(f"{prefix}.options.{key}", "invalid", f"{key} must be true or false")
                )
        for key in ("flair_id", "flair_text"):
            value = draft.options.get(key)
            if value is not None and not isinstance(value, str):
                found.append(Violation(f"{prefix}.options.{key}", "invalid", f"{key} must be text"))
        return found

    # -- publish ---------------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Published:
        account = request.account
        submission, problems = plan_submission(request.text, request.media, request.options)
        if problems or submission is None:
            detail = "; ".join(message for _, _, message in problems) or "nothing to submit"
            raise Permanent(f"{_NAME} cannot take this post: {detail}")
        username = await self._username(account)
        url = submission.url
        if submission.kind == "image":
            async with _nothing_posted_yet():
                url = await self._upload(account, username, request.media[0])
        started = self._clock()
        form = submit_form(submission, url=url, options=request.options)
        async with translate_transport_errors(_NAME):
            response = await self._client.post(
                f"{self._base}/api/submit", data=form, headers=self._headers(account, username)
            )
        error = classify_response(response, creating=True, now=self._clock())
        if isinstance(error, Permanent) and error.platform_code == "ALREADY_SUB":
            error = await self._already_submitted(request, username, submission, error)
        if error is not None:
            raise error
        rate = rate_info(response.headers, now=self._clock())
        data = _json(response).get("json", {}).get("data") or {}
        if isinstance(data, dict) and data.get("name"):
            name = str(data["name"])
            link = data.get("url")
            return Published(
                external_id=name,
                permalink=str(link) if isinstance(link, str) and link else _comments_url(name),
                rate=rate,
            )
        if isinstance(data, dict) and data.get("websocket_url"):
            # A media submit: the post is made once Reddit has processed the file.
            found = await self._wait_listed(request, username, submission, started - _SKEW)
            if found is None:
                raise Uncertain(
                    f"{_NAME} accepted the image post but it has not appeared on the account "
                    f"after {self._appear_timeout_s:.0f} s; reconciliation will look for it"
                )
            return Published(found.external_id, found.permalink, rate=rate)
        raise Uncertain(f"{_NAME} answered {response.status_code} without the new post's id")

    async def _upload(self, account: AccountRef, username: str, item: MediaFile) -> str:
        """The three-step media upload; returns the file's URL for the submit (<Location>)."""
        if item.mime_type not in _IMAGE_TYPES:
            raise Permanent(
                f"{_NAME} cannot post {item.filename} ({item.mime_type}): only JPEG, PNG and "
                "GIF images",
                media_file=item.filename,
            )
        lease = await self._call(
            "POST",
            "/api/media/asset.json",
            account,
            username,
            media=item,
            data={"filepath": item.filename, "mimetype": item.mime_type},
        )
        args = lease.get("args") if isinstance(lease, dict) else None
        action = args.get("action") if isinstance(args, dict) else None
        fields = args.get("fields") if isinstance(args, dict) else None
        if not isinstance(action, str) or not isinstance(fields, list):
            raise Retryable(f"{_NAME} gave no upload lease for {item.filename}")
        target = f"https:{action}" if action.startswith("//") else action
        form = {
            str(field["name"]): str(field["value"])
            for field in fields
            if isinstance(field, dict) and "name" in field and "value" in field
        }
        try:
            handle: IO[bytes] = await asyncio.to_thread(item.path.open, "rb")
        except OSError as exc:
            raise Permanent(
                f"{item.filename} is missing from media storage: {exc.strerror}",
                media_file=item.filename,
            ) from exc
        try:
            async with translate_transport_errors(_NAME):
                # No Authorization here: the lease's signed fields are the upload's credentials,
                # and the token must not travel to the storage host.
                response = await self._client.post(
                    target,
                    data=form,
                    files={"file": (item.filename, handle, item.mime_type)},
                    headers={"User-Agent": user_agent(self._app_id, username)},
                    timeout=_UPLOAD_TIMEOUT,
                )
        finally:
            await asyncio.to_thread(handle.close)
        return _uploaded_location(response, item)

    async def _wait_listed(
        self, request: PublishRequest, username: str, submission: Submission, since: datetime
    ) -> Published | None:
        """Poll the account's submissions until the media post shows, within the time allowed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._appear_timeout_s
        wait_s = 0.25
        while True:
            found = await self._search(request.account, username, submission, since=since)
            if found is not None or loop.time() + wait_s > deadline:
                return found
            await self._sleep(wait_s)
            wait_s = min(wait_s * 2, 5.0)

    async def _already_submitted(
        self,
        request: PublishRequest,
        username: str,
        submission: Submission,
        refusal: Permanent,
    ) -> PlatformError:
        """ALREADY_SUB: Uncertain when the link is the account's own recent post, see module doc."""
        due = request.scheduled_at
        since = due - _SKEW if due is not None else None
        try:
            own = await self._search(
                request.account, username, submission, since=since, url=submission.url
            )
        except PlatformError:
            return Uncertain(
                f"{_NAME} says the link is already in r/{submission.subreddit}, and the "
                "account's posts could not be read to tell whether an earlier attempt made it"
            )
        if own is not None:
            return Uncertain(
                f"{_NAME} says the link is already in r/{submission.subreddit}, and the account "
                f"has just posted it ({own.external_id}): an earlier attempt probably landed; "
                "looking for it before anything else"
            )
        return Permanent(
            f"{refusal.message}. Someone already posted this link there; set the `resubmit` "
            "option to post it again anyway",
            status=refusal.status,
            platform_code=refusal.platform_code,
        )

    # -- find, delete, metrics ---------------------------------------------------------------

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        submission, problems = plan_submission(request.text, request.media, request.options)
        if submission is None or problems:
            return None  # it cannot have been submitted
        username = await self._username(request.account)
        try:
            return await self._search(
                request.account, username, submission, since=since, taken=request.taken
            )
        except AuthNeeded as exc:
            if exc.status != 403:
                raise
            # A read refused for want of a scope says nothing about the token's health.
            raise Uncertain(
                f"{_NAME} does not let this token list the account's posts ({exc.message}); "
                "it needs the `history` scope. Whether the post exists cannot be checked",
                status=403,
            ) from exc

    async def _search(
        self,
        account: AccountRef,
        username: str,
        submission: Submission,
        *,
        since: datetime | None,
        url: str | None = None,
        taken: frozenset[str] = frozenset(),
    ) -> Published | None:
        """The account's newest submission in this subreddit with this title (and link)."""
        params = {"sort": "new", "limit": str(_PAGE), "raw_json": "1"}
        path = f"/user/{quote(username, safe='')}/submitted"
        for _ in range(_FIND_PAGES):
            listing = await self._call("GET", path, account, username, params=params)
            children = _children(listing)
            for post in children:
                created = _epoch(post.get("created_utc"))
                if since is not None and created is not None and created < since:
                    return None  # newest first: nothing older can be ours
                name = str(post.get("name") or f"t3_{post.get('id')}")
                if name in taken:
                    continue
                if same_submission(post, submission, url=url):
                    link = post.get("permalink")
                    permalink = (
                        WEB_URL + link if isinstance(link, str) and link else _comments_url(name)
                    )
                    return Published(external_id=name, permalink=permalink)
            after = (listing.get("data") or {}).get("after") if isinstance(listing, dict) else None
            if not children or not after:
                return None
            params["after"] = str(after)
        return None

    async def delete(self, account: AccountRef, external_id: str) -> None:
        username = await self._username(account)
        await self._call("POST", "/api/del", account, username, data={"id": _fullname(external_id)})

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        username = await self._username(account)
        name = _fullname(external_id)
        listing = await self._call(
            "GET", "/api/info", account, username, params={"id": name, "raw_json": "1"}
        )
        for post in _children(listing):
            if post.get("name") == name or f"t3_{post.get('id')}" == name:
                return metrics_of(post)
        raise Permanent(f"{_NAME} has no post {name} (deleted, or never made)")

    async def aclose(self) -> None:
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self, account: AccountRef, username: str) -> dict[str, str]:
        token = account.credentials.get("access_token")
        if not token:
            raise AuthNeeded("the Reddit account has no access token; reconnect it")
        return {
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent(self._app_id, username),
        }

    async def _username(self, account: AccountRef) -> str:
        name = _bare_username(account.handle)
        if name:
            return name
        token = str(account.credentials.get("access_token", ""))
        known = self._names.get(token)
        if known is None:
            me = await self._call("GET", "/api/v1/me", account, "")
            if not isinstance(me, dict) or not isinstance(me.get("name"), str):
                raise Permanent(f"{_NAME} did not say which account the token belongs to")
            known = self._names[token] = str(me["name"])
        return known

    async def _call(
        self,
        method: str,
        path: str,
        account: AccountRef,
        username: str,
        *,
        media: MediaFile | None = None,
        **kwargs: Any,
    ) -> Any:
        """One request that creates no post: its JSON body, or the error it stands for."""
        async with translate_transport_errors(_NAME):
            response = await self._client.request(
                method,
                self._base + path,
                headers=self._headers(account, username),
                timeout=_STEP_TIMEOUT,
                **kwargs,
            )
        error = classify_response(response, creating=False, media=media, now=self._clock())
        if error is not None:
            raise error
        try:
            return response.json()
        except ValueError:
            return {}


def build(client: httpx.AsyncClient, settings: Settings) -> RedditAdapter:
    return RedditAdapter(
        client,
        base_url=settings.platform_urls.get("reddit", DEFAULT_BASE_URL),
        app_id=settings.reddit_client_id,
    )


def user_agent(app_id: str, username: str) -> str:
    """`web:<app id>:<version> (by /u/<username>)`, the form Reddit asks for."""
    agent = f"web:{app_id}:{__version__}"
    return f"{agent} (by /u/{username})" if username else agent


def plan_submission(
    text: str, media: Sequence[MediaInfo | MediaFile], options: Mapping[str, Any]
) -> tuple[Submission | None, list[tuple[str, str, str]]]:
    """The submission a delivery makes, or the problems (field, rule, message) that stop it.

    Pure: `validate` reports the problems before scheduling, `publish` refuses them again.
    """
    subreddit = options.get("subreddit")
    title = options.get("title")
    if not isinstance(subreddit, str) or not subreddit.strip():
        return None, [("options.subreddit", "required", "Choose the subreddit to post to")]
    if not isinstance(title, str) or not title.strip():
        return None, [("options.title", "required", "Reddit posts need a title")]
    problems: list[tuple[str, str, str]] = []
    link = options.get("link")
    only_url = _ONLY_URL.fullmatch(text)
    kind = options.get("kind")
    if kind is None:
        if media:
            kind = "image" if media[0].kind in (IMAGE, GIF) else "video"
        elif (isinstance(link, str) and link.strip()) or only_url is not None:
            kind = "link"
        else:
            kind = "self"
    if kind not in _KINDS:
        problems.append(
            (
                "options.kind" if options.get("kind") else "media",
                "media_kind",
                "postwright does not post videos to Reddit yet (a video post needs a poster "
                "image); post an image, a link or text",
            )
        )
        return None, problems
    url: str | None = None
    body = text
    if kind == "self":
        if media:
            problems.append(
                ("media", "media_kind", "A Reddit text post cannot carry media; remove it")
            )
    elif kind == "link":
        if isinstance(link, str) and link.strip():
            url = link.strip()
            if text.strip() and text.strip() != url:
                problems.append(
                    (
                        "text",
                        "invalid",
                        "Reddit link posts have a title but no body text; remove the text "
                        "or make it a text post",
                    )
                )
        elif only_url is not None:
            url = only_url.group(1)
        else:
            problems.append(("options.link", "required", "A Reddit link post needs a link"))
        if media:
            problems.append(("media", "media_kind", "A Reddit link post cannot carry media"))
        body = ""
    else:  # image
        images = [item for item in media if item.kind in (IMAGE, GIF)]
        if len(images) != 1 or len(media) != 1:
            problems.append(("media", "required", "A Reddit image post needs exactly one image"))
        if text.strip():
            problems.append(
                (
                    "text",
                    "invalid",
                    "Reddit image posts have a title but no body text; remove the text",
                )
            )
        body = ""
    sub = _bare_subreddit(subreddit)
    return Submission(kind=kind, subreddit=sub, title=title.strip(), text=body, url=url), problems


def submit_form(
    submission: Submission, *, url: str | None, options: Mapping[str, Any]
) -> dict[str, str]:
    """The form of `POST /api/submit`."""
    form = {
        "api_type": "json",
        "sr": submission.subreddit,
        "kind": submission.kind,
        "title": submission.title,
        "nsfw": _flag(options.get("nsfw"), False),
        "spoiler": _flag(options.get("spoiler"), False),
        "sendreplies": _flag(options.get("sendreplies"), True),
        "resubmit": _flag(options.get("resubmit"), False),
    }
    if submission.kind == "self":
        form["text"] = submission.text
    elif url is not None:
        form["url"] = url
    for key in ("flair_id", "flair_text"):
        value = options.get(key)
        if isinstance(value, str) and value:
            form[key] = value
    return form


def same_submission(post: Mapping[str, Any], submission: Submission, *, url: str | None) -> bool:
    """Whether a listed post is this submission: same subreddit and title (and link, if given)."""
    subreddit = post.get("subreddit")
    title = post.get("title")
    if not isinstance(subreddit, str) or not isinstance(title, str):
        return False
    if subreddit.casefold() != submission.subreddit.casefold():
        return False
    if content_fingerprint(html.unescape(title)) != content_fingerprint(submission.title):
        return False
    if url is not None:
        listed = post.get("url")
        return isinstance(listed, str) and _same_url(html.unescape(listed), url)
    return True


def classify_response(
    response: httpx.Response,
    *,
    creating: bool,
    media: MediaFile | None = None,
    now: datetime | None = None,
) -> PlatformError | None:
    """The error a Reddit answer stands for, or None for a success (see the module docstring)."""
    now = now or _utcnow()
    status = response.status_code
    body = _json(response)
    if 200 <= status < 300:
        answer = body.get("json")
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if not errors:
            return None
        return _api_error(errors, answer if isinstance(answer, dict) else {}, status, now)
    message = _message(body, response)
    file_note = f" ({media.filename})" if media is not None else ""
    if status == 429:
        return RateLimited(
            f"{_NAME} rate limit reached{file_note}: {message}",
            reset_at=_reset_at(response.headers, now),
            status=status,
        )
    if status in (401, 403):
        return AuthNeeded(f"{_NAME} refused the access token: {message}", status=status)
    if status >= 500:
        if creating:
            return Uncertain(
                f"{_NAME} answered {status}: {message}; the post may have been created",
                status=status,
            )
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    if status in (408, 425):
        return Retryable(f"{_NAME} answered {status}{file_note}: {message}", status=status)
    what = "the media file" if media is not None else "the request"
    return Permanent(
        f"{_NAME} refused {what}{file_note}: {message}",
        status=status,
        media_file=media.filename if media is not None else None,
    )


def ratelimit_delay(message: str, seconds: Any = None) -> timedelta | None:
    """How long a RATELIMIT error asks to wait: `json.ratelimit` seconds, else the message's."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return timedelta(seconds=float(seconds))
    match = _DELAY.search(message)
    if match is None:
        return None
    amount = float(match.group(1))
    unit = match.group(2).lower()
    factor = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0}[unit]
    return timedelta(seconds=amount * factor)


def rate_info(headers: Mapping[str, str], *, now: datetime) -> RateInfo | None:
    """`X-Ratelimit-Used/-Remaining/-Reset` (Reset: seconds left in the window) as a RateInfo."""
    lowered = {key.lower(): value for key, value in headers.items()}
    used = _number(lowered.get("x-ratelimit-used"))
    remaining = _number(lowered.get("x-ratelimit-remaining"))
    reset = _number(lowered.get("x-ratelimit-reset"))
    if used is None and remaining is None and reset is None:
        return None
    return RateInfo(
        limit=round(used + remaining) if used is not None and remaining is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_at=now + timedelta(seconds=reset) if reset is not None else None,
    )


def metrics_of(post: Mapping[str, Any]) -> dict[str, int]:
    """Our metric names from a listed post (Reddit has no view counts)."""
    pairs: dict[str, Any] = {
        "score": post.get("score"),
        "likes": post.get("ups"),
        "comments": post.get("num_comments"),
    }
    found = {
        name: int(value)
        for name, value in pairs.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    ratio = post.get("upvote_ratio")
    if isinstance(ratio, int | float) and not isinstance(ratio, bool):
        found["upvote_ratio_pct"] = round(float(ratio) * 100)
    return found


# -- helpers ----------------------------------------------------------------------------------


def _api_error(errors: Any, answer: Mapping[str, Any], status: int, now: datetime) -> PlatformError:
    """The error of a 200 whose `json.errors` is not empty (the first error decides)."""
    items = [item for item in errors if isinstance(item, list | tuple) and item]
    if not items:
        return Permanent(f"{_NAME} refused the post: {errors!r}", status=status)
    code = str(items[0][0])
    message = str(items[0][1]) if len(items[0]) > 1 else code
    field = str(items[0][2]) if len(items[0]) > 2 and items[0][2] else None
    detail = "; ".join(
        f"{item[1] if len(item) > 1 else item[0]}"
        + (f" ({item[2]})" if len(item) > 2 and item[2] else "")
        for item in items
    )
    if code == "RATELIMIT":
        delay = ratelimit_delay(message, answer.get("ratelimit")) or _DEFAULT_THROTTLE
        return RateLimited(
            f"{_NAME} asks to slow down: {message}", reset_at=now + delay, status=status
        )
    if code in _AUTH_ERRORS:
        return AuthNeeded(f"{_NAME} refused the account: {message}", status=status)
    where = f" [{code}{', ' + field if field else ''}]"
    return Permanent(
        f"{_NAME} refused the post: {detail}{where}", status=status, platform_code=code
    )


def _uploaded_location(response: httpx.Response, item: MediaFile) -> str:
    """The file's URL from the storage host's XML answer, or the error it stands for."""
    text = response.text
    if 200 <= response.status_code < 300:
        match = _LOCATION.search(text)
        if match is None:
            raise Retryable(f"the upload of {item.filename} to {_NAME} answered no <Location>")
        return html.unescape(match.group(1).strip())
    error = _S3_ERROR.search(text)
    reason = (
        f"{html.unescape(error.group(1))}: {html.unescape(error.group(2))}"
        if error
        else text[:200] or f"HTTP {response.status_code}"
    )
    if response.status_code >= 500 or response.status_code in (403, 408):
        # 403: the lease expired or was refused; a new attempt gets a new one.
        raise Retryable(
            f"the upload of {item.filename} to {_NAME} failed ({response.status_code}): {reason}",
            status=response.status_code,
        )
    raise Permanent(
        f"{_NAME} refused the media file {item.filename}: {reason}",
        status=response.status_code,
        media_file=item.filename,
        platform_code=html.unescape(error.group(1)) if error else None,
    )


@asynccontextmanager
async def _nothing_posted_yet() -> AsyncIterator[None]:
    """Before /api/submit no post can exist: an uncertain media step is merely retryable."""
    try:
        yield
    except Uncertain as exc:
        raise Retryable(f"{exc.message} (while uploading media: no post exists yet)") from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: Mapping[str, Any], response: httpx.Response) -> str:
    """Reddit's words: `explanation` or `message` (`{"message": "Forbidden", "error": 403}`)."""
    for key in ("explanation", "message", "reason"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return response.text[:300] or response.reason_phrase or f"HTTP {response.status_code}"


def _reset_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    reset = _number(lowered.get("x-ratelimit-reset"))
    if reset is not None:
        return now + timedelta(seconds=reset)
    retry_after = lowered.get("retry-after")
    return parse_retry_after(retry_after, now) if retry_after else None


def _children(listing: Any) -> list[dict[str, Any]]:
    data = listing.get("data") if isinstance(listing, dict) else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        return []
    return [
        child["data"]
        for child in children
        if isinstance(child, dict) and isinstance(child.get("data"), dict)
    ]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _epoch(value: Any) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _flag(value: Any, default: bool) -> str:
    return "true" if (value if isinstance(value, bool) else default) else "false"


def _bare_username(handle: str) -> str:
    name = handle.strip().lstrip("@")
    for prefix in ("/u/", "u/", "/user/", "user/"):
        if name.lower().startswith(prefix):
            return name[len(prefix) :].strip("/")
    return name.strip("/")


def _bare_subreddit(name: str) -> str:
    sub = name.strip()
    for prefix in ("/r/", "r/"):
        if sub.lower().startswith(prefix):
            return sub[len(prefix) :].strip("/")
    return sub.strip("/")


def _fullname(external_id: str) -> str:
    return external_id if external_id.startswith("t3_") else f"t3_{external_id}"


def _comments_url(name: str) -> str:
    return f"{WEB_URL}/comments/{name.removeprefix('t3_')}/"


def _same_url(listed: str, sent: str) -> bool:
    return listed.strip().rstrip("/").casefold() == sent.strip().rstrip("/").casefold()
