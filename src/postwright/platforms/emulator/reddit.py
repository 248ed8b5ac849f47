"""Reddit's OAuth API (oauth.reddit.com), the publishing subset, and the storage host of uploads.

    POST /api/submit                  form {api_type=json, sr, kind, title, text|url, nsfw,
                                      spoiler, flair_id, flair_text, sendreplies, resubmit}
                                      -> 200 {"json": {"errors": [], "data": {...}}}
    POST /api/media/asset.json        form {filepath, mimetype} -> {args: {action, fields}, asset}
    POST /reddit-uploaded-media       the upload (S3's POST form): fields + file -> 201 XML
                                      <PostResponse><Location>...</Location>...
    GET  /user/{name}/submitted       a user's posts, newest first (limit <= 100, after=t3_...)
    GET  /api/info?id=t3_a,t3_b       those posts (score, ups, upvote_ratio, num_comments)
    POST /api/del                     form {id=t3_...} -> 200 {}
    GET  /api/v1/me                   the token's user

Auth: `Authorization: Bearer <token>`. A token `reddit-user-<name>` acts for that user;
`expired...` and `revoked...` answer 401 {"message": "Unauthorized", "error": 401}; any other
token acts for `DEFAULT_USER`. A token containing `nohistory` lacks the `history` scope: listing
a user's submissions answers 403 with `WWW-Authenticate: ... error="insufficient_scope"`.
The ledger's account is the username, its platform `reddit`; its text is the body of a text
post, the link of a link post, and empty for an image post.

Like Reddit:
- a generic User-Agent (python-httpx, python-requests, curl, Go, none) is answered 429 "Too
  Many Requests", as Reddit throttles them; the agent each post came with is kept in its
  `user_agent` attribute;
- refusals of a submit are HTTP 200 with `json.errors = [[CODE, message, field]]`:
  SUBREDDIT_NOEXIST (names starting `nonexistent`, or malformed), SUBREDDIT_NOTALLOWED
  (`private...`), NO_SELFS (`linksonly...`), NO_LINKS (`textonly...`), NO_IMAGES (`noimages...`),
  SUBMIT_VALIDATION_FLAIR_REQUIRED (`needsflair...` without `flair_id`), NO_TEXT and TOO_LONG
  (title 300, text 40,000), NO_URL, BAD_URL, ALREADY_SUB (a link already in the subreddit,
  unless `resubmit=true`), and RATELIMIT with `json.ratelimit` (seconds) and "Take a break for N
  minutes before trying again." when the user's submit quota (`reddit:submit`) is spent;
- an image submit answers only `user_submitted_page` and `websocket_url`; the post shows in
  listings `MEDIA_PROCESSING_S` seconds later;
- listings HTML-escape `&`, `<` and `>` in titles and text unless `raw_json=1`;
- every API response carries `X-Ratelimit-Used/-Remaining/-Reset` (Remaining a decimal, Reset
  the seconds left of the window); over the limit (`reddit`, per user), 429 {"message": "Too
  Many Requests", "error": 429}. Defaults are generous; `REALISTIC_RATE_LIMITS` holds Reddit's.

Not like Reddit: uploads are not processed (any bytes make an image), videos, galleries, polls
and crossposts are not served, subreddits exist by name (no moderation, karma or bans), the
websocket is never served, scores are synthetic.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from pydantic import JsonValue
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import FixedWindowLimiter, Quota, RateLimit

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "DEFAULT_USER",
    "MEDIA_PROCESSING_S",
    "REALISTIC_RATE_LIMITS",
    "UPLOAD_PATH",
    "RedditPlatform",
]

NAME = Platform.REDDIT.value
DEFAULT_USER = "pw_tester"  # the OAuth emulator's default user too
MEDIA_PROCESSING_S = 0.3
UPLOAD_PATH = "/reddit-uploaded-media"
MAX_TITLE = 300
MAX_TEXT = 40_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_WINDOW = 600.0
DEFAULT_RATE_LIMITS = {
    "reddit": RateLimit(limit=100_000, window_seconds=_WINDOW),
    "reddit:submit": RateLimit(limit=100_000, window_seconds=_WINDOW),
}
REALISTIC_RATE_LIMITS = {
    # 100 queries a minute per OAuth client, averaged over 10 minutes [Reddit Data API Wiki];
    # new accounts may submit about once every 10 minutes (no published number).
    "reddit": RateLimit(limit=1000, window_seconds=_WINDOW),
    "reddit:submit": RateLimit(limit=1, window_seconds=_WINDOW),
}
_GENERIC_AGENTS = ("python-httpx", "python-requests", "python-urllib", "curl", "go-http-client")
_SUBREDDIT = re.compile(r"[A-Za-z0-9_]{3,21}")
_USER = re.compile(r"[A-Za-z0-9_-]{3,20}")
_KINDS = ("self", "link", "image", "video", "videogif")
_MEDIA_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

Handler = Callable[[Request, str], Awaitable[Response]]
_Error = tuple[str, str, str | None]


@dataclass(slots=True)
class _Asset:
    """One media upload lease, from /api/media/asset.json to the submit that uses it."""

    id: str
    owner: str
    mimetype: str
    key: str
    signature: str
    location: str | None = None
    size: int = 0


class RedditPlatform:
    """Reddit's API over the shared ledger (see the module docstring)."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._limiters: dict[str, FixedWindowLimiter] = {
            family: toolkit.limiter(family, default)
            for family, default in DEFAULT_RATE_LIMITS.items()
        }
        self._assets: dict[str, _Asset] = {}  # asset id -> lease
        self._owners: dict[str, str] = {}  # post id -> username
        self._ids = itertools.count(36**5)

    def routes(self) -> Sequence[BaseRoute]:
        """The endpoints behind the fault gate; only /api/submit creates posts."""
        route = self._toolkit.route
        return [
            route(
                self,
                "/api/submit",
                self._api(self._submit),
                methods=["POST"],
                creates=True,
                account_of=_account_of,
            ),
            route(
                self,
                "/api/media/asset.json",
                self._api(self._asset),
                methods=["POST"],
                account_of=_account_of,
            ),
            route(self, UPLOAD_PATH, self._upload, methods=["POST"], account_of=_account_of),
            route(
                self,
                "/user/{username}/submitted",
                self._api(self._submitted),
                methods=["GET"],
                account_of=_account_of,
            ),
            route(
                self, "/api/info", self._api(self._info), methods=["GET"], account_of=_account_of
            ),
            route(
                self, "/api/del", self._api(self._delete), methods=["POST"], account_of=_account_of
            ),
            route(self, "/api/v1/me", self._api(self._me), methods=["GET"], account_of=_account_of),
        ]

    # -- the gate's error shapes -----------------------------------------------------------

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error as Reddit words it, with the user's current quota."""
        if body is None:
            body = {"message": _REASONS.get(status, "Error"), "error": status}
        headers = _quota_headers(self._limiters[NAME].peek(account))
        return JSONResponse(body, status, headers=headers)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429: the window is spent for `retry_after` more seconds."""
        limit = self._limiters[NAME].policy.limit
        headers = {
            "X-Ratelimit-Used": str(limit),
            "X-Ratelimit-Remaining": "0.0",
            "X-Ratelimit-Reset": str(retry_after),
        }
        return JSONResponse({"message": "Too Many Requests", "error": 429}, 429, headers=headers)

    # -- plumbing --------------------------------------------------------------------------

    def _api(self, handler: Handler) -> Endpoint:
        """Check the User-Agent and the token, count the request, then handle it."""
        limiter = self._limiters[NAME]

        async def endpoint(request: Request) -> Response:
            agent = request.headers.get("user-agent", "").strip().lower()
            if not agent or agent.startswith(_GENERIC_AGENTS):
                return JSONResponse({"message": "Too Many Requests", "error": 429}, 429)
            user = user_of_token(_bearer(request))
            if user is None:
                return JSONResponse({"message": "Unauthorized", "error": 401}, 401)
            quota = limiter.hit(user)
            response: Response
            if not quota.allowed:
                response = JSONResponse({"message": "Too Many Requests", "error": 429}, 429)
            else:
                response = await handler(request, user)
            response.headers.update(_quota_headers(quota))
            return response

        return endpoint

    def _new_id(self) -> str:
        number = next(self._ids)
        digits = ""
        while number:
            number, digit = divmod(number, 36)
            digits = _BASE36[digit] + digits
        return digits

    def _visible(self, post: StoredPost, now: float) -> bool:
        ready = post.attributes.get("ready_at")
        return not isinstance(ready, int | float) or ready <= now

    # -- submit ----------------------------------------------------------------------------

    async def _submit(self, request: Request, user: str) -> Response:
        form = await request.form()
        if _field(form, "api_type") != "json":
            # Without api_type=json Reddit answers in its old jQuery format.
            return JSONResponse({"jquery": [], "success": False})
        error = self._refusal(form, user)
        if error is not None:
            return _errors(error)
        quota = self._limiters["reddit:submit"].hit(user)
        if not quota.allowed:
            wait = max(1.0, quota.reset_at - time.time())
            minutes = max(1, math.ceil(wait / 60))
            unit = "minute" if minutes == 1 else "minutes"
            message = (
                "Looks like you've been doing that a lot. "
                f"Take a break for {minutes} {unit} before trying again."
            )
            body: dict[str, JsonValue] = {
                "json": {
                    "ratelimit": round(wait, 3),
                    "errors": [["RATELIMIT", message, "ratelimit"]],
                }
            }
            return JSONResponse(body)
        sr = _field(form, "sr")
        kind = _field(form, "kind")
        title = _field(form, "title")
        url = _field(form, "url")
        post_id = self._new_id()
        attributes: dict[str, JsonValue] = {
            "title": title,
            "subreddit": sr,
            "kind": kind,
            "url": url or None,
            "nsfw": _flag(form, "nsfw"),
            "spoiler": _flag(form, "spoiler"),
            "sendreplies": _flag(form, "sendreplies", default=True),
            "resubmit": _flag(form, "resubmit"),
            "flair_id": _field(form, "flair_id") or None,
            "flair_text": _field(form, "flair_text") or None,
            "user_agent": request.headers.get("user-agent"),
        }
        if kind == "image":
            asset = self._asset_at(url)
            if asset is None:  # `_refusal` checked it; only a concurrent submit could use it
                return _errors(("BAD_URL", "you should check that url", "url"))
            attributes["ready_at"] = time.time() + MEDIA_PROCESSING_S
            attributes["image_url"] = f"https://i.redd.it/{asset.id}.{_MEDIA_TYPES[asset.mimetype]}"
            self._assets.pop(asset.id, None)  # an upload is used once
        text = _field(form, "text") if kind == "self" else (url if kind == "link" else "")
        post, _ = self._ledger.record(
            platform=NAME,
            account=user,
            text=text,
            received_at=self._toolkit.received_at(request),
            post_id=post_id,
            attributes=attributes,
        )
        self._owners[post.post_id] = user
        if kind == "image":
            socket_id = secrets.token_hex(6)
            data: dict[str, JsonValue] = {
                "user_submitted_page": f"https://www.reddit.com/user/{user}/submitted/",
                "websocket_url": f"wss://ws-{socket_id}.wss.redditmedia.com/rte_images/"
                f"{post_id}?m=AQAA{secrets.token_hex(8)}",
            }
        else:
            data = {
                "url": f"https://www.reddit.com{_permalink(post)}",
                "drafts_count": 0,
                "id": post.post_id,
                "name": f"t3_{post.post_id}",
            }
        return JSONResponse({"json": {"errors": [], "data": data}})

    def _refusal(self, form: FormData, user: str) -> _Error | None:
        """The first rule a submit breaks, as Reddit's (code, message, field), or None."""
        sr = _field(form, "sr").strip()
        kind = _field(form, "kind") or "link"
        title = _field(form, "title")
        lowered = sr.lower()
        if not sr:
            return ("SUBREDDIT_REQUIRED", "you must specify a subreddit", "sr")
        if not _SUBREDDIT.fullmatch(sr) or lowered.startswith("nonexistent"):
            return ("SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr")
        if kind not in _KINDS:
            return ("INVALID_OPTION", "that option is not valid", "kind")
        if not title.strip():
            return ("NO_TEXT", "we need something here", "title")
        if len(title) > MAX_TITLE:
            return ("TOO_LONG", f"this is too long (max: {MAX_TITLE})", "title")
        if lowered.startswith("private"):
            return ("SUBREDDIT_NOTALLOWED", "you aren't allowed to post there.", "sr")
        if kind == "self" and lowered.startswith("linksonly"):
            return ("NO_SELFS", "that subreddit doesn't allow text posts", "sr")
        if kind == "link" and lowered.startswith("textonly"):
            return ("NO_LINKS", "that subreddit only allows text posts", "sr")
        if kind == "image" and lowered.startswith(("textonly", "noimages")):
            return ("NO_IMAGES", "this community doesn't allow images", "sr")
        if kind in ("video", "videogif"):
            return ("NO_VIDEOS", "video posts are not emulated", "kind")
        if lowered.startswith("needsflair") and not _field(form, "flair_id"):
            return (
                "SUBMIT_VALIDATION_FLAIR_REQUIRED",
                "Your post must contain post flair.",
                "flair",
            )
        if kind == "self":
            if len(_field(form, "text")) > MAX_TEXT:
                return ("TOO_LONG", f"this is too long (max: {MAX_TEXT})", "text")
            return None
        url = _field(form, "url").strip()
        if not url:
            return ("NO_URL", "a url is required", "url")
        if not url.lower().startswith(("http://", "https://")):
            return ("BAD_URL", "you should check that url", "url")
        if kind == "image":
            asset = self._asset_at(url)
            if asset is None or asset.owner != user:
                return ("BAD_URL", "you should check that url", "url")
            return None
        if not _flag(form, "resubmit") and self._link_in(lowered, url):
            return ("ALREADY_SUB", "that link has already been submitted", "url")
        return None

    def _link_in(self, subreddit: str, url: str) -> bool:
        wanted = url.rstrip("/").casefold()
        return any(
            post.attributes.get("kind") == "link"
            and str(post.attributes.get("subreddit", "")).lower() == subreddit
            and str(post.attributes.get("url", "")).rstrip("/").casefold() == wanted
            for post in self._ledger.entries(platform=NAME)
        )

    def _asset_at(self, url: str) -> _Asset | None:
        """The uploaded asset whose <Location> is `url` (encoded or not)."""
        wanted = unquote(url)
        for asset in self._assets.values():
            if asset.location is not None and unquote(asset.location) == wanted:
                return asset
        return None

    # -- media -----------------------------------------------------------------------------

    async def _asset(self, request: Request, user: str) -> Response:
        form = await request.form()
        filepath = _field(form, "filepath")
        mimetype = _field(form, "mimetype")
        if not filepath or mimetype not in _MEDIA_TYPES:
            return JSONResponse(
                {
                    "message": "Bad Request",
                    "error": 400,
                    "explanation": f"unsupported mimetype {mimetype!r}",
                    "fields": ["mimetype"],
                    "reason": "INVALID_OPTION",
                },
                400,
            )
        asset_id = secrets.token_hex(8)
        key = f"rte_images/{asset_id}"
        signature = secrets.token_hex(16)
        self._assets[asset_id] = _Asset(
            id=asset_id, owner=user, mimetype=mimetype, key=key, signature=signature
        )
        action = str(request.base_url).rstrip("/") + UPLOAD_PATH
        fields: list[JsonValue] = [
            {"name": "acl", "value": "private"},
            {"name": "key", "value": key},
            {"name": "X-Amz-Algorithm", "value": "AWS4-HMAC-SHA256"},
            {"name": "success_action_status", "value": "201"},
            {"name": "Content-Type", "value": mimetype},
            {"name": "policy", "value": hashlib.sha256(key.encode()).hexdigest()},
            {"name": "X-Amz-Signature", "value": signature},
        ]
        return JSONResponse(
            {
                "args": {"action": action, "fields": fields},
                "asset": {
                    "asset_id": asset_id,
                    "processing_state": "incomplete",
                    "payload": {"filepath": filepath},
                    "websocket_url": f"wss://ws-{secrets.token_hex(6)}.wss.redditmedia.com/"
                    f"rte_images/{asset_id}",
                },
            }
        )

    async def _upload(self, request: Request) -> Response:
        """S3's browser-form POST: the signed fields, then the file."""
        async with request.form() as form:
            key = _field(form, "key")
            signature = _field(form, "X-Amz-Signature")
            upload = form.get("file")
            data = await upload.read() if isinstance(upload, UploadFile) else None
        asset = next((a for a in self._assets.values() if a.key == key), None)
        if asset is None or asset.signature != signature or data is None:
            return _s3_error(403, "AccessDenied", "Invalid according to Policy")
        if len(data) > MAX_UPLOAD_BYTES:
            return _s3_error(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            )
        asset.size = len(data)
        asset.location = str(request.base_url).rstrip("/") + f"{UPLOAD_PATH}/{quote(key, safe='')}"
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<PostResponse><Location>{html.escape(asset.location)}</Location>"
            f"<Bucket>reddit-uploaded-media</Bucket><Key>{html.escape(key)}</Key>"
            f'<ETag>"{etag}"</ETag></PostResponse>'
        )
        return Response(xml, 201, media_type="application/xml")

    # -- reading, deleting -----------------------------------------------------------------

    async def _submitted(self, request: Request, user: str) -> Response:
        owner = request.path_params["username"]
        if "nohistory" in (_bearer(request) or "").lower():
            return JSONResponse(
                {"message": "Forbidden", "error": 403},
                403,
                headers={"WWW-Authenticate": 'Bearer realm="reddit", error="insufficient_scope"'},
            )
        if not _USER.fullmatch(owner):
            return JSONResponse({"message": "Not Found", "error": 404}, 404)
        params = request.query_params
        limit = params.get("limit", "25")
        count = min(int(limit), 100) if limit.isdigit() and int(limit) > 0 else 25
        raw = params.get("raw_json") == "1"
        now = time.time()
        posts = [
            post
            for post in self._ledger.recent(NAME, owner, limit=1_000_000)
            if self._visible(post, now)
        ]
        after = params.get("after")
        if after:
            ids = [f"t3_{post.post_id}" for post in posts]
            posts = posts[ids.index(after) + 1 :] if after in ids else []
        page = posts[:count]
        next_after = f"t3_{page[-1].post_id}" if page and len(posts) > len(page) else None
        return JSONResponse(_listing([_thing(post, raw=raw) for post in page], after=next_after))

    async def _info(self, request: Request, user: str) -> Response:
        raw = request.query_params.get("raw_json") == "1"
        now = time.time()
        things: list[JsonValue] = []
        for name in request.query_params.get("id", "").split(","):
            post_id = name.strip().removeprefix("t3_")
            owner = self._owners.get(post_id)
            post = self._ledger.get(NAME, owner, post_id) if owner else None
            if post is not None and self._visible(post, now):
                things.append(_thing(post, raw=raw))
        return JSONResponse(_listing(things, after=None))

    async def _delete(self, request: Request, user: str) -> Response:
        form = await request.form()
        post_id = _field(form, "id").removeprefix("t3_")
        owner = self._owners.get(post_id)
        if owner is None:
            return JSONResponse({})
        if owner != user:
            return JSONResponse({"message": "Forbidden", "error": 403}, 403)
        self._ledger.delete(NAME, owner, post_id)
        self._owners.pop(post_id, None)
        return JSONResponse({})

    async def _me(self, request: Request, user: str) -> Response:
        digest = hashlib.sha256(user.encode()).hexdigest()
        return JSONResponse({"name": user, "id": digest[:7], "link_karma": 1, "comment_karma": 1})


