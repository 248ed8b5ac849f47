"""LinkedIn's OAuth 2.0 (3-legged) and the calls connecting needs, as the emulator serves them.

    GET|POST /linkedin/oauth/v2/authorization   consent; `orgs=N`: the member administers N pages
    POST     /linkedin/oauth/v2/accessToken     client_id and client_secret in the form;
                                                grant_type=authorization_code | refresh_token
    GET      /linkedin/v2/userinfo              OpenID Connect: sub, name, given_name, ...
    GET      /linkedin/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED
    GET      /linkedin/rest/organizations/{id}  localizedName, vanityName

Like LinkedIn: access tokens live 60 days; refresh tokens (one year, not rotated) go only to
approved partner apps, here clients whose id starts with `partner`; a bad code, redirect or
verifier gets 400 `{"error": "invalid_request", "error_description": "Unable to retrieve access
token: appid/redirect uri/code verifier does not match authorization code. Or authorization
code expired. Or external member binding exists"}`; a used code or bad refresh token 400
`invalid_grant`; client authentication 401 `invalid_client`; API calls with a bad token 401
`{"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}`.

Not like LinkedIn: access tokens are `li-person-<sub>+<random>`, so that the REST API emulator
(`linkedin.py`, which reads the member from the token) acts for the member who authorized.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.platforms.emulator.oauth_core import (
    AuthorizationServer,
    Grant,
    Issued,
    TokenProblem,
    Tokens,
    bearer,
    oauth_error,
    rate_limited,
    read_params,
)
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["ACCESS_TTL_S", "LinkedInOAuthPlatform", "linkedin_org_ids", "linkedin_sub"]

ACCESS_TTL_S = 60 * 24 * 3600.0
REFRESH_TTL_S = 365 * 24 * 3600.0
DEFAULT_USER = "pw-member"
_MISMATCH = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)
_INVALID_TOKEN: dict[str, JsonValue] = {
    "serviceErrorCode": 65600,
    "message": "Invalid access token",
    "status": 401,
}


def linkedin_sub(user: str) -> str:
    """The OpenID `sub` the emulator gives the member `user`."""
    return hashlib.sha256(user.encode()).hexdigest()[:10]


def linkedin_org_ids(user: str, count: int) -> list[int]:
    base = int(hashlib.sha256(f"org:{user}".encode()).hexdigest()[:6], 16)
    return [10_000_000 + base + i for i in range(count)]


def _partner(grant: Grant) -> bool:
    return grant.offline and grant.client_id.startswith("partner")


class LinkedInOAuthPlatform:
    """LinkedIn's authorization server (see the module docstring)."""

    name = "linkedin-oauth"

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self.server = AuthorizationServer(
            name="linkedin",
            title="LinkedIn",
            default_user=DEFAULT_USER,
            access_ttl_s=ACCESS_TTL_S,
            refresh_ttl_s=REFRESH_TTL_S,
            issues_refresh=_partner,
            rotate_refresh=False,
            access_token=lambda user: f"li-person-{linkedin_sub(user)}+{secrets.token_urlsafe(24)}",
            deny_params={
                "error": "user_cancelled_authorize",
                "error_description": "The user cancelled the authorization",
            },
        )

    def routes(self) -> Sequence[BaseRoute]:
        return [
            *self.server.authorize_routes("/linkedin/oauth/v2/authorization"),
            self._toolkit.route(
                self,
                "/linkedin/oauth/v2/accessToken",
                self._token,
                methods=["POST"],
                account_of=lambda _request: "oauth",
            ),
            Route("/linkedin/v2/userinfo", self._userinfo, methods=["GET"]),
            Route("/linkedin/rest/organizationAcls", self._acls, methods=["GET"]),
            Route("/linkedin/rest/organizations/{org_id}", self._organization, methods=["GET"]),
            *self.server.control_routes(),
        ]

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        return oauth_error(status, body)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return rate_limited(
            retry_after, {"status": 429, "serviceErrorCode": 101, "message": "Too many requests"}
        )

    async def _token(self, request: Request) -> Response:
        params = await read_params(request)
        client_id = params.get("client_id")
        if not self.server.client_ok(client_id, params.get("client_secret")):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
            )
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            redeemed = self.server.redeem(
                code=params.get("code"),
                client_id=client_id,
                redirect_uri=params.get("redirect_uri"),
                verifier=params.get("code_verifier"),
            )
            if redeemed is TokenProblem.CODE_USED:
                return _grant_error()
            if isinstance(redeemed, TokenProblem):
                return JSONResponse(
                    {"error": "invalid_request", "error_description": _MISMATCH}, 400
                )
            return _tokens(self.server.issue(redeemed))
        if grant_type == "refresh_token":
            refreshed = self.server.refresh(params.get("refresh_token"), client_id=client_id)
            if isinstance(refreshed, TokenProblem):
                return _grant_error()
            return _tokens(refreshed)
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "unsupported grant type"},
            400,
        )

    def _member(self, request: Request) -> Issued | None:
        return self.server.user_of(bearer(request))

    async def _userinfo(self, request: Request) -> Response:
        issued = self._member(request)
        if issued is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        user = issued.user
        return JSONResponse(
            {
                "sub": linkedin_sub(user),
                "name": f"Member {user}",
                "given_name": "Member",
                "family_name": user,
                "picture": "",
                "locale": {"country": "US", "language": "en"},
            }
        )

    async def _acls(self, request: Request) -> Response:
        issued = self._member(request)
        if issued is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        params = request.query_params
        if params.get("q") != "roleAssignee":
            return JSONResponse({"status": 400, "message": "q must be roleAssignee"}, 400)
        count = int(issued.extra.get("orgs", "0") or 0)
        person = f"urn:li:person:{linkedin_sub(issued.user)}"
        elements: list[JsonValue] = [
            {
                "roleAssignee": person,
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "organization": f"urn:li:organization:{org}",
            }
            for org in linkedin_org_ids(issued.user, count)
        ]
        return JSONResponse({"elements": elements, "paging": {"count": 100, "start": 0}})

    async def _organization(self, request: Request) -> Response:
        issued = self._member(request)
        if issued is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        org = request.path_params["org_id"]
        count = int(issued.extra.get("orgs", "0") or 0)
        known = linkedin_org_ids(issued.user, count)
        if not org.isdigit() or int(org) not in known:
            return JSONResponse({"status": 404, "message": "Organization not found"}, 404)
        index = known.index(int(org)) + 1
        return JSONResponse(
            {
                "id": int(org),
                "localizedName": f"Company {index} of {issued.user}",
                "vanityName": f"company-{index}-{issued.user}",
            }
        )


def _tokens(tokens: Tokens) -> Response:
    body: dict[str, JsonValue] = {
        "access_token": tokens.access.token,
        "expires_in": int(ACCESS_TTL_S),
        "scope": tokens.access.scope.replace(" ", ","),
        "token_type": "Bearer",
    }
    if tokens.refresh is not None:
        body["refresh_token"] = tokens.refresh.token
        body["refresh_token_expires_in"] = int(REFRESH_TTL_S)
    return JSONResponse(body)


def _grant_error() -> Response:
    return JSONResponse(
        {
            "error": "invalid_grant",
            "error_description": "The provided authorization grant or refresh token is "
            "invalid, expired or revoked",
        },
        400,
    )
