"""`postwright ...`: set up the database, serve the API with its engine, run workers, manage users.

Every command reads the settings (`POSTWRIGHT_*`, `get_settings()`), works through the services,
and reports an expected failure (bad input, unknown user, unreachable database) as one line on
standard error with a non-zero exit code, never as a traceback. Standard output carries only what
a script may want to capture: `postwright token create` prints the token and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from postwright import __version__
from postwright.api.app import create_app
from postwright.auth.principal import Principal
from postwright.cli_ops import register as register_ops
from postwright.domain.errors import InvalidInput, PostwrightError
from postwright.domain.models import Account
from postwright.domain.roles import Role
from postwright.runtime import Runtime
from postwright.services import accounts as account_service
from postwright.services import identity
from postwright.settings import Settings, get_settings
from postwright.store import identity as identity_store
from postwright.store.migrate import current_revision, head_revision, is_current, upgrade

if TYPE_CHECKING:
    from postwright.engine.service import EngineService

__all__ = ["app"]

T = TypeVar("T")

# soft_wrap: never break a line at the terminal width (errors stay one line, tokens intact)
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

app = typer.Typer(
    name="postwright",
    help="Self-hosted social media scheduler: write once, publish everywhere, exactly once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a traceback must never show a password
    context_settings={"help_option_names": ["-h", "--help"]},
)
user_app = typer.Typer(help="Users and their workspace memberships.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
register_ops(app)  # pause, resume, dead-letters, retry, queue


# -- errors --------------------------------------------------------------------------------


class CliError(Exception):
    """An expected failure: reported as `error: <message>` with `code`, without a traceback."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"warning: {message}", markup=False, style="yellow")


def _database_problem(exc: BaseException) -> str | None:
    """A one-line reason when `exc` is the database refusing or being unreachable, else None.

    store/ is the only SQLAlchemy importer, so its driver errors are recognised by their module.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__ == "sqlalchemy.exc":
            orig = getattr(seen, "orig", None) or seen
            reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            return f"the database refused: {reason} (check POSTWRIGHT_DATABASE_URL)"
        if isinstance(seen, ConnectionError | TimeoutError | socket.gaierror):
            return f"cannot reach the database: {seen} (check POSTWRIGHT_DATABASE_URL)"
        if isinstance(seen, OSError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, turning expected failures into one line on stderr."""
    try:
        return asyncio.run(main)
    except CliError as exc:
        _fail(exc.message, exc.code)
    except PostwrightError as exc:
        _fail(exc.message)
    except Exception as exc:
        problem = _database_problem(exc)
        if problem is None:
            raise
        _fail(problem)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"POSTWRIGHT_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise CliError(f"bad setting: {problems}", code=2) from None


@contextlib.asynccontextmanager
async def _runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    settings = settings or _settings()
    try:
        rt = Runtime.from_settings(settings)
    except InvalidInput as exc:  # the plans are the only input read here
        raise CliError(f"POSTWRIGHT_PLANS: {exc.message}", code=2) from None
    except ValueError as exc:  # an unsupported database URL
        raise CliError(f"POSTWRIGHT_DATABASE_URL: {exc}", code=2) from None
    try:
        yield rt
    finally:
        await rt.close()


def _outdated(revision: str | None) -> str:
    state = f"at revision {revision}" if revision else "empty"
    return f"the database schema is {state}, not {head_revision()}"


async def _require_schema(rt: Runtime) -> None:
    if not await is_current(rt.db):
        revision = await current_revision(rt.db)
        raise CliError(
            f"{_outdated(revision)}: run `postwright init` (or `postwright migrate`) first"
        )


def _describe_database(settings: Settings) -> str:
    """The database URL with any password hidden."""
    url = settings.resolved_database_url
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    return url


# -- the engine ----------------------------------------------------------------------------


def _engine(rt: Runtime) -> EngineService:
    # imported here: the CLI's other commands need none of the engine and its adapters
    from postwright.engine.service import EngineService

    return EngineService(rt)


# -- logging -------------------------------------------------------------------------------


