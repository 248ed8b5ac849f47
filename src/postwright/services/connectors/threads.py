"""Threads: the code gives a short-lived token (1 hour), exchanged with `th_exchange_token` for
a long-lived one (60 days, refreshed by the token job with `th_refresh_token`); the account is
`GET /me?fields=id,username,name`. Credentials: `access_token`; `external_id` = the Threads
user id.
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
from postwright.services.connectors.meta import exchange_for_long_lived
from postwright.services.connectors.oauth2 import (
    OAuth2App,
    api_get,
    api_url,
    expires_at,
    platform_app,
    start_authorization,
)
from postwright.settings import Settings

__all__ = ["SCOPES", "ThreadsConnector"]

SCOPES = ("threads_basic", "threads_content_publish", "threads_manage_insights")
AUTHORIZE_URL = "https://threads.net/oauth/authorize"
TOKEN_URL = "https://graph.threads.net/oauth/access_token"
GRAPH_URL = "https://graph.threads.net"
API_URL = "https://graph.threads.net/v1.0"


class ThreadsConnector:
    platform = Platform.THREADS
    setup_hint = "set POSTWRIGHT_THREADS_CLIENT_ID and POSTWRIGHT_THREADS_CLIENT_SECRET"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.threads_client_id and settings.threads_client_secret)

    def app(self, settings: Settings) -> OAuth2App:
        return platform_app(
            settings,
            self.platform,
            (settings.threads_client_id, settings.threads_client_secret),
            self.setup_hint,
            authorize_url=AUTHORIZE_URL,
            token_url=TOKEN_URL,
            scopes=SCOPES,
            scope_separator=",",
            token_auth="client_secret_post",
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        return await start_authorization(rt, principal, body, self.app)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        settings = rt.settings
        _, long = await exchange_for_long_lived(
            rt,
            self.app(settings),
            pending,
            params,
            graph_url=settings.oauth_url("threads", "graph", GRAPH_URL),
            grant_type="th_exchange_token",
        )
        api = api_url(settings, self.platform, API_URL)
        me = await api_get(
            rt,
            self.platform,
            f"{api}/me",
            token=long["access_token"],
            params={"fields": "id,username,name"},
        )
        if not me.get("id") or not me.get("username"):
            raise connect_failed(self.platform, "GET /me answered without id and username")
        return [
            ConnectedAccount(
                external_id=str(me["id"]),
                handle=str(me["username"]),
                display_name=str(me.get("name") or me["username"]),
                credentials={"access_token": long["access_token"]},
                token_expires_at=expires_at(rt, long),
            )
        ]
