"""The login flow Instagram (Instagram Login) and Threads share, served for either one.

    GET|POST /{prefix}/oauth/authorize           consent
    POST     /{prefix}/oauth/access_token        code -> a short-lived token (1 h) and user_id
    GET      /{prefix}/access_token              grant_type=<exchange>, client_secret,
                                                 access_token -> a long-lived token (60 days)
    GET      /{prefix}/refresh_access_token      grant_type=<refresh>, access_token -> a new
                                                 long-lived token (the old one keeps working)
    GET      /{prefix}/{version}/me              the token's user, with the fields asked for

`GraphLogin` holds what differs: the grant type names, the short-lived token's answer and error
shape, and the profile fields. See `oauth_instagram` and `oauth_threads`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
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
    read_params,
)
from postwright.platforms.emulator.oauth_facebook import GraphTokens, graph_token_problem
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["LONG_TTL_S", "SHORT_TTL_S", "GraphLogin", "GraphLoginPlatform"]

SHORT_TTL_S = 3600.0
LONG_TTL_S = 60 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class GraphLogin:
    """What one platform's login flow words its own way."""

    name: str  # the fault rules' platform name
    title: str
    prefix: str  # "/instagram"
    default_user: str
    exchange_grant: str  # ig_exchange_token
    refresh_grant: str  # ig_refresh_token
    token_prefix: str
    short_answer: Callable[[Issued], dict[str, JsonValue]]
    code_problem: Callable[[TokenProblem], JSONResponse]
    profile: Callable[[Issued], dict[str, JsonValue]]
    default_fields: str


class GraphLoginPlatform:
    """One platform's login flow (see the module docstring)."""

    def __init__(self, toolkit: Toolkit, login: GraphLogin) -> None:
        self._toolkit = toolkit
        self._login = login
        self.name = login.name
        self.server = AuthorizationServer(
            name=login.name.removesuffix("-oauth"),
            title=login.title,
            default_user=login.default_user,
            access_ttl_s=SHORT_TTL_S,
            issues_refresh=lambda _grant: False,
            access_token=lambda _user: login.token_prefix + secrets.token_urlsafe(40),
            deny_params={
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request.",
            },
        )
        self._graph = GraphTokens(self.server)

    def routes(self) -> Sequence[BaseRoute]:
        prefix = self._login.prefix
        route = self._toolkit.route

        def oauth(_request: Request) -> str:
            return "oauth"

        return [
            *self.server.authorize_routes(f"{prefix}/oauth/authorize"),
            route(
                self, f"{prefix}/oauth/access_token", self._code, methods=["POST"], account_of=oauth
            ),
            route(
                self, f"{prefix}/access_token", self._exchange, methods=["GET"], account_of=oauth
            ),
            route(
                self,
                f"{prefix}/refresh_access_token",
                self._refresh,
                methods=["GET"],
                account_of=oauth,
            ),
            Route(f"{prefix}/{{version}}/me", self._me, methods=["GET"]),
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

    async def _code(self, request: Request) -> Response:
        params = await read_params(request)
        client_id = params.get("client_id")
        if not self.server.client_ok(client_id, params.get("client_secret")):
            return self._login.code_problem(TokenProblem.INVALID_CLIENT)
        if params.get("grant_type", "authorization_code") != "authorization_code":
            return self._login.code_problem(TokenProblem.UNSUPPORTED_GRANT)
        redeemed = self.server.redeem(
            code=params.get("code"),
            client_id=client_id,
            redirect_uri=params.get("redirect_uri"),
            verifier=params.get("code_verifier"),
        )
        if isinstance(redeemed, TokenProblem):
            return self._login.code_problem(redeemed)
        return JSONResponse(self._login.short_answer(self.server.issue(redeemed).access))

    async def _exchange(self, request: Request) -> Response:
        params = dict(request.query_params)
        if params.get("grant_type") != self._login.exchange_grant:
            return graph_error(400, 100, f"grant_type must be {self._login.exchange_grant}")
        token = GraphTokens.token(request, params)
        found = self.server.tokens.get(token or "")
        secret = params.get("client_secret")
        if found is not None and not self.server.client_ok(found.client_id, secret):
            return graph_token_problem(TokenProblem.INVALID_CLIENT)
        exchanged = self.server.exchange(token, ttl_s=LONG_TTL_S)
        if isinstance(exchanged, TokenProblem):
            return graph_token_problem(exchanged)
        return _long(exchanged)

    async def _refresh(self, request: Request) -> Response:
        params = dict(request.query_params)
        if params.get("grant_type") != self._login.refresh_grant:
            return graph_error(400, 100, f"grant_type must be {self._login.refresh_grant}")
        refreshed = self.server.exchange(GraphTokens.token(request, params), ttl_s=LONG_TTL_S)
        if isinstance(refreshed, TokenProblem):
            return graph_token_problem(refreshed)
        return _long(refreshed)

    async def _me(self, request: Request) -> Response:
        params = dict(request.query_params)
        issued = self._graph.check(GraphTokens.token(request, params))
        if isinstance(issued, Response):
            return issued
        profile = self._login.profile(issued)
        fields = [f for f in params.get("fields", self._login.default_fields).split(",") if f]
        unknown = [f for f in fields if f not in profile]
        if unknown:
            return graph_error(
                400, 100, f"Tried accessing nonexisting field ({unknown[0]}) on node type (User)"
            )
        return JSONResponse({"id": profile["id"], **{f: profile[f] for f in fields}})


def _long(issued: Issued) -> Response:
    expires_in = int(issued.expires_at - time.time()) if issued.expires_at else 0
    return JSONResponse(
        {"access_token": issued.token, "token_type": "bearer", "expires_in": expires_in}
    )
