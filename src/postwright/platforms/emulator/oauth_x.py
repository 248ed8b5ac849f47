"""X's OAuth 2.0 (authorization code with PKCE), as the emulator serves it.

    GET|POST /i/oauth2/authorize      consent (see `oauth_core` for `auto=`, `user=`, `refresh=`)
    POST     /2/oauth2/token          grant_type=authorization_code | refresh_token

Like X: PKCE is required; a confidential client authenticates with HTTP Basic (a public client
sends only `client_id`); access tokens live 2 hours; a refresh token comes with the
`offline.access` scope and rotates on every refresh. Errors: 401 `{"error":
"unauthorized_client", "error_description": "Missing valid authorization header"}` for client
authentication, 400 `{"error": "invalid_request", "error_description": "Value passed for the
authorization code was invalid."}` for any problem with a code (X words them all alike; the
description here names the problem after X's sentence), and the same with "token" for refresh.

Not like X: access tokens are `x-user-<id>` so that the X API emulator (`x.py`, which reads the
user from the token) acts for the user who authorized; `/2/users/me` is served there.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.platforms.emulator.oauth_core import (
    AuthorizationServer,
    Grant,
    TokenProblem,
    Tokens,
    basic_credentials,
    oauth_error,
    rate_limited,
    read_params,
)
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.x import DEFAULT_USER_ID

__all__ = ["ACCESS_TTL_S", "XOAuthPlatform"]

ACCESS_TTL_S = 7200.0

_CODE_DETAIL = {
    TokenProblem.INVALID_REQUEST: "code is missing",
    TokenProblem.CODE_UNKNOWN: "unknown code",
    TokenProblem.CODE_USED: "the code was already used",
    TokenProblem.CODE_EXPIRED: "the code expired",
    TokenProblem.CLIENT_MISMATCH: "the code was issued to another client",
    TokenProblem.REDIRECT_MISMATCH: "redirect_uri does not match the authorization request",
    TokenProblem.VERIFIER_MISSING: "code_verifier is missing",
    TokenProblem.VERIFIER_MISMATCH: "code_verifier does not match the code_challenge",
}


def _offline(grant: Grant) -> bool:
    return grant.offline and "offline.access" in grant.scope.split()


class XOAuthPlatform:
    """X's authorization server (see the module docstring)."""

    name = "x-oauth"

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self.server = AuthorizationServer(
            name="x",
            title="X",
            default_user=DEFAULT_USER_ID,
            access_ttl_s=ACCESS_TTL_S,
            issues_refresh=_offline,
            rotate_refresh=True,
            require_pkce=True,
            access_token=lambda user: f"x-user-{user}",
        )

    def routes(self) -> Sequence[BaseRoute]:
        return [
            *self.server.authorize_routes("/i/oauth2/authorize"),
            self._toolkit.route(
                self, "/2/oauth2/token", self._token, methods=["POST"], account_of=_client
            ),
            *self.server.control_routes(),
        ]

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        return oauth_error(status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return rate_limited(
            retry_after, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
        )

    async def _token(self, request: Request) -> Response:
        params = await read_params(request)
        basic = basic_credentials(request)
        if basic is not None:
            client_id: str | None = basic[0]
            if not self.server.client_ok(*basic):
                return _unauthorized()
        else:
            client_id = params.get("client_id")  # a public client: PKCE is its proof
            if not client_id:
                return _unauthorized()
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            if params.get("client_id") and params["client_id"] != client_id:
                return _unauthorized()
            redeemed = self.server.redeem(
                code=params.get("code"),
                client_id=client_id,
                redirect_uri=params.get("redirect_uri"),
                verifier=params.get("code_verifier"),
            )
            if isinstance(redeemed, TokenProblem):
                return _invalid(
                    "Value passed for the authorization code was invalid. "
                    + _CODE_DETAIL.get(redeemed, redeemed.value)
                )
            return _tokens(self.server.issue(redeemed))
        if grant_type == "refresh_token":
            refreshed = self.server.refresh(params.get("refresh_token"), client_id=client_id)
            if isinstance(refreshed, TokenProblem):
                return _invalid("Value passed for the token was invalid.")
            return _tokens(refreshed)
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be authorization_code or refresh_token",
            },
            400,
        )


def _tokens(tokens: Tokens) -> Response:
    body: dict[str, JsonValue] = {
        "token_type": "bearer",
        "expires_in": int(ACCESS_TTL_S),
        "access_token": tokens.access.token,
        "scope": tokens.access.scope,
    }
    if tokens.refresh is not None:
        body["refresh_token"] = tokens.refresh.token
    return JSONResponse(body)


def _invalid(description: str) -> Response:
    return JSONResponse({"error": "invalid_request", "error_description": description}, 400)


def _unauthorized() -> Response:
    return JSONResponse(
        {
            "error": "unauthorized_client",
            "error_description": "Missing valid authorization header",
        },
        401,
    )


def _client(request: Request) -> str:
    basic = basic_credentials(request)
    return basic[0] if basic else "anonymous"
