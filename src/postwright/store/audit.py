"""The audit log: who did what to which thing. Details never hold secrets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.models import AuditEntry, new_id
from postwright.store.rows import audit_from_row
from postwright.store.tables import audit_log

__all__ = ["list_audit", "record"]


async def record(
    conn: AsyncConnection,
    *,
    workspace_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str | None,
    details: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            id=new_id(),
            workspace_id=workspace_id,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            details=details or {},
            created_at=now,
        )
    )


async def list_audit(
    conn: AsyncConnection, *, workspace_id: uuid.UUID, limit: int, offset: int
) -> list[AuditEntry]:
    rows = (
        await conn.execute(
            select(audit_log)
            .where(audit_log.c.workspace_id == workspace_id)
            .order_by(audit_log.c.created_at.desc(), audit_log.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [audit_from_row(r) for r in rows]
