"""Where the OAuth callback sends a browser: the accounts page's notice (what connected, or why
nothing did, escaped and cut short; nonsense in the address says nothing), the choice screen's
shell (for those who may connect accounts), and the Accept rule that tells a browser from an
API client."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.runtime import Runtime
from postwright.web.connect_return import MAX_MESSAGE, prefers_html
from tests.support.factories import PASSWORD, Member, make_member


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def _log_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/login")
    match = re.search(r'name="token" value="([^"]+)"', form.text)
    assert match, form.text
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "token": match.group(1)}
    )
    assert response.status_code == 303, response.text


def _notice(page: httpx.Response) -> tuple[str, str, str] | None:
    """The notice's kind, role and text, if the page has one."""
    match = re.search(
        r'<p id="notice" class="notice notice-(\w+)" role="(\w+)" tabindex="-1">([^<]*)</p>',
        page.text,
    )
    return (match.group(1), match.group(2), match.group(3)) if match else None


async def test_the_accounts_page_says_what_connected(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    page = await client.get("/accounts", params={"connected": "facebook", "n": "2"})
    assert page.status_code == 200
    assert _notice(page) == ("success", "status", "Connected 2 Facebook accounts.")
    one = await client.get("/accounts", params={"connected": "linkedin", "n": "1"})
    assert _notice(one) == ("success", "status", "Connected 1 LinkedIn account.")
    assert _notice(await client.get("/accounts")) is None


async def test_the_accounts_page_says_why_nothing_connected_escaped_and_short(
    client: httpx.AsyncClient, owner: Member
) -> None:
    await _log_in(client, owner.email)
    page = await client.get(
        "/accounts",
        params={"connect_error": "X: the authorization was declined; nothing was connected"},
    )
    assert _notice(page) == (
        "error",
        "alert",
        "X: the authorization was declined; nothing was connected.",
    )

    hostile = await client.get(
        "/accounts", params={"connect_error": '<script>alert(1)</script> "quoted" & more'}
    )
    assert "<script>alert(1)" not in hostile.text
    notice = _notice(hostile)
    assert notice is not None
    assert notice[2] == "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; more."

    long = await client.get("/accounts", params={"connect_error": "y" * 5000})
    notice = _notice(long)
    assert notice is not None
    assert len(notice[2]) == MAX_MESSAGE
    assert notice[2].endswith("…")


@pytest.mark.parametrize(
    "query",
    [
        {"connected": "myspace", "n": "1"},
        {"connected": "facebook", "n": "0"},
        {"connected": "facebook", "n": "many"},
        {"connected": "facebook", "n": "100000"},
        {"connect_error": "   "},
    ],
)
async def test_nonsense_in_the_address_says_nothing(
    client: httpx.AsyncClient, owner: Member, query: dict[str, str]
) -> None:
    await _log_in(client, owner.email)
    page = await client.get("/accounts", params=query)
    assert page.status_code == 200
    assert _notice(page) is None


async def test_the_choice_screen_is_for_those_who_connect_accounts(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    path = "/accounts/choose?platform=facebook&choice=abc-123"
    visitor = await client.get(path)
    assert visitor.status_code == 303
    assert visitor.headers["location"] == "/login?next=" + quote(path, safe="/")

    await _log_in(client, owner.email)
    page = await client.get(path)
    assert page.status_code == 200
    assert '<script type="module" src="/static/js/choose.js">' in page.text
    assert 'id="choose-form"' in page.text
    assert "<legend" in page.text
    assert ">Connect selected</button>" in page.text
    assert 'href="/accounts/choose"' not in page.text, "not in the menu"
    assert page.headers["cache-control"] == "no-store"
    assert (await client.get("/static/js/choose.js")).status_code == 200

    client.cookies.clear()
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    await _log_in(client, editor.email)
    refused = await client.get(path)
    assert refused.status_code == 200
    assert "For admins" in refused.text
    assert 'id="choose-form"' not in refused.text


@pytest.mark.parametrize(
    ("accept", "browser"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("application/problem+json", False),
        ("text/html", True),
        ("text/*", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json;q=0.1, text/html", True),
        ("text/html;q=oops, application/json;q=0.2", False),
        ("text/html;q=0, */*", False),
    ],
)
def test_prefers_html(accept: str | None, browser: bool) -> None:
    assert prefers_html(accept) is browser