# -- rendering ----------------------------------------------------------------------------------


def _permalink(post: StoredPost) -> str:
    title = str(post.attributes.get("title", ""))
    slug = "_".join(re.findall(r"[a-z0-9]+", title.lower()))[:50] or "post"
    return f"/r/{post.attributes.get('subreddit')}/comments/{post.post_id}/{slug}/"


def metrics_of(post_id: str) -> dict[str, int | float]:
    """Plausible counts that depend on the post id alone (so tests can pin them)."""
    seed = int.from_bytes(hashlib.blake2b(f"reddit:{post_id}".encode(), digest_size=8).digest())
    ups = 1 + seed % 5000
    downs = ups * ((seed >> 16) % 30) // 100
    return {
        "ups": ups,
        "score": ups - downs,
        "upvote_ratio": round(ups / (ups + downs), 2),
        "num_comments": ups * ((seed >> 32) % 20) // 100,
    }


def _thing(post: StoredPost, *, raw: bool) -> dict[str, JsonValue]:
    attributes = post.attributes
    kind = attributes.get("kind")
    permalink = _permalink(post)

    def shown(value: str) -> str:
        return value if raw else html.escape(value, quote=False)

    if kind == "self":
        url: JsonValue = f"https://www.reddit.com{permalink}"
    elif kind == "image":
        url = attributes.get("image_url")
    else:
        url = attributes.get("url")
    counts = metrics_of(post.post_id)
    data: dict[str, JsonValue] = {
        "id": post.post_id,
        "name": f"t3_{post.post_id}",
        "author": post.account,
        "title": shown(str(attributes.get("title", ""))),
        "subreddit": attributes.get("subreddit"),
        "subreddit_name_prefixed": f"r/{attributes.get('subreddit')}",
        "selftext": shown(post.text) if kind == "self" else "",
        "is_self": kind == "self",
        "url": url,
        "permalink": permalink,
        "created_utc": round(post.created_at, 3),
        "over_18": attributes.get("nsfw"),
        "spoiler": attributes.get("spoiler"),
        "send_replies": attributes.get("sendreplies"),
        "link_flair_template_id": attributes.get("flair_id"),
        "link_flair_text": attributes.get("flair_text"),
        **counts,
    }
    return {"kind": "t3", "data": data}


