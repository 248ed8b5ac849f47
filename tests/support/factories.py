"""Test data: users with roles and tokens, accounts, media, campaigns, plans, delivery states."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from postwright.auth.passwords import hash_password
from postwright.domain.models import AccountStatus, new_id
from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services import identity
from postwright.store import accounts as account_store
from postwright.store import campaigns as campaign_store
from postwright.store import identity as identity_store
from postwright.store import media as media_store
from postwright.store import posts as post_store

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Member:
    email: str
    workspace_id: str
    token: str
    user_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@functools.cache
def _password_hash() -> str:
    # argon2 is slow on purpose (~0.3 s a hash); every member shares one hash of PASSWORD
    return hash_password(PASSWORD)


async def make_member(
    rt: Runtime, *, email: str, workspace: str = "acme", role: Role = Role.OWNER
) -> Member:
    """A user with `role` in `workspace` (created if new) and an API token; password PASSWORD.

    Does what `identity.ensure_user` does, through the same store functions, minus the audit
    entry and with a password hash computed once per test session.
    """
    email = email.lower()
    now = rt.now()
    async with rt.db.write() as conn:
        ws = await identity_store.get_workspace_by_name(conn, name=workspace)
        if ws is None:
            ws = await identity_store.create_workspace(
                conn, name=workspace, plan=rt.settings.default_plan, timezone="UTC", now=now
            )
        creds = await identity_store.get_user_credentials(conn, email=email)
        user = (
            creds.user
            if creds is not None
            else await identity_store.create_user(
                conn, email=email, name="", password_hash=_password_hash(), now=now
            )
        )
        await identity_store.add_membership(
            conn, workspace_id=ws.id, user_id=user.id, role=role, now=now
        )
    token, _ = await identity.create_api_token(
        rt, workspace_id=ws.id, user_id=user.id, name="tests", expires_at=None, actor_id=None
    )
    return Member(email=email, workspace_id=str(ws.id), token=token, user_id=str(user.id))


async def make_account(
    client: httpx.AsyncClient, member: Member, *, handle: str = "brand", **options: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/accounts",
        json={"platform": "sandbox", "handle": handle, "options": options},
        headers=member.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- straight through the store: what the API cannot create yet ---------------------------


async def make_platform_account(
    rt: Runtime,
    member: Member,
    platform: Platform | str,
    *,
    handle: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An account of any platform (the API connects only sandbox accounts for now).

    Returns the same keys as the API's account body that tests use: `id`, `platform`, `handle`.
    """
    platform = Platform(platform)
    async with rt.db.write() as conn:
        account = await account_store.create_account(
            conn,
            workspace_id=uuid.UUID(member.workspace_id),
            platform=platform.value,
            handle=handle or f"{platform.value}-brand",
            display_name=handle or platform.value,
            status=AccountStatus.ACTIVE,
            options=options,
            credentials=rt.secretbox.seal({"access_token": "test"}),
            external_id=handle,
            token_expires_at=None,
            now=rt.now(),
        )
    return {"id": str(account.id), "platform": platform.value, "handle": account.handle}


async def make_media(
    rt: Runtime,
    member: Member,
    *,
    kind: str = "image",
    mime_type: str = "image/png",
    size_bytes: int = 1000,
    filename: str = "photo.png",
) -> str:
    """A media row (no bytes on disk: only the content rules look at it); returns its id."""
    media_id = new_id()
    async with rt.db.write() as conn:
        await media_store.create_media(
            conn,
            media_id=media_id,
            workspace_id=uuid.UUID(member.workspace_id),
            values={
                "kind": kind,
                "mime_type": mime_type,
                "size_bytes": size_bytes,
                "width": 100,
                "height": 100,
                "checksum_sha256": "0" * 64,
                "filename": filename,
                "storage_path": f"media/{media_id}",
            },
            now=rt.now(),
        )
    return str(media_id)


async def make_campaign(rt: Runtime, member: Member, *, name: str = "launch") -> str:
    async with rt.db.write() as conn:
        campaign = await campaign_store.create_campaign(
            conn,
            workspace_id=uuid.UUID(member.workspace_id),
            values={"name": name, "description": ""},
            now=rt.now(),
        )
    return str(campaign.id)


async def set_plan(rt: Runtime, member: Member, plan: str) -> None:
    async with rt.db.write() as conn:
        await identity_store.update_workspace(
            conn, workspace_id=uuid.UUID(member.workspace_id), plan=plan
        )


async def set_delivery_states(
    rt: Runtime, member: Member, post_id: str, state: DeliveryState, **values: Any
) -> int:
    """Force every delivery of a post into `state`, as the engine would; returns how many."""
    async with rt.db.write() as conn:
        moved = await post_store.transition_deliveries(
            conn,
            workspace_id=uuid.UUID(member.workspace_id),
            post_id=uuid.UUID(post_id),
            from_states=list(DeliveryState),
            values={"state": state.value, **values},
        )
        await post_store.refresh_post_status(conn, post_id=uuid.UUID(post_id), now=rt.now())
    return moved


def in_future(**delta: float) -> str:
    """An RFC 3339 instant `delta` from now, e.g. `in_future(days=1)`."""
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def create_post(
    client: httpx.AsyncClient, member: Member, account_ids: list[str], **body: Any
) -> dict[str, Any]:
    """POST a post to `account_ids` (default text "hello"); asserts 201 and returns the body."""
    payload: dict[str, Any] = {
        "text": "hello",
        "targets": [{"account_id": a} for a in account_ids],
        **body,
    }
    response = await client.post("/api/v1/posts", json=payload, headers=member.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_violation(response: httpx.Response, field: str, rule: str, status: int = 422) -> str:
    """Assert a problem+json answer that lists `rule` broken at `field`; returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    found = [(e["field"], e["rule"]) for e in body.get("errors") or []]
    for error in body.get("errors") or []:
        if error["field"] == field and error["rule"] == rule:
            message: str = error["message"]
            assert message
            return message
    raise AssertionError(f"no {rule!r} at {field!r}; errors: {found}")


def assert_problem(response: httpx.Response, status: int) -> str:
    """Assert a problem+json answer with `status`; returns its detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    detail: str = body["detail"]
    assert detail
    return detail
