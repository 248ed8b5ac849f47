"""Mastodon's app registration and OAuth 2.0 endpoints (the API itself: `emulator/mastodon.py`).

    POST /api/v1/apps                          {client_name, redirect_uris, scopes?, website?}
                                               -> 200 Application with client_id, client_secret
    GET  /oauth/authorize                      consent form (POST submits it); redirects to the
                                               app's redirect URI with `code` and `state`, or
                                               `error=access_denied`
    POST /oauth/token                          grant_type=authorization_code (client_id,
                                               client_secret, redirect_uri, code, code_verifier)
                                               or client_credentials -> {access_token,
                                               token_type, scope, created_at}
    POST /oauth/revoke                         {client_id, client_secret, token} -> 200 {}
    GET  /.well-known/oauth-authorization-server   the server's metadata (Mastodon 4.3+)

Like Mastodon (Doorkeeper):
- an app is registered per instance, and only its own redirect URIs may be used;
- PKCE (RFC 7636, Mastodon 4.3+): a code asked for with a `code_challenge` (S256 or plain) is
  only exchanged with the matching `code_verifier`; without a challenge, none is needed;
- codes are single use and expire after 10 minutes; reusing one revokes its token;
- errors are Doorkeeper's: 400 `invalid_grant` (unknown, used or expired code, wrong verifier
  or redirect URI), 401 `invalid_client` (unknown client or wrong secret), 400
  `invalid_request`, `unsupported_grant_type`; a form error at /api/v1/apps is 422;
- access tokens never expire; `/oauth/revoke` revokes one.

Tokens work on the emulated API (`emulator/mastodon.py`), which treats any token it does not
recognise as the account `DEFAULT_ACCOUNT_ID` (the default user here too). Emulator-only, as for
every emulated OAuth server: `auto=approve|deny` on the authorize URL answers without the form,
and `user=<digits>` signs in another account, whose token is then `mastodon-account-<digits>`
(the emulated API's convention for naming accounts; not random, so tests that scan for leaked
secrets use the default user). The API does not learn of revocations made here; to see a
refused token there, use its `revoked...` tokens.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.mastodon import DEFAULT_ACCOUNT_ID
from postwright.platforms.emulator.oauth_core import (
    AuthorizationServer,
    Grant,
    TokenProblem,
    read_params,
)
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["MastodonOAuthPlatform", "RegisteredApp"]

NAME = "mastodon_oauth"
SCOPES_SUPPORTED = ("read", "write", "push", "profile", "write:statuses", "write:media")

_INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)
_INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)


@dataclass(slots=True)
class RegisteredApp:
    """An application registered with `POST /api/v1/apps`."""

    id: str
    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: str
    website: str | None
    created_at: float = field(default_factory=time.time)


def _access_token(user: str) -> str:
    if user == DEFAULT_ACCOUNT_ID:
        return secrets.token_urlsafe(32)
    return f"mastodon-account-{user}"


class MastodonOAuthPlatform:
    """App registration and Doorkeeper's OAuth endpoints (see the module docstring)."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self.apps: dict[str, RegisteredApp] = {}  # by client id
        self.server = AuthorizationServer(
            name="mastodon",
            title="Mastodon",
            default_user=DEFAULT_ACCOUNT_ID,
            access_ttl_s=None,  # Mastodon tokens never expire
            issues_refresh=lambda grant: False,  # and there is no refresh flow
            access_token=_access_token,
            deny_params={
                "error": "access_denied",
                "error_description": "The resource owner or authorization server denied the "
                "request.",
            },
        )
        (consent,) = self.server.authorize_routes("/oauth/authorize")
        self._consent: Endpoint = consent.endpoint

    def routes(self) -> Sequence[BaseRoute]:
        route = self._toolkit.route

        def nobody(request: Request) -> str:
            return "anonymous"

        return [
            route(self, "/api/v1/apps", self._register, methods=["POST"], account_of=nobody),
            route(
                self,
                "/oauth/authorize",
                self._authorize,
                methods=["GET", "POST"],
                account_of=nobody,
            ),
            route(self, "/oauth/token", self._token, methods=["POST"], account_of=nobody),
            route(self, "/oauth/revoke", self._revoke, methods=["POST"], account_of=nobody),
            route(
                self,
                "/.well-known/oauth-authorization-server",
                self._metadata,
                methods=["GET"],
                account_of=nobody,
            ),
            *self.server.control_routes(),
        ]

    # -- the gate's error shapes

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        if body is None:
            body = {"error": "server_error" if status >= 500 else "invalid_request"}
        return JSONResponse(body, status)

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        return JSONResponse(
            {"error": "Too many requests"}, 429, headers={"Retry-After": str(retry_after)}
        )

    # -- apps

    async def _register(self, request: Request) -> Response:
        params = await read_params(request)
        name = params.get("client_name", "").strip()
        raw_uris = params.get("redirect_uris", "")
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                body = {}
            if isinstance(body, dict) and isinstance(body.get("redirect_uris"), list):
                raw_uris = "\n".join(str(u) for u in body["redirect_uris"])
        uris = [u.strip() for u in raw_uris.replace(" ", "\n").splitlines() if u.strip()]
        if not name:
            return _error(422, "Validation failed: Application name can't be blank")
        if not uris:
            return _error(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            if uri != "urn:ietf:wg:oauth:2.0:oob" and not uri.startswith(("http://", "https://")):
                return _error(422, "Validation failed: Redirect URI must be an absolute URI.")
        app = RegisteredApp(
            id=str(len(self.apps) + 1),
            name=name,
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(32),
            redirect_uris=uris,
            scopes=params.get("scopes", "read") or "read",
            website=params.get("website") or None,
        )
        self.apps[app.client_id] = app
        redirects: list[JsonValue] = list(app.redirect_uris)
        return JSONResponse(
            {
                "id": app.id,
                "name": app.name,
                "website": app.website,
                "scopes": app.scopes.split(),
                "redirect_uri": "\n".join(app.redirect_uris),
                "redirect_uris": redirects,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "client_secret_expires_at": 0,
                "vapid_key": None,
            }
        )

    # -- authorize

    async def _authorize(self, request: Request) -> Response:
        params = await read_params(request)
        app = self.apps.get(params.get("client_id", ""))
        if app is None:
            return _page(400, "Client authentication failed due to unknown client.")
        if params.get("redirect_uri", "") not in app.redirect_uris:
            return _page(400, "The requested redirect uri is malformed or doesn't match client.")
        return await self._consent(request)

    # -- tokens

    async def _token(self, request: Request) -> Response:
        params = await read_params(request)
        grant_type = params.get("grant_type")
        app = self.apps.get(params.get("client_id", ""))
        if app is None or not secrets.compare_digest(
            params.get("client_secret", ""), app.client_secret
        ):
            return _oauth_error(401, "invalid_client", _INVALID_CLIENT)
        if grant_type == "client_credentials":
            grant = Grant(
                code="",
                client_id=app.client_id,
                redirect_uri="",
                user="",
                scope=params.get("scope", "read"),
                challenge=None,
                challenge_method=None,
                expires_at=0,
                offline=False,
                extra={},
            )
            return self._token_answer(self.server.issue(grant).access.token, grant.scope)
        if grant_type != "authorization_code":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        outcome = self.server.redeem(
            code=params.get("code"),
            client_id=app.client_id,
            redirect_uri=params.get("redirect_uri"),
            verifier=params.get("code_verifier"),
        )
        if isinstance(outcome, TokenProblem):
            if outcome is TokenProblem.INVALID_REQUEST:
                return _oauth_error(400, "invalid_request", "Missing required parameter: code.")
            return _oauth_error(400, "invalid_grant", _INVALID_GRANT)
        tokens = self.server.issue(outcome)
        return self._token_answer(tokens.access.token, outcome.scope or app.scopes)

    @staticmethod
    def _token_answer(token: str, scope: str) -> Response:
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "scope": scope,
                "created_at": int(time.time()),
            }
        )

    async def _revoke(self, request: Request) -> Response:
        params = await read_params(request)
        app = self.apps.get(params.get("client_id", ""))
        if app is None or not secrets.compare_digest(
            params.get("client_secret", ""), app.client_secret
        ):
            return _oauth_error(
                403, "unauthorized_client", "You are not authorized to revoke this token"
            )
        found = self.server.tokens.get(params.get("token", ""))
        if found is not None and found.client_id == app.client_id:
            found.revoked = True
        return JSONResponse({})  # Doorkeeper answers 200 even for unknown tokens (RFC 7009)

    async def _metadata(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        scopes: list[JsonValue] = list(SCOPES_SUPPORTED)
        return JSONResponse(
            {
                "issuer": base + "/",
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "scopes_supported": scopes,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "app_registration_endpoint": f"{base}/api/v1/apps",
            }
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _page(status: int, message: str) -> Response:
    return Response(
        f"<!doctype html><title>Mastodon</title><p>{message}</p>",
        status_code=status,
        media_type="text/html",
    )
