"""OAuth 2.0 authorization code flows with Authlib: the authorization URL (state and PKCE S256),
the code exchange, and the platforms' refusals turned into messages a person can act on.

Each platform answers a refused token request in its own shape; `describe_refusal` reads them
all (RFC 6749 `error`/`error_description`, Graph `{"error": {"message", "code"}}`, Instagram's
`error_type`/`error_message`, Reddit's `{"message", "error": 401}`, RFC 9457 problems), so the
connectors need not.

Nothing secret reaches a log: the token requests carry their secrets in the body or in a Basic
header, Graph calls send tokens in the `Authorization` header, and `RedactSecrets` scrubs the
query strings httpx logs (Graph's documented GET exchanges put `client_secret` there).
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib >= 1.9 prefers the `httpx2` fork and warns when it falls back to httpx, which is
    # what postwright uses everywhere
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from pydantic import BaseModel, ConfigDict, SecretStr

from postwright.auth.principal import Principal
from postwright.domain.errors import Conflict, InvalidInput
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import (
    LABELS,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
    open_authorization,
    parse_body,
)
from postwright.settings import Settings

__all__ = [
    "AppOptions",
    "OAuth2App",
    "RedactSecrets",
    "TokenRefused",
    "api_get",
    "api_post_form",
    "api_url",
    "authorization_url",
    "client_pair",
    "credentials_of",
    "describe_refusal",
    "exchange_code",
    "expires_at",
    "platform_app",
    "start_authorization",
]

log = logging.getLogger("postwright.connect")


@dataclass(frozen=True, slots=True)
class OAuth2App:
    """One platform's OAuth 2.0 client, as the settings configure it."""

    platform: Platform
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: Sequence[str]
    scope_separator: str = " "
    token_auth: str = "client_secret_basic"  # or client_secret_post
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[self.platform]


class AppOptions(TypedDict, total=False):
    """The `OAuth2App` fields a platform sets beyond its client and endpoints."""

    scope_separator: str
    token_auth: str
    authorize_params: Mapping[str, str]
    headers: Mapping[str, str]


def platform_app(
    settings: Settings,
    platform: Platform,
    client: tuple[str | None, SecretStr | None],
    setup_hint: str,
    *,
    authorize_url: str,
    token_url: str,
    scopes: Sequence[str],
    **options: Unpack[AppOptions],
) -> OAuth2App:
    """`platform`'s own client (id and secret from its settings, else the 409 that says to set
    them), with `oauth_urls` able to override each endpoint."""
    client_id, secret = client_pair(platform, client[0], client[1], setup_hint)
    return OAuth2App(
        platform=platform,
        client_id=client_id,
        client_secret=secret,
        authorize_url=settings.oauth_url(platform.value, "authorize", authorize_url),
        token_url=settings.oauth_url(platform.value, "token", token_url),
        scopes=scopes,
        **options,
    )


def api_url(settings: Settings, platform: Platform, default: str) -> str:
    """Where to read the connected profile: the `oauth_urls` override, else the adapter's
    `platform_urls` entry (so both talk to the same emulator), else `default`."""
    return settings.oauth_url(
        platform.value, "api", settings.platform_urls.get(platform.value, default)
    )


class _NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def start_authorization(
    rt: Runtime,
    principal: Principal,
    body: Mapping[str, Any] | None,
    app: Callable[[Settings], OAuth2App],
) -> ConnectStart:
    """`Connector.start` for a flow that takes no options: refuse any, and open an authorization
    with the client `app` makes."""
    parse_body(_NoOptions, body)
    url = await authorization_url(rt, principal, app(rt.settings))
    return ConnectStart(authorization_url=url)


