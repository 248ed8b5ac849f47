"""Fault rules as tests send them to `POST /_emulator/faults`, validated by pydantic.

A rule is `{"match": {...}, "effect": {...}, "count"?: n, "probability"?: p}`; the effect is an
object with exactly one of these keys:

- `status`              answer this 4xx/5xx before storing (optional `body`, JSON)
- `rate_limit`          answer 429 with `Retry-After: retry_after` before storing
- `latency_ms`          wait, then proceed normally
- `timeout_after_store` store the post, then never answer
- `reset_after_store`   store the post, then drop the connection without an answer
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, JsonValue, Tag, model_validator

__all__ = [
    "EFFECT_KINDS",
    "Effect",
    "FaultRule",
    "LatencyEffect",
    "Match",
    "RateLimitEffect",
    "RateLimitParams",
    "ResetAfterStoreEffect",
    "StatusEffect",
    "TimeoutAfterStoreEffect",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Which requests a rule applies to; an absent field matches any value.

    Without `path` a rule applies to post-creating requests only. With `path` (a shell-style
    pattern such as `/sandbox/*/posts/*/metrics`) it applies to any platform request whose path
    matches, optionally only for one `method`.
    """

    platform: str | None = None
    account: str | None = None
    path: str | None = None
    method: str | None = None

    @model_validator(mode="after")
    def _method_needs_path(self) -> Match:
        if self.method is not None and self.path is None:
            raise ValueError("'method' only narrows a 'path' rule; add 'path' too")
        return self


class StatusEffect(_Strict):
    """Answer this error status before storing anything."""

    status: int = Field(ge=400, le=599)
    body: JsonValue = None
    """The JSON body to answer; null: the platform's own error shape."""


class RateLimitParams(_Strict):
    """How long the injected 429 tells the client to wait."""

    retry_after: int = Field(ge=0, le=86_400)


class RateLimitEffect(_Strict):
    """Answer 429 with Retry-After and exhausted rate-limit headers before storing."""

    rate_limit: RateLimitParams


class LatencyEffect(_Strict):
    """Delay the request, then handle it normally."""

    latency_ms: int = Field(ge=0, le=600_000)


class TimeoutAfterStoreEffect(_Strict):
    """Store the post, then hold the request open until the client gives up or the server stops."""

    timeout_after_store: Literal[True]


class ResetAfterStoreEffect(_Strict):
    """Store the post, then drop the connection so the client gets no response."""

    reset_after_store: Literal[True]


_EFFECTS: dict[str, type[_Strict]] = {
    "status": StatusEffect,
    "rate_limit": RateLimitEffect,
    "latency_ms": LatencyEffect,
    "timeout_after_store": TimeoutAfterStoreEffect,
    "reset_after_store": ResetAfterStoreEffect,
}
EFFECT_KINDS = tuple(_EFFECTS)


def _effect_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [kind for kind in _EFFECTS if kind in value]
        return present[0] if len(present) == 1 else None
    for kind, model in _EFFECTS.items():
        if isinstance(value, model):
            return kind
    return None


Effect = Annotated[
    Annotated[StatusEffect, Tag("status")]
    | Annotated[RateLimitEffect, Tag("rate_limit")]
    | Annotated[LatencyEffect, Tag("latency_ms")]
    | Annotated[TimeoutAfterStoreEffect, Tag("timeout_after_store")]
    | Annotated[ResetAfterStoreEffect, Tag("reset_after_store")],
    Discriminator(
        _effect_kind,
        custom_error_type="effect_kind",
        custom_error_message=f"effect must be an object with exactly one of: {', '.join(_EFFECTS)}",
    ),
]


class FaultRule(_Strict):
    """What to do to which requests, how many times and how often."""

    match: Match = Field(default_factory=Match)
    effect: Effect
    count: int | None = Field(default=None, ge=1)
    """Apply to the next `count` matching requests, then expire; null: never expire."""
    probability: float | None = Field(default=None, ge=0, le=1)
    """Apply to each matching request with this probability (seeded RNG); null: always."""
