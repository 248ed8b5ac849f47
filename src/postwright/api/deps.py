"""Typed dependencies: the runtime, the principal from a bearer token or a session cookie, and
the check that every input can be stored."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from postwright.auth.principal import Principal
from postwright.domain.errors import InvalidInput, Unauthenticated, Violation
from postwright.runtime import Runtime
from postwright.services import identity

__all__ = [
    "SESSION_COOKIE",
    "PrincipalDep",
    "RuntimeDep",
    "get_principal",
    "get_runtime",
    "storable_input",
]

SESSION_COOKIE = "pw_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False,
    description="A personal API token (`pw_...`) or an access token from /api/v1/auth/token.",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(
    request: Request,
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is not None:
        return await identity.authenticate_bearer(rt, credentials.credentials)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await identity.authenticate_session(
            rt,
            cookie=cookie,
            csrf_header=request.headers.get("X-CSRF-Token"),
            safe_method=request.method in _SAFE_METHODS,
        )
    raise Unauthenticated(
        "send `Authorization: Bearer <token>` with an API token or an access token"
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def storable_input(request: Request) -> None:
    """Refuse, with a 422 naming the field, values that no database can store.

    PostgreSQL refuses the NUL character (U+0000) in text and JSON; neither database takes a lone
    UTF-16 surrogate (JSON escapes such as `\\ud800` decode to one); and Python's JSON parser
    accepts `NaN` and `Infinity`, which are not JSON. Without this check each one is an error
    500 from deep inside the store. It runs before the body is validated, on the JSON that
    FastAPI parses anyway (Starlette caches it on the request).
    """
    violations = [
        _violation(name, problem)
        for name, value in request.query_params.multi_items()
        if (problem := _unstorable(value)) is not None
    ]
    # the bodies FastAPI reads as JSON: no content type, application/json or application/*+json
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if (not media_type or media_type.endswith(("/json", "+json"))) and await request.body():
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            body = None  # not JSON: FastAPI reports that itself
        violations.extend(_walk(body))
    if violations:
        raise InvalidInput(violations[:20])


_PROBLEMS = {
    "nul": ("invalid_character", "contains the NUL character (U+0000), which cannot be stored"),
    "surrogate": (
        "invalid_character",
        "contains a lone UTF-16 surrogate (e.g. \\ud800), which is not a character",
    ),
    "number": ("invalid_number", "NaN and Infinity are not JSON numbers"),
}


def _unstorable(value: object) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "nul"
        if any("\ud800" <= c <= "\udfff" for c in value):
            return "surrogate"
    elif isinstance(value, float) and not math.isfinite(value):
        return "number"
    return None


def _violation(field: str, problem: str) -> Violation:
    rule, message = _PROBLEMS[problem]
    return Violation(field or "body", rule, message)


def _walk(body: Any) -> list[Violation]:
    """Every unstorable key or value in parsed JSON, by dotted path (iterative: no recursion
    limit for deeply nested input)."""
    found: list[Violation] = []
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if (problem := _unstorable(key)) is not None:
                    found.append(_violation(child, problem))
                    continue
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
        elif (problem := _unstorable(value)) is not None:
            found.append(_violation(path, problem))
    return sorted(found, key=lambda v: v.field)
