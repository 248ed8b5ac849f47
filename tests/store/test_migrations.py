"""The migrations produce exactly the schema the code declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from postwright.store.db import Database
from postwright.store.migrate import current_revision, head_revision, is_current
from postwright.store.tables import metadata


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:

        def diff(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            return list(compare_metadata(context, metadata))

        async with db.engine.connect() as conn:
            differences = await conn.run_sync(diff)
        assert differences == []
        assert await current_revision(db) == head_revision()
        assert await is_current(db)
    finally:
        await db.dispose()


async def test_an_empty_database_is_not_current(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await current_revision(db) is None
        assert not await is_current(db)
    finally:
        await db.dispose()
