"""Creating and dropping throw-away PostgreSQL databases for a test run."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("POSTWRIGHT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_reachable(url: str) -> str | None:
    """None if we can connect, else the reason."""

    async def _check() -> None:
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        await conn.close()

    try:
        asyncio.run(_check())
    except Exception as exc:  # any failure to connect is a reason to report
        return f"{type(exc).__name__}: {exc}"
    return None


def create_database(admin_url: str, name: str) -> str:
    async def _create() -> None:
        conn = await asyncpg.connect(_dsn(admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(_create())
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    async def _drop() -> None:
        conn = await asyncpg.connect(_dsn(admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(_drop())
