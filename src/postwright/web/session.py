"""Browser sessions: the `pw_session` cookie, its CSRF token, and the login form's own token.

The session is a signed token of kind "session" (see `auth.tokens`) carrying a random CSRF
token. The cookie is HttpOnly and SameSite=Lax (Secure when postwright is served over https);
the page hands the CSRF token to its scripts in a meta tag, and every unsafe API call echoes it
in `X-CSRF-Token` (checked by `services.identity.authenticate_session`).

The login form cannot use the session's token (there is no session yet), so it is protected by
a double-submit token: a random value in a short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from postwright.api.deps import SESSION_COOKIE
from postwright.auth import tokens
from postwright.auth.principal import Principal
from postwright.domain.errors import Forbidden, Unauthenticated
from postwright.runtime import Runtime
from postwright.services import identity

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "SESSION_TTL",
    "Session",
    "check_login_token",
    "clear_session",
    "current_session",
    "login_token",
    "set_login_token",
    "set_session",
    "start_session",
]

SESSION_TTL = timedelta(hours=12)
LOGIN_COOKIE = "pw_login"
_LOGIN_TTL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: who it is, and the token its scripts send with unsafe calls."""

    principal: Principal
    csrf: str


def _secure(rt: Runtime) -> bool:
    return rt.settings.public_url.lower().startswith("https://")


async def current_session(rt: Runtime, request: Request) -> Session | None:
    """The request's session, or None when there is none or it is expired or revoked."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        claims = tokens.decode_access_token(
            cookie, secret=rt.secret_key, now=rt.now(), kind="session"
        )
        principal = await identity.authenticate_session(
            rt, cookie=cookie, csrf_header=None, safe_method=True
        )
    except (Unauthenticated, Forbidden):
        return None
    if claims.csrf is None:
        return None
    return Session(principal=principal, csrf=claims.csrf)


async def start_session(rt: Runtime, *, email: str, password: str, client: str | None) -> str:
    """Check the password and return a new session token.

    Raises `Unauthenticated`, `Forbidden`, or `TooManyAttempts` after too many failures.
    """
    pair = await identity.login(
        rt, email=email, password=password, workspace_id=None, client=client
    )
    claims = tokens.decode_access_token(
        pair.access_token, secret=rt.secret_key, now=rt.now(), kind="access"
    )
    return tokens.encode_access_token(
        secret=rt.secret_key,
        user_id=claims.user_id,
        workspace_id=pair.workspace_id,
        now=rt.now(),
        ttl=SESSION_TTL,
        kind="session",
        csrf=secrets.token_urlsafe(32),
    )


def set_session(rt: Runtime, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(rt),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")


def clear_session(rt: Runtime, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(rt)
    )


def login_token(request: Request) -> str:
    """The login form's token: the one already in its cookie, else a new one."""
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
    return token


def set_login_token(rt: Runtime, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=int(_LOGIN_TTL.total_seconds()),
        path="/login",
        httponly=True,
        samesite="lax",
        secure=_secure(rt),
    )


def check_login_token(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    return bool(expected and submitted and secrets.compare_digest(expected, submitted))
