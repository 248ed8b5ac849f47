"""pytest fixture for the reference Bluesky PDS.

Use it by importing it into a test module (or a conftest)::

    from tests.support.pds_fixtures import pds

    def test_something(pds: PdsServer) -> None:
        account = pds.create_account("alice")

One PDS process serves the whole pytest session, however many modules import
the fixture (each import would otherwise be its own session-scoped fixture and
start its own PDS). If it cannot be installed or started, tests using it are
skipped with the reason -- except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from tests.support.pds import PdsServer, PdsUnavailable, run_pds

__all__ = ["in_ci", "pds"]


class _Shared:
    server: PdsServer | None = None
    error: PdsUnavailable | None = None
    stack: contextlib.ExitStack | None = None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _stop_shared() -> None:
    stack, _Shared.stack, _Shared.server = _Shared.stack, None, None
    if stack is not None:
        stack.close()


@pytest.fixture(scope="session")
def pds(request: pytest.FixtureRequest) -> PdsServer:
    """A running reference PDS (+ in-memory PLC) on 127.0.0.1, shared by the session."""
    if _Shared.server is None and _Shared.error is None:
        stack = contextlib.ExitStack()
        try:
            _Shared.server = stack.enter_context(run_pds())
        except PdsUnavailable as exc:
            stack.close()
            _Shared.error = exc
        else:
            _Shared.stack = stack
            # Stopped at the very end of the session, after every user of it.
            request.session.config.add_cleanup(_stop_shared)
    if _Shared.server is not None:
        return _Shared.server
    assert _Shared.error is not None
    if in_ci():
        raise _Shared.error
    pytest.skip(f"reference Bluesky PDS unavailable: {_Shared.error}")
