"""The worker: claims due deliveries, waits for their exact instant, publishes, records.

    dispatch loop ──claim (lease, batch)──> one task per delivery:
                                              sleep until due - lead
                                              [a turn: one per account, bounded, urgent first]
                                              gate (rate limits, posting rules) → defer
                                              claimed → publishing (commit)
                                              sleep until due
                                              adapter.publish
                                              record outcome (shielded)
    heartbeat loop: renews this worker's leases
    listener (PostgreSQL): LISTEN postwright_due → wake the dispatch loop

A worker holds in memory only what it claimed, and it claims only what is due within
`claim_ahead`: memory stays flat however many future deliveries the table holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.refresh import RefreshRejectedAuth, RefreshResult
from postwright.domain.errors import AuthNeeded, Permanent, PlatformError, Retryable
from postwright.domain.models import Delivery
from postwright.domain.retry import RetryPolicy
from postwright.domain.states import DeliveryState
from postwright.domain.timeutil import format_utc
from postwright.engine import outcomes
from postwright.engine.batching import Batcher
from postwright.engine.gate import account_bucket_key, check_gates
from postwright.engine.requests import build_request
from postwright.engine.turns import Turns
from postwright.platforms.base import Adapter, Published, PublishRequest, RateInfo
from postwright.platforms.registry import AdapterRegistry, UnsupportedPlatform
from postwright.runtime import Runtime
from postwright.store import account_tokens
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from postwright.store.db import is_transient_conflict

__all__ = ["Worker"]

log = logging.getLogger("postwright.engine")

_CONTROLS_TTL_S = 1.0
_HELD = frozenset({"auth_needed", "account_health"})  # outcomes waiting for the account


@runtime_checkable
class AccountRefresher(Protocol):
    """Refreshes one account's token now (`auth.refresh.TokenRefresher`)."""

    async def refresh_account(
        self, rt: Runtime, account_id: uuid.UUID, *, rejected: Mapping[str, Any]
    ) -> RefreshResult: ...


@dataclass(frozen=True, slots=True)
class _Finished:
    delivery: Delivery
    outcome: outcomes.Outcome
    started: datetime
    due: datetime
    rate: RateInfo | None
    execution_ms: float


