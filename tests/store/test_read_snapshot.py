"""A read transaction sees one snapshot: a post and its deliveries read in two statements never
straddle a worker's commit, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from postwright.runtime import Runtime
from postwright.store.tables import workspaces


async def test_a_read_transaction_does_not_see_a_commit_made_after_its_first_read(
    runtime: Runtime,
) -> None:
    workspace_id = uuid.uuid4()
    now = runtime.now()
    async with runtime.db.write() as conn:
        await conn.execute(
            insert(workspaces).values(id=workspace_id, name="before", plan="free", created_at=now)
        )
    name_of = select(workspaces.c.name).where(workspaces.c.id == workspace_id)

    async with runtime.db.read() as reader:
        first = (await reader.execute(name_of)).scalar_one()
        async with runtime.db.write() as writer:
            await writer.execute(
                update(workspaces).where(workspaces.c.id == workspace_id).values(name="after")
            )
        second = (await reader.execute(name_of)).scalar_one()

    async with runtime.db.read() as fresh:
        third = (await fresh.execute(name_of)).scalar_one()
    assert (first, second, third) == ("before", "before", "after")
