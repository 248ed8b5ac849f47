"""What Meta's three platforms share when connecting: Facebook Login (for Pages, and for the
Instagram accounts linked to Pages) and the long-lived token exchange of Instagram Login and
Threads.

Facebook Login: the code gives a short-lived user token (about 2 hours), exchanged
(`grant_type=fb_exchange_token`) for a long-lived one (60 days); `GET /me/accounts` with it
lists the person's Pages, each with a Page token that does not expire. Only Page tokens are
kept; the user token is dropped once the Pages are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import PendingAuthorization, connect_failed
from postwright.services.connectors.oauth2 import (
    OAuth2App,
    api_get,
    api_post_form,
    client_pair,
    exchange_code,
)
from postwright.settings import Settings

__all__ = [
    "FACEBOOK_GRAPH_URL",
    "FACEBOOK_SETUP",
    "exchange_for_long_lived",
    "facebook_app",
    "facebook_configured",
    "facebook_graph",
    "facebook_pages",
    "long_lived_token",
]

FACEBOOK_GRAPH_URL = "https://graph.facebook.com/v26.0"
FACEBOOK_DIALOG_URL = "https://www.facebook.com/v26.0/dialog/oauth"
FACEBOOK_SETUP = "set POSTWRIGHT_FACEBOOK_CLIENT_ID and POSTWRIGHT_FACEBOOK_CLIENT_SECRET"
_MAX_PAGES = 20  # pages of /me/accounts, 100 Pages each


def facebook_configured(settings: Settings) -> bool:
    return bool(settings.facebook_client_id and settings.facebook_client_secret)


def facebook_graph(settings: Settings) -> str:
    """The Graph API base (versioned) for Facebook Login calls."""
    default = settings.platform_urls.get("facebook", FACEBOOK_GRAPH_URL)
    return settings.oauth_url("facebook", "api", default)


def facebook_app(settings: Settings, platform: Platform, scopes: Sequence[str]) -> OAuth2App:
    """The Meta app's Facebook Login client, for `platform`'s callback."""
    client_id, secret = client_pair(
        platform, settings.facebook_client_id, settings.facebook_client_secret, FACEBOOK_SETUP
    )
    return OAuth2App(
        platform=platform,
        client_id=client_id,
        client_secret=secret,
        authorize_url=settings.oauth_url("facebook", "authorize", FACEBOOK_DIALOG_URL),
        token_url=f"{facebook_graph(settings)}/oauth/access_token",
        scopes=scopes,
        scope_separator=",",
        token_auth="client_secret_post",
    )


async def facebook_pages(
    rt: Runtime,
    app: OAuth2App,
    pending: PendingAuthorization,
    params: Mapping[str, str],
    *,
    fields: str,
) -> list[dict[str, Any]]:
    """Exchange the code, then for a long-lived user token, then list the Pages."""
    graph = facebook_graph(rt.settings)
    short = await exchange_code(rt, app, pending, params)
    long = await api_post_form(
        rt,
        app.platform,
        f"{graph}/oauth/access_token",
        form={
            "grant_type": "fb_exchange_token",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "fb_exchange_token": short["access_token"],
        },
        what="the long-lived token exchange",
    )
    user_token = long.get("access_token")
    if not isinstance(user_token, str) or not user_token:
        raise connect_failed(app.platform, "the long-lived token exchange gave no token")
    pages: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(_MAX_PAGES):
        query = {"fields": fields, "limit": "100"}
        if after:
            query["after"] = after
        answer = await api_get(
            rt,
            app.platform,
            f"{graph}/me/accounts",
            token=user_token,
            params=query,
            what="the list of your Pages",
        )
        data = answer.get("data")
        pages.extend(p for p in data or [] if isinstance(p, dict) and p.get("id"))
        paging = answer.get("paging")
        paging = paging if isinstance(paging, dict) else {}
        cursors = paging.get("cursors")
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if not data or not paging.get("next") or not after:
            break
    return pages


async def long_lived_token(
    rt: Runtime,
    platform: Platform,
    url: str,
    *,
    grant_type: str,
    client_secret: str,
    short_token: str,
) -> dict[str, Any]:
    """Instagram Login's `ig_exchange_token` / Threads' `th_exchange_token` (a GET, as Meta
    documents it; the query is redacted from logs)."""
    answer = await api_get(
        rt,
        platform,
        url,
        token=None,
        params={
            "grant_type": grant_type,
            "client_secret": client_secret,
            "access_token": short_token,
        },
        what="the long-lived token exchange",
    )
    if not isinstance(answer.get("access_token"), str) or not answer["access_token"]:
        raise connect_failed(platform, "the long-lived token exchange gave no token")
    return answer


async def exchange_for_long_lived(
    rt: Runtime,
    app: OAuth2App,
    pending: PendingAuthorization,
    params: Mapping[str, str],
    *,
    graph_url: str,
    grant_type: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The code's short-lived token answer, and the long-lived one it was exchanged for at
    `{graph_url}/access_token`."""
    short = await exchange_code(rt, app, pending, params)
    long = await long_lived_token(
        rt,
        app.platform,
        f"{graph_url}/access_token",
        grant_type=grant_type,
        client_secret=app.client_secret,
        short_token=short["access_token"],
    )
    return short, long
