"""The web app: calendar, composer, approvals, needs attention, accounts, queue and jobs.

`install_web(app)` adds the pages (`/`, `/compose`, ... and `/login`) and the static files
(`/static`) to the FastAPI app. The pages are server-rendered shells; small ES modules in
`static/js` do the rest through the REST API. FullCalendar is vendored, already built, in
`static/vendor` (see `frontend/` to rebuild it), so installing postwright needs no build step.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from postwright.web.pages import router
from postwright.web.security import static_headers

__all__ = ["STATIC_DIR", "install_web"]

STATIC_DIR = Path(__file__).parent / "static"


class _StaticFiles(StaticFiles):
    """Starlette's static files with our cache and sniffing headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        for name, value in static_headers().items():
            response.headers[name] = value
        return response


def install_web(app: FastAPI) -> None:
    """Serve the web app at `/` next to the API."""
    app.include_router(router)
    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
