"""Operator commands: pause and resume the engine, list dead letters, retry one, see the queue.

    postwright pause [--platform P]                  hold publishing everywhere (or for P)
    postwright resume [--platform P]                 publish again
    postwright dead-letters [--workspace W] [--limit N]
    postwright retry DELIVERY_ID                     failed -> scheduled now, fresh attempts
    postwright queue [--workspace W]                 deliveries by state, lag, pauses
    postwright keys rotate                           re-encrypt every secret under the
                                                     current POSTWRIGHT_SECRET_KEY

They act on the whole installation, as whoever can read its database can, through the same
services as the API. `ops_app` is a Typer app; `postwright.cli` merges its commands with
`app.add_typer(ops_app)` (or `register(app)`). Expected failures print one line on standard
error and exit non-zero, never a traceback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from postwright.auth.keyring import RotationReport, rotate_keys
from postwright.domain.errors import PostwrightError
from postwright.domain.platforms import Platform
from postwright.domain.timeutil import format_duration, format_utc
from postwright.runtime import Runtime
from postwright.services import deliveries as delivery_service
from postwright.services import system as system_service
from postwright.settings import get_settings

__all__ = ["ops_app", "register"]

T = TypeVar("T")

ops_app = typer.Typer(
    help="Operate the delivery engine: pause, resume, dead letters, retry, queue.",
    no_args_is_help=True,
    add_completion=False,
)


keys_app = typer.Typer(
    help="Secret keys: re-encrypt stored secrets after changing POSTWRIGHT_SECRET_KEY.",
    no_args_is_help=True,
    add_completion=False,
)
ops_app.add_typer(keys_app, name="keys")


def register(app: typer.Typer) -> None:
    """Add the operator commands to `app` at its top level."""
    app.add_typer(ops_app)


def _out() -> Console:
    # built per command, so that a test runner's captured stdout is the one written to
    return Console(soft_wrap=True, highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _database_problem(exc: BaseException) -> str | None:
    """One line when `exc` is the database refusing or unreachable (store/ owns SQLAlchemy)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__.startswith("sqlalchemy"):
            orig = getattr(seen, "orig", None) or seen
            lines = str(orig).strip().splitlines()
            reason = lines[0] if lines else type(orig).__name__
            return f"the database refused: {reason} (check POSTWRIGHT_DATABASE_URL)"
        if isinstance(seen, OSError):
            return f"cannot reach the database: {seen} (check POSTWRIGHT_DATABASE_URL)"
        seen = seen.__cause__ or seen.__context__
    return None


def _run(main: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(main)
    except PostwrightError as exc:
        _fail(exc.message)
    except Exception as exc:
        problem = _database_problem(exc)
        if problem is None:
            raise
        _fail(problem)


def _runtime() -> Runtime:
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"POSTWRIGHT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        _fail(f"bad setting: {problems}", 2)
    try:
        return Runtime.from_settings(settings)
    except ValueError as exc:  # an unsupported database URL
        _fail(f"POSTWRIGHT_DATABASE_URL: {exc}", 2)


def _platform(name: str | None) -> Platform | None:
    if name is None:
        return None
    try:
        return system_service.parse_platform(name)
    except PostwrightError as exc:
        _fail(exc.message, 2)


PlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        help=f"Only this platform ({', '.join(p.value for p in Platform)}); default: all.",
    ),
]
WorkspaceOption = Annotated[
    str | None, typer.Option("--workspace", help="Only this workspace (by name).")
]


def _set_pause(paused: bool, platform: Platform | None) -> None:
    async def main() -> tuple[bool, int]:
        rt = _runtime()
        try:
            return await system_service.set_engine_pause(rt, paused=paused, platform=platform)
        finally:
            await rt.close()

    changed, released = _run(main())
    what = f"publishing to {platform.value}" if platform else "all publishing"
    if paused:
        state = "paused" if changed else "was already paused"
        extra = f"; {released} claimed deliveries handed back" if released else ""
        _out().print(f"{what} {state} on every workspace{extra}", markup=False)
    else:
        state = "resumed" if changed else "was not paused"
        _out().print(f"{what} {state}", markup=False)


@ops_app.command("pause")
def pause(platform: PlatformOption = None) -> None:
    """Hold publishing on every workspace, or for one platform.

    Deliveries stay where they are until `postwright resume`; those already being published
    finish. A paused workspace (the API's POST /workspace/pause) is separate.
    """
    _set_pause(True, _platform(platform))


@ops_app.command("resume")
def resume(platform: PlatformOption = None) -> None:
    """Publish again after `postwright pause` (with the same --platform)."""
    _set_pause(False, _platform(platform))


