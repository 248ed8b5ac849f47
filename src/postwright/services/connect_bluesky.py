"""Connecting a Bluesky account with its handle and an app password.

    POST /accounts/connect/bluesky {"handle", "app_password", "service"?}   -> 201 the account
        1. `service` (default: the `bluesky` platform URL setting, else https://bsky.social) is
           checked like a Mastodon instance (public https; see `instance_origin`)
        2. POST {service}/xrpc/com.atproto.server.createSession {identifier, password}, once
        3. the account: external_id = the DID, handle, option `service` = the PDS named in the
           session's didDoc (`#atproto_pds`) when there is one, else `service`; credentials
           {access_jwt, refresh_jwt, did} sealed, token_expires_at = the access JWT's `exp`

The app password is used for that one call and never stored. Bluesky limits createSession to
30 per 5 minutes and 300 per day per account, so postwright creates a session only here: the
token refresher (`auth.refresh`) keeps it alive with `refreshSession` ahead of the access
token's 2-hour expiry, and a session that cannot be refreshed makes the account
`needs_reconnect`, which asks a person for the app password again. Reconnecting the same DID
replaces the credentials of the same account. Accounts that Bluesky says are not active
(taken down, suspended, deactivated) are not connected.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from postwright.auth.principal import Principal
from postwright.auth.refresh import RefreshUnavailable, bluesky_session
from postwright.domain.errors import InvalidInput
from postwright.domain.platforms import Platform
from postwright.platforms.account_signals import session_status_signal
from postwright.runtime import Runtime
from postwright.services.connect import (
    ConnectedAccount,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
    parse_body,
)
from postwright.services.connect_mastodon import instance_origin
from postwright.settings import Settings

__all__ = ["DEFAULT_SERVICE", "BlueskyConnector"]

DEFAULT_SERVICE = "https://bsky.social"
_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_HANDLE = re.compile(r"^(?:did:[a-z]+:[A-Za-z0-9._:%-]+|[A-Za-z0-9][A-Za-z0-9.-]{0,252})$")


class BlueskyStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, max_length=253, description="e.g. `alice.bsky.social`.")
    app_password: SecretStr = Field(
        min_length=1,
        max_length=200,
        description="An app password (Bluesky settings → Privacy and security → App passwords).",
    )
    service: str | None = Field(
        default=None, max_length=300, description="The PDS or entryway; default: Bluesky's."
    )


def _said(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return "", f"HTTP {response.status_code}"
    return str(body.get("error") or ""), str(body.get("message") or "")[:300]


def _pds_of(session: Mapping[str, Any]) -> str | None:
    """The `#atproto_pds` endpoint of the session's didDoc, if it names one."""
    doc = session.get("didDoc")
    services = doc.get("service") if isinstance(doc, dict) else None
    for entry in services if isinstance(services, list) else []:
        if (
            isinstance(entry, dict)
            and str(entry.get("id", "")).endswith("#atproto_pds")
            and isinstance(entry.get("serviceEndpoint"), str)
        ):
            return str(entry["serviceEndpoint"])
    return None


class BlueskyConnector:
    """The Bluesky connect flow (see the module docstring)."""

    platform = Platform.BLUESKY
    setup_hint = "nothing to set: people connect with their handle and an app password"

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    def configured(self, settings: Settings) -> bool:
        return True

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        request = parse_body(BlueskyStart, body)
        handle = request.handle.strip().lstrip("@").lower()
        if not _HANDLE.match(handle):
            raise InvalidInput.one(
                "handle", "invalid", "a handle looks like `alice.bsky.social` (or a DID)"
            )
        default = rt.settings.platform_urls.get("bluesky", DEFAULT_SERVICE)
        service = instance_origin(
            request.service or default, settings=rt.settings, field_name="service"
        )
        session = await self._create_session(
            service, handle, request.app_password.get_secret_value()
        )
        try:
            refreshed = bluesky_session(session, now=rt.now())
        except RefreshUnavailable as exc:
            raise connect_failed(self.platform, str(exc), field_name="handle") from None
        signal = session_status_signal(session.get("active"), session.get("status"))
        if signal is not None:
            raise connect_failed(self.platform, signal.reason, field_name="handle", rule="inactive")
        did = refreshed.credentials.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise connect_failed(self.platform, "the session named no DID", field_name="handle")
        pds = _pds_of(session)
        if pds is not None:
            # a PDS we may not call: keep talking to the service that answered
            with contextlib.suppress(InvalidInput):
                service = instance_origin(pds, settings=rt.settings, field_name="service")
        name = str(session.get("handle") or handle)
        return ConnectStart(
            account=ConnectedAccount(
                external_id=did,
                handle=name,
                display_name=name,
                credentials=refreshed.credentials,
                token_expires_at=refreshed.expires_at,
                options={"service": service},
            )
        )

    async def _create_session(self, service: str, handle: str, password: str) -> dict[str, Any]:
        """One createSession (limited by Bluesky: see the module docstring)."""
        url = f"{service}/xrpc/com.atproto.server.createSession"
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=_TIMEOUT, follow_redirects=False
            ) as client:
                response = await client.post(url, json={"identifier": handle, "password": password})
        except httpx.HTTPError as exc:
            raise connect_failed(
                self.platform,
                f"could not reach {service} ({type(exc).__name__}); check the address",
                field_name="service",
                rule="unreachable",
            ) from None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            raise connect_failed(
                self.platform,
                f"{service} did not answer like a Bluesky server",
                field_name="service",
            )
        error, message = _said(response)
        raise self._refusal(response, error, message)

    def _refusal(self, response: httpx.Response, error: str, message: str) -> InvalidInput:
        status = response.status_code
        said = f"{error}: {message}" if error and message else error or message
        if status == 429:
            return connect_failed(
                self.platform,
                "Bluesky limits sign-ins (30 per 5 minutes and 300 per day for an account); "
                f"try again later ({said})",
                field_name="app_password",
                rule="rate_limited",
            )
        if error == "AuthFactorTokenRequired":
            return connect_failed(
                self.platform,
                "this account asks for a code sent by e-mail when signing in: use an app "
                "password (Bluesky settings → Privacy and security → App passwords)",
                field_name="app_password",
            )
        if error in ("AccountTakedown", "AccountDeactivated"):
            signal = session_status_signal(
                False, "takendown" if error == "AccountTakedown" else "deactivated"
            )
            assert signal is not None
            return connect_failed(
                self.platform, signal.reason, field_name="handle", rule="inactive"
            )
        if status == 401 or error == "AuthenticationRequired":
            return connect_failed(
                self.platform,
                "the handle or app password is not right",
                field_name="app_password",
                rule="invalid",
            )
        if status >= 500:
            return connect_failed(
                self.platform,
                f"the server is not answering properly ({status}: {said}); try again",
                field_name="service",
                rule="unavailable",
            )
        return connect_failed(self.platform, f"sign-in refused ({said})", field_name="handle")

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        raise connect_failed(
            self.platform, "Bluesky accounts connect without a redirect", field_name="state"
        )
