"""Reddit: OAuth 2.0 authorization code with `duration=permanent` (a refresh token), HTTP Basic
client authentication and the User-Agent Reddit requires; the account is `GET /api/v1/me`.

Access tokens live one hour. Credentials: `access_token`, `refresh_token`; `external_id` is
the user id (without the `t2_` prefix), the handle the user name.
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

__all__ = ["SCOPES", "RedditConnector"]

# `history` lets the adapter list the account's submissions to find a post whose answer was lost
SCOPES = ("identity", "submit", "read", "edit", "history")
AUTHORIZE_URL = "https://www.reddit.com/api/v1/authorize"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
API_URL = "https://oauth.reddit.com"


class RedditConnector:
    platform = Platform.REDDIT
    setup_hint = "set POSTWRIGHT_REDDIT_CLIENT_ID and POSTWRIGHT_REDDIT_CLIENT_SECRET"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.reddit_client_id and settings.reddit_client_secret)

    def app(self, settings: Settings) -> OAuth2App:
        return platform_app(
            settings,
            self.platform,
            (settings.reddit_client_id, settings.reddit_client_secret),
            self.setup_hint,
            authorize_url=AUTHORIZE_URL,
            token_url=TOKEN_URL,
            scopes=SCOPES,
            token_auth="client_secret_basic",
            authorize_params={"duration": "permanent"},
            headers={"User-Agent": settings.reddit_user_agent},
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        return await start_authorization(rt, principal, body, self.app)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        settings = rt.settings
        token = await exchange_code(rt, self.app(settings), pending, params)
        api = api_url(settings, self.platform, API_URL)
        me = await api_get(
            rt,
            self.platform,
            f"{api}/api/v1/me",
            token=token["access_token"],
            headers={"User-Agent": settings.reddit_user_agent},
        )
        if not me.get("id") or not me.get("name"):
            raise connect_failed(self.platform, "GET /api/v1/me answered without a user")
        name = str(me["name"])
        subreddit = me.get("subreddit")
        title = subreddit.get("title") if isinstance(subreddit, dict) else None
        return [
            ConnectedAccount(
                external_id=str(me["id"]),
                handle=name,
                display_name=str(title or name),
                credentials=credentials_of(token),
                token_expires_at=expires_at(rt, token),
            )
        ]
