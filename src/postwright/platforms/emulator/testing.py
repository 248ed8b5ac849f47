"""An emulator on a free local port, served in a background thread: for tests and benchmarks.

with BackgroundEmulator() as emulator:
    httpx.post(f"{emulator.url}/sandbox/alice/posts", ...)
    emulator.app.ledger.entries()
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from postwright.platforms.emulator.app import EmulatorApp, create_app
from postwright.platforms.emulator.server import make_server

__all__ = ["BackgroundEmulator"]


class BackgroundEmulator:
    """A real uvicorn server for `app` (a fresh emulator by default) on 127.0.0.1:<free port>."""

    def __init__(self, app: EmulatorApp | None = None, *, host: str = "127.0.0.1") -> None:
        self.app = app if app is not None else create_app()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((host, 0))
        port: int = self._socket.getsockname()[1]
        self.url = f"http://{host}:{port}"
        self.server = make_server(self.app, holds=self.app.holds, host=host, port=port)
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self._socket]},
            name=f"emulator-{port}",
            daemon=True,
        )

    def start(self, timeout: float = 5.0) -> None:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start on {self.url}")
            time.sleep(0.005)

    def stop(self, timeout: float = 5.0) -> float:
        """Stop serving (held requests are let go); returns the seconds it took."""
        started = time.monotonic()
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"the emulator on {self.url} did not stop within {timeout} s")
        return time.monotonic() - started

    def __enter__(self) -> BackgroundEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
