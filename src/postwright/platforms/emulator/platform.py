"""The interface between the emulator and one emulated platform.

A platform module defines one class satisfying `EmulatedPlatform`, built from a `Toolkit`, and is
listed once in `app.PLATFORMS`. Through the toolkit it:

- declares its routes with `toolkit.route(self, path, endpoint, methods=..., creates=...)`, which
  puts the fault gate in front of each one (`creates=True` marks post-creating endpoints, the ones
  rules without a `path` apply to);
- stores and reads posts in the shared `toolkit.ledger` (`record`, `get`, `recent`, `delete`),
  stamping them with `toolkit.received_at(request)`;
- gets a rate limiter configured for it with `toolkit.limiter(name, default)`;
- asks `toolkit.processing` how long a medium it makes takes to process, and records it there.

Everything platform-specific (paths, auth, body shapes, error shapes, header names) stays in the
module; everything shared (ledger, faults, timing) stays out of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from postwright.platforms.emulator.exchange import exchange_of
from postwright.platforms.emulator.faults import FaultBook
from postwright.platforms.emulator.gate import (
    AccountOf,
    Endpoint,
    FaultResponder,
    account_in_path,
    gate,
)
from postwright.platforms.emulator.ledger import Ledger
from postwright.platforms.emulator.processing import Processing
from postwright.platforms.emulator.ratelimit import FixedWindowLimiter, RateLimit

__all__ = ["EmulatedPlatform", "PlatformFactory", "Toolkit"]


class EmulatedPlatform(FaultResponder, Protocol):
    """One platform's API, served by the emulator (`name` is its `Platform` value)."""

    def routes(self) -> Sequence[BaseRoute]:
        """Its routes, each made with `Toolkit.route`."""
        ...


@dataclass(frozen=True, slots=True)
class Toolkit:
    """What the emulator hands every platform module."""

    ledger: Ledger
    faults: FaultBook
    rate_limits: Mapping[str, RateLimit] = field(default_factory=dict)
    """Overrides of the platforms' default rate limits, by platform name."""
    processing: Processing = field(default_factory=Processing)
    """How long media takes to process, and the media made (see `processing`)."""

    def route(
        self,
        platform: FaultResponder,
        path: str,
        endpoint: Endpoint,
        *,
        methods: Iterable[str],
        creates: bool = False,
        account_of: AccountOf = account_in_path,
    ) -> Route:
        """A route to `endpoint` behind the fault gate."""
        gated = gate(
            endpoint,
            platform=platform,
            faults=self.faults,
            creates=creates,
            account_of=account_of,
        )
        return Route(path, gated, methods=list(methods))

    def limiter(self, platform: str, default: RateLimit) -> FixedWindowLimiter:
        """A rate limiter with the configured limit for `platform`, else `default`."""
        return FixedWindowLimiter(self.rate_limits.get(platform, default))

    @staticmethod
    def received_at(request: Request) -> float:
        """Unix seconds when the request arrived (before any injected latency)."""
        return exchange_of(request.scope).received_at


PlatformFactory = Callable[[Toolkit], EmulatedPlatform]
