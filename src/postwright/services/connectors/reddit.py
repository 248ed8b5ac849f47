"""Reddit: OAuth 2.0 authorization code with `duration=permanent` (a refresh token), HTTP Basic
client authentication and the User-Agent Reddit requires; the account is `GET /api/v1/me`.

Access tokens live one hour. Credentials: `access_token`, `refresh_token`; `external_id` is
the user id (without the `t2_` prefix), the handle the user name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from postwright.auth.principal import Principal
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import (
    ConnectedAccount,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
    parse_body,
)
from postwright.services.connectors.oauth2 import (
    OAuth2App,
    api_get,
    authorization_url,
    client_pair,
    credentials_of,
    exchange_code,
    expires_at,
)
from postwright.settings import Settings

__all__ = ["SCOPES", "RedditConnector"]

# `history` lets the adapter list the account's submissions to find a post whose answer was lost
SCOPES = ("identity", "submit", "read", "edit", "history")
AUTHORIZE_URL = "https://www.reddit.com/api/v1/authorize"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
API_URL = "https://oauth.reddit.com"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedditConnector:
    platform = Platform.REDDIT
    setup_hint = "set POSTWRIGHT_REDDIT_CLIENT_ID and POSTWRIGHT_REDDIT_CLIENT_SECRET"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.reddit_client_id and settings.reddit_client_secret)

    def app(self, settings: Settings) -> OAuth2App:
        client_id, secret = client_pair(
            self.platform, settings.reddit_client_id, settings.reddit_client_secret, self.setup_hint
        )
        return OAuth2App(
            platform=self.platform,
            client_id=client_id,
            client_secret=secret,
            authorize_url=settings.oauth_url("reddit", "authorize", AUTHORIZE_URL),
            token_url=settings.oauth_url("reddit", "token", TOKEN_URL),
            scopes=SCOPES,
            token_auth="client_secret_basic",
            authorize_params={"duration": "permanent"},
            headers={"User-Agent": settings.reddit_user_agent},
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        parse_body(_Body, body)
        url = await authorization_url(rt, principal, self.app(rt.settings))
        return ConnectStart(authorization_url=url)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        settings = rt.settings
        token = await exchange_code(rt, self.app(settings), pending, params)
        api = settings.oauth_url("reddit", "api", settings.platform_urls.get("reddit", API_URL))
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
