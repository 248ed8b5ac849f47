"""The web app's pages over HTTP: login (with its form token), the session cookie and its CSRF
token, logout, redirects, secure headers, and the static files."""

from __future__ import annotations

import re

import httpx
import pytest

from postwright.api.app import create_app
from postwright.domain.roles import Role
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.web.security import safe_next
from tests.support.factories import PASSWORD, Member, make_member


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


def _form_token(page: httpx.Response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match, page.text
    return match.group(1)


async def _log_in(client: httpx.AsyncClient, email: str, next_path: str = "/") -> httpx.Response:
    form = await client.get("/login", params={"next": next_path})
    return await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "token": _form_token(form), "next": next_path},
    )


async def test_pages_send_a_visitor_to_the_login_page(client: httpx.AsyncClient) -> None:
    for path in ("/", "/compose", "/approvals", "/attention", "/accounts", "/system"):
        response = await client.get(path, params={"post": "x"} if path == "/compose" else None)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/login?next=" + path)
    login = await client.get("/login")
    assert login.status_code == 200
    assert "Log in" in login.text
    assert "postwright user create" in login.text  # how to get a first account


async def test_logging_in_sets_a_strict_session_cookie_and_opens_the_calendar(
    client: httpx.AsyncClient, owner: Member
) -> None:
    response = await _log_in(client, owner.email, "/attention")
    assert response.status_code == 303
    assert response.headers["location"] == "/attention"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pw_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # http://testserver

    page = await client.get("/")
    assert page.status_code == 200
    assert "owner@example.com" in page.text
    assert '"role": "owner"' in page.text
    assert _csrf(page)


async def test_a_wrong_password_or_a_missing_form_token_logs_nobody_in(
    client: httpx.AsyncClient, owner: Member
) -> None:
    form = await client.get("/login")
    wrong = await client.post(
        "/login",
        data={"email": owner.email, "password": "nope" * 3, "token": _form_token(form)},
    )
    assert wrong.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert "pw_session" not in wrong.headers.get("set-cookie", "")
    assert 'value="owner@example.com"' in wrong.text  # the email stays typed in

    client.cookies.clear()
    forged = await client.post(
        "/login", data={"email": owner.email, "password": PASSWORD, "token": "forged"}
    )
    assert forged.status_code == 400
    assert "pw_session" not in forged.headers.get("set-cookie", "")


async def test_the_session_calls_the_api_and_unsafe_calls_need_its_csrf_token(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    csrf = _csrf(await client.get("/"))
    assert (await client.get("/api/v1/accounts")).status_code == 200
    body = {"platform": "sandbox", "handle": "brand"}
    refused = await client.post("/api/v1/accounts", json=body)
    assert refused.status_code == 403
    made = await client.post("/api/v1/accounts", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text


async def test_logout_needs_the_csrf_token_and_ends_the_session(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    csrf = _csrf(await client.get("/"))

    forged = await client.post("/logout", data={"csrf": "forged"})
    assert forged.status_code == 303
    assert (await client.get("/")).status_code == 200  # still logged in

    response = await client.post("/logout", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert (await client.get("/")).status_code == 303


async def test_a_logged_in_visit_to_the_login_page_goes_where_it_was_going(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    response = await client.get("/login", params={"next": "/accounts"})
    assert response.status_code == 303
    assert response.headers["location"] == "/accounts"


async def test_login_never_redirects_off_site(client: httpx.AsyncClient, owner: Member) -> None:
    response = await _log_in(client, owner.email, "//evil.example/")
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/compose?post=1", "/compose?post=1"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/login", "/"),
        ("/login?next=/x", "/"),
        ("/logout", "/"),
        ("/a\nb", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


async def test_pages_carry_a_strict_content_security_policy(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    for path in ("/login", "/", "/compose"):
        response = await client.get(path, follow_redirects=True)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        # nothing inline for the policy to refuse: scripts are modules from /static, data is JSON
        assert not re.search(r"<script(?![^>]*(src=|application/json))", response.text)
        assert " style=" not in response.text
        assert "<style" not in response.text


async def test_the_system_page_is_for_admins(client: httpx.AsyncClient, runtime: Runtime) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    await _log_in(client, editor.email)
    page = await client.get("/system")
    assert page.status_code == 200
    assert "For admins" in page.text
    assert 'href="/system"' not in (await client.get("/")).text  # not in the menu


async def test_static_files_are_served_with_revalidation(client: httpx.AsyncClient) -> None:
    for path in ("/static/js/calendar.js", "/static/css/app.css", "/static/vendor/fullcalendar.js"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_session_cookie_is_secure_behind_https(
    runtime: Runtime, settings: Settings, owner: Member
) -> None:
    runtime.settings = settings.model_copy(update={"public_url": "https://postwright.example"})
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await _log_in(client, owner.email)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("pw_session=")
        )
        assert "Secure" in cookie
        page = await client.get("/")
        assert page.headers["strict-transport-security"].startswith("max-age=")
