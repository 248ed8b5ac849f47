"""Workspaces, users, memberships, API tokens and refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import Membership, User, Workspace, new_id
from postwright.domain.roles import Role
from postwright.store.rows import user_from_row, workspace_from_row
from postwright.store.tables import api_tokens, memberships, refresh_tokens, users, workspaces

__all__ = [
    "ApiTokenRecord",
    "Credentials",
    "RefreshRecord",
    "add_membership",
    "count_users",
    "create_api_token",
    "create_refresh_token",
    "create_user",
    "create_workspace",
    "find_api_token",
    "find_refresh_token",
    "get_membership",
    "get_user",
    "get_user_credentials",
    "get_workspace",
    "get_workspace_by_name",
    "list_api_tokens",
    "list_members",
    "list_user_workspaces",
    "lock_owners",
    "remove_membership",
    "revoke_api_token",
    "revoke_refresh_token",
    "revoke_user_tokens",
    "set_password",
    "touch_api_token",
    "update_workspace",
    "user_is_enabled",
]


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None


async def create_workspace(
    conn: AsyncConnection, *, name: str, plan: str, timezone: str, now: datetime
) -> Workspace:
    row = (
        await conn.execute(
            insert(workspaces)
            .values(
                id=new_id(),
                name=name,
                plan=plan,
                timezone=timezone,
                paused=False,
                catch_up_policy="spread",
                created_at=now,
            )
            .returning(workspaces)
        )
    ).one()
    return workspace_from_row(row)


async def get_workspace(conn: AsyncConnection, *, workspace_id: uuid.UUID) -> Workspace | None:
    row = (
        await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))
    ).one_or_none()
    return workspace_from_row(row) if row else None


async def get_workspace_by_name(conn: AsyncConnection, *, name: str) -> Workspace | None:
    row = (await conn.execute(select(workspaces).where(workspaces.c.name == name))).one_or_none()
    return workspace_from_row(row) if row else None


async def update_workspace(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, **values: object
) -> Workspace | None:
    row = (
        await conn.execute(
            update(workspaces)
            .where(workspaces.c.id == workspace_id)
            .values(**values)
            .returning(workspaces)
        )
    ).one_or_none()
    return workspace_from_row(row) if row else None


async def create_user(
    conn: AsyncConnection, *, email: str, name: str, password_hash: str | None, now: datetime
) -> User:
    row = (
        await conn.execute(
            insert(users)
            .values(
                id=new_id(),
                email=email.strip().lower(),
                name=name,
                password_hash=password_hash,
                disabled=False,
                created_at=now,
            )
            .returning(users)
        )
    ).one()
    return user_from_row(row)


async def get_user(conn: AsyncConnection, *, user_id: uuid.UUID) -> User | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).one_or_none()
    return user_from_row(row) if row else None


async def get_user_credentials(conn: AsyncConnection, *, email: str) -> Credentials | None:
    row = (
        await conn.execute(select(users).where(users.c.email == email.strip().lower()))
    ).one_or_none()
    if row is None:
        return None
    return Credentials(
        user=user_from_row(row),
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
    )


async def add_membership(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    now: datetime,
) -> Membership:
    existing = await get_membership(conn, workspace_id=workspace_id, user_id=user_id)
    if existing is not None:
        await conn.execute(
            update(memberships)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id)
            .values(role=role.value)
        )
    else:
        await conn.execute(
            insert(memberships).values(
                workspace_id=workspace_id, user_id=user_id, role=role.value, created_at=now
            )
        )
    return Membership(workspace_id=workspace_id, user_id=user_id, role=role)


async def remove_membership(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    result = await conn.execute(
        memberships.delete().where(
            memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
        )
    )
    return result.rowcount > 0


async def get_membership(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    row = (
        await conn.execute(
            select(memberships.c.role).where(
                memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return Membership(workspace_id=workspace_id, user_id=user_id, role=Role(row.role))


async def list_members(
    conn: AsyncConnection, *, workspace_id: uuid.UUID
) -> list[tuple[User, Role]]:
    rows = (
        await conn.execute(
            select(users, memberships.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.workspace_id == workspace_id)
            .order_by(users.c.email)
        )
    ).all()
    return [(user_from_row(r), Role(r.role)) for r in rows]


async def lock_owners(conn: AsyncConnection, *, workspace_id: uuid.UUID) -> list[uuid.UUID]:
    """The workspace's owners, with their membership rows locked until the transaction ends.

    Demoting or removing an owner takes these locks first, so two such changes at once cannot
    both see "another owner is left" and leave the workspace with none. (SQLite needs no row
    locks: its write transactions already exclude one another.)
    """
    rows = (
        await conn.execute(
            select(memberships.c.user_id)
            .where(
                memberships.c.workspace_id == workspace_id,
                memberships.c.role == Role.OWNER.value,
            )
            .order_by(memberships.c.user_id)
            .with_for_update()
        )
    ).all()
    return [r.user_id for r in rows]


async def list_user_workspaces(
    conn: AsyncConnection, *, user_id: uuid.UUID
) -> list[tuple[Workspace, Role]]:
    rows = (
        await conn.execute(
            select(workspaces, memberships.c.role)
            .join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.created_at, workspaces.c.name)
        )
    ).all()
    return [(workspace_from_row(r), Role(r.role)) for r in rows]


def _token_record(row: object) -> ApiTokenRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiTokenRecord(
        id=m["id"],
        workspace_id=m["workspace_id"],
        user_id=m["user_id"],
        name=m["name"],
        prefix=m["prefix"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


async def create_api_token(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    token_hash: str,
    prefix: str,
    expires_at: datetime | None,
    now: datetime,
) -> ApiTokenRecord:
    row = (
        await conn.execute(
            insert(api_tokens)
            .values(
                id=new_id(),
                workspace_id=workspace_id,
                user_id=user_id,
                name=name,
                token_hash=token_hash,
                prefix=prefix,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(api_tokens)
        )
    ).one()
    return _token_record(row)


async def find_api_token(conn: AsyncConnection, *, token_hash: str) -> ApiTokenRecord | None:
    row = (
        await conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash))
    ).one_or_none()
    return _token_record(row) if row else None


async def touch_api_token(conn: AsyncConnection, *, token_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
    )


async def list_api_tokens(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[ApiTokenRecord]:
    query = select(api_tokens).where(api_tokens.c.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    rows = (await conn.execute(query.order_by(api_tokens.c.created_at))).all()
    return [_token_record(r) for r in rows]


async def revoke_api_token(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    token_id: uuid.UUID,
    user_id: uuid.UUID | None,
    now: datetime,
) -> bool:
    query = update(api_tokens).where(
        api_tokens.c.id == token_id,
        api_tokens.c.workspace_id == workspace_id,
        api_tokens.c.revoked_at.is_(None),
    )
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    result = await conn.execute(query.values(revoked_at=now))
    return result.rowcount > 0


async def create_refresh_token(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    await conn.execute(
        insert(refresh_tokens).values(
            id=new_id(),
            workspace_id=workspace_id,
            user_id=user_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def find_refresh_token(conn: AsyncConnection, *, token_hash: str) -> RefreshRecord | None:
    row = (
        await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))
    ).one_or_none()
    if row is None:
        return None
    return RefreshRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def revoke_refresh_token(
    conn: AsyncConnection, *, token_id: uuid.UUID, now: datetime
) -> bool:
    """Revoke one refresh token; False if it was already revoked (a replay)."""
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.id == token_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


async def revoke_user_tokens(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> int:
    """Revoke every API and refresh token the user holds for the workspace; how many were live."""
    revoked = 0
    for table in (api_tokens, refresh_tokens):
        result = await conn.execute(
            update(table)
            .where(
                table.c.workspace_id == workspace_id,
                table.c.user_id == user_id,
                table.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        revoked += int(result.rowcount)
    return revoked


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def set_password(conn: AsyncConnection, *, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def user_is_enabled(conn: AsyncConnection, *, user_id: uuid.UUID) -> bool:
    row = (await conn.execute(select(users.c.disabled).where(users.c.id == user_id))).one_or_none()
    return row is not None and not row.disabled
