"""Everything a request, a CLI command or a worker needs, built once from the settings.

No module builds these at import time: tests make as many runtimes as they need, each with its
own database and clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from postwright.auth.keyring import key_ring
from postwright.auth.secretbox import SecretBox
from postwright.domain.plans import DEFAULT_PLANS, Plan, parse_plans
from postwright.engine.wakeup import Wakeup
from postwright.settings import Settings
from postwright.store.db import Database

__all__ = ["Clock", "Runtime", "system_clock"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secret_key: str
    secretbox: SecretBox
    plans: Mapping[str, Plan]
    clock: Clock = system_clock
    wakeup: Wakeup = field(default_factory=Wakeup)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = system_clock) -> Runtime:
        secret_key = settings.resolved_secret_key()
        plans = parse_plans(settings.plans) if settings.plans else dict(DEFAULT_PLANS)
        return cls(
            settings=settings,
            db=Database(settings.resolved_database_url),
            secret_key=secret_key,
            secretbox=SecretBox(key_ring(secret_key, settings)),
            plans=plans,
            clock=clock,
        )

    def now(self) -> datetime:
        return self.clock()

    def plan(self, name: str) -> Plan:
        plan = self.plans.get(name)
        if plan is None:
            # an unknown plan name (a plan removed from the settings) must not unlock anything
            return Plan(name=name, can_schedule=False, max_days_ahead=0, max_scheduled_per_month=0)
        return plan

    async def close(self) -> None:
        await self.db.dispose()
