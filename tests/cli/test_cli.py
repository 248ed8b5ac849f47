"""The `postwright` command line: in-process with Typer's CliRunner, and as real processes where
signals, exit codes and standard output matter (`serve`, `token create` in a shell)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from postwright import __version__
from postwright.api.app import create_app
from postwright.cli import app
from postwright.runtime import Runtime
from postwright.settings import Settings, get_settings
from postwright.store.db import Database
from postwright.store.migrate import head_revision, is_current
from tests.support.pg import PG_ADMIN_URL, create_database, drop_database

SECRET = "cli-test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "correct horse battery"


def clean_env(**values: str) -> dict[str, str]:
    """The current environment without any POSTWRIGHT_* setting, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWRIGHT_")}
    env.update(values)
    return env


class Cli:
    """Runs `postwright` in-process against one data directory and database."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url

    @property
    def env(self) -> dict[str, str | None]:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POSTWRIGHT_")}
        env["POSTWRIGHT_DATA_DIR"] = str(self.data_dir)
        env["POSTWRIGHT_SECRET_KEY"] = SECRET
        if self.database_url is not None:
            env["POSTWRIGHT_DATABASE_URL"] = self.database_url
        return env

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), input=input, env={**self.env, **(env or {})})
        finally:
            get_settings.cache_clear()

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.database_url, secret_key=SECRET)


def assert_clean_failure(result: Result, message: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    """The CLI on the test database (SQLite and PostgreSQL), already migrated."""
    return Cli(tmp_path / "data", database_url)


@pytest.fixture
def fresh_cli(tmp_path: Path) -> Cli:
    """The CLI on its defaults: an embedded SQLite file in a new data directory."""
    return Cli(tmp_path / "data")


@pytest.fixture
def empty_pg_url(pg_database_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (`pg_database_url` skips or fails as the suite does)."""
    name = f"pw_cli_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(PG_ADMIN_URL, name)
    yield url
    drop_database(PG_ADMIN_URL, name)


async def schema_is_current(url: str) -> bool:
    db = Database(url)
    try:
        return await is_current(db)
    finally:
        await db.dispose()


# -- basics --------------------------------------------------------------------------------


def test_version(fresh_cli: Cli) -> None:
    result = fresh_cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"postwright {__version__}\n"


def test_no_arguments_shows_help(fresh_cli: Cli) -> None:
    result = fresh_cli()
    assert "Usage" in result.output
    for command in ("init", "migrate", "serve", "worker", "emulator", "user", "token"):
        assert command in result.output


# -- init and migrate ----------------------------------------------------------------------


def test_init_creates_the_data_directory_and_database(fresh_cli: Cli) -> None:
    result = fresh_cli("init")
    assert result.exit_code == 0, result.output
    assert (fresh_cli.data_dir / "postwright.db").is_file()
    assert not (fresh_cli.data_dir / "secret_key").exists()  # POSTWRIGHT_SECRET_KEY is set
    assert f"created (revision {head_revision()})" in result.stdout
    assert str(fresh_cli.data_dir.resolve()) in result.stdout

    again = fresh_cli("init")
    assert again.exit_code == 0, again.output
    assert "already current" in again.stdout