class _JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors (`POSTWRIGHT_LOG_JSON=true`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _rename_uvicorn_error(record: logging.LogRecord) -> bool:
    # uvicorn logs its server's life (not only errors) as "uvicorn.error"
    if record.name == "uvicorn.error":
        record.name = "uvicorn"
    return True


def _configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper())
    if level is None:
        raise CliError(
            f"POSTWRIGHT_LOG_LEVEL: unknown level {settings.log_level!r}; "
            "use debug, info, warning or error",
            code=2,
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_rename_uvicorn_error)
    if settings.log_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every schema check (/ready runs one) and httpx every request at INFO
    for chatty in ("alembic", "httpx"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    # uvicorn configures its own loggers when a server is made with its defaults (the demo's
    # emulator is): send them through ours again
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


# -- version and help ----------------------------------------------------------------------


def _print_version(value: bool) -> None:
    if value:
        out.print(f"postwright {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Self-hosted social media scheduler: write once, publish everywhere, exactly once.

    Settings come from POSTWRIGHT_* environment variables (see the README); with none set,
    everything lives in ./postwright-data.
    """


# -- init and migrate ----------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the data directory and the database, or bring its schema up to date."""
    _run(_init())


async def _init() -> None:
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with _runtime(settings) as rt:
        before = await current_revision(rt.db)
        await upgrade(rt.db)
        after = await current_revision(rt.db)
    if before is None:
        schema = f"created (revision {after})"
    elif before != after:
        schema = f"migrated from {before} to {after}"
    else:
        schema = f"already current (revision {after})"
    key = (
        "from POSTWRIGHT_SECRET_KEY"
        if settings.secret_key is not None
        else str((settings.data_dir / "secret_key").resolve())
    )
    out.print(f"data directory  {settings.data_dir.resolve()}", markup=False)
    out.print(f"database        {_describe_database(settings)}", markup=False)
    out.print(f"schema          {schema}", markup=False)
    out.print(f"secret key      {key}", markup=False)
    out.print(f"media           {settings.media_dir.resolve()}", markup=False)
    out.print(
        "next: postwright user create --email you@example.com --workspace NAME --password-stdin"
        "; then postwright serve",
        markup=False,
    )


@app.command()
def migrate(
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 when the schema is not current."),
    ] = False,
) -> None:
    """Apply the database migrations (or, with --check, only tell whether any are pending)."""
    _run(_migrate(check=check))


async def _migrate(*, check: bool) -> None:
    head = head_revision()
    async with _runtime() as rt:
        before = await current_revision(rt.db)
        if check:
            if before != head:
                raise CliError(f"{_outdated(before)}: run `postwright migrate`")
            out.print(f"the database schema is current (revision {head})", markup=False)
            return
        await upgrade(rt.db)
        after = await current_revision(rt.db)
    if before == after:
        out.print(f"the database schema was already current (revision {after})", markup=False)
    elif before is None:
        out.print(f"created the database schema (revision {after})", markup=False)
    else:
        out.print(f"migrated the database schema from {before} to {after}", markup=False)


# -- serve ---------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn's server with our signal handling and a hook once it listens.

    uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which would end the process
    with a signal status; here a signal means "stop gracefully" and the exit code is 0. A second
    Ctrl-C still forces the stop, as in uvicorn.
    """

    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.servers and self.servers[0].sockets:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self._on_started(_base_url(host, port))


def _base_url(host: str, port: int) -> str:
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a wildcard bind; show where to connect
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve the API only; run `postwright worker` processes to publish.",
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also run the platform emulator with a demo workspace and two sandbox accounts.",
        ),
    ] = False,
    emulator_port: Annotated[
        int | None,
        typer.Option(help="With --demo: the emulator's port (default: a free one).", min=1),
    ] = None,
) -> None:
    """Serve the REST API and, unless --no-worker, publish due posts in the same process.

    Creates or migrates the database first, so a fresh install works with no configuration.
    """
    _run(_serve(host=host, port=port, worker=not no_worker, demo=demo, emulator_port=emulator_port))


async def _ensure_schema(rt: Runtime) -> None:
    if await is_current(rt.db):
        return
    before = await current_revision(rt.db)
    await upgrade(rt.db)
    verb = "created" if before is None else f"migrated from {before} to"
    err.print(f"database schema {verb} revision {head_revision()}", markup=False)


async def _serve(
    *, host: str, port: int, worker: bool, demo: bool, emulator_port: int | None
) -> None:
    settings = _settings()
    _configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with _runtime(settings) as rt:
        await _ensure_schema(rt)
        if not worker and rt.db.is_sqlite:
            _warn(
                "--no-worker with the embedded SQLite database: nothing is published unless "
                "`postwright worker` runs on this machine with the same settings "
                f"(database {_describe_database(settings)})"
            )
        on_startup: list[Callable[[], Coroutine[Any, Any, None]]] = []
        on_shutdown: list[Callable[[], Coroutine[Any, Any, None]]] = []
        if worker:
            engine = _engine(rt)
            on_startup.append(engine.start)
            on_shutdown.append(engine.stop)
        demo_facts = None
        if demo:
            demo_facts = await _prepare_demo(rt, emulator_port)
            _configure_logging(settings)

        def announce(base_url: str) -> None:
            mode = "with its worker" if worker else "API only (--no-worker)"
            out.print(
                f"postwright {__version__} serving {base_url} {mode}; "
                f"API docs {base_url}/docs; database {_describe_database(settings)}",
                markup=False,
            )
            if demo_facts is not None:
                _print_demo(demo_facts, base_url)

        config = uvicorn.Config(
            create_app(rt, on_startup=list(on_startup), on_shutdown=list(on_shutdown)),
            host=host,
            port=port,
            log_config=None,  # ours (_configure_logging): one format for every logger
            log_level=settings.log_level.lower(),
            server_header=False,
            lifespan="on",
        )
        _freeze_startup_heap()
        await _Server(config, on_started=announce).serve()


# -- the demo ------------------------------------------------------------------------------

_DEMO_WORKSPACE = "demo"
_DEMO_EMAIL = "demo@example.com"
# (handle, idempotency): one account sends Idempotency-Keys, one is matched by content
_DEMO_ACCOUNTS = (("demo-keyed", True), ("demo-plain", False))


@dataclass(frozen=True, slots=True)
class _DemoFacts:
    password: str
    emulator_url: str
    accounts: list[Account]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _emulator_port(requested: int | None, existing: list[Account]) -> int:
    """The requested port; else the one the demo accounts already point at, if it is free (so
    they keep working across restarts); else any free port."""
    if requested is not None:
        return requested
    for account in existing:
        previous = urlsplit(str(account.options.get("emulator_url", ""))).port
        if previous is not None and _port_is_free(previous):
            return previous
    return _free_port()


async def _start_emulator(port: int) -> str:
    """Run the emulator on 127.0.0.1:port in a daemon thread; its base URL once it answers."""
    from postwright.platforms.emulator.app import run

    if not _port_is_free(port):
        raise CliError(f"the emulator's port {port} is in use; pick another with --emulator-port")
    thread = threading.Thread(
        target=run, args=("127.0.0.1", port), name="postwright-emulator", daemon=True
    )
    thread.start()
    for _ in range(200):  # up to 10 s
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if not thread.is_alive():
                break
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return f"http://127.0.0.1:{port}"
    raise CliError(f"the emulator did not start on 127.0.0.1:{port}")


async def _prepare_demo(rt: Runtime, emulator_port: int | None) -> _DemoFacts:
    """Idempotently: the demo workspace and user, the emulator, two sandbox accounts on it."""
    password = os.environ.get("POSTWRIGHT_DEMO_PASSWORD") or secrets.token_urlsafe(12)
    user, workspace, _ = await identity.ensure_user(
        rt,
        email=_DEMO_EMAIL,
        password=password,
        workspace_name=_DEMO_WORKSPACE,
        role=Role.OWNER,
    )
    async with rt.db.read() as conn:
        membership = await identity_store.get_membership(
            conn, workspace_id=workspace.id, user_id=user.id
        )
    if membership is None:  # ensure_user has just made it
        raise CliError("the demo user has no membership in the demo workspace")
    principal = Principal(
        user_id=user.id, workspace_id=workspace.id, role=membership.role, via="cli"
    )
    existing = await account_service.list_accounts(rt, principal, platform="sandbox", status=None)
    by_handle = {a.handle: a for a in existing}
    demo_existing = [by_handle[h] for h, _ in _DEMO_ACCOUNTS if h in by_handle]
    emulator_url = await _start_emulator(_emulator_port(emulator_port, demo_existing))
    accounts: list[Account] = []
    for handle, idempotency in _DEMO_ACCOUNTS:
        account = by_handle.get(handle)
        if account is None:
            account = await account_service.create_account(
                rt,
                principal,
                account_service.AccountCreate(
                    platform="sandbox",
                    handle=handle,
                    options={"emulator_url": emulator_url, "idempotency": idempotency},
                ),
            )
        elif account.options.get("emulator_url") != emulator_url:
            _warn(
                f"the demo account {handle!r} points at {account.options.get('emulator_url')}, "
                f"not at this emulator ({emulator_url}); restart with "
                f"--emulator-port {urlsplit(str(account.options.get('emulator_url'))).port}"
            )
        accounts.append(account)
    return _DemoFacts(password=password, emulator_url=emulator_url, accounts=accounts)


_JSON_FIELD = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"{}\"])'"


def _print_demo(demo: _DemoFacts, base_url: str) -> None:
    targets = ",".join(f'{{"account_id":"{a.id}"}}' for a in demo.accounts)
    login = json.dumps({"email": _DEMO_EMAIL, "password": demo.password})
    lines = [
        "",
        f"demo: workspace {_DEMO_WORKSPACE!r}, log in as {_DEMO_EMAIL} "
        f"with the password {demo.password}",
        f"demo: the platform emulator runs at {demo.emulator_url} "
        f"(what it received: {demo.emulator_url}/_emulator/ledger)",
        *(
            f"demo: sandbox account {a.handle} {a.id} "
            f"(idempotency keys {'on' if a.options.get('idempotency') else 'off'})"
            for a in demo.accounts
        ),
        "demo: try it (log in, write a post to both accounts, publish it now, see it arrive):",
        f"  TOKEN=$(curl -s {base_url}/api/v1/auth/token -H 'Content-Type: application/json' "
        f"-d '{login}' | {_JSON_FIELD.format('access_token')})",
        f'  POST=$(curl -s {base_url}/api/v1/posts -H "Authorization: Bearer $TOKEN" '
        f"-H 'Content-Type: application/json' "
        f'-d \'{{"text":"Hello from postwright","targets":[{targets}]}}\' '
        f"| {_JSON_FIELD.format('id')})",
        f"  curl -s -X POST {base_url}/api/v1/posts/$POST/publish-now "
        '-H "Authorization: Bearer $TOKEN"',
        f"  curl -s {demo.emulator_url}/_emulator/ledger",
        "",
    ]
    for line in lines:
        out.print(line, markup=False)


# -- worker and emulator -------------------------------------------------------------------


@app.command()
def worker() -> None:
    """Publish due posts (no API) until SIGINT or SIGTERM, then stop gracefully.

    Run as many as you need against one PostgreSQL database; on SQLite, one on the same machine.
    """
    _run(_worker())


async def _wait_for_schema(rt: Runtime, stop: asyncio.Event) -> None:
    """Wait (until `stop`) for the schema to be current: `postwright serve` or `migrate` may be
    bringing it up to date, and a worker must not run against an older one."""
    told = False
    while not await is_current(rt.db):
        if not told:
            err.print(
                "waiting for the database schema to be current "
                "(run `postwright migrate` or start `postwright serve`)",
                markup=False,
            )
            told = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        if stop.is_set():
            return


async def _worker() -> None:
    settings = _settings()
    _configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            err.print("forced stop: deliveries being published will be reconciled", markup=False)
            os._exit(130)
        err.print(
            "stopping: finishing the publishes in flight and releasing claims "
            "(press Ctrl-C again to force)",
            markup=False,
        )
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    async with _runtime(settings) as rt:
        await _wait_for_schema(rt, stop)
        if stop.is_set():
            return
        engine = _engine(rt)
        _freeze_startup_heap()
        err.print(
            f"postwright {__version__} worker (pid {os.getpid()}) publishing from "
            f"{_describe_database(settings)}",
            markup=False,
        )
        await engine.run_forever(stop)
    err.print("worker stopped", markup=False)


def _freeze_startup_heap() -> None:
    """Move what start-up made (modules, app, pools: ~200,000 objects) out of the collector's
    reach. A full collection otherwise walks all of it and stops the event loop for 100-200 ms,
    which made a few percent of deliveries that late (docs/BENCHMARKS.md)."""
    gc.collect()
    gc.freeze()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8001,
) -> None:
    """Run the platform emulator: a stand-in for the platforms' APIs (tests, demo, benchmarks)."""
    from postwright.platforms.emulator.app import run

    # uvicorn re-raises the stopping signal after its graceful shutdown: make SIGTERM end as
    # quietly as Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    base_url = _base_url(host, port)
    err.print(
        f"postwright emulator at {base_url} (ledger {base_url}/_emulator/ledger); Ctrl-C stops",
        markup=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(host, port)


# -- users and tokens ----------------------------------------------------------------------


def _read_password(password: str | None, from_stdin: bool) -> str:
    if password is not None and from_stdin:
        raise CliError("give --password or --password-stdin, not both", code=2)
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if password is not None:
        return password
    if sys.stdin.isatty():
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    raise CliError("give a password with --password or --password-stdin", code=2)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="The user's email address (their login).")],
    workspace: Annotated[
        str, typer.Option(help="The workspace's name; created when it does not exist.")
    ],
    password: Annotated[
        str | None,
        typer.Option(help="At least 8 characters. Prefer --password-stdin (shell history)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    role: Annotated[
        Role | None,
        typer.Option(
            case_sensitive=False,
            help="Default: owner of a new workspace, editor of an existing one, "
            "or the user's current role there.",
        ),
    ] = None,
) -> None:
    """Create a user (or set a new password) and make them a member of a workspace."""

    async def create() -> None:
        secret = _read_password(password, password_stdin)
        async with _runtime() as rt:
            await _require_schema(rt)
            async with rt.db.read() as conn:
                found = await identity_store.get_workspace_by_name(conn, name=workspace)
                current: Role | None = None
                creds = await identity_store.get_user_credentials(conn, email=email)
                if found is not None and creds is not None:
                    membership = await identity_store.get_membership(
                        conn, workspace_id=found.id, user_id=creds.user.id
                    )
                    current = membership.role if membership else None
            chosen = role or current or (Role.OWNER if found is None else Role.EDITOR)
            user, ws, created = await identity.ensure_user(
                rt, email=email, password=secret, workspace_name=workspace, role=chosen
            )
        what = "created user" if created else "updated user (new password)"
        out.print(
            f"{what} {user.email}: {chosen.value} of workspace {ws.name!r}"
            f"{' (new)' if found is None else ''}",
            markup=False,
        )

    _run(create())


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Whose token: the user's email.")],
    workspace: Annotated[
        str | None,
        typer.Option(help="The workspace the token acts in; needed if the user is in several."),
    ] = None,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
) -> None:
    """Create a personal API token and print it (only it) on standard output.

    Use it as `TOKEN=$(postwright token create --email you@example.com)`; postwright keeps only
    a hash, so it cannot be shown again.
    """

    async def create() -> str:
        async with _runtime() as rt:
            await _require_schema(rt)
            async with rt.db.read() as conn:
                creds = await identity_store.get_user_credentials(conn, email=email)
                if creds is None:
                    raise CliError(
                        f"no user with the email {email.strip()!r}; "
                        "create one with `postwright user create`"
                    )
                if creds.disabled:
                    raise CliError(f"the user {creds.user.email} is disabled")
                memberships = await identity_store.list_user_workspaces(conn, user_id=creds.user.id)
            names = sorted(w.name for w, _ in memberships)
            if workspace is not None:
                chosen = [w for w, _ in memberships if w.name == workspace]
                if not chosen:
                    raise CliError(
                        f"{creds.user.email} is not a member of a workspace named {workspace!r} "
                        f"(member of: {', '.join(names) or 'none'})"
                    )
            elif len(memberships) == 1:
                chosen = [memberships[0][0]]
            elif not memberships:
                raise CliError(f"{creds.user.email} is not a member of any workspace")
            else:
                raise CliError(
                    f"{creds.user.email} is a member of several workspaces "
                    f"({', '.join(names)}); choose one with --workspace"
                )
            ws = chosen[0]
            token, record = await identity.create_api_token(
                rt,
                workspace_id=ws.id,
                user_id=creds.user.id,
                name=name,
                expires_at=None,
                actor_id=creds.user.id,
            )
        err.print(
            f"created API token {record.prefix}... ({record.name!r}) for {creds.user.email} "
            f"in workspace {ws.name!r}; it is shown once",
            markup=False,
        )
        return token

    token = _run(create())
    sys.stdout.write(token + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    app()
