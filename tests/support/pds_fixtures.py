"""pytest fixture for the reference Bluesky PDS.

Use it by importing it into a test module (or a conftest)::

    from tests.support.pds_fixtures import pds

    def test_something(pds: PdsServer) -> None:
        account = pds.create_account("alice")

One PDS process serves the whole pytest session, however many modules import
the fixture. If it cannot be installed or started, tests using it are
skipped with the reason -- except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import pytest

from tests.support.node_service import SharedService, in_ci
from tests.support.pds import PdsServer, run_pds

__all__ = ["in_ci", "pds"]

_SHARED = SharedService("reference Bluesky PDS", run_pds)


@pytest.fixture(scope="session")
def pds(request: pytest.FixtureRequest) -> PdsServer:
    """A running reference PDS (+ in-memory PLC) on 127.0.0.1, shared by the session."""
    return _SHARED.get(request)
