"""Liveness, readiness and facts about the installation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from postwright import __version__
from postwright.api.app import create_app
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store.migrate import head_revision
from tests.support.factories import assert_problem


@asynccontextmanager
async def _client_for(database_url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="k" * 40)
    runtime = Runtime.from_settings(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await runtime.close()


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "current"}


async def test_not_ready_before_migrations(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    async with _client_for(f"sqlite:///{empty}", tmp_path / "data") as client:
        response = await client.get("/ready")
        assert "postwright migrate" in assert_problem(response, 503)
        # alive all the same
        assert (await client.get("/health")).status_code == 200


async def test_not_ready_without_a_database(tmp_path: Path) -> None:
    unreachable = tmp_path / "postwright.db"
    unreachable.mkdir()  # a directory where the database file should be: SQLite cannot open it
    async with _client_for(f"sqlite:///{unreachable}", tmp_path / "data") as client:
        response = await client.get("/ready")
        assert "cannot be reached" in assert_problem(response, 503)


async def test_info(client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await client.get("/info")
    assert response.status_code == 200
    info = response.json()
    assert info["name"] == "postwright"
    assert info["version"] == __version__
    assert info["api"] == "/api/v1"
    assert info["database"] == runtime.db.dialect
    assert info["database"] in {"sqlite", "postgresql"}
    assert set(info["platforms"]) == {p.value for p in Platform}
    assert info["schema_revision"] == head_revision()
    assert "secret" not in response.text.lower()


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    for path in ("/api/v1/posts", "/api/v1/posts/{post_id}/approve", "/api/v1/auth/token"):
        assert path in schema["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404)
    response = await client.put("/health")
    assert_problem(response, 405)
