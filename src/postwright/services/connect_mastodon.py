"""Connecting a Mastodon account: an app registered on its instance, then OAuth 2.0 with PKCE.

    POST /accounts/connect/mastodon {"instance": "mastodon.social"}
        1. the instance URL is checked (https, a public host; see `instance_origin`)
        2. the app: reused from an account of this workspace already connected on the same
           instance with the same redirect URI, else registered now
           (POST {instance}/api/v1/apps {client_name, redirect_uris, scopes, website})
        3. a pending authorization (`oauth_states`) keeps the instance and client id, and seals
           the PKCE verifier and the client secret
        -> {"authorization_url": "{instance}/oauth/authorize?response_type=code&client_id=...
            &redirect_uri=...&scope=...&state=...&code_challenge=...&code_challenge_method=S256"}
    GET /oauth/mastodon/callback?code&state
        4. POST {instance}/oauth/token (grant_type=authorization_code, code, client_id,
           client_secret, redirect_uri, code_verifier), with Authlib like every OAuth connector
           (`services.connectors.oauth2`)
        5. GET {instance}/api/v1/accounts/verify_credentials
        6. the account: external_id = the account's id on the instance, handle @user@host,
           option instance_url; credentials {access_token, client_id, client_secret} (sealed)

PKCE: Mastodon checks the verifier since 4.3; older instances ignore the challenge, so it is
always sent. Mastodon tokens never expire and cannot be refreshed: a revoked one makes the
account `needs_reconnect` at its next publish. On a reconnect the token it replaces is revoked
on the instance (best effort), so a person's list of authorized apps does not grow.

Scopes: `write:statuses write:media read:statuses` (what the adapter uses), plus
`read:accounts` for verify_credentials (Mastodon 4.3 also has `profile`; older versions do not).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from postwright.auth.principal import Principal
from postwright.auth.secretbox import SecretBoxError
from postwright.domain.errors import InvalidInput
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import (
    ConnectedAccount,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
    open_authorization,
    parse_body,
)
from postwright.services.connectors.oauth2 import OAuth2App, api_get, exchange_code
from postwright.settings import Settings
from postwright.store import accounts as account_store
from postwright.store.connections import find_connected_account

__all__ = ["SCOPES", "MastodonConnector", "instance_origin", "pkce_pair"]

log = logging.getLogger("postwright.connect.mastodon")

SCOPES = "read:accounts write:statuses write:media read:statuses"
APP_NAME = "postwright"
_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class MastodonStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance: str = Field(
        min_length=1,
        max_length=300,
        description="The instance's address, e.g. `mastodon.social` or `https://fosstodon.org`.",
    )


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def instance_origin(value: str, *, settings: Settings, field_name: str = "instance") -> str:
    """The instance's origin (`https://host[:port]`) from what a person typed, or a 422.

    Only public https hosts: postwright's server calls this address, so loopback, private and
    link-local addresses are refused (http://127.0.0.1 and localhost only with
    `connect_allow_http_localhost`, for tests and the emulator). Paths, queries, fragments and
    credentials in the URL are refused rather than guessed at.
    """
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _bad(field_name, "is not a valid address") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise _bad(field_name, "has no host name")
    if parts.username or parts.password:
        raise _bad(field_name, "must not contain a user name or password")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise _bad(field_name, "must be the instance's address alone, without a path")
    local = host in _LOCAL_HOSTS
    if local and settings.connect_allow_http_localhost:
        if parts.scheme not in ("http", "https"):
            raise _bad(field_name, "must be an http(s) address")
    else:
        if parts.scheme != "https":
            raise _bad(field_name, "must be an https:// address")
        if not _public_host(host):
            raise _bad(field_name, "must be a public host name, not a local or private address")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and not (parts.scheme == "https" and port == 443):
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def _public_host(host: str) -> bool:
    if host in _LOCAL_HOSTS or host.endswith((".localhost", ".local", ".internal", ".arpa")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return "." in host


def _bad(field_name: str, message: str) -> InvalidInput:
    return InvalidInput.one(field_name, "invalid", f"the address {message}")


def _said(response: httpx.Response) -> str:
    """Mastodon's own words for a refusal (`error`, `error_description`)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    parts = [str(body[k])[:300] for k in ("error", "error_description") if body.get(k)]
    return ": ".join(parts) or f"HTTP {response.status_code}"


