"""Alembic environment: runs migrations on the connection handed over by `store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from postwright.store.tables import metadata

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `postwright migrate`, not the alembic CLI")
run_on(connection)
