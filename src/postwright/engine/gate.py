"""May this delivery go now? Rate limits and posting rules, shared by all workers via the DB."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.domain.errors import InvalidInput
from postwright.domain.posting_rules import (
    Deferral,
    PastPublish,
    PostingRules,
    content_fingerprint,
    next_allowed,
)
from postwright.domain.timeutil import format_utc
from postwright.store import delivery_queue
from postwright.store.delivery_queue import PublishContext

__all__ = ["account_bucket_key", "check_gate", "check_gates", "platform_bucket_key"]

_HISTORY = timedelta(days=1)


def account_bucket_key(account_id: uuid.UUID) -> str:
    return f"account:{account_id}"


def platform_bucket_key(platform: str) -> str:
    return f"platform:{platform}"


def _rules(options: dict[str, Any]) -> PostingRules | None:
    raw = options.get("posting_rules")
    if not raw:
        return None
    try:
        rules = PostingRules.from_options(raw)
    except InvalidInput:
        return None  # validated when saved; a bad stored value must not stop publishing
    return rules if rules.enabled else None


async def check_gate(
    conn: AsyncConnection,
    *,
    account_id: uuid.UUID,
    platform: str,
    account_options: dict[str, Any],
    text: str,
    scope: str,
    now: datetime,
) -> Deferral | None:
    """A deferral if a platform rate limit or one of the account's posting rules says wait."""
    for key in (account_bucket_key(account_id), platform_bucket_key(platform)):
        bucket = await delivery_queue.get_bucket(conn, key=key)
        if bucket and bucket["blocked_until"] and bucket["blocked_until"] > now:
            until = bucket["blocked_until"]
            return Deferral(
                until=until,
                rule="rate_limit",
                reason=f"waiting for the platform's rate limit to reset at {format_utc(until)}",
            )
    rules = _rules(account_options)
    if rules is None:
        return None
    history = await delivery_queue.publish_history(
        conn,
        account_id=account_id,
        since=now - _HISTORY,
    )
    past = [
        PastPublish(
            at=at,
            fingerprint=fingerprint or "",
            scope=str(options.get("subreddit", "")) if options else "",
        )
        for at, fingerprint, options in history
    ]
    return next_allowed(
        rules, now=now, history=past, fingerprint=content_fingerprint(text), scope=scope
    )


async def check_gates(
    conn: AsyncConnection, *, contexts: Sequence[PublishContext], now: datetime
) -> dict[uuid.UUID, Deferral]:
    """`check_gate` for a batch: one read of the rate buckets, history only where rules exist."""
    keys = {account_bucket_key(c.delivery.account_id) for c in contexts} | {
        platform_bucket_key(c.delivery.platform.value) for c in contexts
    }
    buckets = await delivery_queue.get_buckets(conn, keys=keys)
    deferrals: dict[uuid.UUID, Deferral] = {}
    for ctx in contexts:
        d = ctx.delivery
        blocked = [
            b["blocked_until"]
            for key in (account_bucket_key(d.account_id), platform_bucket_key(d.platform.value))
            if (b := buckets.get(key)) and b["blocked_until"] and b["blocked_until"] > now
        ]
        if blocked:
            until = max(blocked)
            deferrals[d.id] = Deferral(
                until=until,
                rule="rate_limit",
                reason=f"waiting for the platform's rate limit to reset at {format_utc(until)}",
            )
            continue
        if _rules(ctx.account_options) is None:
            continue
        deferral = await check_gate(
            conn,
            account_id=d.account_id,
            platform=d.platform.value,
            account_options=ctx.account_options,
            text=ctx.text,
            scope=str(d.options.get("subreddit", "")),
            now=now,
        )
        if deferral is not None:
            deferrals[d.id] = deferral
    return deferrals
