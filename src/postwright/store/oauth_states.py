"""Pending account authorizations (the OAuth `state`) and pending choices among accounts.

A row is single use: `consume` stamps `used_at` in the same statement that checks it was unused
and unexpired, so a replayed callback, a double click or two racing requests see it consumed
once. Secrets in a row (the PKCE verifier, client secrets, page tokens) are sealed by the caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.store.tables import oauth_states

__all__ = [
    "ConsumeOutcome",
    "OAuthState",
    "StateKind",
    "consume_state",
    "create_state",
    "delete_expired_states",
    "find_pending_state",
    "get_state",
]


class StateKind(StrEnum):
    AUTHORIZE = "authorize"  # waiting for the platform's callback
    CHOOSE = "choose"  # waiting for a person to pick among the accounts a callback found


@dataclass(frozen=True, slots=True)
class OAuthState:
    id: str
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    kind: str
    code_verifier: str | None  # sealed
    redirect_uri: str
    extra: dict[str, Any]
    sealed_extra: str | None  # sealed
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ConsumeOutcome(StrEnum):
    """Why a state could not be consumed (or `OK`)."""

    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    MISMATCH = "mismatch"  # another platform's or another kind's state


def _from_row(row: Row[Any]) -> OAuthState:
    m = row._mapping
    return OAuthState(
        id=m["id"],
        workspace_id=m["workspace_id"],
        user_id=m["user_id"],
        platform=m["platform"],
        kind=m["kind"],
        code_verifier=m["code_verifier"],
        redirect_uri=m["redirect_uri"],
        extra=dict(m["extra"] or {}),
        sealed_extra=m["sealed_extra"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        used_at=m["used_at"],
    )


async def create_state(
    conn: AsyncConnection,
    *,
    state_id: str,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    platform: str,
    kind: StateKind,
    code_verifier: str | None,
    redirect_uri: str,
    extra: dict[str, Any],
    sealed_extra: str | None,
    now: datetime,
    expires_at: datetime,
) -> OAuthState:
    row = (
        await conn.execute(
            insert(oauth_states)
            .values(
                id=state_id,
                workspace_id=workspace_id,
                user_id=user_id,
                platform=platform,
                kind=kind.value,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
                extra=extra,
                sealed_extra=sealed_extra,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(oauth_states)
        )
    ).one()
    return _from_row(row)


async def get_state(conn: AsyncConnection, *, state_id: str) -> OAuthState | None:
    row = (
        await conn.execute(select(oauth_states).where(oauth_states.c.id == state_id))
    ).one_or_none()
    return _from_row(row) if row else None


async def find_pending_state(
    conn: AsyncConnection,
    *,
    state_id: str,
    platform: str,
    kind: StateKind,
    workspace_id: uuid.UUID,
    now: datetime,
) -> OAuthState | None:
    """The workspace's state if it is still usable (unused, unexpired), without consuming it;
    another workspace's reads as missing."""
    row = (
        await conn.execute(
            select(oauth_states).where(
                oauth_states.c.id == state_id,
                oauth_states.c.workspace_id == workspace_id,
                oauth_states.c.platform == platform,
                oauth_states.c.kind == kind.value,
                oauth_states.c.used_at.is_(None),
                oauth_states.c.expires_at > now,
            )
        )
    ).one_or_none()
    return _from_row(row) if row else None


async def consume_state(
    conn: AsyncConnection,
    *,
    state_id: str,
    platform: str,
    kind: StateKind,
    now: datetime,
    workspace_id: uuid.UUID | None = None,
) -> tuple[ConsumeOutcome, OAuthState | None]:
    """Mark the state used, once. The outcome tells why it could not be, when it could not.

    A state of another platform or kind (or, when `workspace_id` is given, of another
    workspace) is left untouched: whoever holds the right link can still use it.
    """
    checks = [
        oauth_states.c.id == state_id,
        oauth_states.c.platform == platform,
        oauth_states.c.kind == kind.value,
    ]
    if workspace_id is not None:
        checks.append(oauth_states.c.workspace_id == workspace_id)
    row = (
        await conn.execute(
            update(oauth_states)
            .where(*checks, oauth_states.c.used_at.is_(None), oauth_states.c.expires_at > now)
            .values(used_at=now)
            .returning(oauth_states)
        )
    ).one_or_none()
    if row is not None:
        return ConsumeOutcome.OK, _from_row(row)
    found = await get_state(conn, state_id=state_id)
    if found is None:
        return ConsumeOutcome.UNKNOWN, None
    if (
        found.platform != platform
        or found.kind != kind.value
        or (workspace_id is not None and found.workspace_id != workspace_id)
    ):
        return ConsumeOutcome.MISMATCH, None
    if found.used_at is not None:
        return ConsumeOutcome.USED, found
    return ConsumeOutcome.EXPIRED, found


async def delete_expired_states(conn: AsyncConnection, *, before: datetime) -> int:
    """Forget states that expired before `before` (used or not): housekeeping."""
    result = await conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < before))
    return result.rowcount
