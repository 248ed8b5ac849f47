"""X: OAuth 2.0 authorization code with PKCE (S256), a confidential client (HTTP Basic), and
`offline.access` for a refresh token; the account is `GET /2/users/me`.

Access tokens live 2 hours and refresh tokens rotate on every refresh (see the token refresh
job). Credentials: `access_token`, `refresh_token`; `external_id` is the numeric user id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postwright.auth.principal import Principal
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import (
    ConnectedAccount,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
)
from postwright.services.connectors.oauth2 import (
    OAuth2App,
    api_get,
    api_url,
    credentials_of,
    exchange_code,
    expires_at,
    platform_app,
    start_authorization,
)
from postwright.settings import Settings

__all__ = ["SCOPES", "XConnector"]

SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
API_URL = "https://api.x.com"


class XConnector:
    platform = Platform.X
    setup_hint = "set POSTWRIGHT_X_CLIENT_ID and POSTWRIGHT_X_CLIENT_SECRET"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.x_client_id and settings.x_client_secret)

    def app(self, settings: Settings) -> OAuth2App:
        return platform_app(
            settings,
            self.platform,
            (settings.x_client_id, settings.x_client_secret),
            self.setup_hint,
            authorize_url=AUTHORIZE_URL,
            token_url=TOKEN_URL,
            scopes=SCOPES,
            token_auth="client_secret_basic",
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        return await start_authorization(rt, principal, body, self.app)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        token = await exchange_code(rt, self.app(rt.settings), pending, params)
        api = api_url(rt.settings, self.platform, API_URL)
        me = await api_get(rt, self.platform, f"{api}/2/users/me", token=token["access_token"])
        data = me.get("data")
        if not isinstance(data, dict) or not data.get("id") or not data.get("username"):
            raise connect_failed(self.platform, "GET /2/users/me answered without a user")
        return [
            ConnectedAccount(
                external_id=str(data["id"]),
                handle=str(data["username"]),
                display_name=str(data.get("name") or data["username"]),
                credentials=credentials_of(token),
                token_expires_at=expires_at(rt, token),
            )
        ]
