"""Instagram professional accounts, through either login Meta offers.

- `{"variant": "instagram"}` (Instagram Login, the default when the Instagram app is
  configured): the code gives a short-lived token (1 hour), exchanged with `ig_exchange_token`
  for a long-lived one (60 days, refreshed by the token job with `ig_refresh_token`); the
  account is `GET /me?fields=user_id,username,name`. Option `login` = `instagram`.
- `{"variant": "facebook"}` (Facebook Login): the Meta app's Facebook Login, then the Pages
  with their `instagram_business_account`; one account per linked Instagram account, using the
  Page token (which does not expire). Option `login` = `facebook`. Several accounts: a choice.

Credentials: `access_token`; `external_id` = the Instagram user id used for publishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from postwright.auth.principal import Principal
from postwright.domain.errors import Conflict
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import (
    ConnectedAccount,
    ConnectStart,
    PendingAuthorization,
    connect_failed,
    parse_body,
)
from postwright.services.connectors.meta import (
    FACEBOOK_SETUP,
    exchange_for_long_lived,
    facebook_app,
    facebook_configured,
    facebook_pages,
)
from postwright.services.connectors.oauth2 import (
    OAuth2App,
    api_get,
    authorization_url,
    expires_at,
    platform_app,
)
from postwright.settings import Settings

__all__ = ["FACEBOOK_SCOPES", "INSTAGRAM_SCOPES", "InstagramConnector"]

INSTAGRAM_SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
)
FACEBOOK_SCOPES = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
)
AUTHORIZE_URL = "https://www.instagram.com/oauth/authorize"
TOKEN_URL = "https://api.instagram.com/oauth/access_token"
GRAPH_URL = "https://graph.instagram.com"
API_URL = "https://graph.instagram.com/v26.0"
INSTAGRAM_SETUP = "set POSTWRIGHT_INSTAGRAM_CLIENT_ID and POSTWRIGHT_INSTAGRAM_CLIENT_SECRET"

Variant = Literal["instagram", "facebook"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: Variant | None = None


def _instagram_configured(settings: Settings) -> bool:
    return bool(settings.instagram_client_id and settings.instagram_client_secret)


class InstagramConnector:
    platform = Platform.INSTAGRAM
    setup_hint = f"{INSTAGRAM_SETUP} (Instagram Login), or {FACEBOOK_SETUP} (Facebook Login)"

    def configured(self, settings: Settings) -> bool:
        return _instagram_configured(settings) or facebook_configured(settings)

    def app(self, settings: Settings) -> OAuth2App:
        """The Instagram Login client."""
        return platform_app(
            settings,
            self.platform,
            (settings.instagram_client_id, settings.instagram_client_secret),
            INSTAGRAM_SETUP,
            authorize_url=AUTHORIZE_URL,
            token_url=TOKEN_URL,
            scopes=INSTAGRAM_SCOPES,
            scope_separator=",",
            token_auth="client_secret_post",
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        settings = rt.settings
        variant = parse_body(_Body, body).variant or (
            "instagram" if _instagram_configured(settings) else "facebook"
        )
        if variant == "instagram":
            app = self.app(settings)
        elif not facebook_configured(settings):
            raise Conflict(f"Instagram with Facebook Login is not configured: {FACEBOOK_SETUP}")
        else:
            app = facebook_app(settings, self.platform, FACEBOOK_SCOPES)
        url = await authorization_url(rt, principal, app, extra={"variant": variant})
        return ConnectStart(authorization_url=url)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        if pending.extra.get("variant") == "facebook":
            return await self._finish_facebook(rt, pending, params)
        return await self._finish_instagram(rt, pending, params)

    async def _finish_instagram(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        settings = rt.settings
        short, long = await exchange_for_long_lived(
            rt,
            self.app(settings),
            pending,
            params,
            graph_url=settings.oauth_url("instagram", "graph", GRAPH_URL),
            grant_type="ig_exchange_token",
        )
        api = settings.oauth_url("instagram", "api", API_URL)
        me = await api_get(
            rt,
            self.platform,
            f"{api}/me",
            token=long["access_token"],
            params={"fields": "user_id,username,name"},
        )
        user_id = me.get("user_id") or short.get("user_id")
        if not user_id or not me.get("username"):
            raise connect_failed(self.platform, "GET /me answered without user_id and username")
        return [
            ConnectedAccount(
                external_id=str(user_id),
                handle=str(me["username"]),
                display_name=str(me.get("name") or me["username"]),
                credentials={"access_token": long["access_token"]},
                token_expires_at=expires_at(rt, long),
                options={"login": "instagram"},
            )
        ]

    async def _finish_facebook(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        app = facebook_app(rt.settings, self.platform, FACEBOOK_SCOPES)
        pages = await facebook_pages(
            rt,
            app,
            pending,
            params,
            fields="id,name,access_token,instagram_business_account{id,username,name}",
        )
        found = []
        for page in pages:
            linked = page.get("instagram_business_account")
            if not isinstance(linked, dict) or not linked.get("id") or not page.get("access_token"):
                continue
            username = str(linked.get("username") or linked["id"])
            found.append(
                ConnectedAccount(
                    external_id=str(linked["id"]),
                    handle=username,
                    display_name=str(linked.get("name") or username),
                    credentials={"access_token": page["access_token"]},
                    options={"login": "facebook", "page_id": str(page["id"])},
                )
            )
        if pages and not found:
            raise connect_failed(
                self.platform,
                "none of your Pages has an Instagram professional account linked to it",
            )
        return found
