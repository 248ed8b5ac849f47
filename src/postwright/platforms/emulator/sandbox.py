"""The built-in `sandbox` platform: a small, realistic REST API to publish to.

    POST   /sandbox/{account}/posts                    create -> 201 (replay -> 200)
    GET    /sandbox/{account}/posts?since=&limit=      newest first -> {"data": [...], "meta"}
    GET    /sandbox/{account}/posts/{post_id}          one post
    DELETE /sandbox/{account}/posts/{post_id}          -> 204
    GET    /sandbox/{account}/posts/{post_id}/metrics  synthetic counts, derived from the id

- Every request needs `Authorization: Bearer <any non-empty token>` (else 401).
- A create body is `{"text", "media"?: [{"url" | "id", "alt"?}], "link"?}`. Text is at most
  5,000 characters; media at most 4 items.
- A create with an `Idempotency-Key` seen for the same account in the last hour returns the
  stored post again with 200 instead of storing a second one.
- Every request counts against the account's fixed window, and every response carries
  `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds); over
  the limit the answer is 429 with `Retry-After`.
- Errors are `{"error": message, "field": name | null}`: 400 for a body that is not JSON, 422
  for a field that breaks a rule (permanent: retrying cannot help), 404 for an unknown post.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.domain.platforms import Platform
from postwright.platforms.emulator.clock import parse_rfc3339, rfc3339
from postwright.platforms.emulator.gate import Endpoint, account_in_path
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import Quota, RateLimit

__all__ = ["DEFAULT_RATE_LIMIT", "MAX_MEDIA", "MAX_TEXT", "SandboxPlatform"]

NAME = Platform.SANDBOX.value
MAX_TEXT = 5000
MAX_MEDIA = 4
DEFAULT_RATE_LIMIT = RateLimit(limit=100_000, window_seconds=15 * 60)
_DEFAULT_PAGE = 20
_MAX_PAGE = 100
_URL_PATTERN = r"^https?://\S+$"

Handler = Callable[[Request, str], Awaitable[Response]]


class MediaIn(BaseModel):
    """One attachment: an uploaded media id or a URL to fetch, with optional alt text."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048, pattern=_URL_PATTERN)
    id: str | None = Field(default=None, min_length=1, max_length=128)
    alt: str | None = Field(default=None, max_length=1500)

    @model_validator(mode="after")
    def _one_source(self) -> MediaIn:
        if (self.url is None) == (self.id is None):
            raise ValueError("give exactly one of 'url' or 'id'")
        return self


