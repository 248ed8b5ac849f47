"""The browser tests' stack and helpers: a real postwright and emulator in subprocesses, users
and accounts in them, and a few Playwright conveniences.

X and Mastodon accounts point at the emulator (the X adapter through `POSTWRIGHT_PLATFORM_URLS`,
Mastodon through the account's `instance_url`), so posts really go out, and faults injected
into the emulator really fail them. Facebook Login is the emulator's too (`POSTWRIGHT_OAUTH_URLS`
and the client it expects), so a test can connect Pages through its consent form.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from postwright.domain.models import AccountStatus
from postwright.platforms.emulator.oauth_core import client_secret_for, emulator_oauth_urls
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store import accounts as account_store
from postwright.store import identity as identity_store

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
WORKSPACE = "acme"
SECRET_KEY = "e2e-secret-key-not-for-production-0123456789"
# the browser runs in this zone, so the dates a test types mean one known instant
BROWSER_TIME_ZONE = "Europe/Paris"
FACEBOOK_CLIENT_ID = "pw-e2e-facebook"


@dataclass(frozen=True)
class User:
    email: str
    role: str


@dataclass
class Stack:
    """The running postwright and emulator, and what was set up in them."""

    base_url: str
    emulator_url: str
    owner: User
    editor: User
    approver: User
    accounts: dict[str, str]  # handle -> account id
    _tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, user: User | None = None) -> httpx.Client:
        """An API client acting as `user` (default: the owner) with a bearer token."""
        user = user or self.owner
        if user.email not in self._tokens:
            response = httpx.post(
                self.url("/api/v1/auth/token"),
                json={"email": user.email, "password": PASSWORD},
                timeout=10,
            )
            response.raise_for_status()
            self._tokens[user.email] = response.json()["access_token"]
        return httpx.Client(
            base_url=self.url("/api/v1"),
            headers={"Authorization": f"Bearer {self._tokens[user.email]}"},
            timeout=10,
        )

    def inject_fault(self, rule: dict[str, Any]) -> None:
        """Add a fault rule to the emulator (`POST /_emulator/faults`)."""
        response = httpx.post(f"{self.emulator_url}/_emulator/faults", json=rule, timeout=5)
        assert response.status_code in (200, 201), response.text


# -- starting the stack --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli() -> list[str]:
    # the CLI of the interpreter running the tests, whatever its virtualenv is called
    return [sys.executable, "-c", "from postwright.cli import app; app()"]


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(
        [*_cli(), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"postwright {' '.join(args)} failed:\n{result.stderr}"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 30 s:\n{log.read_text()}")


async def _platform_accounts(settings: Settings, emulator_url: str) -> dict[str, str]:
    """An X and a Mastodon account on the emulator, written straight into the store: their
    OAuth connect flows end on the platforms' consent screens, which a test cannot click."""
    rt = Runtime.from_settings(settings)
    made: dict[str, str] = {}
    mastodon_options = {"instance_url": emulator_url}
    try:
        async with rt.db.write() as conn:
            workspace = await identity_store.get_workspace_by_name(conn, name=WORKSPACE)
            assert workspace is not None
            for platform, handle, token, external_id, options in (
                ("x", "acme", "x-user-1001", "1001", {}),
                ("mastodon", "acme", "mastodon-account-2002", "2002", mastodon_options),
            ):
                account = await account_store.create_account(
                    conn,
                    workspace_id=workspace.id,
                    platform=platform,
                    handle=handle,
                    display_name="Acme Studio",
                    status=AccountStatus.ACTIVE,
                    options=options,
                    credentials=rt.secretbox.seal({"access_token": token}),
                    external_id=external_id,
                    token_expires_at=None,
                    now=rt.now(),
                )
                made[platform] = str(account.id)
    finally:
        await rt.close()
    return made


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    """Migrate a fresh data directory, create the users and accounts, start the emulator and
    `postwright serve` (with its engine); stop both on the way out."""
    data_dir = tmp / "data"
    emulator_port, port = _free_port(), _free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSTWRIGHT_")},
        "POSTWRIGHT_DATA_DIR": str(data_dir),
        "POSTWRIGHT_SECRET_KEY": SECRET_KEY,
        "POSTWRIGHT_PUBLIC_URL": base_url,
        "POSTWRIGHT_SANDBOX_URL": emulator_url,
        "POSTWRIGHT_PLATFORM_URLS": json.dumps({"x": emulator_url}),
        "POSTWRIGHT_OAUTH_URLS": json.dumps(
            {
                k: v
                for k, v in emulator_oauth_urls(emulator_url).items()
                if k.startswith("facebook.")
            }
        ),
        "POSTWRIGHT_FACEBOOK_CLIENT_ID": FACEBOOK_CLIENT_ID,
        "POSTWRIGHT_FACEBOOK_CLIENT_SECRET": client_secret_for(FACEBOOK_CLIENT_ID),
        "POSTWRIGHT_LOG_LEVEL": "warning",
    }
    owner = User("owner@acme.test", "owner")
    editor = User("editor@acme.test", "editor")
    approver = User("approver@acme.test", "admin")

    _run(["migrate"], env)
    for user in (owner, editor, approver):
        args = ["user", "create", "--email", user.email, "--workspace", WORKSPACE]
        _run([*args, "--role", user.role, "--password-stdin"], env, stdin=PASSWORD + "\n")
    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY)
    # in a thread of its own: Playwright's sync API may already run an event loop in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        accounts = pool.submit(asyncio.run, _platform_accounts(settings, emulator_url)).result()

    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, args, health in (
            ("emulator", ["emulator", "--port", str(emulator_port)], "/_emulator/health"),
            ("serve", ["serve", "--port", str(port)], "/health"),
        ):
            log = tmp / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [*_cli(), *args], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            processes.append(process)
            root = emulator_url if name == "emulator" else base_url
            _wait_until_up(root + health, process, log)
        yield Stack(
            base_url=base_url,
            emulator_url=emulator_url,
            owner=owner,
            editor=editor,
            approver=approver,
            accounts=accounts,
        )
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


# -- in the browser ------------------------------------------------------------------------


def screenshot(tab: Any, name: str, *, full_page: bool = False) -> None:
    """Save the tab to artifacts/screenshots/<name>.png."""
    tab.wait_for_timeout(300)  # let counters, previews and fonts settle
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def log_in(tab: Any, stack: Stack, user: User, *, next_path: str = "/") -> None:
    tab.goto(stack.url(f"/login?next={next_path}"))
    tab.get_by_label("Email address").fill(user.email)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(stack.url(next_path))


def wait_for(check: Callable[[], T | None], *, what: str, timeout: float = 20) -> T:
    """Call `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.2)
