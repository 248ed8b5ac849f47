"""Per-request state shared by the outer middleware, the fault gate and the platform handlers."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from starlette.types import Scope

__all__ = ["SCOPE_KEY", "AfterStore", "Exchange", "exchange_of"]

SCOPE_KEY = "postwright.emulator.exchange"


class AfterStore(enum.Enum):
    """What becomes of the response once the handler has stored the post."""

    HOLD = "timeout_after_store"
    """Never answer: keep the request open until the client gives up or the server stops."""
    DROP = "reset_after_store"
    """Close the connection without a byte of response."""


@dataclass(slots=True)
class Exchange:
    """One HTTP request's emulator state."""

    received_at: float
    """Unix seconds when the request reached the emulator, before any injected latency."""
    after_store: AfterStore | None = None


def exchange_of(scope: Scope) -> Exchange:
    """The request's exchange (the middleware opens it; made here when running without it)."""
    exchange = scope.get(SCOPE_KEY)
    if exchange is None:
        exchange = scope[SCOPE_KEY] = Exchange(received_at=time.time())
    assert isinstance(exchange, Exchange)
    return exchange
