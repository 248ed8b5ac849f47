"""The login form shares the API's throttle: too many failures and it answers 429 for a while."""

from __future__ import annotations

import re

import httpx
import pytest

from postwright.runtime import Runtime
from tests.support.factories import PASSWORD, Member, make_member


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def _submit(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token, form.text
    return await client.post(
        "/login", data={"email": email, "password": password, "token": token.group(1)}
    )


async def test_the_login_form_is_throttled_like_the_api(
    client: httpx.AsyncClient, owner: Member
) -> None:
    for _ in range(4):
        assert (await _submit(client, owner.email, "not the password")).status_code == 401
    # the API and the form count the same failures
    api = await client.post(
        "/api/v1/auth/token", json={"email": owner.email, "password": "not the password"}
    )
    assert api.status_code == 401

    locked = await _submit(client, owner.email, PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert "Too many failed logins" in locked.text
    assert "try again in 15 minutes" in locked.text
    assert "pw_session" not in locked.headers.get("set-cookie", "")
    assert 'value="owner@example.com"' in locked.text
