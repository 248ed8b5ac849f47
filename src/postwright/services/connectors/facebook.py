"""Facebook Pages: Facebook Login, a long-lived user token, then one account per Page, each
with its own Page token (which does not expire). A person managing several Pages chooses which
to connect (the callback answers a choice); a reconnect renews the Pages already connected at
once. Credentials: `access_token` = the Page token; `external_id` = the Page id.
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
    parse_body,
)
from postwright.services.connectors.meta import (
    FACEBOOK_SETUP,
    facebook_app,
    facebook_configured,
    facebook_pages,
)
from postwright.services.connectors.oauth2 import authorization_url
from postwright.settings import Settings

__all__ = ["SCOPES", "FacebookConnector"]

SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "read_insights",
    "publish_video",  # Page videos
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FacebookConnector:
    platform = Platform.FACEBOOK
    setup_hint = FACEBOOK_SETUP

    def configured(self, settings: Settings) -> bool:
        return facebook_configured(settings)

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        parse_body(_Body, body)
        app = facebook_app(rt.settings, self.platform, SCOPES)
        return ConnectStart(authorization_url=await authorization_url(rt, principal, app))

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        app = facebook_app(rt.settings, self.platform, SCOPES)
        pages = await facebook_pages(
            rt, app, pending, params, fields="id,name,username,access_token,tasks"
        )
        return [
            ConnectedAccount(
                external_id=str(page["id"]),
                handle=str(page.get("username") or page.get("name") or page["id"]),
                display_name=str(page.get("name") or page["id"]),
                credentials={"access_token": page["access_token"]},
            )
            for page in pages
            if page.get("access_token")
        ]
