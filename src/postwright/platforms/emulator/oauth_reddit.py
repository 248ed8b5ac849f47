"""Reddit's OAuth 2.0 and the one API call connecting needs, as the emulator serves them.

    GET|POST /reddit/api/v1/authorize      consent; `duration=permanent` asks for a refresh token
    POST     /reddit/api/v1/access_token   HTTP Basic client auth; grant_type=authorization_code
                                           | refresh_token
    GET      /reddit/api/v1/me             the token's user (the API host, oauth.reddit.com)

Like Reddit: a client that fails Basic authentication gets 401 `{"message": "Unauthorized",
"error": 401}`; a bad code or refresh token gets **200** `{"error": "invalid_grant"}`; access
tokens live one hour; a refresh token comes only with `duration=permanent` and stays the same on
refresh. Users are named by `user=` on the consent (default `pw_tester`); their id is derived
from the name.

Not like Reddit: access tokens are `reddit-user-<name>`, so that the Reddit API emulator
(`reddit.py`, which reads the user from the token) acts for the user who authorized.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.platforms.emulator.oauth_core import (
    AuthorizationServer,
    Grant,
    TokenProblem,
    Tokens,
    basic_credentials,
    bearer,
    oauth_error,
    rate_limited,
    read_params,
)
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["ACCESS_TTL_S", "RedditOAuthPlatform", "reddit_user_id"]

ACCESS_TTL_S = 3600.0
DEFAULT_USER = "pw_tester"


def reddit_user_id(name: str) -> str:
    """The id the emulator gives the user `name` (as the Reddit API emulator, `reddit.py`)."""
    return hashlib.sha256(name.encode()).hexdigest()[:7]


def _permanent(grant: Grant) -> bool:
    return grant.offline and grant.extra.get("duration") == "permanent"


class RedditOAuthPlatform:
    """Reddit's authorization server (see the module docstring)."""

    name = "reddit-oauth"

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self.server = AuthorizationServer(
            name="reddit",
            title="reddit",
            default_user=DEFAULT_USER,
            access_ttl_s=ACCESS_TTL_S,
            issues_refresh=_permanent,
            rotate_refresh=False,
            access_token=lambda user: f"reddit-user-{user}",
        )

    def routes(self) -> Sequence[BaseRoute]:
        route = self._toolkit.route
        return [
            *self.server.authorize_routes("/reddit/api/v1/authorize"),
            route(
                self,
                "/reddit/api/v1/access_token",
                self._token,
                methods=["POST"],
                account_of=_client,
            ),
            Route("/reddit/api/v1/me", self._me, methods=["GET"]),
            *self.server.control_routes(),
        ]

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        if body is None:
            return JSONResponse({"message": "Error", "error": status}, status)
        return oauth_error(status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return rate_limited(retry_after, {"message": "Too Many Requests", "error": 429})

    async def _token(self, request: Request) -> Response:
        basic = basic_credentials(request)
        if basic is None or not self.server.client_ok(*basic):
            return JSONResponse({"message": "Unauthorized", "error": 401}, 401)
        params = await read_params(request)
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            redeemed = self.server.redeem(
                code=params.get("code"),
                client_id=basic[0],
                redirect_uri=params.get("redirect_uri"),
                verifier=params.get("code_verifier"),
            )
            if isinstance(redeemed, TokenProblem):
                return JSONResponse({"error": "invalid_grant"})
            return _tokens(self.server.issue(redeemed))
        if grant_type == "refresh_token":
            refreshed = self.server.refresh(params.get("refresh_token"), client_id=basic[0])
            if isinstance(refreshed, TokenProblem):
                return JSONResponse({"error": "invalid_grant"})
            return _tokens(refreshed)
        return JSONResponse({"error": "unsupported_grant_type"})

    async def _me(self, request: Request) -> Response:
        issued = self.server.user_of(bearer(request))
        if issued is None:
            return JSONResponse({"message": "Unauthorized", "error": 401}, 401)
        name = issued.user
        return JSONResponse(
            {
                "id": reddit_user_id(name),
                "name": name,
                "icon_img": "",
                "subreddit": {"display_name_prefixed": f"u/{name}", "title": name.title()},
            }
        )


def _tokens(tokens: Tokens) -> Response:
    body: dict[str, JsonValue] = {
        "access_token": tokens.access.token,
        "token_type": "bearer",
        "expires_in": int(ACCESS_TTL_S),
        "scope": tokens.access.scope,
    }
    if tokens.refresh is not None:
        body["refresh_token"] = tokens.refresh.token
    return JSONResponse(body)


def _client(request: Request) -> str:
    basic = basic_credentials(request)
    return basic[0] if basic else "anonymous"