class PostIn(BaseModel):
    """The body of `POST /sandbox/{account}/posts`."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)
    media: list[MediaIn] = Field(default_factory=list, max_length=MAX_MEDIA)
    link: str | None = Field(default=None, max_length=2048, pattern=_URL_PATTERN)


class SandboxPlatform:
    """The sandbox's API over the shared ledger, with its own rate limit and error shape."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._limiter = toolkit.limiter(NAME, DEFAULT_RATE_LIMIT)

    def routes(self) -> Sequence[BaseRoute]:
        """The five endpoints, each behind the fault gate; only the create makes posts."""
        route = self._toolkit.route
        posts = "/sandbox/{account}/posts"
        post = posts + "/{post_id}"
        return [
            route(self, posts, self._api(self._create), methods=["POST"], creates=True),
            route(self, posts, self._api(self._list), methods=["GET"]),
            route(self, post, self._api(self._get), methods=["GET"]),
            route(self, post, self._api(self._delete), methods=["DELETE"]),
            route(self, post + "/metrics", self._api(self._metrics), methods=["GET"]),
        ]

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error, with the account's current rate-limit headers."""
        if body is None:
            body = {"error": f"injected fault: HTTP {status}", "field": None}
        return JSONResponse(body, status, headers=_quota_headers(self._limiter.peek(account)))

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429: the window is reported exhausted until `retry_after` from now."""
        headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(self._limiter.policy.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + retry_after),
        }
        return _error(429, "rate limit exceeded", headers=headers)

    def _api(self, handler: Handler) -> Endpoint:
        """Count the request against the account's window, check the token, then handle it."""

        async def endpoint(request: Request) -> Response:
            account = account_in_path(request)
            quota = self._limiter.hit(account)
            response: Response
            if not quota.allowed:
                retry_after = str(quota.retry_after(time.time()))
                response = _error(429, "rate limit exceeded", headers={"Retry-After": retry_after})
            elif not _has_bearer_token(request):
                challenge = {"WWW-Authenticate": 'Bearer realm="sandbox"'}
                response = _error(401, "missing or invalid bearer token", headers=challenge)
            else:
                response = await handler(request, account)
            response.headers.update(_quota_headers(quota))
            return response

        return endpoint

    async def _create(self, request: Request, account: str) -> Response:
        try:
            draft = PostIn.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        if not draft.text.strip() and not draft.media:
            return _error(422, "a post needs text or media", field="text")
        media: list[JsonValue] = [item.model_dump(exclude_none=True) for item in draft.media]
        post, created = self._ledger.record(
            platform=NAME,
            account=account,
            text=draft.text,
            received_at=self._toolkit.received_at(request),
            idempotency_key=request.headers.get("idempotency-key") or None,
            attributes={"media": media, "link": draft.link},
        )
        body = _public(request, post)
        if not created:
            return JSONResponse(body, 200)
        return JSONResponse(body, 201, headers={"Location": str(body["url"])})

    async def _list(self, request: Request, account: str) -> Response:
        since_text = request.query_params.get("since")
        try:
            since = parse_rfc3339(since_text) if since_text else None
        except ValueError as exc:
            return _error(422, f"since is not an RFC 3339 timestamp: {exc}", field="since")
        limit_text = request.query_params.get("limit", str(_DEFAULT_PAGE))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _MAX_PAGE:
            return _error(422, f"limit must be an integer from 1 to {_MAX_PAGE}", field="limit")
        posts = self._ledger.recent(NAME, account, since=since, limit=int(limit_text))
        data: list[JsonValue] = [_public(request, post) for post in posts]
        return JSONResponse({"data": data, "meta": {"result_count": len(data)}})

    async def _get(self, request: Request, account: str) -> Response:
        post = self._ledger.get(NAME, account, request.path_params["post_id"])
        return _not_found() if post is None else JSONResponse(_public(request, post))

    async def _delete(self, request: Request, account: str) -> Response:
        if not self._ledger.delete(NAME, account, request.path_params["post_id"]):
            return _not_found()
        return Response(status_code=204)

    async def _metrics(self, request: Request, account: str) -> Response:
        post = self._ledger.get(NAME, account, request.path_params["post_id"])
        return _not_found() if post is None else JSONResponse(metrics_of(post.post_id))


def metrics_of(post_id: str) -> dict[str, JsonValue]:
    """Plausible engagement counts that depend on the post id alone (so tests can pin them)."""
    digest = hashlib.blake2b(f"{NAME}:{post_id}".encode(), digest_size=16).digest()
    seed = int.from_bytes(digest, "big")
    views = 100 + seed % 50_000
    likes = views * (5 + (seed >> 20) % 75) // 1000
    return {
        "id": post_id,
        "views": views,
        "likes": likes,
        "comments": likes * ((seed >> 40) % 30) // 100,
        "shares": likes * ((seed >> 60) % 40) // 100,
        "clicks": views * (1 + (seed >> 80) % 50) // 1000,
    }


def _public(request: Request, post: StoredPost) -> dict[str, JsonValue]:
    url = f"{request.base_url}sandbox/{quote(post.account, safe='')}/posts/{post.post_id}"
    return {
        "id": post.post_id,
        "url": url,
        "created_at": rfc3339(post.created_at),
        "text": post.text,
        "media": post.attributes.get("media", []),
        "link": post.attributes.get("link"),
    }


def _has_bearer_token(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(quota.reset_epoch),
    }


def _error(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status, headers=headers)


def _not_found() -> JSONResponse:
    return _error(404, "no such post for this account")


def _invalid(exc: ValidationError) -> JSONResponse:
    error = exc.errors(include_url=False)[0]
    if error["type"] == "json_invalid":
        return _error(400, f"the body is not valid JSON: {error['msg']}")
    field = ".".join(str(part) for part in error["loc"]) or None
    message = error["msg"].removeprefix("Value error, ")
    if field == "text" and error["type"] == "string_too_long":
        message = f"text is {len(error['input'])} characters; at most {MAX_TEXT} are allowed"
    elif field is not None:
        message = f"{field}: {message}"
    return _error(422, message, field=field)