class TokenRefused(Exception):
    """A token endpoint refused the request (or answered something that is not a token)."""

    def __init__(self, message: str, *, rule: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.status = status


def client_pair(
    platform: Platform, client_id: str | None, secret: SecretStr | None, hint: str
) -> tuple[str, str]:
    """The configured client id and secret, or the 409 that says what to set."""
    if not client_id or secret is None or not secret.get_secret_value():
        raise Conflict(f"{LABELS[platform]} is not configured: {hint}")
    return client_id, secret.get_secret_value()


# -- what the platforms answer -------------------------------------------------------------------


def describe_refusal(status: int, body: Any) -> tuple[str, str]:
    """(message, rule) for a refusal in any of the platforms' shapes."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):  # Graph
            message = str(error.get("message") or "refused")
            code = error.get("code")
            return f"{message} (code {code})" if code is not None else message, "refused"
        if isinstance(error, str) and error:
            detail = body.get("error_description")
            return (f"{error}: {detail}" if detail else error), error[:50]
        if body.get("error_message"):  # Instagram's api.instagram.com
            return str(body["error_message"]), "refused"
        if body.get("message"):  # Reddit, LinkedIn API
            return f"{body['message']} (HTTP {status})", "refused"
        if body.get("detail"):  # RFC 9457 problems (X's API, oauth2-mock-server)
            return str(body["detail"]), "refused"
    return f"HTTP {status}", "refused"


def _check_token_answer(platform: Platform) -> Any:
    label = LABELS[platform]

    def hook(response: httpx.Response) -> httpx.Response:
        try:
            body = response.json()
        except ValueError:
            body = None
        # Instagram Login's newer code exchange wraps the token in {"data": [{...}]}
        if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
            body = body["data"][0]
            response = httpx.Response(response.status_code, json=body, request=response.request)
        if (
            response.is_success
            and isinstance(body, dict)
            and isinstance(body.get("access_token"), str)
            and body["access_token"]
            and "error" not in body
        ):
            return response
        message, rule = describe_refusal(response.status_code, body)
        log.info("%s token endpoint refused: %s", label, message)
        raise TokenRefused(message, rule=rule, status=response.status_code)

    return hook


def _refused(platform: Platform, exc: TokenRefused) -> InvalidInput:
    hint = ""
    if exc.rule in ("invalid_grant", "invalid_request", "refused"):
        hint = " (the code may have expired or been used already)"
    return connect_failed(
        platform, f"the token exchange was refused: {exc.message[:300]}{hint}", rule=exc.rule
    )


def _unreachable(platform: Platform, exc: Exception) -> Conflict:
    return Conflict(
        f"{LABELS[platform]} could not be reached ({type(exc).__name__}); nothing was "
        "connected: try again in a moment"
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every connect call: building one costs tens of milliseconds."""
    return httpx.create_ssl_context()


# -- the flow -----------------------------------------------------------------------------------


def _client(app: OAuth2App, rt: Runtime, redirect_uri: str | None) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_endpoint_auth_method=app.token_auth,
        scope=app.scope_separator.join(app.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=rt.settings.publish_timeout_s,
        headers=dict(app.headers),
        follow_redirects=False,
        verify=_tls(),
    )
    client.register_compliance_hook("access_token_response", _check_token_answer(app.platform))
    return client


async def authorization_url(
    rt: Runtime,
    principal: Principal,
    app: OAuth2App,
    *,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Open a pending authorization (state + sealed PKCE verifier) and build its URL."""
    verifier = generate_token(64)
    pending = await open_authorization(
        rt, principal, app.platform, code_verifier=verifier, extra=extra
    )
    async with _client(app, rt, pending.redirect_uri) as client:
        url, _state = client.create_authorization_url(
            app.authorize_url,
            state=pending.state,
            code_verifier=verifier,
            **dict(app.authorize_params),
        )
    return str(url)


async def exchange_code(
    rt: Runtime, app: OAuth2App, pending: PendingAuthorization, params: Mapping[str, str]
) -> dict[str, Any]:
    """Trade the callback's code (with the PKCE verifier) for the platform's token answer."""
    kwargs: dict[str, Any] = {"code": params["code"], "redirect_uri": pending.redirect_uri}
    if pending.code_verifier:
        kwargs["code_verifier"] = pending.code_verifier
    if app.token_auth == "client_secret_post":
        kwargs["client_id"] = app.client_id
    async with _client(app, rt, pending.redirect_uri) as client:
        try:
            token = await client.fetch_token(
                app.token_url, grant_type="authorization_code", **kwargs
            )
        except TokenRefused as exc:
            raise _refused(app.platform, exc) from None
        except OAuthError as exc:
            raise connect_failed(app.platform, f"the token exchange failed: {exc}") from None
        except httpx.HTTPError as exc:
            raise _unreachable(app.platform, exc) from None
    return dict(token)


def expires_at(rt: Runtime, token: Mapping[str, Any]) -> datetime | None:
    """When the access token of a token answer expires (from `expires_in`), if it says."""
    try:
        seconds = int(token.get("expires_in") or 0)
    except (TypeError, ValueError):
        return None
    return rt.now() + timedelta(seconds=seconds) if seconds > 0 else None


def credentials_of(token: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials to keep from a token answer (the adapters read `access_token`)."""
    kept = {"access_token": token["access_token"]}
    if token.get("refresh_token"):
        kept["refresh_token"] = token["refresh_token"]
    if token.get("refresh_token_expires_in"):
        kept["refresh_token_expires_in"] = token["refresh_token_expires_in"]
    if token.get("scope"):
        scope = token["scope"]
        kept["scope"] = " ".join(scope) if isinstance(scope, list) else str(scope)
    return kept


async def api_get(
    rt: Runtime,
    platform: Platform,
    url: str,
    *,
    token: str | None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "the profile lookup",
) -> dict[str, Any]:
    """GET a JSON object with a bearer token; refusals become a 422, outages a 409."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return await _call(rt, platform, "GET", url, params=params, headers=sent, what=what)


async def api_post_form(
    rt: Runtime,
    platform: Platform,
    url: str,
    *,
    form: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
    what: str,
) -> dict[str, Any]:
    """POST a form (secrets stay out of the URL) and read a JSON object."""
    return await _call(rt, platform, "POST", url, data=form, headers=dict(headers or {}), what=what)


async def _call(
    rt: Runtime,
    platform: Platform,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    headers: dict[str, str],
    what: str,
) -> dict[str, Any]:
    async with httpx.AsyncClient(
        timeout=rt.settings.publish_timeout_s, follow_redirects=False, verify=_tls()
    ) as client:
        try:
            response = await client.request(
                method,
                url,
                params=dict(params or {}),
                data=dict(data or {}) or None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise _unreachable(platform, exc) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict) and "error" not in body:
        return body
    message, _rule = describe_refusal(response.status_code, body)
    if response.status_code >= 500:
        raise Conflict(
            f"{LABELS[platform]} failed {what} ({message[:200]}); nothing was connected: "
            "try again in a moment"
        )
    raise connect_failed(platform, f"{what} was refused: {message[:300]}")


# -- logs ---------------------------------------------------------------------------------------

_SECRET_QUERY = re.compile(
    r"((?:access_token|client_secret|fb_exchange_token|refresh_token|code|input_token)=)"
    r"[^&\s\"']+"
)


class RedactSecrets(logging.Filter):
    """Replace secret query values in log records (httpx logs every request URL, and a
    callback URL carries the authorization code)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1[redacted]", str(a)) if isinstance(a, str | httpx.URL) else a
                for a in record.args
            )
        elif isinstance(record.msg, str):  # another filter may have formatted it already
            record.msg = _SECRET_QUERY.sub(r"\1[redacted]", record.msg)
        return True


def _install_redaction() -> None:
    # uvicorn's access log writes each callback's path, code included
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


_install_redaction()
