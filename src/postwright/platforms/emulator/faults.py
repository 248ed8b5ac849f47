"""The active fault rules and the decision, per request, of which of them fire.

Rules are tried in the order they were added. Every latency rule that fires adds its delay; the
first other rule that fires decides the request's fate and stops the search for more. A rule's
`count` is spent only when it fires; `probability` is drawn from one seedable RNG, and only for
rules that have one, so a seeded run is reproducible.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pydantic import JsonValue

from postwright.platforms.emulator.rules import (
    FaultRule,
    LatencyEffect,
    Match,
    RateLimitEffect,
    ResetAfterStoreEffect,
    StatusEffect,
    TimeoutAfterStoreEffect,
)

__all__ = ["NO_FAULT", "ActiveRule", "FaultBook", "TerminalEffect", "Verdict"]

TerminalEffect = StatusEffect | RateLimitEffect | TimeoutAfterStoreEffect | ResetAfterStoreEffect
"""An effect that decides how the request ends (everything but latency)."""


@dataclass(slots=True)
class ActiveRule:
    """A rule in force, with how often it may still fire and has fired."""

    id: str
    rule: FaultRule
    remaining: int | None
    applied: int = 0

    def to_json(self) -> dict[str, JsonValue]:
        """The rule as given, plus its `id`, `remaining` count and `applied` count."""
        shown: dict[str, JsonValue] = {"id": self.id}
        shown.update(self.rule.model_dump(mode="json", exclude_none=True))
        shown.setdefault("count", None)
        shown.setdefault("probability", None)
        shown["remaining"] = self.remaining
        shown["applied"] = self.applied
        return shown


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens to one request: a total delay, then perhaps a terminal effect."""

    latency_ms: int = 0
    effect: TerminalEffect | None = None


NO_FAULT = Verdict()


class FaultBook:
    """The rules in force and the RNG their probabilities draw from."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._rules: list[ActiveRule] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> ActiveRule:
        """Put a rule in force after the existing ones."""
        active = ActiveRule(id=f"fault-{next(self._ids)}", rule=rule, remaining=rule.count)
        self._rules.append(active)
        return active

    def rules(self) -> list[ActiveRule]:
        """The rules in force, oldest first."""
        return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        """Withdraw one rule; False if no rule has that id."""
        kept = [active for active in self._rules if active.id != rule_id]
        removed = len(kept) != len(self._rules)
        self._rules = kept
        return removed

    def clear(self) -> None:
        """Withdraw every rule."""
        self._rules.clear()

    def seed(self, seed: int | None) -> None:
        """Restart the RNG that probabilities draw from."""
        self._rng.seed(seed)

    def draw(
        self, *, platform: str, account: str, method: str, path: str, creates: bool
    ) -> Verdict:
        """Decide which rules fire for one request, spending their counts."""
        if not self._rules:
            return NO_FAULT
        latency_ms = 0
        effect: TerminalEffect | None = None
        expired = False
        for active in self._rules:
            rule = active.rule
            is_latency = isinstance(rule.effect, LatencyEffect)
            if effect is not None and not is_latency:
                continue
            if not _matches(rule.match, platform, account, method, path, creates=creates):
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            active.applied += 1
            if active.remaining is not None:
                active.remaining -= 1
                expired = expired or active.remaining == 0
            if isinstance(rule.effect, LatencyEffect):
                latency_ms += rule.effect.latency_ms
            else:
                effect = rule.effect
        if expired:
            self._rules = [active for active in self._rules if active.remaining != 0]
        if latency_ms == 0 and effect is None:
            return NO_FAULT
        return Verdict(latency_ms=latency_ms, effect=effect)


def _matches(
    match: Match, platform: str, account: str, method: str, path: str, *, creates: bool
) -> bool:
    if match.platform is not None and match.platform != platform:
        return False
    if match.account is not None and match.account != account:
        return False
    if match.path is None:
        return creates
    if not fnmatchcase(path, match.path):
        return False
    return match.method is None or match.method.upper() == method
