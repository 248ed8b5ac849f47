"""The fault gate: one wrapper around every platform endpoint, applying the fault rules.

It runs before the platform's own code (like a load balancer in front of the real API): it asks
the `FaultBook` for a verdict, sleeps the injected latency, answers injected errors in the
platform's own error shape, or marks the exchange so the middleware holds or drops the response
once the handler has stored the post.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import Response

from postwright.platforms.emulator.exchange import AfterStore, exchange_of
from postwright.platforms.emulator.faults import FaultBook
from postwright.platforms.emulator.rules import (
    RateLimitEffect,
    ResetAfterStoreEffect,
    StatusEffect,
    TimeoutAfterStoreEffect,
)

__all__ = ["AccountOf", "Endpoint", "FaultResponder", "account_in_path", "gate"]

Endpoint = Callable[[Request], Awaitable[Response]]
AccountOf = Callable[[Request], str]
"""Which account a request acts for (from the path, the token, ...)."""


class FaultResponder(Protocol):
    """How a platform words the errors the gate injects."""

    name: str

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An error answer; `body` is the rule's JSON body, or None for the platform's own."""
        ...

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """A 429 with `Retry-After: retry_after` and exhausted rate-limit headers."""
        ...


def account_in_path(request: Request) -> str:
    """The `{account}` path parameter."""
    return str(request.path_params["account"])


def gate(
    endpoint: Endpoint,
    *,
    platform: FaultResponder,
    faults: FaultBook,
    creates: bool,
    account_of: AccountOf = account_in_path,
) -> Endpoint:
    """Wrap a platform endpoint so the fault rules apply to it."""
    name = platform.name

    async def gated(request: Request) -> Response:
        account = account_of(request)
        verdict = faults.draw(
            platform=name,
            account=account,
            method=request.method,
            path=request.scope["path"],
            creates=creates,
        )
        if verdict.latency_ms:
            await asyncio.sleep(verdict.latency_ms / 1000)
        match verdict.effect:
            case StatusEffect(status=status, body=body):
                return platform.error_response(account, status, body)
            case RateLimitEffect(rate_limit=params):
                return platform.rate_limited_response(account, params.retry_after)
            case TimeoutAfterStoreEffect():
                exchange_of(request.scope).after_store = AfterStore.HOLD
            case ResetAfterStoreEffect():
                exchange_of(request.scope).after_store = AfterStore.DROP
        return await endpoint(request)

    return gated
