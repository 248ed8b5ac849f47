"""The emulated authorization servers on their own: what they enforce (PKCE, single-use codes,
redirect URIs, client authentication, rotation) and how each platform words a refusal."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from postwright.platforms.emulator.app import create_app
from postwright.platforms.emulator.oauth_core import client_secret_for, emulator_oauth_urls

BASE = "http://emulator"
URLS = emulator_oauth_urls(BASE)
REDIRECT = "http://app.example/callback"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def _code(
    http: httpx.AsyncClient,
    platform: str,
    client_id: str,
    *,
    challenge: str | None = None,
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "scope": extra.pop("scope", "tweet.read offline.access"),
        "auto": "approve",
        **extra,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    response = await http.get(URLS[f"{platform}.authorize"], params=params)
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert location.params["state"] == "s1"
    return location.params["code"]


def _basic(client_id: str, secret: str | None = None) -> tuple[str, str]:
    return (client_id, secret if secret is not None else client_secret_for(client_id))


# -- X ------------------------------------------------------------------------------------------


async def test_x_requires_pkce_at_authorize(http: httpx.AsyncClient) -> None:
    response = await http.get(
        URLS["x.authorize"],
        params={"response_type": "code", "client_id": "c", "redirect_uri": REDIRECT},
    )
    assert response.status_code == 400
    assert "code_challenge is required" in response.text


async def test_x_consent_form(http: httpx.AsyncClient) -> None:
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": "c",
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await http.get(URLS["x.authorize"], params=params)
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    submitted = await http.post(
        URLS["x.authorize"], data={**params, "decision": "approve", "user": "31337"}
    )
    assert submitted.status_code == 302
    code = httpx.URL(submitted.headers["location"]).params["code"]
    token = await http.post(
        URLS["x.token"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=_basic("c"),
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"] == "x-user-31337"


async def test_x_token_rules(http: httpx.AsyncClient) -> None:
    verifier, challenge = _pkce()

    async def exchange(code: str, **changes: str | None) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            **changes,
        }
        body = {k: v for k, v in data.items() if v is not None}
        return await http.post(URLS["x.token"], data=body, auth=_basic("c"))

    wrong = await exchange(await _code(http, "x", "c", challenge=challenge), code_verifier="x" * 50)
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the authorization code was invalid. "
        "code_verifier does not match the code_challenge",
    }
    missing = await exchange(await _code(http, "x", "c", challenge=challenge), code_verifier=None)
    assert "code_verifier is missing" in missing.json()["error_description"]
    redirect = await exchange(
        await _code(http, "x", "c", challenge=challenge), redirect_uri="http://evil.example/"
    )
    assert "redirect_uri does not match" in redirect.json()["error_description"]

    code = await _code(http, "x", "c", challenge=challenge, user="12")
    ok = await exchange(code)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == "tweet.read offline.access"
    again = await exchange(code)
    assert "already used" in again.json()["error_description"]
    tokens = (await http.get("/_emulator/oauth/x/tokens")).json()["tokens"]
    refresh = next(t for t in tokens if t["token"] == body["refresh_token"])
    assert refresh["works"] is False, "a reused code revokes what it gave (RFC 6749 4.1.2)"

    bad_client = await http.post(
        URLS["x.token"],
        data={"grant_type": "authorization_code", "code": "c"},
        auth=_basic("c", "nope"),
    )
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "unauthorized_client"


async def test_x_refresh_rotates(http: httpx.AsyncClient) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, "x", "c", challenge=challenge)
    first = (
        await http.post(
            URLS["x.token"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=_basic("c"),
        )
    ).json()

    async def refresh(token: str) -> httpx.Response:
        return await http.post(
            URLS["x.token"],
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=_basic("c"),
        )

    second = await refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    old = await refresh(first["refresh_token"])
    assert old.status_code == 400
    assert old.json()["error_description"] == "Value passed for the token was invalid."
    revoked = await http.post(
        "/_emulator/oauth/x/revoke", json={"token": second.json()["refresh_token"]}
    )
    assert revoked.status_code == 204
    assert (await refresh(second.json()["refresh_token"])).status_code == 400


async def test_x_no_refresh_token_without_offline_access(http: httpx.AsyncClient) -> None:
    verifier, challenge = _pkce()
    code = await _code(http, "x", "c", challenge=challenge, scope="tweet.read")
    body = (
        await http.post(
            URLS["x.token"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=_basic("c"),
        )
    ).json()
    assert "refresh_token" not in body


# -- Reddit, LinkedIn ----------------------------------------------------------------------------


async def test_reddit_shapes(http: httpx.AsyncClient) -> None:
    unauthorized = await http.post(
        URLS["reddit.token"], data={"grant_type": "authorization_code", "code": "x"}
    )
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"message": "Unauthorized", "error": 401}
    bad_code = await http.post(
        URLS["reddit.token"],
        data={"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT},
        auth=_basic("r"),
    )
    assert bad_code.status_code == 200, "Reddit answers a bad grant with a 200"
    assert bad_code.json() == {"error": "invalid_grant"}

    temporary = await _code(http, "reddit", "r", scope="identity")
    body = (
        await http.post(
            URLS["reddit.token"],
            data={"grant_type": "authorization_code", "code": temporary, "redirect_uri": REDIRECT},
            auth=_basic("r"),
        )
    ).json()
    assert "refresh_token" not in body, "no refresh token without duration=permanent"
    permanent = await _code(http, "reddit", "r", scope="identity", duration="permanent", user="zed")
    body = (
        await http.post(
            URLS["reddit.token"],
            data={"grant_type": "authorization_code", "code": permanent, "redirect_uri": REDIRECT},
            auth=_basic("r"),
        )
    ).json()
    assert body["refresh_token"]
    assert body["expires_in"] == 3600
    me = await http.get(
        f"{URLS['reddit.api']}/api/v1/me",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert me.json()["name"] == "zed"
    refreshed = await http.post(
        URLS["reddit.token"],
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=_basic("r"),
    )
    assert refreshed.json()["refresh_token"] == body["refresh_token"], "Reddit does not rotate"


async def test_linkedin_partner_refresh_and_errors(http: httpx.AsyncClient) -> None:
    async def exchange(client_id: str, code: str) -> httpx.Response:
        return await http.post(
            URLS["linkedin.token"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "client_secret": client_secret_for(client_id),
            },
        )

    member = await exchange("app", await _code(http, "linkedin", "app", scope="openid"))
    assert member.status_code == 200, member.text
    assert "refresh_token" not in member.json()
    assert member.json()["expires_in"] == 60 * 24 * 3600
    partner = await exchange("partner-app", await _code(http, "linkedin", "partner-app"))
    assert partner.json()["refresh_token_expires_in"] == 365 * 24 * 3600
    mismatch = await exchange("app", await _code(http, "linkedin", "partner-app"))
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_request"
    assert "does not match authorization code" in mismatch.json()["error_description"]
    userinfo = await http.get(
        f"{URLS['linkedin.api']}/v2/userinfo", headers={"Authorization": "Bearer nope"}
    )
    assert userinfo.status_code == 401
    assert userinfo.json()["serviceErrorCode"] == 65600


# -- Meta ---------------------------------------------------------------------------------------


async def test_facebook_exchange_and_pages(http: httpx.AsyncClient) -> None:
    graph = URLS["facebook.api"]
    code = await _code(http, "facebook", "meta", scope="pages_show_list", pages="3")
    short = await http.post(
        f"{graph}/oauth/access_token",
        data={
            "client_id": "meta",
            "client_secret": client_secret_for("meta"),
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert short.status_code == 200, short.text
    assert short.json()["expires_in"] <= 2 * 3600
    wrong_secret = await http.get(
        f"{graph}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "meta",
            "client_secret": "nope",
            "fb_exchange_token": short.json()["access_token"],
        },
    )
    assert wrong_secret.json()["error"]["message"] == "Error validating client secret."
    long = await http.get(
        f"{graph}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "meta",
            "client_secret": client_secret_for("meta"),
            "fb_exchange_token": short.json()["access_token"],
        },
    )
    assert long.json()["expires_in"] > 59 * 24 * 3600
    bearer = {"Authorization": f"Bearer {long.json()['access_token']}"}
    first = await http.get(f"{graph}/me/accounts", params={"limit": "2"}, headers=bearer)
    assert len(first.json()["data"]) == 2
    assert "next" in first.json()["paging"]
    after = first.json()["paging"]["cursors"]["after"]
    rest = await http.get(
        f"{graph}/me/accounts", params={"limit": "2", "after": after}, headers=bearer
    )
    assert len(rest.json()["data"]) == 1
    assert "next" not in rest.json()["paging"]
    assert all(p["access_token"].startswith("EAAP") for p in first.json()["data"])
    bad = await http.get(f"{graph}/me/accounts", headers={"Authorization": "Bearer nope"})
    assert bad.json()["error"]["code"] == 190
    used = await http.post(
        f"{graph}/oauth/access_token",
        data={
            "client_id": "meta",
            "client_secret": client_secret_for("meta"),
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    error = used.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 36009)
    assert error["type"] == "OAuthException"
    # and what the code gave is revoked (RFC 6749 4.1.2)
    revoked = await http.get(
        f"{graph}/me", headers={"Authorization": f"Bearer {short.json()['access_token']}"}
    )
    assert revoked.json()["error"]["error_subcode"] == 467


@pytest.mark.parametrize(
    ("platform", "exchange", "refresh"),
    [
        ("instagram", "ig_exchange_token", "ig_refresh_token"),
        ("threads", "th_exchange_token", "th_refresh_token"),
    ],
)
async def test_graph_login_exchanges(
    http: httpx.AsyncClient, platform: str, exchange: str, refresh: str
) -> None:
    code = await _code(http, platform, "app", scope="basic", user="17841400000000123")
    short = await http.post(
        URLS[f"{platform}.token"],
        data={
            "client_id": "app",
            "client_secret": client_secret_for("app"),
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert short.status_code == 200, short.text
    assert str(short.json()["user_id"]) == "17841400000000123"
    graph = URLS[f"{platform}.graph"]
    long = await http.get(
        f"{graph}/access_token",
        params={
            "grant_type": exchange,
            "client_secret": client_secret_for("app"),
            "access_token": short.json()["access_token"],
        },
    )
    assert long.status_code == 200, long.text
    assert long.json()["expires_in"] > 59 * 24 * 3600
    renewed = await http.get(
        f"{graph}/refresh_access_token",
        params={"grant_type": refresh, "access_token": long.json()["access_token"]},
    )
    assert renewed.json()["access_token"] != long.json()["access_token"]
    expired = await http.post(
        f"/_emulator/oauth/{platform}/expire", json={"token": renewed.json()["access_token"]}
    )
    assert expired.status_code == 204
    me = await http.get(
        f"{URLS[f'{platform}.api']}/me",
        headers={"Authorization": f"Bearer {renewed.json()['access_token']}"},
    )
    assert me.json()["error"]["error_subcode"] == 463
    used = await http.post(
        URLS[f"{platform}.token"],
        data={
            "client_id": "app",
            "client_secret": client_secret_for("app"),
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert used.status_code == 400
    if platform == "instagram":
        assert used.json() == {
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "This authorization code has been used",
        }
    else:
        assert used.json()["error"]["message"] == "This authorization code has been used."