def test_init_generates_the_secret_key_when_unset(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    result = cli("init", env={"POSTWRIGHT_SECRET_KEY": ""})  # empty counts as unset
    assert result.exit_code == 0, result.output
    key = tmp_path / "data" / "secret_key"
    assert key.is_file()
    assert key.stat().st_mode & 0o077 == 0


def test_init_and_migrate_on_a_current_database(cli: Cli) -> None:
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert "already current" in result.stdout
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    assert "already current" in result.stdout
    result = cli("migrate", "--check")
    assert result.exit_code == 0, result.output
    assert "current" in result.stdout


def test_migrate_check_fails_until_migrated_on_sqlite(fresh_cli: Cli) -> None:
    result = fresh_cli("migrate", "--check")
    assert_clean_failure(result, "run `postwright migrate`")

    result = fresh_cli("migrate")
    assert result.exit_code == 0, result.output
    assert f"created the database schema (revision {head_revision()})" in result.stdout
    assert fresh_cli("migrate", "--check").exit_code == 0


@pytest.mark.postgres
def test_init_creates_the_schema_on_postgres(empty_pg_url: str, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data", empty_pg_url)
    assert_clean_failure(cli("migrate", "--check"), "run `postwright migrate`")
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout
    assert asyncio.run(schema_is_current(empty_pg_url))
    assert cli("migrate", "--check").exit_code == 0


# -- users and tokens ----------------------------------------------------------------------


async def list_accounts(settings: Settings, token: str) -> httpx.Response:
    rt = Runtime.from_settings(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(
                "/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        await rt.close()


def test_user_then_token_create_gives_a_working_token(cli: Cli) -> None:
    result = cli(
        "user", "create", "--email", "Ann@Example.com", "--password", PASSWORD,
        "--workspace", "acme",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ann@example.com" in result.stdout
    assert "owner" in result.stdout  # the workspace is new

    result = cli("token", "create", "--email", "ann@example.com", "--name", "ci")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert result.stdout == lines[0] + "\n"
    token = lines[0]
    assert token.startswith("pw_")
    assert "shown once" in result.stderr

    response = asyncio.run(list_accounts(cli.settings(), token))
    assert response.status_code == 200, response.text
    assert asyncio.run(list_accounts(cli.settings(), token + "x")).status_code == 401


def test_password_from_stdin(cli: Cli) -> None:
    result = cli(
        "user", "create", "--email", "bo@example.com", "--workspace", "acme", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_default_role_is_editor_in_an_existing_workspace_and_kept_on_update(cli: Cli) -> None:
    base = ("user", "create", "--password", PASSWORD, "--workspace", "acme", "--email")
    assert "owner" in cli(*base, "owner@example.com").stdout
    assert "editor" in cli(*base, "ed@example.com").stdout
    assert "admin" in cli(*base, "ed@example.com", "--role", "admin").stdout
    # running it again (a new password) keeps the roles people have
    assert "admin" in cli(*base, "ed@example.com").stdout
    assert "owner" in cli(*base, "owner@example.com").stdout


def test_bad_email_is_one_line_on_stderr(cli: Cli) -> None:
    result = cli(
        "user", "create", "--email", "not-an-email", "--password", PASSWORD, "--workspace", "acme"
    )
    assert_clean_failure(result, "'not-an-email' is not an email address")


def test_short_password_is_one_line_on_stderr(cli: Cli) -> None:
    result = cli("user", "create", "--email", "a@example.com", "--password", "short",
                 "--workspace", "acme")  # fmt: skip
    assert_clean_failure(result, "the password must be at least 8 characters long")


def test_password_twice_is_a_usage_error(cli: Cli) -> None:
    result = cli(
        "user", "create", "--email", "a@example.com", "--password", PASSWORD, "--password-stdin",
        "--workspace", "acme", input=PASSWORD,
    )  # fmt: skip
    assert_clean_failure(result, "not both")
    assert result.exit_code == 2


def test_users_need_an_initialised_database(fresh_cli: Cli) -> None:
    result = fresh_cli("user", "create", "--email", "a@example.com", "--password", PASSWORD,
                       "--workspace", "acme")  # fmt: skip
    assert_clean_failure(result, "the database schema is empty")
    assert "run `postwright init`" in result.stderr


def test_token_for_an_unknown_user(cli: Cli) -> None:
    result = cli("token", "create", "--email", "ghost@example.com")
    assert_clean_failure(result, "no user with the email 'ghost@example.com'")


def test_token_needs_a_workspace_when_the_user_has_several(cli: Cli) -> None:
    for workspace in ("acme", "globex"):
        result = cli("user", "create", "--email", "a@example.com", "--password", PASSWORD,
                     "--workspace", workspace)  # fmt: skip
        assert result.exit_code == 0, result.output
    result = cli("token", "create", "--email", "a@example.com")
    assert_clean_failure(result, "several workspaces (acme, globex); choose one with --workspace")

    result = cli("token", "create", "--email", "a@example.com", "--workspace", "initech")
    assert_clean_failure(result, "not a member of a workspace named 'initech'")

    result = cli("token", "create", "--email", "a@example.com", "--workspace", "globex")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("pw_")


# -- configuration errors ------------------------------------------------------------------


def test_unsupported_database_url(fresh_cli: Cli) -> None:
    result = fresh_cli("migrate", env={"POSTWRIGHT_DATABASE_URL": "mysql://u@localhost/db"})
    assert_clean_failure(result, "unsupported database URL scheme")


def test_unreachable_database(fresh_cli: Cli) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://postgres:hunter2@127.0.0.1:{port}/nothing"
    result = fresh_cli("migrate", "--check", env={"POSTWRIGHT_DATABASE_URL": url})
    assert_clean_failure(result, "cannot reach the database")
    assert "hunter2" not in result.output


def test_bad_setting(fresh_cli: Cli) -> None:
    result = fresh_cli("init", env={"POSTWRIGHT_CLAIM_BATCH": "many"})
    assert_clean_failure(result, "POSTWRIGHT_CLAIM_BATCH")
    assert result.exit_code == 2


def test_bad_plans(fresh_cli: Cli) -> None:
    result = fresh_cli("init", env={"POSTWRIGHT_PLANS": '{"pro": {"max_days_ahead": -1}}'})
    assert_clean_failure(result, "POSTWRIGHT_PLANS: plans.pro.max_days_ahead: must be a whole")


# -- real processes ------------------------------------------------------------------------


def postwright(*args: str) -> list[str]:
    return [sys.executable, "-m", "postwright.cli", *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_token_create_in_a_shell_prints_only_the_token(tmp_path: Path) -> None:
    env = clean_env(POSTWRIGHT_DATA_DIR=str(tmp_path / "data"))
    init = subprocess.run(
        postwright("init"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert init.returncode == 0, init.stderr
    created = subprocess.run(
        postwright("user", "create", "--email", "a@example.com", "--workspace", "acme",
                   "--password-stdin"),
        input=PASSWORD, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = subprocess.run(
        postwright("token", "create", "--email", "a@example.com"),
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert token.returncode == 0, token.stderr
    assert token.stdout.count("\n") == 1
    assert token.stdout.startswith("pw_")
    assert "shown once" in token.stderr


def test_bad_email_in_a_real_process(tmp_path: Path) -> None:
    env = clean_env(POSTWRIGHT_DATA_DIR=str(tmp_path / "data"))
    init = subprocess.run(
        postwright("init"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert init.returncode == 0, init.stderr
    done = subprocess.run(
        postwright("user", "create", "--email", "nope", "--password", PASSWORD,
                   "--workspace", "acme"),
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "error: email: 'nope' is not an email address\n"
    assert done.stdout == ""


def test_serve_without_worker_starts_on_a_fresh_directory_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = clean_env(POSTWRIGHT_DATA_DIR=str(tmp_path / "data"))
    server = subprocess.Popen(
        postwright("serve", "--no-worker", "--port", str(port)),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health within 30 s"
            time.sleep(0.1)
        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["migrations"] == "current"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            stdout, stderr = server.communicate()
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"serving {base}" in stdout
    assert "warning: --no-worker with the embedded SQLite database" in stderr
    assert (tmp_path / "data" / "postwright.db").is_file()