def _published_columns(outcome: outcomes.Outcome) -> dict[str, object]:
    v = outcome.values
    return {k: v[k] for k in ("external_id", "permalink", "published_at", "fingerprint")}


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        rt: Runtime,
        adapters: AdapterRegistry,
        *,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        refreshers: Sequence[object] = (),
    ) -> None:
        s = rt.settings
        self.rt = rt
        self.adapters = adapters
        # a publish refused with AuthNeeded is refreshed and sent once more (see _refreshed)
        self._refresher = next((r for r in refreshers if isinstance(r, AccountRefresher)), None)
        self.id = worker_id or new_worker_id()
        self.rng = rng or random.Random()
        self.lease = timedelta(seconds=s.lease_s)
        self.claim_ahead = timedelta(milliseconds=s.claim_ahead_ms)
        self.publish_lead = timedelta(milliseconds=s.publish_lead_ms)
        self.policy = RetryPolicy(
            max_attempts=s.retry_max_attempts,
            base_delay_s=s.retry_base_delay_s,
            max_delay_s=s.retry_max_delay_s,
        )
        self.settle = timedelta(seconds=s.reconcile_settle_s)
        self.processing_budget = timedelta(seconds=s.processing_budget_s)
        # publish slots: worker_concurrency in all, one per account, most urgent first
        self._turns = Turns(s.worker_concurrency)
        self._held: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._publishing: set[uuid.UUID] = set()
        self._catch_up_slots: dict[uuid.UUID, datetime] = {}
        # batches lock rows in id order, but the reaper may not: a deadlock is run again
        self._starter: Batcher[q.Claimed, q.PublishContext | None] = Batcher(
            self._begin_batch, max_size=100, retry_if=is_transient_conflict
        )
        self._recorder: Batcher[_Finished, None] = Batcher(
            self._store_batch, max_size=100, retry_if=is_transient_conflict
        )
        self._stopping = asyncio.Event()
        self._controls: dict[str, str] = {}
        self._controls_read_at = 0.0
        self.published = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until `stop()`; then hand back what was claimed but not started."""
        now = self.rt.now()
        async with self.rt.db.write() as conn:
            await q.register_worker(
                conn, worker_id=self.id, hostname=socket.gethostname(), pid=os.getpid(), now=now
            )
        log.info("worker %s started", self.id)
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="heartbeat")
        try:
            await self._dispatch_loop()
        finally:
            heartbeat.cancel()
            await self._drain()
            async with self.rt.db.write() as conn:
                await q.unregister_worker(conn, worker_id=self.id)
            log.info("worker %s stopped", self.id)

    def stop(self) -> None:
        self._stopping.set()
        self.rt.wakeup.poke()

    async def _drain(self) -> None:
        """Publishes already under way finish; claims still waiting for their time go back."""
        waiting = [d for d in self._held if d not in self._publishing]
        for delivery_id in waiting:
            self._held[delivery_id].cancel()
        if self._held:
            await asyncio.wait(
                list(self._held.values()), timeout=self.rt.settings.publish_timeout_s + 5
            )
        async with self.rt.db.write() as conn:
            released = await q.release_claims(
                conn, worker_id=self.id, delivery_ids=waiting, now=self.rt.now()
            )
        if released:
            log.info("worker %s released %d claims", self.id, released)
            self.rt.wakeup.poke()

    # -- dispatch --------------------------------------------------------------------------

    async def _read_controls(self) -> dict[str, str]:
        if time.monotonic() - self._controls_read_at > _CONTROLS_TTL_S:
            async with self.rt.db.read() as conn:
                self._controls = await q.get_controls(conn)
            self._controls_read_at = time.monotonic()
        return self._controls

    async def _dispatch_loop(self) -> None:
        s = self.rt.settings
        while not self._stopping.is_set():
            try:
                slept = await self._dispatch_once(s.claim_batch, s.poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch failed; retrying shortly")
                slept = False
            if not slept:
                await asyncio.sleep(0)

    async def _dispatch_once(self, batch: int, poll_s: float) -> bool:
        controls = await self._read_controls()
        if "paused:global" in controls:
            await self.rt.wakeup.wait(poll_s)
            return True
        paused_platforms = [
            k.split(":", 2)[2] for k in controls if k.startswith("paused:platform:")
        ]
        # bound what one worker holds: the in-flight limit plus one batch waiting for its time
        room = self.rt.settings.worker_concurrency + batch - len(self._held)
        now = self.rt.now()
        claimed: list[q.Claimed] = []
        if room > 0:
            async with self.rt.db.write() as conn:
                claimed = await q.claim_due(
                    conn,
                    worker_id=self.id,
                    now=now,
                    horizon=now + self.claim_ahead,
                    limit=min(batch, room),
                    lease=self.lease,
                    paused_platforms=paused_platforms,
                )
            for c in claimed:
                self._held[c.delivery.id] = asyncio.create_task(
                    self._deliver(c), name=f"deliver-{c.delivery.id}"
                )
            if len(claimed) == min(batch, room):
                return False  # more may be due: claim again at once
        else:
            await asyncio.sleep(0.005)
            return True
        async with self.rt.db.read() as conn:
            next_due = await q.next_due_at(conn, paused_platforms=paused_platforms)
        now = self.rt.now()
        delay = poll_s
        if next_due is not None:
            delay = min(poll_s, max(0.0, (next_due - self.claim_ahead - now).total_seconds()))
        if delay > 0:
            await self.rt.wakeup.wait(delay)
        return True

    # -- one delivery ----------------------------------------------------------------------

    async def _sleep_until(self, when: datetime) -> None:
        delay = (when - self.rt.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _deliver(self, claimed: q.Claimed) -> None:
        d = claimed.delivery
        try:
            due = d.due_at or self.rt.now()
            if await self._apply_catch_up(claimed, due):
                return
            await self._sleep_until(due - self.publish_lead)
            async with self._turns.turn(d.account_id, priority=int(d.priority), due=due):
                await self._publish(claimed, due)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery %s: unexpected error in the worker", d.id)
        finally:
            self._held.pop(d.id, None)

    async def _apply_catch_up(self, claimed: q.Claimed, due: datetime) -> bool:
        """After an outage: publish all, spread them out, or skip the old ones. True if handled."""
        d = claimed.delivery
        now = self.rt.now()
        overdue = (now - due).total_seconds()
        s = self.rt.settings
        # (the claim already made it `claimed`: whether it was tried before shows in attempts,
        # or, for media the platform is still processing, in `resume`: it started on time)
        if d.attempts > 0 or d.resume is not None or overdue < s.catch_up_overdue_s:
            return False
        policy = claimed.catch_up_policy
        if policy == "skip":
            limit_min = claimed.catch_up_skip_after_min or s.catch_up_skip_after_min
            if overdue <= limit_min * 60:
                return False
            reason = (
                f"skipped: it was due at {format_utc(due)}, {int(overdue // 60)} minutes before "
                f"it could be sent (the workspace skips posts more than {limit_min} minutes late)"
            )
            async with self.rt.db.write() as conn:
                if await q.skip_overdue(
                    conn, delivery_id=d.id, worker_id=self.id, reason=reason, now=now
                ):
                    await post_store.refresh_post_status(conn, post_id=d.post_id, now=now)
            return True
        if policy == "spread":
            slot = max(now, self._catch_up_slots.get(d.account_id, now))
            self._catch_up_slots[d.account_id] = slot + timedelta(seconds=s.catch_up_spacing_s)
            if slot <= now:
                return False  # this account's first overdue post goes now
            reason = (
                f"catching up after an outage: spread to {format_utc(slot)} "
                f"(it was due at {format_utc(due)})"
            )
            async with self.rt.db.write() as conn:
                await q.defer(
                    conn, delivery_id=d.id, worker_id=self.id, until=slot, reason=reason, now=now
                )
            return True
        return False  # "all": publish everything now

    async def _publish(self, claimed: q.Claimed, due: datetime) -> None:
        d = claimed.delivery
        now = self.rt.now()
        ctx = await self._starter.submit(claimed)
        if ctx is None:
            return  # cancelled, edited back, or no longer ours
        self._publishing.add(d.id)
        try:
            await self._call_platform(ctx, due, now)
        finally:
            self._publishing.discard(d.id)

    async def _begin_batch(self, batch: Sequence[q.Claimed]) -> list[q.PublishContext | None]:
        """claimed -> publishing for the whole batch in one transaction.

        A delivery that is no longer ours, or that a rate limit or posting rule defers, gets
        None; a deferred one goes back to scheduled in the same transaction, so to everyone
        else it simply went claimed -> scheduled. Rows are locked in id order, like every batch.
        """
        now = self.rt.now()
        async with self.rt.db.write() as conn:
            started = await q.begin_publishing_many(
                conn,
                delivery_ids=sorted(c.delivery.id for c in batch),
                worker_id=self.id,
                now=now,
                lease=self.lease,
            )
            deferrals = await check_gates(conn, contexts=list(started.values()), now=now)
            for delivery_id, gate in sorted(deferrals.items()):
                await q.finish(
                    conn,
                    delivery_id=delivery_id,
                    worker_id=self.id,
                    from_states=[DeliveryState.PUBLISHING],
                    values={
                        "state": DeliveryState.SCHEDULED.value,
                        "due_at": gate.until,
                        "hold_reason": gate.reason,
                        "attempts": started[delivery_id].delivery.attempts - 1,
                        "publishing_started_at": None,
                    },
                    now=now,
                )
        return [None if c.delivery.id in deferrals else started.get(c.delivery.id) for c in batch]

    async def _call_platform(self, ctx: q.PublishContext, due: datetime, now: datetime) -> None:
        try:
            adapter = self.adapters.get(ctx.delivery.platform)
            request = build_request(
                ctx, secretbox=self.rt.secretbox, media_dir=self.rt.settings.media_dir
            )
        except UnsupportedPlatform as exc:
            await self._record(
                ctx.delivery, Permanent(str(exc)), started=now, t0=time.perf_counter(), due=due
            )
            return
        except PlatformError as exc:
            await self._record(ctx.delivery, exc, started=now, t0=time.perf_counter(), due=due)
            return
        await self._sleep_until(due)
        started = self.rt.now()
        t0 = time.perf_counter()
        try:
            try:
                published = await self._send(adapter, request)
            except AuthNeeded as refused:
                request = await self._refreshed(ctx, request, refused)
                published = await self._send(adapter, request)
        except (Exception, TimeoutError) as exc:  # classified below, never lost
            await asyncio.shield(self._record(ctx.delivery, exc, started=started, t0=t0, due=due))
            return
        result = outcomes.after_success(
            published, now=self.rt.now(), fingerprint=request.fingerprint
        )
        await asyncio.shield(
            self._store(ctx.delivery, result, started=started, t0=t0, due=due, rate=published.rate)
        )
        self.published += 1

    async def _send(self, adapter: Adapter, request: PublishRequest) -> Published:
        async with asyncio.timeout(self.rt.settings.publish_timeout_s):
            return await adapter.publish(request)

    async def _refreshed(
        self, ctx: q.PublishContext, request: PublishRequest, refused: AuthNeeded
    ) -> PublishRequest:
        """The request again with a refreshed token, for one more try within this attempt.

        Raises what to record instead: `refused` when the token cannot be refreshed, a
        `RefreshRejectedAuth` when the platform refused the refresh token too (the account
        then needs reconnecting), `Retryable` when the token endpoint could not be reached.
        """
        if self._refresher is None:
            raise refused
        result = await self._refresher.refresh_account(
            self.rt, ctx.delivery.account_id, rejected=request.account.credentials
        )
        if result.usable and result.credentials is not None:
            log.info(
                "delivery %s: token refreshed after %s; sending again", ctx.delivery.id, refused
            )
            return replace(
                request, account=replace(request.account, credentials=result.credentials)
            )
        if result.outcome == "rejected":
            raise RefreshRejectedAuth(
                f"{refused.message}; the refresh was refused too: {result.message}",
                status=refused.status,
            ) from refused
        if result.outcome == "unavailable":
            raise Retryable(
                f"{refused.message}; the token could not be refreshed now: {result.message}",
                status=refused.status,
            ) from refused
        raise refused

    async def _record(
        self, delivery: Delivery, exc: BaseException, *, started: datetime, t0: float, due: datetime
    ) -> None:
        outcome = outcomes.after_error(
            exc,
            attempts=delivery.attempts,
            policy=self.policy,
            now=self.rt.now(),
            rng=self.rng,
            settle=self.settle,
            platform=delivery.platform.value,
            processing_budget=self.processing_budget,
            resume=delivery.resume,
        )
        if outcome.state is DeliveryState.FAILED or outcome.error_class == "uncertain":
            log.warning("delivery %s: %s (%s)", delivery.id, outcome.attempt_outcome, outcome.error)
        await self._store(delivery, outcome, started=started, t0=t0, due=due, rate=None)

    async def _store(
        self,
        delivery: Delivery,
        outcome: outcomes.Outcome,
        *,
        started: datetime,
        t0: float,
        due: datetime,
        rate: RateInfo | None,
    ) -> None:
        """Record the outcome (batched with others finishing at the same time)."""
        execution_ms = (time.perf_counter() - t0) * 1000
        await self._recorder.submit(_Finished(delivery, outcome, started, due, rate, execution_ms))

    async def _store_batch(self, batch: Sequence[_Finished]) -> list[None]:
        """Record a batch of outcomes in one transaction; plain successes set-based."""
        now = self.rt.now()
        ordered = sorted(batch, key=lambda item: item.delivery.id)  # one lock order for all
        simple = [item for item in ordered if self._is_plain_success(item)]
        async with self.rt.db.write() as conn:
            stored = await q.finish_published_many(
                conn,
                worker_id=self.id,
                published=[
                    {"id": item.delivery.id, **_published_columns(item.outcome)} for item in simple
                ],
                now=now,
            )
            await q.record_attempts(
                conn,
                batch=[self._attempt(item, now) for item in simple if item.delivery.id in stored],
            )
            await post_store.refresh_post_statuses(
                conn,
                post_ids={item.delivery.post_id for item in simple if item.delivery.id in stored},
                now=now,
            )
            for item in ordered:
                if item.delivery.id not in stored:
                    await self._store_one(conn, item, now)
        return [None] * len(batch)

    @staticmethod
    def _is_plain_success(item: _Finished) -> bool:
        o = item.outcome
        exhausted = item.rate is not None and item.rate.remaining == 0
        return (
            o.state is DeliveryState.PUBLISHED
            and o.account_status is None
            and o.blocked_until is None
            and not exhausted
        )

    def _attempt(self, item: _Finished, now: datetime) -> q.AttemptRecord:
        return q.AttemptRecord(
            delivery_id=item.delivery.id,
            workspace_id=item.delivery.workspace_id,
            worker_id=self.id,
            started_at=item.started,
            finished_at=now,
            outcome=item.outcome.attempt_outcome,
            error_class=item.outcome.error_class,
            http_status=item.outcome.http_status,
            error=item.outcome.error,
            latency_ms=(item.started - item.due).total_seconds() * 1000,
            execution_time_ms=item.execution_ms,
        )

    async def _store_one(self, conn: AsyncConnection, item: _Finished, now: datetime) -> None:
        delivery, outcome, rate = item.delivery, item.outcome, item.rate
        stored = await q.finish(
            conn,
            delivery_id=delivery.id,
            worker_id=self.id,
            from_states=[DeliveryState.PUBLISHING],
            values=outcome.columns,
            now=now,
        )
        if stored is None and outcome.state is DeliveryState.PUBLISHED:
            # our lease was lost meanwhile (reaped to uncertain): the platform's word wins
            stored = await q.finish(
                conn,
                delivery_id=delivery.id,
                worker_id=None,
                from_states=[DeliveryState.UNCERTAIN],
                values=outcome.columns,
                now=now,
            )
        await q.record_attempt(conn, attempt=self._attempt(item, now))
        if outcome.state is DeliveryState.SCHEDULED and outcome.error_class in _HELD:
            account = await account_tokens.lock_account(conn, account_id=delivery.account_id)
            if account is not None and outcome.account_status is not None:
                status, reason = outcome.account_status
                # audited; the account's waiting deliveries (this one too) show why
                await account_tokens.mark_health(
                    conn, account=account, status=status, reason=reason, now=now
                )
            elif account is not None:  # a refresher set the account's health already
                await account_tokens.show_account_hold(conn, account=account, now=now)
        blocked_until = outcome.blocked_until
        if rate is not None and rate.remaining == 0 and rate.reset_at:
            blocked_until = rate.reset_at
        if blocked_until is not None:
            await q.put_bucket(
                conn,
                key=account_bucket_key(delivery.account_id),
                workspace_id=delivery.workspace_id,
                limit_count=rate.limit if rate is not None else None,
                remaining=0,
                reset_at=blocked_until,
                blocked_until=blocked_until,
                now=now,
            )
        if stored is not None:
            await post_store.refresh_post_status(conn, post_id=delivery.post_id, now=now)

    # -- heartbeat -------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = max(0.2, self.rt.settings.lease_s / 3)
        wait = interval
        while True:
            await asyncio.sleep(wait)
            wait = interval
            try:
                async with self.rt.db.write() as conn:
                    await q.heartbeat(
                        conn,
                        worker_id=self.id,
                        now=self.rt.now(),
                        lease=self.lease,
                        delivery_ids=list(self._held),  # not what it let go of
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient_conflict(exc):
                    wait = 0.05  # a lost race: renew again at once, not a third of a lease later
                    continue
                log.exception("heartbeat failed")
