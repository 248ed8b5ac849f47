"""Serving the emulator with uvicorn, tuned for throughput and for clean stops.

- httptools and uvloop when installed (uvicorn's "auto"), no access log.
- Requests held open by `timeout_after_store` are let go first thing on shutdown (each drops its
  connection), so they never make a stop wait; a short graceful timeout backs that up.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp

from postwright.platforms.emulator.middleware import Holds

__all__ = ["EmulatorServer", "make_server"]

_GRACEFUL_SHUTDOWN_SECONDS = 3


class EmulatorServer(uvicorn.Server):
    """A uvicorn server that releases the emulator's held requests when it stops."""

    def __init__(self, config: uvicorn.Config, *, holds: Holds) -> None:
        super().__init__(config)
        self.holds = holds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Let held requests go, then stop as uvicorn does."""
        self.holds.release_all()
        await super().shutdown(sockets=sockets)


def make_server(
    app: ASGIApp, *, holds: Holds, host: str, port: int, log_level: str = "warning"
) -> EmulatorServer:
    """A server for `app` on host:port (port 0: pass bound `sockets` to `run`/`serve` instead)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",  # uvloop if installed
        http="auto",  # httptools if installed
        lifespan="off",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )
    return EmulatorServer(config, holds=holds)
