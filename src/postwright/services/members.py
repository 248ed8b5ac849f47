"""Members of a workspace and their roles, and the workspace's audit log.

Admins add, re-role and remove members; only an owner grants or takes away the owner role, and
the last owner can be neither demoted nor removed, so a workspace always has someone who owns it.
Removing a member also revokes their tokens for the workspace, so re-adding them later does not
bring old tokens back to life.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from postwright.auth.principal import Principal
from postwright.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from postwright.domain.models import AuditEntry, Membership, User
from postwright.domain.roles import Action, Role
from postwright.runtime import Runtime
from postwright.store import audit, identity
from postwright.store.integrity import unique_violation_as

__all__ = [
    "MemberCreate",
    "MemberUpdate",
    "add_member",
    "list_audit",
    "list_members",
    "redact",
    "remove_member",
    "update_member",
]

RoleName = Literal["viewer", "editor", "admin", "owner"]
MAX_PASSWORD = 1024  # argon2 hashes anything, but nobody needs more; bounds the work per request
REDACTED = "[redacted]"
# Keys whose values never leave the audit log, whatever wrote them (defence in depth: the
# services already keep secrets out of `details`).
_SECRET_KEY = re.compile(
    r"(.*[_-])?(pass(word|wd)?|secret|token|credentials?|api[_-]?key|authori[sz]ation|cookie"
    r"|private[_-]?key)([_-](hash|digest))?",
    re.IGNORECASE,
)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: RoleName
    password: str | None = Field(
        default=None,
        max_length=MAX_PASSWORD,
        description=(
            "Password for a person new to postwright. Someone who already has an account keeps "
            "their own password; this field is then ignored."
        ),
    )


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if (
        not local
        or "." not in domain.strip(".")
        or "@" in domain
        or any(c.isspace() for c in email)
        or len(email) > 320
    ):
        raise InvalidInput.one("email", "invalid", "this is not an email address")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.one(
            "password",
            "min_length",
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long",
        )


def _require_owner_for(principal: Principal) -> None:
    if principal.role is not Role.OWNER:
        raise Forbidden("only an owner can grant or take away the owner role")


async def _require_member(
    conn: AsyncConnection, principal: Principal, user_id: uuid.UUID
) -> tuple[Membership, User]:
    membership = await identity.get_membership(
        conn, workspace_id=principal.workspace_id, user_id=user_id
    )
    user = await identity.get_user(conn, user_id=user_id) if membership else None
    if membership is None or user is None:
        raise NotFound("no such member in this workspace")
    return membership, user


async def _require_another_owner(
    conn: AsyncConnection, principal: Principal, user_id: uuid.UUID, verb: str
) -> None:
    owners = await identity.lock_owners(conn, workspace_id=principal.workspace_id)
    if not [o for o in owners if o != user_id]:
        raise Conflict(f"cannot {verb} the workspace's last owner; make another member owner first")


async def list_members(rt: Runtime, principal: Principal) -> list[tuple[User, Role]]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await identity.list_members(conn, workspace_id=principal.workspace_id)


async def add_member(rt: Runtime, principal: Principal, body: MemberCreate) -> tuple[User, Role]:
    """Add a person by email, creating their user when postwright does not know them yet."""
    principal.require(Action.MANAGE)
    role = Role(body.role)
    if role is Role.OWNER:
        _require_owner_for(principal)
    email = _check_email(body.email)
    password_hash = None
    if body.password is not None:
        _check_password(body.password)
        # hashed before the transaction: argon2 is slow on purpose, the write lock should not be
        password_hash = hash_password(body.password)
    now = rt.now()
    with unique_violation_as(Conflict(f"{email} was added at the same moment; reload the list")):
        async with rt.db.write() as conn:
            creds = await identity.get_user_credentials(conn, email=email)
            if creds is None:
                user = await identity.create_user(
                    conn, email=email, name="", password_hash=password_hash, now=now
                )
            else:
                user = creds.user
                if await identity.get_membership(
                    conn, workspace_id=principal.workspace_id, user_id=user.id
                ):
                    raise Conflict(
                        f"{email} is already a member; change their role with "
                        f"PATCH /api/v1/members/{user.id}"
                    )
            await identity.add_membership(
                conn, workspace_id=principal.workspace_id, user_id=user.id, role=role, now=now
            )
            await audit.record(
                conn,
                workspace_id=principal.workspace_id,
                actor_id=principal.user_id,
                action="member.added",
                target_type="user",
                target_id=user.id,
                details={"email": email, "role": role.value, "new_user": creds is None},
                now=now,
            )
    return user, role


async def update_member(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, body: MemberUpdate
) -> tuple[User, Role]:
    principal.require(Action.MANAGE)
    role = Role(body.role)
    now = rt.now()
    async with rt.db.write() as conn:
        membership, user = await _require_member(conn, principal, user_id)
        if Role.OWNER in (membership.role, role):
            _require_owner_for(principal)
        if membership.role is role:
            return user, role
        if membership.role is Role.OWNER:
            await _require_another_owner(conn, principal, user_id, "demote")
        await identity.add_membership(
            conn, workspace_id=principal.workspace_id, user_id=user_id, role=role, now=now
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="member.role_changed",
            target_type="user",
            target_id=user_id,
            details={"email": user.email, "from": membership.role.value, "to": role.value},
            now=now,
        )
    return user, role


async def remove_member(rt: Runtime, principal: Principal, user_id: uuid.UUID) -> None:
    """Remove the member and revoke their tokens for this workspace (their user stays)."""
    principal.require(Action.MANAGE)
    now = rt.now()
    async with rt.db.write() as conn:
        membership, user = await _require_member(conn, principal, user_id)
        if membership.role is Role.OWNER:
            _require_owner_for(principal)
            await _require_another_owner(conn, principal, user_id, "remove")
        await identity.remove_membership(conn, workspace_id=principal.workspace_id, user_id=user_id)
        revoked = await identity.revoke_user_tokens(
            conn, workspace_id=principal.workspace_id, user_id=user_id, now=now
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="member.removed",
            target_type="user",
            target_id=user_id,
            details={
                "email": user.email,
                "role": membership.role.value,
                "revoked_tokens": revoked,
            },
            now=now,
        )


def _secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    snake = _CAMEL_HUMP.sub("_", key)  # refreshToken -> refresh_Token
    return _SECRET_KEY.fullmatch(snake) is not None


def redact(value: Any) -> Any:
    """`value` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if _secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


async def list_audit(
    rt: Runtime, principal: Principal, *, limit: int, offset: int
) -> tuple[list[AuditEntry], bool]:
    """A page of the audit log, newest first, and whether an older page follows."""
    principal.require(Action.MANAGE)
    async with rt.db.read() as conn:
        entries = await audit.list_audit(
            conn, workspace_id=principal.workspace_id, limit=limit + 1, offset=offset
        )
    page = [replace(e, details=redact(e.details)) for e in entries[:limit]]
    return page, len(entries) > limit
