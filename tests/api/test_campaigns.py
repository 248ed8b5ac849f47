"""Campaigns: CRUD, unique names per workspace, colours, date ranges, roles and tenants."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.runtime import Runtime
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    make_account,
    make_member,
)

CAMPAIGNS = "/api/v1/campaigns"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def create(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await client.post(CAMPAIGNS, json={"name": "Launch", **body}, headers=member.headers)


async def test_crud(client: httpx.AsyncClient, owner: Member) -> None:
    r = await create(
        client,
        owner,
        description="Spring launch",
        color="#1F6FEB",
        starts_on="2026-03-01",
        ends_on="2026-03-31T18:00:00+02:00",
    )
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert campaign["name"] == "Launch"
    assert campaign["description"] == "Spring launch"
    assert campaign["color"] == "#1f6feb"
    assert campaign["starts_on"] == "2026-03-01T00:00:00Z"
    assert campaign["ends_on"] == "2026-03-31T16:00:00Z"
    url = f"{CAMPAIGNS}/{campaign['id']}"

    r = await client.get(url, headers=owner.headers)
    assert r.status_code == 200
    assert r.json() == campaign

    r = await client.patch(url, json={"name": "Relaunch", "color": None}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["color"]) == ("Relaunch", None)
    assert r.json()["description"] == "Spring launch"  # untouched

    await create(client, owner, name="Autumn")
    r = await client.get(CAMPAIGNS, params={"limit": 1}, headers=owner.headers)
    assert r.status_code == 200
    page = r.json()
    assert (page["count"], page["limit"], page["offset"]) == (2, 1, 0)
    assert [c["name"] for c in page["data"]] == ["Autumn"]
    r = await client.get(CAMPAIGNS, params={"limit": 1, "offset": 1}, headers=owner.headers)
    assert [c["name"] for c in r.json()["data"]] == ["Relaunch"]

    r = await client.delete(url, headers=owner.headers)
    assert r.status_code == 204
    assert_problem(await client.get(url, headers=owner.headers), 404)
    assert_problem(await client.delete(url, headers=owner.headers), 404)
    assert_problem(await client.patch(url, json={"name": "x"}, headers=owner.headers), 404)


async def test_names_are_unique_per_workspace(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    assert (await create(client, owner)).status_code == 201
    detail = assert_problem(await create(client, owner, name="  Launch "), 409)
    assert "Launch" in detail
    other = (await create(client, owner, name="Other")).json()
    r = await client.patch(
        f"{CAMPAIGNS}/{other['id']}", json={"name": "Launch"}, headers=owner.headers
    )
    assert_problem(r, 409)
    # renaming to its own name is no conflict
    r = await client.patch(
        f"{CAMPAIGNS}/{other['id']}", json={"name": "Other"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    # another workspace may use the same name
    stranger = await make_member(runtime, email="s@example.com", workspace="other")
    assert (await create(client, stranger)).status_code == 201


async def test_validation(client: httpx.AsyncClient, owner: Member) -> None:
    assert_violation(await create(client, owner, color="blue"), "color", "invalid")
    assert_violation(await create(client, owner, color="#12345"), "color", "invalid")
    assert_violation(await create(client, owner, color="#12345g"), "color", "invalid")
    assert_violation(await create(client, owner, name="   "), "name", "required")
    assert_violation(await create(client, owner, name=""), "name", "string_too_short")
    assert_violation(await create(client, owner, name="x" * 201), "name", "string_too_long")
    assert_violation(await create(client, owner, owner="me"), "owner", "extra_forbidden")
    assert_violation(
        await create(client, owner, starts_on="2026-02-30"), "starts_on", "invalid_date"
    )
    assert_violation(
        await create(client, owner, starts_on="2026-03-01T10:00:00"), "starts_on", "missing_offset"
    )
    r = await create(client, owner, starts_on="2026-03-10", ends_on="2026-03-09")
    assert_violation(r, "ends_on", "before_start")
    # one day is a valid range
    r = await create(client, owner, starts_on="2026-03-10", ends_on="2026-03-10")
    assert r.status_code == 201, r.text

    campaign = r.json()
    url = f"{CAMPAIGNS}/{campaign['id']}"
    # the range is checked against the stored bound the patch does not change
    assert_violation(
        await client.patch(url, json={"ends_on": "2026-03-01"}, headers=owner.headers),
        "ends_on",
        "before_start",
    )
    assert_violation(
        await client.patch(url, json={"name": None}, headers=owner.headers), "name", "required"
    )
    assert_violation(
        await client.patch(url, json={"color": "red"}, headers=owner.headers), "color", "invalid"
    )
    r = await client.patch(
        url, json={"starts_on": None, "ends_on": "2026-01-01"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["starts_on"], r.json()["ends_on"]) == (None, "2026-01-01T00:00:00Z")
    assert_problem(await client.get(f"{CAMPAIGNS}/not-a-uuid", headers=owner.headers), 422)
    assert_problem(await client.get(CAMPAIGNS, params={"limit": 0}, headers=owner.headers), 422)


async def test_deleting_a_campaign_keeps_its_posts(
    client: httpx.AsyncClient, owner: Member
) -> None:
    campaign = (await create(client, owner)).json()
    account = await make_account(client, owner)
    post = await create_post(client, owner, [account["id"]], campaign_id=campaign["id"])
    assert post["campaign_id"] == campaign["id"]
    r = await client.delete(f"{CAMPAIGNS}/{campaign['id']}", headers=owner.headers)
    assert r.status_code == 204
    r = await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["campaign_id"] is None


async def test_roles(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    assert_problem(await create(client, viewer), 403)
    r = await create(client, editor)
    assert r.status_code == 201, r.text
    url = f"{CAMPAIGNS}/{r.json()['id']}"
    assert (await client.get(CAMPAIGNS, headers=viewer.headers)).status_code == 200
    assert (await client.get(url, headers=viewer.headers)).status_code == 200
    assert_problem(await client.patch(url, json={"name": "x"}, headers=viewer.headers), 403)
    assert_problem(await client.delete(url, headers=viewer.headers), 403)
    assert (await client.patch(url, json={"name": "x"}, headers=editor.headers)).status_code == 200
    assert (await client.delete(url, headers=editor.headers)).status_code == 204
    assert_problem(await client.get(CAMPAIGNS), 401)


async def test_other_workspaces_get_404(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    campaign = (await create(client, owner)).json()
    url = f"{CAMPAIGNS}/{campaign['id']}"
    stranger = await make_member(runtime, email="stranger@example.com", workspace="other")
    assert_problem(await client.get(url, headers=stranger.headers), 404)
    assert_problem(await client.patch(url, json={"name": "Mine"}, headers=stranger.headers), 404)
    assert_problem(await client.delete(url, headers=stranger.headers), 404)
    r = await client.get(CAMPAIGNS, headers=stranger.headers)
    assert r.json() == {"data": [], "count": 0, "limit": 50, "offset": 0}
    r = await client.get(url, headers=owner.headers)
    assert r.json()["name"] == "Launch"  # unchanged
    assert_problem(await client.get(f"{CAMPAIGNS}/{uuid.uuid4()}", headers=owner.headers), 404)
