"""The authorization server behind every emulated OAuth 2.0 platform (`oauth_*` modules).

One `AuthorizationServer` per platform keeps its codes and tokens in memory and applies the rules
every platform shares; each `oauth_<platform>` module serves it at the platform's own paths and
words its answers in the platform's own shapes (`TokenProblem` -> an error body).

Clients. Any client id is registered; its secret is `client_secret_for(client_id)`
(`"secret-" + client_id`), so tests can configure postwright and get client authentication
refused with any other secret.

Authorize (GET shows a consent form, POST submits it). Emulator-only query parameters:
`auto=approve|deny` answers at once without the form; `user=<id>` picks who approves (default:
the platform's default user); `refresh=0` grants no refresh token (as a person unticking offline
access would); a platform may read more (`pages=`, `orgs=`) from `Grant.extra`.

Token rules:
- codes are single use and live `CODE_TTL_S`; a second use fails and revokes what the first
  issued (RFC 6749 4.1.2);
- the `redirect_uri` must be the one of the authorization request, and the client the same;
- PKCE (RFC 7636): a code issued with a `code_challenge` needs the matching `code_verifier`
  (S256, or plain when the request said plain); a platform may require a challenge;
- refresh tokens rotate when the platform does (`rotate_refresh`): the old one stops working.

Control (not platform API): `POST /_emulator/oauth/{server}/revoke {"token"}` revokes an access
or refresh token; `POST /_emulator/oauth/{server}/expire {"token"}` makes an access token
expired; `GET /_emulator/oauth/{server}/tokens` lists what was issued (tests).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = [
    "CODE_TTL_S",
    "AuthorizationServer",
    "Grant",
    "Issued",
    "TokenProblem",
    "Tokens",
    "basic_credentials",
    "bearer",
    "client_secret_for",
    "emulator_oauth_urls",
    "oauth_error",
    "rate_limited",
    "read_params",
    "with_query",
]

CODE_TTL_S = 600.0
_EMULATOR_ONLY = frozenset({"auto", "user", "refresh", "pages", "orgs"})
_STANDARD = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "auto",
        "decision",
        "user",
        "refresh",
    }
)


def client_secret_for(client_id: str) -> str:
    """The secret the emulator expects from `client_id`."""
    return "secret-" + client_id


def emulator_oauth_urls(base: str) -> dict[str, str]:
    """The `oauth_urls` setting that points every connect flow at an emulator at `base`."""
    b = base.rstrip("/")
    return {
        "x.authorize": f"{b}/i/oauth2/authorize",
        "x.token": f"{b}/2/oauth2/token",
        "x.api": b,
        "reddit.authorize": f"{b}/reddit/api/v1/authorize",
        "reddit.token": f"{b}/reddit/api/v1/access_token",
        "reddit.api": f"{b}/reddit",
        "linkedin.authorize": f"{b}/linkedin/oauth/v2/authorization",
        "linkedin.token": f"{b}/linkedin/oauth/v2/accessToken",
        "linkedin.api": f"{b}/linkedin",
        "facebook.authorize": f"{b}/facebook/v26.0/dialog/oauth",
        "facebook.api": f"{b}/facebook/v26.0",
        "instagram.authorize": f"{b}/instagram/oauth/authorize",
        "instagram.token": f"{b}/instagram/oauth/access_token",
        "instagram.graph": f"{b}/instagram",
        "instagram.api": f"{b}/instagram/v23.0",
        "threads.authorize": f"{b}/threads/oauth/authorize",
        "threads.token": f"{b}/threads/oauth/access_token",
        "threads.graph": f"{b}/threads",
        "threads.api": f"{b}/threads/v1.0",
    }


class TokenProblem(StrEnum):
    """Why a token request was refused; each platform words it its own way."""

    INVALID_REQUEST = "invalid_request"  # a required parameter is missing
    INVALID_CLIENT = "invalid_client"  # unknown client or wrong secret
    UNSUPPORTED_GRANT = "unsupported_grant_type"
    CODE_UNKNOWN = "code_unknown"
    CODE_USED = "code_used"
    CODE_EXPIRED = "code_expired"
    CLIENT_MISMATCH = "client_mismatch"  # the code was issued to another client
    REDIRECT_MISMATCH = "redirect_mismatch"
    VERIFIER_MISSING = "verifier_missing"
    VERIFIER_MISMATCH = "verifier_mismatch"
    REFRESH_INVALID = "refresh_invalid"  # unknown, revoked, rotated away or expired
    TOKEN_INVALID = "token_invalid"  # an access token given to an exchange


@dataclass(slots=True)
class Grant:
    """An authorization code and what it was issued for."""

    code: str
    client_id: str
    redirect_uri: str
    user: str
    scope: str
    challenge: str | None
    challenge_method: str | None
    expires_at: float
    offline: bool
    extra: dict[str, str]
    used: bool = False
    issued: list[str] = field(default_factory=list)  # tokens issued from it


@dataclass(slots=True)
class Issued:
    """An access or refresh token."""

    token: str
    kind: str  # access | refresh
    client_id: str
    user: str
    scope: str
    expires_at: float | None
    extra: dict[str, str]
    revoked: bool = False

    def works(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Tokens:
    access: Issued
    refresh: Issued | None


async def read_params(request: Request) -> dict[str, str]:
    """The request's parameters: the query string, then a form or JSON body over it."""
    params = dict(request.query_params)
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update({k: str(v) for k, v in body.items()})
        return params
    form = await request.form()
    params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(dict(params))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(client id, secret) from `Authorization: Basic ...`, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


