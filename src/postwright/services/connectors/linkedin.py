"""LinkedIn: OAuth 2.0 (3-legged) with OpenID Connect for the member, and optionally the
organization pages the member administers.

Scopes `openid profile w_member_social`; with pages (the body `{"organizations": true}` or the
`linkedin_organizations` setting) also `w_organization_social r_organization_admin`, and the
pages come from `GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR`. The member is
`urn:li:person:{sub}` (from `GET /v2/userinfo`), a page `urn:li:organization:{id}`: with pages,
one authorization yields several accounts and the person chooses.

Access tokens live 60 days; only partner apps get refresh tokens, so most LinkedIn accounts
become `expiring` and then need a reconnect. Credentials: `access_token` (+ `refresh_token`).
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
    api_url,
    authorization_url,
    credentials_of,
    exchange_code,
    expires_at,
    platform_app,
)
from postwright.settings import Settings

__all__ = ["LinkedInConnector"]

MEMBER_SCOPES = ("openid", "profile", "w_member_social")
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_admin")
AUTHORIZE_URL = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
API_URL = "https://api.linkedin.com"
API_VERSION = "202506"
_REST_HEADERS = {"LinkedIn-Version": API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
_MAX_ORGANIZATIONS = 50


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organizations: bool | None = None


class LinkedInConnector:
    platform = Platform.LINKEDIN
    setup_hint = "set POSTWRIGHT_LINKEDIN_CLIENT_ID and POSTWRIGHT_LINKEDIN_CLIENT_SECRET"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.linkedin_client_id and settings.linkedin_client_secret)

    def app(self, settings: Settings, *, organizations: bool = False) -> OAuth2App:
        return platform_app(
            settings,
            self.platform,
            (settings.linkedin_client_id, settings.linkedin_client_secret),
            self.setup_hint,
            authorize_url=AUTHORIZE_URL,
            token_url=TOKEN_URL,
            scopes=MEMBER_SCOPES + (ORGANIZATION_SCOPES if organizations else ()),
            token_auth="client_secret_post",
        )

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        options = parse_body(_Body, body)
        organizations = (
            rt.settings.linkedin_organizations
            if options.organizations is None
            else options.organizations
        )
        app = self.app(rt.settings, organizations=organizations)
        url = await authorization_url(rt, principal, app, extra={"organizations": organizations})
        return ConnectStart(authorization_url=url)

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        settings = rt.settings
        organizations = bool(pending.extra.get("organizations"))
        token = await exchange_code(
            rt, self.app(settings, organizations=organizations), pending, params
        )
        access = token["access_token"]
        credentials = credentials_of(token)
        expires = expires_at(rt, token)
        api = api_url(settings, self.platform, API_URL)
        me = await api_get(rt, self.platform, f"{api}/v2/userinfo", token=access)
        if not me.get("sub"):
            raise connect_failed(self.platform, "GET /v2/userinfo answered without `sub`")
        name = str(me.get("name") or me["sub"])
        found = [
            ConnectedAccount(
                external_id=f"urn:li:person:{me['sub']}",
                handle=name,
                display_name=name,
                credentials=credentials,
                token_expires_at=expires,
                options={"kind": "member"},
            )
        ]
        if organizations:
            found.extend(await self._organizations(rt, api, access, credentials, expires))
        return found

    async def _organizations(
        self,
        rt: Runtime,
        api: str,
        access: str,
        credentials: Mapping[str, Any],
        expires: Any,
    ) -> list[ConnectedAccount]:
        acls = await api_get(
            rt,
            self.platform,
            f"{api}/rest/organizationAcls",
            token=access,
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
            headers=_REST_HEADERS,
            what="the list of pages you administer",
        )
        found = []
        for element in (acls.get("elements") or [])[:_MAX_ORGANIZATIONS]:
            urn = element.get("organization") if isinstance(element, dict) else None
            if not isinstance(urn, str) or not urn.startswith("urn:li:organization:"):
                continue
            org_id = urn.rsplit(":", 1)[1]
            org = await api_get(
                rt,
                self.platform,
                f"{api}/rest/organizations/{org_id}",
                token=access,
                headers=_REST_HEADERS,
                what=f"the page {org_id}",
            )
            name = str(org.get("localizedName") or org_id)
            found.append(
                ConnectedAccount(
                    external_id=urn,
                    handle=str(org.get("vanityName") or org_id),
                    display_name=name,
                    credentials=credentials,
                    token_expires_at=expires,
                    options={"kind": "organization"},
                )
            )
        return found
