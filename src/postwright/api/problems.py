"""Errors as RFC 9457 problem details, from one table of domain errors to HTTP statuses.

Every answer that is not a success is `application/problem+json` with a `detail` a person can
act on; validation problems also list each broken rule in `errors`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from postwright.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PlanLimitExceeded,
    PostwrightError,
    TooLarge,
    TooManyAttempts,
    Unauthenticated,
)

__all__ = ["PROBLEM_RESPONSES", "Problem", "install_problem_handlers", "problem_response"]

log = logging.getLogger("postwright.api")

PROBLEM_TYPE = "https://postwright.dev/problems/"


class ProblemError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `targets.0.text`.")
    rule: str = Field(description="Short name of the broken rule, e.g. `max_length`.")
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


_STATUS: list[tuple[type[PostwrightError], int, str]] = [
    (InvalidInput, 422, "validation"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (PlanLimitExceeded, 403, "plan-limit"),
    (Forbidden, 403, "forbidden"),
    (Unauthenticated, 401, "unauthenticated"),
    (TooLarge, 413, "too-large"),
    (TooManyAttempts, 429, "too-many-attempts"),
]
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
}


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + (slug or str(status)),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _for_domain(exc: PostwrightError) -> JSONResponse:
    for cls in type(exc).__mro__:
        for error_cls, status, slug in _STATUS:
            if cls is error_cls:
                errors = None
                if isinstance(exc, InvalidInput):
                    errors = [
                        {"field": v.field, "rule": v.rule, "message": v.message}
                        for v in exc.violations
                    ]
                headers = None
                if isinstance(exc, Unauthenticated):
                    headers = {"WWW-Authenticate": "Bearer"}
                elif isinstance(exc, TooManyAttempts):
                    headers = {"Retry-After": str(exc.retry_after_s)}
                return problem_response(
                    status, exc.message, slug=slug, errors=errors, headers=headers
                )
    log.error("unmapped domain error %s", type(exc).__name__)
    return problem_response(500, "an unexpected error occurred", slug="internal")


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        rule = str(err.get("type", "invalid"))
        message = str(err.get("msg", "invalid value"))
        if rule == "extra_forbidden":
            message = "unknown field; check the spelling against the API reference"
        elif rule == "missing":
            message = "this field is required"
        errors.append(
            {"field": _field_path(tuple(err.get("loc", ()))), "rule": rule, "message": message}
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(PostwrightError)
    async def _domain(_request: Request, exc: PostwrightError) -> JSONResponse:
        return _for_domain(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(422, detail, slug="validation", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "an unexpected error occurred; it was logged", slug="internal")

    _document_unreadable_bodies(app)


_UNREADABLE_BODY = {
    "description": "The body cannot be read: not UTF-8, or a broken form",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _document_unreadable_bodies(app: FastAPI) -> None:
    """Add to the OpenAPI document the 400 that FastAPI itself answers, on any operation that
    takes a body, when it cannot read the body at all (bytes that are not UTF-8, a broken
    multipart form). JSON that does not parse is a 422 (`json_invalid`) like other bad input."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("400", _UNREADABLE_BODY)
        return app.openapi_schema  # type: ignore[return-value]  # set by build()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def _problem(description: str) -> dict[str, Any]:
    # `model` puts Problem in the components; the problem+json entry is what we really send
    return {
        "model": Problem,
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing, expired or revoked credentials"),
    403: _problem("The role or the plan does not allow this"),
    404: _problem("No such resource in this workspace"),
    409: _problem("The resource's state forbids the action"),
    422: _problem("The input breaks a rule; `errors` lists each one"),
    429: _problem("Too many failed attempts; `Retry-After` says how many seconds to wait"),
}
