"""The operator commands are part of `postwright` itself: listed in its help, runnable through
the main app in-process, and through the installed console script as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from postwright.cli import app
from postwright.settings import get_settings

SECRET = "cli-wiring-test-secret-key-0123456789-abcdefgh"
OPS_COMMANDS = ("pause", "resume", "dead-letters", "retry", "queue")


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWRIGHT_")}
    env.update(POSTWRIGHT_DATA_DIR=str(data_dir), POSTWRIGHT_SECRET_KEY=SECRET, COLUMNS="200")
    if database_url is not None:
        env["POSTWRIGHT_DATABASE_URL"] = database_url
    return env


def _invoke(env: dict[str, str], *args: str) -> Result:
    # CliRunner's env only adds to os.environ: unset every POSTWRIGHT_* the test run may carry
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POSTWRIGHT_")}
    overrides.update(env)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=overrides)
    finally:
        get_settings.cache_clear()


def test_the_main_help_lists_the_operator_commands(tmp_path: Path) -> None:
    result = _invoke(_env(tmp_path / "data"), "--help")
    assert result.exit_code == 0, result.output
    for command in (*OPS_COMMANDS, "init", "serve", "worker", "user", "token"):
        assert command in result.output, command


@pytest.mark.parametrize("command", OPS_COMMANDS)
def test_each_operator_command_has_its_own_help(tmp_path: Path, command: str) -> None:
    result = _invoke(_env(tmp_path / "data"), command, "--help")
    assert result.exit_code == 0, result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert f" {command} " in usage, usage


def test_pause_queue_resume_through_the_main_app(database_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path / "data", database_url)

    paused = _invoke(env, "pause", "--platform", "x")
    assert paused.exit_code == 0, paused.output
    queue = _invoke(env, "queue")
    assert queue.exit_code == 0, queue.output
    assert "paused: platform x" in queue.stdout

    resumed = _invoke(env, "resume", "--platform", "x")
    assert resumed.exit_code == 0, resumed.output
    again = _invoke(env, "queue")
    assert "paused: nothing" in again.stdout

    letters = _invoke(env, "dead-letters")
    assert letters.exit_code == 0, letters.output
    assert "no failed deliveries" in letters.stdout


def test_retry_refuses_a_bad_id_in_one_line(tmp_path: Path) -> None:
    result = _invoke(_env(tmp_path / "data"), "retry", "not-a-uuid")
    assert result.exit_code == 2, result.output
    assert "is not a delivery id" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_the_installed_command_runs_them(tmp_path: Path) -> None:
    postwright = str(Path(sys.executable).with_name("postwright"))
    env = _env(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [postwright, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    helped = run("--help")
    assert helped.returncode == 0, helped.stderr
    for command in OPS_COMMANDS:
        assert command in helped.stdout, command

    assert run("init").returncode == 0
    queue = run("queue")
    assert queue.returncode == 0, queue.stderr
    assert "deliveries by state" in queue.stdout
    assert "paused: nothing" in queue.stdout
