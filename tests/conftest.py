"""Shared fixtures: every store, engine and API test runs on SQLite and on PostgreSQL.

PostgreSQL: one fresh database per test run (`pw_test_<pid>_<random>`), migrated once and
truncated between tests; it is dropped at the end. Under CI=true an unreachable server fails the
run instead of skipping those tests.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from postwright.api.app import create_app
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store.db import Database
from postwright.store.migrate import upgrade
from postwright.store.tables import metadata
from tests.support.pg import PG_ADMIN_URL, create_database, drop_database, pg_reachable

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    reason = pg_reachable(PG_ADMIN_URL)
    if reason is not None:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {reason}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"pw_test_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(PG_ADMIN_URL, name)

    async def _migrate() -> None:
        db = Database(url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(_migrate())
    yield url
    drop_database(PG_ADMIN_URL, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "postwright.db"

    async def _migrate() -> None:
        db = Database(f"sqlite:///{path}")
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(_migrate())
    return path


async def _truncate(url: str) -> None:
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.write() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "postwright.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        public_url="http://testserver",
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.from_settings(settings)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
