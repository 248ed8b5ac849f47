"""Liveness, readiness and facts about this installation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from postwright import __version__
from postwright.api.deps import RuntimeDep
from postwright.api.problems import Problem, problem_response
from postwright.domain.platforms import Platform
from postwright.store.migrate import head_revision, is_current

router = APIRouter()


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migrations: str


class Info(BaseModel):
    name: str
    version: str
    api: str
    database: str
    platforms: list[str]
    schema_revision: str | None


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness: the database answers and its schema is current",
    responses={
        503: {
            "model": Problem,
            "description": "Not ready",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    },
)
async def ready(rt: RuntimeDep) -> Any:
    try:
        async with rt.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        return problem_response(503, "the database cannot be reached", slug="not-ready")
    if not await is_current(rt.db):
        return problem_response(
            503, "the database schema is not current; run `postwright migrate`", slug="not-ready"
        )
    return Readiness(status="ready", database="ok", migrations="current")


@router.get("/info", response_model=Info, summary="Version, database kind and platforms")
async def info(rt: RuntimeDep) -> Info:
    return Info(
        name="postwright",
        version=__version__,
        api="/api/v1",
        database=rt.db.dialect,
        platforms=[p.value for p in Platform],
        schema_revision=head_revision(),
    )
