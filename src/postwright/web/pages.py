"""The web app's pages: login and logout, and the server-rendered shell of each screen.

Each screen is one template plus one ES module under /static/js that talks to the REST API with
the session cookie. The server renders who is logged in, their role and the CSRF token; it
never renders posts itself, so the API stays the only way to read or change anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from postwright import __version__
from postwright.api.deps import RuntimeDep
from postwright.domain.errors import Forbidden, TooManyAttempts, Unauthenticated
from postwright.domain.roles import Action
from postwright.runtime import Runtime
from postwright.services import members, workspace
from postwright.web import session as sessions
from postwright.web.connect_return import Notice, connect_notice
from postwright.web.security import page_headers, safe_next

__all__ = ["PAGES", "Page", "router", "templates"]

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Page:
    """One screen: its address, its template and script, and who may see it in the menu."""

    path: str
    name: str
    title: str
    script: str
    needs: Action = Action.READ
    in_menu: bool = True
    notice: Callable[[Mapping[str, str]], Notice | None] | None = None
    """What to say at the top, read from the query string (where a redirect put it)."""


PAGES = (
    Page("/", "calendar", "Calendar", "calendar.js"),
    Page("/compose", "compose", "New post", "composer.js", needs=Action.WRITE, in_menu=False),
    Page("/approvals", "approvals", "Approvals", "approvals.js"),
    Page("/attention", "attention", "Needs attention", "attention.js"),
    Page("/accounts", "accounts", "Accounts", "accounts.js", notice=connect_notice),
    Page(
        "/accounts/choose",
        "choose",
        "Choose accounts to connect",
        "choose.js",
        needs=Action.MANAGE,
        in_menu=False,
    ),
    Page("/system", "system", "Queue & jobs", "system.js", needs=Action.MANAGE),
)


def _https(rt: Runtime) -> bool:
    return rt.settings.public_url.lower().startswith("https://")


def _with_headers(rt: Runtime, response: Response) -> Response:
    for name, value in page_headers(https=_https(rt)).items():
        response.headers[name] = value
    return response


def _redirect(rt: Runtime, to: str) -> Response:
    return _with_headers(rt, RedirectResponse(to, status_code=303))


def _render(
    rt: Runtime, request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request, template, {"version": __version__, **context}, status_code=status
    )
    return _with_headers(rt, response)


# -- login and logout ----------------------------------------------------------------------


def _login_page(
    rt: Runtime,
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    token = sessions.login_token(request)
    page = _render(
        rt,
        request,
        "login.html",
        {"token": token, "next": next_path, "email": email, "error": error},
        status=status,
    )
    sessions.set_login_token(rt, page, token)
    return page


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, rt: RuntimeDep, next: str | None = None) -> Response:
    next_path = safe_next(next)
    if await sessions.current_session(rt, request) is not None:
        return _redirect(rt, next_path)
    return _login_page(rt, request, next_path=next_path)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    rt: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_path = safe_next(next)
    if not sessions.check_login_token(request, token):
        return _login_page(
            rt,
            request,
            next_path=next_path,
            email=email,
            error="This form expired. Please log in again.",
            status=400,
        )
    if not email.strip() or not password:
        return _login_page(
            rt,
            request,
            next_path=next_path,
            email=email,
            error="Enter your email address and your password.",
            status=422,
        )
    try:
        token_value = await sessions.start_session(
            rt,
            email=email.strip(),
            password=password,
            client=request.client.host if request.client else None,
        )
    except TooManyAttempts as exc:
        page = _login_page(
            rt,
            request,
            next_path=next_path,
            email=email,
            error=exc.message[:1].upper() + exc.message[1:] + ".",
            status=429,
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    except (Unauthenticated, Forbidden) as exc:
        status = 401 if isinstance(exc, Unauthenticated) else 403
        message = exc.message[:1].upper() + exc.message[1:] + "."
        return _login_page(
            rt, request, next_path=next_path, email=email, error=message, status=status
        )
    response = _redirect(rt, next_path)
    sessions.set_session(rt, response, token_value)
    return response


@router.post("/logout")
async def logout(
    request: Request, rt: RuntimeDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    current = await sessions.current_session(rt, request)
    if current is not None and csrf != current.csrf:
        # a forged logout from another site: ignore it rather than log the user out
        return _redirect(rt, "/")
    response = _redirect(rt, "/login")
    sessions.clear_session(rt, response)
    return response


# -- the screens ---------------------------------------------------------------------------


async def _boot(rt: Runtime, current: sessions.Session) -> dict[str, Any]:
    """What every page's scripts need to know before their first API call."""
    principal = current.principal
    ws = (await workspace.get_workspace(rt, principal)).workspace
    email = next(
        (
            u.email
            for u, _ in await members.list_members(rt, principal)
            if u.id == principal.user_id
        ),
        "",
    )
    role = principal.role
    return {
        "user": {"id": str(principal.user_id), "email": email, "role": role.value},
        "workspace": {
            "id": str(ws.id),
            "name": ws.name,
            "timezone": ws.timezone,
            "paused": ws.paused,
        },
        "can": {
            "write": role.allows(Action.WRITE),
            "approve": role.allows(Action.APPROVE),
            "manage": role.allows(Action.MANAGE),
        },
    }


def _screen(page: Page) -> Callable[..., Awaitable[Response]]:
    """The handler of one screen: its shell for a session, the login page for anyone else."""

    async def show(request: Request, rt: RuntimeDep) -> Response:
        current = await sessions.current_session(rt, request)
        if current is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _redirect(rt, "/login?next=" + quote(target, safe="/"))
        boot = await _boot(rt, current)
        menu = [p for p in PAGES if p.in_menu and current.principal.role.allows(p.needs)]
        return _render(
            rt,
            request,
            f"{page.name}.html",
            {
                "page": page,
                "menu": menu,
                "boot": boot,
                "csrf": current.csrf,
                "allowed": current.principal.role.allows(page.needs),
                "notice": page.notice(request.query_params) if page.notice else None,
            },
        )

    show.__name__ = f"page_{page.name}"
    return show


for _page in PAGES:
    router.add_api_route(
        _page.path, _screen(_page), methods=["GET"], response_class=HTMLResponse, name=_page.name
    )
