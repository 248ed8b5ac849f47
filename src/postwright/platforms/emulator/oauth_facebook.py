"""Facebook Login for Pages (and for Instagram accounts linked to Pages), as the emulator serves it.

    GET|POST /facebook/{version}/dialog/oauth          the Login dialog; `pages=N` (default 2):
                                                       how many Pages the person manages
    GET|POST /facebook/{version}/oauth/access_token    code -> a short-lived user token (2 h);
                                                       grant_type=fb_exchange_token -> a
                                                       long-lived one (60 days)
    GET      /facebook/{version}/me                    id, name
    GET      /facebook/{version}/me/accounts           the Pages, each with its Page token and,
                                                       when `fields` asks, its
                                                       `instagram_business_account{id,username}`

Like Graph: the client secret travels as `client_secret` (query or form); errors are
`{"error": {message, type: "OAuthException", code, error_subcode?, fbtrace_id}}`: a wrong
secret code 1 "Error validating client secret."; a used code 100/36009 "This authorization code
has been used."; an expired one 100/36007; a redirect that differs 100/36008; an unknown code
100 "Invalid verification code format."; a wrong PKCE verifier 100 "Invalid code verifier.";
a bad token 190 (463 expired, 467 invalid). A declined dialog redirects with
`error=access_denied&error_code=200&error_description=Permissions+error&error_reason=user_denied`.
Page tokens do not expire. Page ids, names and Instagram accounts derive from the user id.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.platforms.emulator.facebook import graph_error
from postwright.platforms.emulator.oauth_core import (
    AuthorizationServer,
    Issued,
    TokenProblem,
    bearer,
    read_params,
)
from postwright.platforms.emulator.platform import Toolkit

__all__ = [
    "LONG_TTL_S",
    "SHORT_TTL_S",
    "FacebookOAuthPlatform",
    "GraphTokens",
    "Page",
    "graph_token_problem",
    "pages_of",
]

SHORT_TTL_S = 2 * 3600.0
LONG_TTL_S = 60 * 24 * 3600.0
DEFAULT_USER = "100000000000001"
DEFAULT_PAGES = 2


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    name: str
    username: str
    instagram_id: str
    instagram_username: str


def pages_of(user: str, count: int) -> list[Page]:
    """The Pages the emulator says `user` manages (stable across calls)."""
    seed = int(hashlib.sha256(f"pages:{user}".encode()).hexdigest()[:8], 16)
    pages = []
    for i in range(1, count + 1):
        page_id = str(100_000_000_000 + seed * 10 + i)
        pages.append(
            Page(
                id=page_id,
                name=f"Page {i} of {user}",
                username=f"page{i}.{user}",
                instagram_id=str(17_841_400_000_000_000 + seed * 10 + i),
                instagram_username=f"ig_{i}_{user}",
            )
        )
    return pages


def graph_token_problem(problem: TokenProblem) -> JSONResponse:
    """A token endpoint refusal worded as Graph words it."""
    if problem is TokenProblem.INVALID_CLIENT:
        return graph_error(400, 1, "Error validating client secret.")
    if problem is TokenProblem.CODE_USED:
        return graph_error(400, 100, "This authorization code has been used.", subcode=36009)
    if problem is TokenProblem.CODE_EXPIRED:
        return graph_error(400, 100, "This authorization code has expired.", subcode=36007)
    if problem is TokenProblem.REDIRECT_MISMATCH:
        return graph_error(
            400,
            100,
            "Error validating verification code. Please make sure your redirect_uri is "
            "identical to the one you used in the OAuth dialog request",
            subcode=36008,
        )
    if problem in (TokenProblem.VERIFIER_MISSING, TokenProblem.VERIFIER_MISMATCH):
        return graph_error(400, 100, "Invalid code verifier.")
    if problem in (TokenProblem.TOKEN_INVALID, TokenProblem.REFRESH_INVALID):
        return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
    if problem is TokenProblem.INVALID_REQUEST:
        return graph_error(400, 100, "Missing required parameter.")
    return graph_error(400, 100, "Invalid verification code format.")


class GraphTokens:
    """Reading a Graph call's token and answering for a bad one."""

    def __init__(self, server: AuthorizationServer) -> None:
        self._server = server

    @staticmethod
    def token(request: Request, params: Mapping[str, str]) -> str | None:
        return bearer(request) or params.get("access_token")

    def check(self, token: str | None) -> Issued | JSONResponse:
        if not token:
            return graph_error(400, 104, "An access token is required to request this resource.")
        found = self._server.tokens.get(token)
        issued = self._server.user_of(token)
        if issued is not None:
            return issued
        if found is not None and not found.revoked:
            return graph_error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        return graph_error(
            400, 190, "Invalid OAuth access token - Cannot parse access token", subcode=467
        )


