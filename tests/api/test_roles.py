"""Roles on every endpoint: viewers read, editors write posts, admins manage accounts and
approve, owners do everything.

One table lists each endpoint with the action it needs; every role calls every endpoint on a
fresh resource in the state the action expects. Allowed calls answer their success status;
refused ones answer 403 and change nothing.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from postwright.api.routes import accounts, posts, tokens
from postwright.domain.roles import Action, Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services import identity
from tests.support.factories import (
    Member,
    create_post,
    in_future,
    make_account,
    make_member,
    set_delivery_states,
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {post}, {account} and {token} are filled with fresh ids
    needs: Action
    ok: int
    post: str | None = None  # the state the post must be in: draft, scheduled, pending, failed
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


POST_BODY: dict[str, Any] = {"text": "hello", "targets": [{"account_id": "{base}"}]}

ENDPOINTS = [
    # posts
    Endpoint("GET", "/api/v1/posts", Action.READ, 200),
    Endpoint("GET", "/api/v1/posts/{post}", Action.READ, 200, post="scheduled"),
    Endpoint("POST", "/api/v1/posts", Action.WRITE, 201, body=POST_BODY),
    Endpoint("PATCH", "/api/v1/posts/{post}", Action.WRITE, 200, "scheduled", {"text": "new"}),
    Endpoint("DELETE", "/api/v1/posts/{post}", Action.WRITE, 204, post="scheduled"),
    Endpoint(
        "POST",
        "/api/v1/posts/{post}/schedule",
        Action.WRITE,
        200,
        "draft",
        {"scheduled_at": "{future}"},
    ),
    Endpoint("POST", "/api/v1/posts/{post}/publish-now", Action.WRITE, 200, post="scheduled"),
    Endpoint("POST", "/api/v1/posts/{post}/cancel", Action.WRITE, 200, post="scheduled"),
    Endpoint("POST", "/api/v1/posts/{post}/retry", Action.WRITE, 200, post="failed"),
    Endpoint("POST", "/api/v1/posts/{post}/approve", Action.APPROVE, 200, post="pending"),
    Endpoint("POST", "/api/v1/posts/{post}/reject", Action.APPROVE, 200, "pending", {"note": "no"}),
    # accounts
    Endpoint("GET", "/api/v1/accounts", Action.READ, 200),
    Endpoint("GET", "/api/v1/accounts/{account}", Action.READ, 200),
    Endpoint(
        "POST",
        "/api/v1/accounts",
        Action.MANAGE,
        201,
        body={"platform": "sandbox", "handle": "{handle}"},
    ),
    Endpoint("DELETE", "/api/v1/accounts/{account}", Action.MANAGE, 204),
    Endpoint("POST", "/api/v1/accounts/{account}/pause", Action.MANAGE, 200),
    Endpoint("POST", "/api/v1/accounts/{account}/resume", Action.MANAGE, 200),
    # tokens: everyone manages their own
    Endpoint("GET", "/api/v1/tokens", Action.READ, 200),
    Endpoint("POST", "/api/v1/tokens", Action.READ, 201, body={"name": "mine"}),
    Endpoint("DELETE", "/api/v1/tokens/{token}", Action.READ, 204),
]


# What each role may do, written out here rather than taken from `Role.allows`, so the test
# states the rule instead of repeating the code under test.
ALLOWED = {
    Role.VIEWER: {Action.READ},
    Role.EDITOR: {Action.READ, Action.WRITE},
    Role.ADMIN: {Action.READ, Action.WRITE, Action.APPROVE, Action.MANAGE},
    Role.OWNER: set(Action),
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


class World:
    """The owner's workspace, and fresh resources for each call."""

    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
        self.client = client
        self.runtime = runtime
        self.owner = owner
        self.handles = itertools.count()
        self.base = ""

    async def ids(self, endpoint: Endpoint, caller: Member) -> dict[str, str]:
        ids = {"base": self.base, "future": in_future(days=2), "handle": self._handle()}
        if "{account}" in endpoint.path:
            ids["account"] = str(
                (await make_account(self.client, self.owner, handle=ids["handle"]))["id"]
            )
        if endpoint.post is not None:
            ids["post"] = await self._post(endpoint.post)
        if "{token}" in endpoint.path:
            _, record = await identity.create_api_token(
                self.runtime,
                workspace_id=uuid.UUID(caller.workspace_id),
                user_id=uuid.UUID(caller.user_id),
                name="to revoke",
                expires_at=None,
                actor_id=None,
            )
            ids["token"] = str(record.id)
        return ids

    def _handle(self) -> str:
        return f"acct-{next(self.handles)}"

    async def _post(self, state: str) -> str:
        timing: dict[str, Any] = {} if state == "draft" else {"scheduled_at": in_future(days=1)}
        post = await create_post(
            self.client,
            self.owner,
            [self.base],
            approval_required=state == "pending",
            **timing,
        )
        if state == "failed":
            await set_delivery_states(self.runtime, self.owner, post["id"], DeliveryState.FAILED)
        return str(post["id"])

    async def snapshot(self) -> list[Any]:
        """What the owner sees of everything a call could have changed."""
        seen = []
        for path in ("/api/v1/posts", "/api/v1/accounts", "/api/v1/tokens"):
            response = await self.client.get(path, headers=self.owner.headers)
            body = response.json()
            if path == "/api/v1/tokens":  # using a token stamps last_used_at
                body = [{k: v for k, v in t.items() if k != "last_used_at"} for t in body]
            seen.append(body)
        return seen


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_roles_on_every_endpoint(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    owner = await make_member(runtime, email="owner@example.com")
    caller = (
        owner
        if role is Role.OWNER
        else await make_member(runtime, email=f"{role.value}@example.com", role=role)
    )
    world = World(client, runtime, owner)
    world.base = str((await make_account(client, owner, handle="base"))["id"])

    failures = []
    for endpoint in ENDPOINTS:
        ids = await world.ids(endpoint, caller)
        allowed = endpoint.needs in ALLOWED[role]
        before = None if allowed else await world.snapshot()
        response = await client.request(
            endpoint.method,
            _fill(endpoint.path, ids),
            json=_fill(endpoint.body, ids),
            headers=caller.headers,
        )
        expected = endpoint.ok if allowed else 403
        if response.status_code != expected:
            failures.append(f"{endpoint}: {response.status_code} (want {expected}) {response.text}")
        elif not allowed:
            if "cannot" not in response.json()["detail"]:
                failures.append(f"{endpoint}: 403 without a reason: {response.text}")
            if await world.snapshot() != before:
                failures.append(f"{endpoint}: refused, yet something changed")
    assert not failures, "\n".join(failures)


def test_the_table_covers_every_route() -> None:
    """A new route on these routers must join the table above, and so get its roles checked."""
    routes = {
        (method, f"/api/v1/{prefix}{route.path}")
        for prefix, module in (("posts", posts), ("accounts", accounts), ("tokens", tokens))
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    names = {"{post}": "{post_id}", "{account}": "{account_id}", "{token}": "{token_id}"}
    covered = set()
    for endpoint in ENDPOINTS:
        path = endpoint.path
        for short, long in names.items():
            path = path.replace(short, long)
        covered.add((endpoint.method, path))
    assert routes == covered