def _listing(things: list[JsonValue], *, after: str | None) -> dict[str, JsonValue]:
    return {
        "kind": "Listing",
        "data": {"after": after, "dist": len(things), "children": things, "before": None},
    }


def _errors(error: _Error) -> JSONResponse:
    code, message, field = error
    return JSONResponse({"json": {"errors": [[code, message, field]]}})


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{html.escape(message)}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return Response(xml, status, media_type="application/xml")


def _quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "X-Ratelimit-Used": str(quota.limit - quota.remaining),
        "X-Ratelimit-Remaining": f"{float(quota.remaining):.1f}",
        "X-Ratelimit-Reset": str(quota.retry_after(time.time())),
    }


# -- requests -----------------------------------------------------------------------------------


def user_of_token(token: str | None) -> str | None:
    """The user a bearer token acts for, or None when it is missing or no longer works."""
    if not token:
        return None
    lowered = token.lower()
    if lowered.startswith(("expired", "revoked")):
        return None
    if lowered.startswith("reddit-user-"):
        user = token[len("reddit-user-") :].split("+", 1)[0]
        return user if _USER.fullmatch(user) else None
    return DEFAULT_USER


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _account_of(request: Request) -> str:
    """The account fault rules match: the token's user (or `anonymous`)."""
    return user_of_token(_bearer(request)) or "anonymous"


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _flag(form: FormData, name: str, *, default: bool = False) -> bool:
    value = _field(form, name).strip().lower()
    if not value:
        return default
    return value in ("true", "1", "on", "yes")