class MastodonConnector:
    """The Mastodon connect flow (see the module docstring)."""

    platform = Platform.MASTODON
    setup_hint = "nothing to set: each instance registers postwright as an app when connecting"

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    def configured(self, settings: Settings) -> bool:
        return True

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self._transport,
            timeout=_TIMEOUT,
            headers={"User-Agent": "postwright (+https://github.com/postwright/postwright)"},
            follow_redirects=False,
        )

    # -- start

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        request = parse_body(MastodonStart, body)
        origin = instance_origin(request.instance, settings=rt.settings)
        redirect_uri = rt.settings.oauth_redirect_url(self.platform.value)
        app = await self._known_app(rt, principal, origin, redirect_uri)
        if app is None:
            app = await self._register(rt, origin, redirect_uri)
        verifier, challenge = pkce_pair()
        pending = await open_authorization(
            rt,
            principal,
            self.platform,
            code_verifier=verifier,
            extra={"instance": origin, "client_id": app["client_id"]},
            secrets_={"client_secret": app["client_secret"]},
            redirect_uri=redirect_uri,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": app["client_id"],
                "redirect_uri": redirect_uri,
                "scope": SCOPES,
                "state": pending.state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return ConnectStart(authorization_url=f"{origin}/oauth/authorize?{query}")

    async def _known_app(
        self, rt: Runtime, principal: Principal, origin: str, redirect_uri: str
    ) -> dict[str, str] | None:
        """The app of an account of this workspace already connected on `origin`."""
        async with rt.db.read() as conn:
            found = await account_store.list_accounts(
                conn, workspace_id=principal.workspace_id, platform=self.platform.value
            )
            for account in found:
                if account.options.get("instance_url") != origin:
                    continue
                sealed = await account_store.get_credentials(conn, account_id=account.id)
                if not sealed:
                    continue
                try:
                    credentials = rt.secretbox.open(sealed)
                except SecretBoxError:
                    continue
                if (
                    credentials.get("client_id")
                    and credentials.get("client_secret")
                    and credentials.get("redirect_uri") == redirect_uri
                ):
                    return {
                        "client_id": str(credentials["client_id"]),
                        "client_secret": str(credentials["client_secret"]),
                    }
        return None

    async def _register(self, rt: Runtime, origin: str, redirect_uri: str) -> dict[str, str]:
        form = {
            "client_name": APP_NAME,
            "redirect_uris": redirect_uri,
            "scopes": SCOPES,
            "website": rt.settings.public_url,
        }
        try:
            async with self._client() as client:
                response = await client.post(f"{origin}/api/v1/apps", data=form)
        except httpx.HTTPError as exc:
            raise connect_failed(
                self.platform,
                f"could not reach {origin} ({type(exc).__name__}); check the address",
                field_name="instance",
                rule="unreachable",
            ) from None
        if response.status_code != 200:
            raise connect_failed(
                self.platform,
                f"{origin} refused to register postwright as an app ({_said(response)}); "
                "is it a Mastodon instance?",
                field_name="instance",
            )
        try:
            app = response.json()
        except ValueError:
            app = None
        if (
            not isinstance(app, dict)
            or not isinstance(app.get("client_id"), str)
            or not isinstance(app.get("client_secret"), str)
        ):
            raise connect_failed(
                self.platform,
                f"{origin} did not answer like a Mastodon instance (no client id)",
                field_name="instance",
            )
        return {"client_id": app["client_id"], "client_secret": app["client_secret"]}

    # -- finish

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        origin = str(pending.extra.get("instance", ""))
        client_id = str(pending.extra.get("client_id", ""))
        client_secret = str(pending.secrets.get("client_secret", ""))
        if not origin or not client_id or not client_secret or not pending.code_verifier:
            raise connect_failed(self.platform, "this authorization is incomplete; start again")
        app = OAuth2App(
            platform=self.platform,
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=f"{origin}/oauth/authorize",
            token_url=f"{origin}/oauth/token",
            scopes=SCOPES.split(),
            token_auth="client_secret_post",  # what Mastodon's documentation shows
        )
        token = (await exchange_code(rt, app, pending, params))["access_token"]
        profile = await api_get(
            rt,
            self.platform,
            f"{origin}/api/v1/accounts/verify_credentials",
            token=token,
            what="reading which account authorized postwright",
        )
        if not profile.get("id") or not profile.get("username"):
            raise connect_failed(
                self.platform, f"{origin} did not say which account authorized postwright"
            )
        host = urlsplit(origin).netloc
        external_id = str(profile["id"])
        await self._check_same_instance(rt, pending, external_id, origin)
        found = ConnectedAccount(
            external_id=external_id,
            handle=f"@{profile['username']}@{host}",
            display_name=str(profile.get("display_name") or profile["username"])[:300],
            credentials={
                "access_token": token,
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": pending.redirect_uri,
            },
            token_expires_at=None,  # Mastodon tokens do not expire
            options={"instance_url": origin},
        )
        await self._revoke_replaced(rt, pending, found)
        return [found]

    async def _check_same_instance(
        self, rt: Runtime, pending: PendingAuthorization, external_id: str, origin: str
    ) -> None:
        """Account ids are per instance: never let one instance's account replace another's."""
        async with rt.db.read() as conn:
            existing = await find_connected_account(
                conn,
                workspace_id=pending.workspace_id,
                platform=self.platform.value,
                external_id=external_id,
            )
        if existing is not None and existing.options.get("instance_url") not in (None, origin):
            raise connect_failed(
                self.platform,
                f"the account {existing.handle}, on another instance, has the same id; "
                "remove it before connecting this one",
            )

    async def _revoke_replaced(
        self, rt: Runtime, pending: PendingAuthorization, found: ConnectedAccount
    ) -> None:
        """On a reconnect, revoke the token being replaced (best effort; never fails it)."""
        async with rt.db.read() as conn:
            existing = await find_connected_account(
                conn,
                workspace_id=pending.workspace_id,
                platform=self.platform.value,
                external_id=found.external_id,
            )
            sealed = (
                await account_store.get_credentials(conn, account_id=existing.id)
                if existing is not None
                else None
            )
        if not sealed:
            return
        try:
            old = rt.secretbox.open(sealed)
        except SecretBoxError:
            return
        token, client_id, client_secret = (
            old.get("access_token"),
            old.get("client_id"),
            old.get("client_secret"),
        )
        if not token or token == found.credentials["access_token"] or not client_secret:
            return
        origin = str(found.options["instance_url"])
        try:
            async with self._client() as client:
                await client.post(
                    f"{origin}/oauth/revoke",
                    data={"client_id": client_id, "client_secret": client_secret, "token": token},
                )
        except httpx.HTTPError as exc:
            log.info("could not revoke a replaced Mastodon token: %s", type(exc).__name__)