class AuthorizationServer:
    """Codes and tokens of one platform (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        title: str,
        default_user: str,
        access_ttl_s: float | None,
        refresh_ttl_s: float | None = None,
        issues_refresh: Callable[[Grant], bool] = lambda grant: grant.offline,
        rotate_refresh: bool = True,
        require_pkce: bool = False,
        access_token: Callable[[str], str] | None = None,
        deny_params: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.default_user = default_user
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self._issues_refresh = issues_refresh
        self.rotate_refresh = rotate_refresh
        self.require_pkce = require_pkce
        self._access_token = access_token or (lambda _user: secrets.token_urlsafe(32))
        self._deny = dict(
            deny_params
            or {"error": "access_denied", "error_description": "The user denied the request"}
        )
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Issued] = {}

    # -- clients

    @staticmethod
    def client_ok(client_id: str | None, secret: str | None) -> bool:
        return bool(client_id) and secret == client_secret_for(client_id or "")

    # -- authorize

    def authorize_routes(self, path: str) -> list[Route]:
        return [Route(path, self._authorize, methods=["GET", "POST"])]

    async def _authorize(self, request: Request) -> Response:
        params = await read_params(request)
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not client_id or not redirect_uri.startswith(("http://", "https://")):
            return _page(
                self.title, "Invalid request: client_id and redirect_uri are required", 400
            )
        if params.get("response_type", "code") != "code":
            return _page(self.title, "Invalid request: response_type must be code", 400)
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain" if challenge else None)
        if self.require_pkce and not challenge:
            return _page(self.title, "Invalid request: code_challenge is required (PKCE)", 400)
        if method not in (None, "S256", "plain"):
            return _page(self.title, "Invalid request: code_challenge_method", 400)
        decision = params.get("auto") or params.get("decision")
        state = params.get("state")
        if decision not in ("approve", "deny"):
            return self._consent_form(request, params)
        if decision == "deny":
            answer = dict(self._deny)
            if state is not None:
                answer["state"] = state
            return RedirectResponse(with_query(redirect_uri, answer), status_code=302)
        grant = Grant(
            code=secrets.token_urlsafe(24),
            client_id=client_id,
            redirect_uri=redirect_uri,
            user=params.get("user") or self.default_user,
            scope=params.get("scope", ""),
            challenge=challenge,
            challenge_method=method,
            expires_at=time.time() + CODE_TTL_S,
            offline=params.get("refresh", "1") != "0",
            extra={k: v for k, v in params.items() if k not in _STANDARD},
        )
        self.codes[grant.code] = grant
        answer = {"code": grant.code}
        if state is not None:
            answer["state"] = state
        return RedirectResponse(with_query(redirect_uri, answer), status_code=302)

    def _consent_form(self, request: Request, params: Mapping[str, str]) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in _EMULATOR_ONLY and k != "decision"
        )
        user = html.escape(params.get("user") or self.default_user)
        scope = html.escape(params.get("scope", ""))
        body = (
            f"<!doctype html><title>{self.title}: authorize</title>"
            f"<h1>Authorize {html.escape(params.get('client_id', ''))}?</h1>"
            f"<p>Scopes: {scope}</p>"
            f'<form method="post" action="{html.escape(request.url.path)}">{hidden}'
            f'<label>User <input name="user" value="{user}"></label> '
            '<button name="decision" value="approve">Authorize</button> '
            '<button name="decision" value="deny">Cancel</button></form>'
        )
        return HTMLResponse(body)

    # -- tokens

    def redeem(
        self,
        *,
        code: str | None,
        client_id: str | None,
        redirect_uri: str | None,
        verifier: str | None,
    ) -> Grant | TokenProblem:
        """Check a code (with PKCE) and mark it used; does not issue tokens."""
        if not code:
            return TokenProblem.INVALID_REQUEST
        grant = self.codes.get(code)
        if grant is None:
            return TokenProblem.CODE_UNKNOWN
        if grant.used:
            for token in grant.issued:  # RFC 6749 4.1.2: revoke what the code gave
                if token in self.tokens:
                    self.tokens[token].revoked = True
            return TokenProblem.CODE_USED
        if time.time() >= grant.expires_at:
            return TokenProblem.CODE_EXPIRED
        if client_id != grant.client_id:
            return TokenProblem.CLIENT_MISMATCH
        if redirect_uri != grant.redirect_uri:
            return TokenProblem.REDIRECT_MISMATCH
        if grant.challenge is not None:
            if not verifier:
                return TokenProblem.VERIFIER_MISSING
            expected = _s256(verifier) if grant.challenge_method == "S256" else verifier
            if not secrets.compare_digest(expected, grant.challenge):
                return TokenProblem.VERIFIER_MISMATCH
        grant.used = True
        return grant

    def issue(self, grant: Grant, *, ttl_s: float | None = -1.0) -> Tokens:
        """Access (and, when the grant allows, refresh) tokens for a redeemed grant."""
        access = self._new_access(grant.client_id, grant.user, grant.scope, grant.extra, ttl_s)
        refresh = None
        if self._issues_refresh(grant):
            refresh = self._new_refresh(grant.client_id, grant.user, grant.scope, grant.extra)
        grant.issued.extend(t.token for t in (access, refresh) if t is not None)
        return Tokens(access, refresh)

    def exchange(self, token: str | None, *, ttl_s: float | None) -> Issued | TokenProblem:
        """A new access token for a working one (Meta's long-lived exchanges and refreshes)."""
        found = self.tokens.get(token or "")
        if found is None or found.kind != "access" or not found.works(time.time()):
            return TokenProblem.TOKEN_INVALID
        return self._new_access(found.client_id, found.user, found.scope, found.extra, ttl_s)

    def refresh(self, token: str | None, *, client_id: str | None) -> Tokens | TokenProblem:
        found = self.tokens.get(token or "")
        if found is None or found.kind != "refresh" or not found.works(time.time()):
            return TokenProblem.REFRESH_INVALID
        if client_id is not None and client_id != found.client_id:
            return TokenProblem.REFRESH_INVALID
        access = self._new_access(found.client_id, found.user, found.scope, found.extra, -1.0)
        if self.rotate_refresh:
            found.revoked = True
            found = self._new_refresh(found.client_id, found.user, found.scope, found.extra)
        return Tokens(access, found)

    def user_of(self, token: str | None) -> Issued | None:
        """The access token's record if it works now."""
        found = self.tokens.get(token or "")
        if found is None or found.kind != "access" or not found.works(time.time()):
            return None
        return found

    def _new_access(
        self,
        client_id: str,
        user: str,
        scope: str,
        extra: dict[str, str],
        ttl_s: float | None,
    ) -> Issued:
        ttl = self.access_ttl_s if ttl_s == -1.0 else ttl_s
        issued = Issued(
            token=self._access_token(user),
            kind="access",
            client_id=client_id,
            user=user,
            scope=scope,
            expires_at=time.time() + ttl if ttl is not None else None,
            extra=dict(extra),
        )
        self.tokens[issued.token] = issued
        return issued

    def _new_refresh(self, client_id: str, user: str, scope: str, extra: dict[str, str]) -> Issued:
        ttl = self.refresh_ttl_s
        issued = Issued(
            token=secrets.token_urlsafe(32),
            kind="refresh",
            client_id=client_id,
            user=user,
            scope=scope,
            expires_at=time.time() + ttl if ttl is not None else None,
            extra=dict(extra),
        )
        self.tokens[issued.token] = issued
        return issued

    # -- control

    def control_routes(self) -> list[Route]:
        base = f"/_emulator/oauth/{self.name}"
        return [
            Route(f"{base}/revoke", self._control_revoke, methods=["POST"]),
            Route(f"{base}/expire", self._control_expire, methods=["POST"]),
            Route(f"{base}/tokens", self._control_tokens, methods=["GET"]),
        ]

    async def _control_token(self, request: Request) -> Issued | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        token = body.get("token") if isinstance(body, dict) else None
        return self.tokens.get(token) if isinstance(token, str) else None

    async def _control_revoke(self, request: Request) -> Response:
        found = await self._control_token(request)
        if found is None:
            return JSONResponse({"error": "unknown token"}, 404)
        found.revoked = True
        return Response(status_code=204)

    async def _control_expire(self, request: Request) -> Response:
        found = await self._control_token(request)
        if found is None:
            return JSONResponse({"error": "unknown token"}, 404)
        found.expires_at = time.time() - 1
        return Response(status_code=204)

    async def _control_tokens(self, request: Request) -> Response:
        now = time.time()
        listed: list[JsonValue] = [
            {
                "token": t.token,
                "kind": t.kind,
                "client_id": t.client_id,
                "user": t.user,
                "scope": t.scope,
                "works": t.works(now),
            }
            for t in self.tokens.values()
        ]
        return JSONResponse({"tokens": listed})


def oauth_error(status: int, body: JsonValue) -> JSONResponse:
    """An injected fault in RFC 6749's error shape (the platforms that use it)."""
    if body is None:
        error = "temporarily_unavailable" if status >= 500 else "invalid_request"
        body = {"error": error, "error_description": f"injected {status}"}
    return JSONResponse(body, status)


def rate_limited(retry_after: int, body: JsonValue) -> JSONResponse:
    return JSONResponse(body, 429, headers={"Retry-After": str(retry_after)})


def _page(title: str, message: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{html.escape(title)}</title><p>{html.escape(message)}</p>",
        status_code=status,
    )
