"""Tenant isolation: another workspace's credentials see nothing of this one.

Every id of workspace A answers 404 to workspace B's owner, for every verb, exactly as an id that
never existed; lists and filters show nothing of A; and nothing of A changes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from tests.support.factories import (
    Member,
    create_post,
    in_future,
    make_account,
    make_member,
    set_delivery_states,
)

MISSING = "00000000-0000-4000-8000-000000000000"

# (method, path, body); {scheduled}, {draft}, {pending}, {failed}: posts in that state;
# {account}, {token}: workspace A's. Each call would succeed for A's owner.
CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/posts/{scheduled}", None),
    ("PATCH", "/api/v1/posts/{scheduled}", {"text": "taken over"}),
    ("DELETE", "/api/v1/posts/{scheduled}", None),
    ("POST", "/api/v1/posts/{draft}/schedule", {"scheduled_at": "{future}"}),
    ("POST", "/api/v1/posts/{scheduled}/publish-now", None),
    ("POST", "/api/v1/posts/{scheduled}/cancel", None),
    ("POST", "/api/v1/posts/{failed}/retry", None),
    ("POST", "/api/v1/posts/{pending}/approve", None),
    ("POST", "/api/v1/posts/{pending}/reject", {"note": "no"}),
    ("GET", "/api/v1/accounts/{account}", None),
    ("DELETE", "/api/v1/accounts/{account}", None),
    ("POST", "/api/v1/accounts/{account}/pause", None),
    ("POST", "/api/v1/accounts/{account}/resume", None),
    ("DELETE", "/api/v1/tokens/{token}", None),
]


async def _workspace_a(
    client: httpx.AsyncClient, runtime: Runtime
) -> tuple[Member, dict[str, str]]:
    owner = await make_member(runtime, email="alice@example.com", workspace="acme")
    account = str((await make_account(client, owner))["id"])
    later = in_future(days=1)
    ids = {
        "account": account,
        "future": in_future(days=2),
        "draft": (await create_post(client, owner, [account]))["id"],
        "scheduled": (await create_post(client, owner, [account], scheduled_at=later))["id"],
        "pending": (
            await create_post(client, owner, [account], scheduled_at=later, approval_required=True)
        )["id"],
        "failed": (await create_post(client, owner, [account], scheduled_at=later))["id"],
    }
    await set_delivery_states(runtime, owner, ids["failed"], DeliveryState.FAILED)
    tokens = (await client.get("/api/v1/tokens", headers=owner.headers)).json()
    ids["token"] = tokens[0]["id"]
    return owner, ids


async def _everything(client: httpx.AsyncClient, member: Member) -> list[Any]:
    seen = []
    for path in ("/api/v1/posts", "/api/v1/accounts", "/api/v1/tokens"):
        body = (await client.get(path, headers=member.headers)).json()
        if path == "/api/v1/tokens":
            body = [{k: v for k, v in t.items() if k != "last_used_at"} for t in body]
        seen.append(body)
    return seen


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("intruder_kind", ["other-workspace", "same-user-other-workspace"])
async def test_other_workspace_gets_404_on_every_id(
    client: httpx.AsyncClient, runtime: Runtime, intruder_kind: str
) -> None:
    owner, ids = await _workspace_a(client, runtime)
    # the same person, through a token of their other workspace, is a stranger here too
    email = "alice@example.com" if intruder_kind == "same-user-other-workspace" else "bob@x.com"
    intruder = await make_member(runtime, email=email, workspace="globex", role=Role.OWNER)
    before = await _everything(client, owner)

    failures = []
    for method, path, body in CALLS:
        url = _fill(path, ids)
        response = await client.request(
            method, url, json=_fill(body, ids), headers=intruder.headers
        )
        # the answer must not differ from an id that never existed
        missing_id = next(ids[k] for k in ids if ids[k] in url)
        control = await client.request(
            method,
            url.replace(missing_id, MISSING),
            json=_fill(body, ids),
            headers=intruder.headers,
        )
        if response.status_code != 404:
            failures.append(f"{method} {path}: {response.status_code} {response.text}")
        elif response.json() != control.json():
            failures.append(f"{method} {path}: {response.text} differs from {control.text}")
    assert not failures, "\n".join(failures)
    assert await _everything(client, owner) == before, "workspace A changed"


async def test_lists_and_filters_show_nothing_of_another_workspace(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, ids = await _workspace_a(client, runtime)
    intruder = await make_member(runtime, email="bob@example.com", workspace="globex")
    posts = await client.get("/api/v1/posts", headers=intruder.headers)
    assert (posts.json()["count"], posts.json()["data"]) == (0, [])
    by_account = await client.get(
        "/api/v1/posts", params={"account_id": ids["account"]}, headers=intruder.headers
    )
    assert by_account.json()["count"] == 0
    assert (await client.get("/api/v1/accounts", headers=intruder.headers)).json() == []
    tokens = (await client.get("/api/v1/tokens", headers=intruder.headers)).json()
    assert [t["user_id"] for t in tokens] == [intruder.user_id]
    # and A still sees all of its own
    assert (await client.get("/api/v1/posts", headers=owner.headers)).json()["count"] == 4


async def test_cannot_post_to_another_workspaces_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, ids = await _workspace_a(client, runtime)
    intruder = await make_member(runtime, email="bob@example.com", workspace="globex")
    mine = str((await make_account(client, intruder))["id"])
    body = {"text": "hi", "targets": [{"account_id": mine}, {"account_id": ids["account"]}]}
    response = await client.post("/api/v1/posts", json=body, headers=intruder.headers)
    assert response.status_code == 404, response.text
    # nor move a post of its own onto it
    post = await create_post(client, intruder, [mine])
    moved = await client.patch(
        f"/api/v1/posts/{post['id']}",
        json={"targets": [{"account_id": ids["account"]}]},
        headers=intruder.headers,
    )
    assert moved.status_code == 404, moved.text