class FacebookOAuthPlatform:
    """Facebook Login (see the module docstring)."""

    name = "facebook-oauth"

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self.server = AuthorizationServer(
            name="facebook",
            title="Facebook",
            default_user=DEFAULT_USER,
            access_ttl_s=SHORT_TTL_S,
            issues_refresh=lambda _grant: False,
            access_token=lambda _user: "EAAG" + secrets.token_urlsafe(40),
            deny_params={
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
            },
        )
        self._graph = GraphTokens(self.server)
        self._page_tokens: dict[tuple[str, str], str] = {}

    def routes(self) -> Sequence[BaseRoute]:
        base = "/facebook/{version}"
        return [
            *self.server.authorize_routes(f"{base}/dialog/oauth"),
            self._toolkit.route(
                self,
                f"{base}/oauth/access_token",
                self._token,
                methods=["GET", "POST"],
                account_of=lambda _request: "oauth",
            ),
            Route(f"{base}/me", self._me, methods=["GET"]),
            Route(f"{base}/me/accounts", self._accounts, methods=["GET"]),
            *self.server.control_routes(),
        ]

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        if body is not None:
            return JSONResponse(body, status)
        return graph_error(status, 2 if status >= 500 else 100, "An unexpected error has occurred.")

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return graph_error(
            429, 4, "Application request limit reached", headers={"Retry-After": str(retry_after)}
        )

    async def _token(self, request: Request) -> Response:
        params = await read_params(request)
        client_id = params.get("client_id")
        if not self.server.client_ok(client_id, params.get("client_secret")):
            return graph_token_problem(TokenProblem.INVALID_CLIENT)
        if params.get("grant_type") == "fb_exchange_token":
            exchanged = self.server.exchange(params.get("fb_exchange_token"), ttl_s=LONG_TTL_S)
            if isinstance(exchanged, TokenProblem):
                return graph_token_problem(exchanged)
            return _token_body(exchanged)
        redeemed = self.server.redeem(
            code=params.get("code"),
            client_id=client_id,
            redirect_uri=params.get("redirect_uri"),
            verifier=params.get("code_verifier"),
        )
        if isinstance(redeemed, TokenProblem):
            return graph_token_problem(redeemed)
        return _token_body(self.server.issue(redeemed).access)

    async def _me(self, request: Request) -> Response:
        params = dict(request.query_params)
        issued = self._graph.check(self._graph.token(request, params))
        if isinstance(issued, Response):
            return issued
        return JSONResponse({"id": issued.user, "name": f"User {issued.user}"})

    async def _accounts(self, request: Request) -> Response:
        params = dict(request.query_params)
        issued = self._graph.check(self._graph.token(request, params))
        if isinstance(issued, Response):
            return issued
        fields = params.get("fields", "id,name,access_token,category,tasks")
        count = int(issued.extra.get("pages", str(DEFAULT_PAGES)) or 0)
        pages = pages_of(issued.user, count)
        limit = max(1, min(int(params.get("limit", "25") or 25), 100))
        start = int(params["after"]) if params.get("after", "").isdigit() else 0
        window = pages[start : start + limit]
        data: list[JsonValue] = []
        for page in window:
            item: dict[str, JsonValue] = {
                "id": page.id,
                "name": page.name,
                "category": "Brand",
                "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE"],
                "access_token": self._page_token(issued.token, page.id),
            }
            if "username" in fields:
                item["username"] = page.username
            if "instagram_business_account" in fields:
                item["instagram_business_account"] = {
                    "id": page.instagram_id,
                    "username": page.instagram_username,
                    "name": page.name,
                }
            data.append(item)
        paging: dict[str, JsonValue] = {
            "cursors": {"before": str(start), "after": str(start + len(window))}
        }
        if start + len(window) < len(pages):
            paging["next"] = str(request.url.include_query_params(after=start + len(window)))
        return JSONResponse({"data": data, "paging": paging})

    def _page_token(self, user_token: str, page_id: str) -> str:
        """A Page token per user token and Page: a new login gives new Page tokens."""
        key = (user_token, page_id)
        if key not in self._page_tokens:
            self._page_tokens[key] = "EAAP" + secrets.token_urlsafe(40)
        return self._page_tokens[key]


def _token_body(issued: Issued) -> Response:
    body: dict[str, JsonValue] = {"access_token": issued.token, "token_type": "bearer"}
    if issued.expires_at is not None:
        body["expires_in"] = max(0, int(issued.expires_at - time.time()))
    return JSONResponse(body)