@ops_app.command("dead-letters")
def dead_letters(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most N.")] = 50,
) -> None:
    """List failed deliveries (dead letters), the most recent first."""

    async def main() -> tuple[list[Any], int]:
        rt = _runtime()
        try:
            return await delivery_service.operator_dead_letters(
                rt, workspace_name=workspace, limit=limit
            )
        finally:
            await rt.close()

    found, total = _run(main())
    out = _out()
    if not found:
        out.print("no failed deliveries", markup=False)
        return
    table = Table(title=f"failed deliveries: {len(found)} of {total}", title_justify="left")
    for column in ("delivery", "workspace", "account", "attempts", "failed at", "reason"):
        table.add_column(column, overflow="fold")
    for d in found:
        table.add_row(
            str(d.delivery_id),
            d.workspace,
            f"{d.platform}:{d.handle}",
            str(d.attempts),
            format_utc(d.failed_at),
            d.last_error or d.error_class or "",
        )
    out.print(table)
    out.print("retry one with: postwright retry DELIVERY_ID", markup=False)


@ops_app.command("retry")
def retry(delivery_id: Annotated[str, typer.Argument(help="The failed delivery's id.")]) -> None:
    """Send a failed delivery again now, with a fresh attempt budget."""
    try:
        parsed = uuid.UUID(delivery_id.strip())
    except ValueError:
        _fail(f"{delivery_id!r} is not a delivery id (a UUID)", 2)

    async def main() -> delivery_service.DeliveryItem:
        rt = _runtime()
        try:
            return await delivery_service.operator_retry(rt, parsed)
        finally:
            await rt.close()

    item = _run(main())
    d = item.delivery
    _out().print(
        f"delivery {d.id} to {d.platform.value}:{item.row.account_handle} is scheduled again "
        f"(due {format_utc(d.due_at) if d.due_at else 'now'})",
        markup=False,
    )


@ops_app.command("queue")
def queue(workspace: WorkspaceOption = None) -> None:
    """Deliveries by state, how late the oldest due one is, deferrals and pauses."""

    async def main() -> system_service.QueueStatus:
        rt = _runtime()
        try:
            return await system_service.operator_queue(rt, workspace_name=workspace)
        finally:
            await rt.close()

    status = _run(main())
    out = _out()
    table = Table(title="deliveries by state", title_justify="left")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in status.counts.items():
        table.add_row(state, str(count))
    out.print(table)
    if status.oldest_due_at is None:
        out.print("lag: none (nothing due is waiting)", markup=False)
    else:
        out.print(
            f"lag: {status.lag_s:.3f} s ({format_duration(status.lag_s)}; oldest due at "
            f"{format_utc(status.oldest_due_at)})",
            markup=False,
        )
    out.print(f"workers alive: {status.workers}", markup=False)
    pauses = []
    if status.paused.everything:
        pauses.append("everything")
    pauses += [f"platform {p}" for p in status.paused.platforms]
    if status.paused.workspace:
        pauses.append(f"workspace {workspace}")
    out.print(f"paused: {', '.join(pauses) if pauses else 'nothing'}", markup=False)
    if status.deferrals:
        deferred = Table(title="deferred", title_justify="left")
        for column in ("account", "count", "next", "reason"):
            deferred.add_column(column, overflow="fold")
        for d in status.deferrals:
            deferred.add_row(
                f"{d.platform}:{d.handle}",
                str(d.count),
                format_utc(d.next_at) if d.next_at else "",
                d.reason or "",
            )
        out.print(deferred)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the current POSTWRIGHT_SECRET_KEY.

    First set POSTWRIGHT_SECRET_KEY to the new key and POSTWRIGHT_PREVIOUS_SECRET_KEYS to the
    old one(s), then run this; it is safe to run again and while postwright runs. Once it
    reports nothing under an old key, remove the old key from POSTWRIGHT_PREVIOUS_SECRET_KEYS.
    """

    async def main() -> RotationReport:
        rt = _runtime()
        try:
            return await rotate_keys(rt)
        finally:
            await rt.close()

    report = _run(main())
    out = _out()
    table = Table(title=f"secrets by column (current key id {report.key_id})", title_justify="left")
    for column in ("column", "re-encrypted", "already current", "unreadable"):
        table.add_column(column, justify="left" if column == "column" else "right")
    for name, counts in report.columns.items():
        table.add_row(
            name,
            str(counts.rotated),
            str(counts.current + counts.changed_meanwhile),
            str(counts.unreadable),
        )
    out.print(table)
    out.print(f"re-encrypted {report.rotated} secret(s) under key {report.key_id}", markup=False)
    if report.unreadable:
        _fail(
            f"{report.unreadable} secret(s) open with none of the configured keys: add the key "
            "they were sealed with to POSTWRIGHT_PREVIOUS_SECRET_KEYS and run this again "
            "(or reconnect those accounts)"
        )
