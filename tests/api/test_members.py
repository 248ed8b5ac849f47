"""Members and roles (only owners make or unmake owners, the last owner stays) and the audit
log (admins only, never a secret)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.runtime import Runtime
from postwright.services.members import REDACTED, redact
from tests.support.factories import Member, assert_problem, assert_violation, make_member

MEMBERS = "/api/v1/members"
AUDIT = "/api/v1/audit"
PASSWORD = "a long enough secret password"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@pytest.fixture
async def admin(runtime: Runtime) -> Member:
    return await make_member(runtime, email="admin@example.com", role=Role.ADMIN)


async def members(client: httpx.AsyncClient, member: Member) -> dict[str, dict[str, Any]]:
    r = await client.get(MEMBERS, headers=member.headers)
    assert r.status_code == 200, r.text
    return {m["email"]: m for m in r.json()}


async def add(
    client: httpx.AsyncClient, by: Member, email: str, role: str, **body: Any
) -> httpx.Response:
    return await client.post(
        MEMBERS, json={"email": email, "role": role, **body}, headers=by.headers
    )


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def user_id(client: httpx.AsyncClient, by: Member, email: str) -> str:
    return str((await members(client, by))[email]["user_id"])


async def test_list_members(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    found = await members(client, viewer)  # every member may see who is in the workspace
    assert set(found) == {"owner@example.com", "viewer@example.com"}
    assert set(found["owner@example.com"]) == {"user_id", "email", "name", "role"}
    assert found["owner@example.com"]["role"] == "owner"
    assert_problem(await client.get(MEMBERS), 401)


async def test_add_a_new_person(client: httpx.AsyncClient, admin: Member) -> None:
    r = await add(client, admin, "  New.Person@Example.com ", "editor", password=PASSWORD)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["email"], body["role"]) == ("new.person@example.com", "editor")
    assert "password" not in json.dumps(body)
    assert (await login(client, "new.person@example.com", PASSWORD)).status_code == 200
    # without a password the person exists but cannot log in yet
    r = await add(client, admin, "later@example.com", "viewer")
    assert r.status_code == 201, r.text
    assert_problem(await login(client, "later@example.com", "any password at all"), 401)


async def test_add_an_existing_user(
    client: httpx.AsyncClient, runtime: Runtime, admin: Member
) -> None:
    # someone who already uses postwright in another workspace keeps their own password
    elsewhere = await make_member(runtime, email="known@example.com", workspace="other")
    r = await add(client, admin, "known@example.com", "viewer", password="an admin's choice")
    assert r.status_code == 201, r.text
    assert (await login(client, elsewhere.email, "an admin's choice")).status_code == 401
    assert (await login(client, elsewhere.email, "correct horse battery")).status_code == 200
    # adding a member twice is a conflict, not a silent role change
    r = await add(client, admin, "known@example.com", "editor")
    assert "PATCH" in assert_problem(r, 409)
    assert (await members(client, admin))["known@example.com"]["role"] == "viewer"


async def test_add_validation(client: httpx.AsyncClient, admin: Member) -> None:
    assert_violation(await add(client, admin, "not-an-email", "viewer"), "email", "invalid")
    assert_violation(await add(client, admin, "a@b", "viewer"), "email", "invalid")
    assert_violation(await add(client, admin, "a b@c.com", "viewer"), "email", "invalid")
    assert_violation(await add(client, admin, "x@example.com", "king"), "role", "literal_error")
    assert_violation(
        await add(client, admin, "x@example.com", "viewer", password="short"),
        "password",
        "min_length",
    )
    assert_violation(
        await add(client, admin, "x@example.com", "viewer", password="x" * 1025),
        "password",
        "string_too_long",
    )
    assert_violation(
        await add(client, admin, "x@example.com", "viewer", name="X"), "name", "extra_forbidden"
    )
    r = await client.post(MEMBERS, json={"email": "x@example.com"}, headers=admin.headers)
    assert_violation(r, "role", "missing")
    assert (await add(client, admin, "x@example.com", "viewer")).status_code == 201


async def test_who_may_manage_members(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, admin: Member
) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    assert_problem(await add(client, editor, "x@example.com", "viewer"), 403)
    # an admin adds admins and less, but not owners
    assert (await add(client, admin, "a2@example.com", "admin")).status_code == 201
    assert "owner" in assert_problem(await add(client, admin, "o2@example.com", "owner"), 403)
    assert (await add(client, owner, "o2@example.com", "owner")).status_code == 201

    o2 = await user_id(client, owner, "o2@example.com")
    editor_id = await user_id(client, owner, "editor@example.com")
    patch = {"role": "viewer"}
    assert_problem(
        await client.patch(f"{MEMBERS}/{editor_id}", json=patch, headers=editor.headers), 403
    )
    assert_problem(await client.delete(f"{MEMBERS}/{editor_id}", headers=editor.headers), 403)
    # an admin can neither demote nor remove an owner, nor make someone owner
    assert_problem(await client.patch(f"{MEMBERS}/{o2}", json=patch, headers=admin.headers), 403)
    assert_problem(await client.delete(f"{MEMBERS}/{o2}", headers=admin.headers), 403)
    r = await client.patch(f"{MEMBERS}/{editor_id}", json={"role": "owner"}, headers=admin.headers)
    assert_problem(r, 403)
    # ...but can change the others
    r = await client.patch(f"{MEMBERS}/{editor_id}", json={"role": "admin"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
    # an owner can do all of it
    r = await client.patch(f"{MEMBERS}/{o2}", json={"role": "editor"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(f"{MEMBERS}/{o2}", json={"role": "owner"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (await client.delete(f"{MEMBERS}/{o2}", headers=owner.headers)).status_code == 204
    assert "o2@example.com" not in await members(client, owner)


async def test_the_last_owner_stays(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    me = await user_id(client, owner, "owner@example.com")
    r = await client.patch(f"{MEMBERS}/{me}", json={"role": "admin"}, headers=owner.headers)
    assert "last owner" in assert_problem(r, 409)
    assert "last owner" in assert_problem(
        await client.delete(f"{MEMBERS}/{me}", headers=owner.headers), 409
    )
    # with a second owner, the first may step down
    await make_member(runtime, email="heir@example.com", role=Role.OWNER)
    r = await client.patch(f"{MEMBERS}/{me}", json={"role": "admin"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    heir = await make_member(runtime, email="heir@example.com", role=Role.OWNER)  # a fresh token
    heir_id = await user_id(client, heir, "heir@example.com")
    r = await client.delete(f"{MEMBERS}/{heir_id}", headers=heir.headers)
    assert_problem(r, 409)  # now the heir is the last owner


async def test_patch_and_delete_validation(client: httpx.AsyncClient, owner: Member) -> None:
    me = await user_id(client, owner, "owner@example.com")
    r = await client.patch(f"{MEMBERS}/{me}", json={"role": "god"}, headers=owner.headers)
    assert_violation(r, "role", "literal_error")
    r = await client.patch(f"{MEMBERS}/{me}", json={"role": "owner", "x": 1}, headers=owner.headers)
    assert_violation(r, "x", "extra_forbidden")
    r = await client.patch(f"{MEMBERS}/{me}", json={"role": "owner"}, headers=owner.headers)
    assert r.status_code == 200  # no change is fine
    unknown = uuid.uuid4()
    assert_problem(
        await client.patch(f"{MEMBERS}/{unknown}", json={"role": "viewer"}, headers=owner.headers),
        404,
    )
    assert_problem(await client.delete(f"{MEMBERS}/{unknown}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{MEMBERS}/not-a-uuid", headers=owner.headers), 422)


async def test_removed_members_lose_access_for_good(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    leaver = await make_member(runtime, email="leaver@example.com", role=Role.EDITOR)
    assert (await client.get(MEMBERS, headers=leaver.headers)).status_code == 200
    leaver_id = await user_id(client, owner, "leaver@example.com")
    assert (await client.delete(f"{MEMBERS}/{leaver_id}", headers=owner.headers)).status_code == 204
    assert_problem(await client.get(MEMBERS, headers=leaver.headers), 401)
    # adding them back does not revive the old token
    assert (await add(client, owner, "leaver@example.com", "editor")).status_code == 201
    assert_problem(await client.get(MEMBERS, headers=leaver.headers), 401)


async def test_other_workspaces_get_404(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    colleague = await make_member(runtime, email="colleague@example.com", role=Role.EDITOR)
    colleague_id = await user_id(client, owner, colleague.email)
    stranger = await make_member(runtime, email="stranger@example.com", workspace="other")
    r = await client.patch(
        f"{MEMBERS}/{colleague_id}", json={"role": "viewer"}, headers=stranger.headers
    )
    assert_problem(r, 404)
    assert_problem(await client.delete(f"{MEMBERS}/{colleague_id}", headers=stranger.headers), 404)
    assert set(await members(client, stranger)) == {"stranger@example.com"}
    assert (await members(client, owner))[colleague.email]["role"] == "editor"
    r = await client.get(AUDIT, headers=stranger.headers)
    assert all(e["target_id"] != colleague_id for e in r.json()["data"])


async def test_audit_log(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, admin: Member
) -> None:
    r = await add(client, admin, "new@example.com", "editor", password=PASSWORD)
    new_id = r.json()["user_id"]
    await client.patch(f"{MEMBERS}/{new_id}", json={"role": "viewer"}, headers=admin.headers)
    await client.delete(f"{MEMBERS}/{new_id}", headers=admin.headers)
    r = await client.get(AUDIT, headers=admin.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["limit"], page["offset"]) == (50, 0)
    actions = [e["action"] for e in page["data"]]
    assert actions[:3] == ["member.removed", "member.role_changed", "member.added"]  # newest first
    removed = page["data"][0]
    assert removed["actor_id"] == (await members(client, owner))["admin@example.com"]["user_id"]
    assert (removed["target_type"], removed["target_id"]) == ("user", new_id)
    assert removed["details"]["email"] == "new@example.com"
    assert page["data"][1]["details"] == {
        "email": "new@example.com",
        "from": "editor",
        "to": "viewer",
    }
    # no secret anywhere: neither the password nor any API token
    text = r.text
    assert PASSWORD not in text
    assert owner.token not in text
    assert admin.token not in text
    assert "password" not in text

    # pages
    r = await client.get(AUDIT, params={"limit": 2}, headers=admin.headers)
    first = r.json()
    assert len(first["data"]) == 2
    assert first["next_offset"] == 2
    r = await client.get(AUDIT, params={"limit": 2, "offset": 2}, headers=admin.headers)
    assert r.json()["data"][0]["id"] not in {e["id"] for e in first["data"]}
    r = await client.get(AUDIT, params={"limit": 200, "offset": 0}, headers=admin.headers)
    assert r.json()["next_offset"] is None
    assert_problem(await client.get(AUDIT, params={"limit": 0}, headers=admin.headers), 422)
    assert_problem(await client.get(AUDIT, params={"limit": 201}, headers=admin.headers), 422)
    assert_problem(await client.get(AUDIT, params={"offset": -1}, headers=admin.headers), 422)


async def test_audit_is_for_admins(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    for role in (Role.VIEWER, Role.EDITOR):
        member = await make_member(runtime, email=f"{role.value}@example.com", role=role)
        assert_problem(await client.get(AUDIT, headers=member.headers), 403)
    assert (await client.get(AUDIT, headers=owner.headers)).status_code == 200
    assert_problem(await client.get(AUDIT), 401)


def test_redact() -> None:
    details = {
        "password": "x",
        "new_password": "x",
        "password_hash": "x",
        "access_token": "x",
        "refreshToken": "x",
        "client_secret": "x",
        "credentials": {"a": 1},
        "nested": [{"api_key": "x", "name": "kept"}],
        "revoked_tokens": 2,
        "prefix": "pw_abc",
        "email": "a@example.com",
    }
    assert redact(details) == {
        "password": REDACTED,
        "new_password": REDACTED,
        "password_hash": REDACTED,
        "access_token": REDACTED,
        "refreshToken": REDACTED,
        "client_secret": REDACTED,
        "credentials": REDACTED,
        "nested": [{"api_key": REDACTED, "name": "kept"}],
        "revoked_tokens": 2,
        "prefix": "pw_abc",
        "email": "a@example.com",
    }
