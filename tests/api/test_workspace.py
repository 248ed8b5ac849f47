"""Workspace settings, and pausing and resuming a whole workspace's publishing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.store import audit
from postwright.store import delivery_queue as q
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    in_future,
    make_account,
    make_member,
    set_delivery_states,
)

WORKSPACE = "/api/v1/workspace"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def _get(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    r = await client.get(WORKSPACE, headers=member.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _claim(rt: Runtime) -> list[q.Claimed]:
    now = datetime.now(UTC)
    async with rt.db.write() as conn:
        return await q.claim_due(
            conn, worker_id="w1", now=now, horizon=now, limit=10, lease=timedelta(seconds=30)
        )


async def _due_now(client: httpx.AsyncClient, rt: Runtime, member: Member) -> dict[str, Any]:
    """A post whose one delivery is due already, as if its time had just come."""
    account = await make_account(client, member)
    post = await create_post(client, member, [account["id"]], scheduled_at=in_future(days=1))
    past = datetime.now(UTC) - timedelta(seconds=5)
    await set_delivery_states(rt, member, post["id"], DeliveryState.SCHEDULED, due_at=past)
    return post


# -- reading ------------------------------------------------------------------------------


async def test_every_member_reads_the_settings(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    body = await _get(client, viewer)
    assert body["id"] == owner.workspace_id
    assert body["name"] == "acme"
    assert body["plan"] == runtime.settings.default_plan
    assert body["timezone"] == "UTC"
    assert body["paused"] is False
    assert body["catch_up_policy"] == "spread"
    assert body["catch_up_skip_after_min"] == runtime.settings.catch_up_skip_after_min
    assert body["catch_up_skip_after_min_is_default"] is True


async def test_reading_needs_credentials(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(WORKSPACE), 401)


# -- editing ------------------------------------------------------------------------------


async def test_owner_edits_the_settings(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    r = await client.patch(
        WORKSPACE,
        json={
            "name": "  Acme   Corp ",
            "timezone": "europe/paris",
            "catch_up_policy": "skip",
            "catch_up_skip_after_min": 30,
        },
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Acme Corp"
    assert body["timezone"] == "Europe/Paris"  # the zone's canonical spelling
    assert body["catch_up_policy"] == "skip"
    assert body["catch_up_skip_after_min"] == 30
    assert body["catch_up_skip_after_min_is_default"] is False
    assert await _get(client, owner) == body

    # the engine reads the same policy when it claims
    async with runtime.db.read() as conn:
        catch_up = await q.get_catch_up(conn, workspace_id=uuid.UUID(owner.workspace_id))
        entries = await audit.list_audit(
            conn, workspace_id=uuid.UUID(owner.workspace_id), limit=10, offset=0
        )
    assert catch_up == q.CatchUp("skip", 30)
    assert entries[0].action == "workspace.updated"
    assert str(entries[0].actor_id) == owner.user_id

    # null goes back to the installation's default; fields left out are kept
    r = await client.patch(WORKSPACE, json={"catch_up_skip_after_min": None}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["catch_up_skip_after_min"] == runtime.settings.catch_up_skip_after_min
    assert r.json()["catch_up_skip_after_min_is_default"] is True
    assert r.json()["catch_up_policy"] == "skip"
    assert r.json()["name"] == "Acme Corp"


async def test_a_new_default_time_zone_applies_to_new_posts(
    client: httpx.AsyncClient, owner: Member
) -> None:
    account = await make_account(client, owner)
    r = await client.patch(WORKSPACE, json={"timezone": "Asia/Tokyo"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    post = await create_post(client, owner, [account["id"]])
    assert post["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
async def test_only_the_owner_edits(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    await make_member(runtime, email="owner@example.com")
    member = await make_member(runtime, email=f"{role.value}@example.com", role=role)
    r = await client.patch(WORKSPACE, json={"name": "mine"}, headers=member.headers)
    assert_problem(r, 403)
    assert (await _get(client, member))["name"] == "acme"


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown_timezone"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown_timezone"),
        ({"timezone": None}, "timezone", "required"),
        ({"catch_up_policy": "later"}, "catch_up_policy", "literal_error"),
        ({"catch_up_policy": None}, "catch_up_policy", "required"),
        ({"catch_up_skip_after_min": 0}, "catch_up_skip_after_min", "greater_than_equal"),
        ({"catch_up_skip_after_min": 10081}, "catch_up_skip_after_min", "less_than_equal"),
        ({"catch_up_skip_after_min": "soon"}, "catch_up_skip_after_min", "int_parsing"),
        ({"name": "   "}, "name", "required"),
        ({"name": None}, "name", "required"),
        ({"name": "x" * 201}, "name", "string_too_long"),
        ({"plan": "enterprise"}, "plan", "read_only"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
async def test_bad_settings_are_refused(
    client: httpx.AsyncClient, owner: Member, body: dict[str, Any], field: str, rule: str
) -> None:
    before = await _get(client, owner)
    assert_violation(await client.patch(WORKSPACE, json=body, headers=owner.headers), field, rule)
    assert await _get(client, owner) == before


async def test_the_upper_bound_of_skip_after_is_a_week(
    client: httpx.AsyncClient, owner: Member
) -> None:
    r = await client.patch(
        WORKSPACE, json={"catch_up_skip_after_min": 10080}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["catch_up_skip_after_min"] == 10080


async def test_a_name_taken_by_another_workspace_conflicts(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    await make_member(runtime, email="other@example.com", workspace="globex")
    assert_problem(
        await client.patch(WORKSPACE, json={"name": "globex"}, headers=owner.headers), 409
    )
    # keeping one's own name is not a conflict
    r = await client.patch(WORKSPACE, json={"name": "acme"}, headers=owner.headers)
    assert r.status_code == 200, r.text


async def test_each_workspace_edits_only_its_own(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    other = await make_member(runtime, email="other@example.com", workspace="globex")
    r = await client.patch(WORKSPACE, json={"timezone": "America/New_York"}, headers=other.headers)
    assert r.status_code == 200, r.text
    assert (await _get(client, owner))["timezone"] == "UTC"
    assert (await _get(client, other))["timezone"] == "America/New_York"


# -- pause and resume ---------------------------------------------------------------------


async def test_pausing_holds_every_delivery_and_resuming_releases_them(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    admin = await make_member(runtime, email="admin@example.com", role=Role.ADMIN)
    post = await _due_now(client, runtime, owner)

    r = await client.post(f"{WORKSPACE}/pause", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is True
    assert await _claim(runtime) == []  # the engine leaves a paused workspace alone
    r = await client.get("/api/v1/queue", headers=admin.headers)
    assert r.json()["paused"]["workspace"] is True

    # pausing twice changes nothing
    r = await client.post(f"{WORKSPACE}/pause", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is True

    r = await client.post(f"{WORKSPACE}/resume", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is False
    claimed = await _claim(runtime)
    assert [str(c.delivery.post_id) for c in claimed] == [post["id"]]

    async with runtime.db.read() as conn:
        entries = await audit.list_audit(
            conn, workspace_id=uuid.UUID(owner.workspace_id), limit=10, offset=0
        )
    actions = [e.action for e in entries]
    assert actions.count("workspace.paused") == 1
    assert actions.count("workspace.resumed") == 1


async def test_pausing_hands_back_claims_already_taken(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    post = await _due_now(client, runtime, owner)
    [claimed] = await _claim(runtime)

    r = await client.post(f"{WORKSPACE}/pause", headers=owner.headers)
    assert r.status_code == 200, r.text
    delivery = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()[
        "deliveries"
    ][0]
    assert delivery["state"] == "scheduled"
    # the worker that held it can no longer start publishing it
    async with runtime.db.write() as conn:
        started = await q.begin_publishing(
            conn,
            delivery_id=claimed.delivery.id,
            worker_id="w1",
            now=datetime.now(UTC),
            lease=timedelta(seconds=30),
        )
    assert started is None


async def test_a_paused_workspace_does_not_hold_another(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    other = await make_member(runtime, email="other@example.com", workspace="globex")
    theirs = await _due_now(client, runtime, other)
    await _due_now(client, runtime, owner)
    r = await client.post(f"{WORKSPACE}/pause", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (await _get(client, other))["paused"] is False
    claimed = await _claim(runtime)
    assert [str(c.delivery.post_id) for c in claimed] == [theirs["id"]]


@pytest.mark.parametrize("action", ["pause", "resume"])
@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
async def test_only_admins_pause_and_resume(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, action: str, role: Role
) -> None:
    member = await make_member(runtime, email="member@example.com", role=role)
    assert_problem(await client.post(f"{WORKSPACE}/{action}", headers=member.headers), 403)
    assert (await _get(client, owner))["paused"] is False
