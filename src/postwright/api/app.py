"""The FastAPI application: routers, problem handlers, security headers, and the lifespan that
opens the database and (for `postwright serve`) runs the engine in the same process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from postwright import __version__
from postwright.api.problems import install_problem_handlers
from postwright.api.routes import (
    accounts,
    auth,
    calendar,
    campaigns,
    connect,
    deliveries,
    media,
    members,
    posts,
    public_media,
    system,
    system_ops,
    tokens,
    web_support,
    workspace,
)
from postwright.runtime import Runtime
from postwright.web import install_web

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(
    rt: Runtime,
    *,
    on_startup: list[Callable[[], Awaitable[None]]] | None = None,
    on_shutdown: list[Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    """Build the app around a ready runtime; `on_startup`/`on_shutdown` start and stop extras
    such as the in-process worker."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for start in on_startup or []:
            await start()
        try:
            yield
        finally:
            for stop in on_shutdown or []:
                await stop()

    app = FastAPI(
        title="postwright",
        version=__version__,
        summary="Self-hosted social media scheduler: write once, publish everywhere, exactly once.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    install_problem_handlers(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.include_router(system.router, tags=["system"])
    app.include_router(auth.router, prefix=f"{API_PREFIX}/auth", tags=["auth"])
    app.include_router(tokens.router, prefix=f"{API_PREFIX}/tokens", tags=["tokens"])
    # before the accounts router, whose `/{account_id}` would take `/connect`
    app.include_router(connect.router, prefix=f"{API_PREFIX}/accounts", tags=["accounts"])
    app.include_router(accounts.router, prefix=f"{API_PREFIX}/accounts", tags=["accounts"])
    app.include_router(connect.callback_router, prefix=f"{API_PREFIX}/oauth", tags=["accounts"])
    app.include_router(posts.router, prefix=f"{API_PREFIX}/posts", tags=["posts"])
    app.include_router(media.router, prefix=f"{API_PREFIX}/media", tags=["media"])
    app.include_router(campaigns.router, prefix=f"{API_PREFIX}/campaigns", tags=["campaigns"])
    app.include_router(calendar.router, prefix=f"{API_PREFIX}/calendar", tags=["calendar"])
    app.include_router(members.router, prefix=f"{API_PREFIX}/members", tags=["members"])
    app.include_router(members.audit_router, prefix=f"{API_PREFIX}/audit", tags=["audit"])
    app.include_router(workspace.router, prefix=f"{API_PREFIX}/workspace", tags=["workspace"])
    app.include_router(deliveries.router, prefix=API_PREFIX, tags=["deliveries"])
    app.include_router(system_ops.router, prefix=API_PREFIX, tags=["operations"])
    app.include_router(public_media.router, tags=["media"])  # signed URLs, no auth
    app.include_router(web_support.router, prefix=API_PREFIX, tags=["composer"])
    install_web(app)  # the web app: `/` and its pages, `/login`, `/static`
    return app
