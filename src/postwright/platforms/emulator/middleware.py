"""The outermost emulator layer: stamp each request's arrival, and carry out after-store faults.

The fault gate decides *that* a request will be held or dropped; the handler then stores the post
and answers as usual; this middleware swallows that answer and instead:

- HOLD: waits until the client disconnects, or until `Holds.release_all` (server shutdown), when
  it drops the connection. Nothing blocks: each request is its own task. (In process, under
  `httpx.ASGITransport`, a held request never ends: test holds over a real socket.)
- DROP: aborts the TCP connection before a single byte is written, so the client sees "server
  disconnected without sending a response". ASGI has no message for that, so the transport is
  reached through uvicorn's `send` (a bound method of its request cycle, which owns the
  transport). Under any other server (e.g. `httpx.ASGITransport`) `ConnectionResetError` is raised
  instead, which such test clients re-raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postwright.platforms.emulator.exchange import SCOPE_KEY, AfterStore, Exchange

__all__ = ["ExchangeMiddleware", "Holds"]

_DISCONNECT_GRACE = 1.0
"""Seconds to wait for the server to notice a dropped connection before returning anyway."""


class Holds:
    """The requests currently held open, so a stopping server can let them go."""

    def __init__(self) -> None:
        self._released: set[asyncio.Event] = set()

    def __len__(self) -> int:
        return len(self._released)

    def open(self) -> asyncio.Event:
        """Register a held request; the event is set when it must be let go."""
        released = asyncio.Event()
        self._released.add(released)
        return released

    def close(self, released: asyncio.Event) -> None:
        """Forget a held request that has ended."""
        self._released.discard(released)

    def release_all(self) -> None:
        """Let every held request go (each one drops its connection)."""
        for released in self._released:
            released.set()


class ExchangeMiddleware:
    """Opens each request's `Exchange` and enacts its after-store fault, if any."""

    def __init__(self, app: ASGIApp, *, holds: Holds) -> None:
        self.app = app
        self.holds = holds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(received_at=time.time())
        scope[SCOPE_KEY] = exchange

        async def send_unless_faulted(message: Message) -> None:
            if exchange.after_store is None:
                await send(message)

        await self.app(scope, receive, send_unless_faulted)
        if exchange.after_store is AfterStore.HOLD:
            await self._hold(receive, send)
        elif exchange.after_store is AfterStore.DROP:
            await _drop(receive, send)

    async def _hold(self, receive: Receive, send: Send) -> None:
        released = self.holds.open()
        client_left = asyncio.ensure_future(_until_disconnect(receive))
        let_go = asyncio.ensure_future(released.wait())
        try:
            await asyncio.wait({client_left, let_go}, return_when=asyncio.FIRST_COMPLETED)
            must_drop = not client_left.done()
        finally:
            client_left.cancel()
            let_go.cancel()
            self.holds.close(released)
        if must_drop:
            await _drop(receive, send)


class _Abortable(Protocol):
    def abort(self) -> None: ...


def _transport_of(send: Send) -> _Abortable | None:
    # uvicorn (httptools and h11) passes `RequestResponseCycle.send`, whose owner holds the
    # connection's transport (asyncio's or uvloop's; both have `abort`).
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if callable(getattr(transport, "abort", None)) else None


async def _drop(receive: Receive, send: Send) -> None:
    transport = _transport_of(send)
    if transport is None:
        raise ConnectionResetError("emulated connection reset (no transport to abort)")
    transport.abort()
    # Return only once the server has seen the connection go; otherwise it would log that the
    # app sent no response and try to answer 500 on our behalf.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_GRACE):
            await _until_disconnect(receive)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
