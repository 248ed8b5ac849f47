"""Account health: whether postwright can publish through an account, and if not, why.

    active           publishing works
    expiring         publishing works, but its token runs out within
                     `token_expiry_warning_days` and cannot be renewed without a person
                     (LinkedIn without partner refresh tokens; any grant without a refresh token)
    needs_reconnect  the token expired or was revoked, or its refresh token was refused
    suspended        the platform suspended the account      (see platforms/account_signals.py
    restricted       the platform limits what it may do       for the answers mapped here)
    paused           a person paused it; nothing here ever changes that

Who sets what:

- the worker, from a publish's error (`engine.outcomes`): `AuthNeeded` -> needs_reconnect
  (after one refresh-and-retry, when the token can be refreshed), and the platform signals of
  `platforms.account_signals` -> suspended or restricted;
- the token refresher (`auth.refresh`): a refused refresh token -> needs_reconnect; a session
  that says the account is not active (Bluesky) -> suspended or restricted;
- this module's check, run by the refresher every 5 minutes: tokens that cannot be refreshed ->
  expiring ahead of time, needs_reconnect once past; `expiring` back to active when the token no
  longer runs out soon (renewed or reconnected);
- reconnecting (`store.connections.upsert_connected_account`) -> active.

Deliveries of an account that cannot publish are held, never failed: the engine's claim skips
them, they show the account's reason (`hold_reason`; the deliveries API also reads the account's
`status_reason`), and they go out when the account is active again, under the workspace's
catch-up policy for the ones that became overdue meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from postwright.auth.secretbox import SecretBoxError
from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.domain.timeutil import format_utc
from postwright.runtime import Runtime
from postwright.store import account_tokens
from postwright.store.account_tokens import TokenRow

__all__ = ["CanRefresh", "check_token_health", "expiry_verdict"]

CanRefresh = Callable[[str, Mapping[str, Any], Mapping[str, Any]], bool]
"""(platform, credentials, options) -> whether the refresher can renew this token."""

_BATCH = 200
_WATCHED = (AccountStatus.ACTIVE, AccountStatus.EXPIRING)
_NAMES = {
    Platform.X: "X",
    Platform.LINKEDIN: "LinkedIn",
    Platform.FACEBOOK: "Facebook",
    Platform.INSTAGRAM: "Instagram",
    Platform.THREADS: "Threads",
    Platform.MASTODON: "Mastodon",
    Platform.BLUESKY: "Bluesky",
    Platform.REDDIT: "Reddit",
}


def _name(platform: str) -> str:
    try:
        return _NAMES.get(Platform(platform), platform)
    except ValueError:
        return platform


def expiry_verdict(
    *, platform: str, expires_at: datetime | None, now: datetime, warn: timedelta
) -> tuple[str, str] | None:
    """The health of an account whose token cannot be refreshed: (status, reason), or None
    when its expiry is no concern yet."""
    if expires_at is None:
        return None
    name = _name(platform)
    if expires_at <= now:
        return (
            AccountStatus.NEEDS_RECONNECT,
            f"the {name} token expired on {format_utc(expires_at)}; reconnect the account",
        )
    if expires_at - now <= warn:
        return (
            AccountStatus.EXPIRING,
            f"the {name} token expires on {format_utc(expires_at)} and cannot be renewed "
            "automatically; reconnect the account before then",
        )
    return None


async def check_token_health(rt: Runtime, *, can_refresh: CanRefresh) -> dict[str, int]:
    """Mark tokens that cannot be refreshed `expiring` or `needs_reconnect`; lift `expiring`
    when it no longer applies. Returns what changed, for the job's result."""
    now = rt.now()
    warn = timedelta(days=rt.settings.token_expiry_warning_days)
    counts = {"expiring": 0, "expired": 0, "recovered": 0}
    after: uuid.UUID | None = None
    while True:
        async with rt.db.read() as conn:
            batch = await account_tokens.token_health_candidates(
                conn, before=now + warn, limit=_BATCH, after_id=after
            )
        if not batch:
            break
        after = batch[-1].id
        for row in batch:
            if _wanted(rt, row, now=now, warn=warn, can_refresh=can_refresh) is None:
                continue
            async with rt.db.write() as conn:
                locked = await account_tokens.lock_account(conn, account_id=row.id)
                if locked is None or locked.status not in _WATCHED:
                    continue
                wanted = _wanted(rt, locked, now=now, warn=warn, can_refresh=can_refresh)
                if wanted is None:
                    continue
                status, reason = wanted
                if await account_tokens.mark_health(
                    conn, account=locked, status=status, reason=reason, now=now
                ):
                    key = {
                        AccountStatus.EXPIRING: "expiring",
                        AccountStatus.NEEDS_RECONNECT: "expired",
                    }.get(status, "recovered")
                    counts[key] += 1
    return counts


def _wanted(
    rt: Runtime, row: TokenRow, *, now: datetime, warn: timedelta, can_refresh: CanRefresh
) -> tuple[str, str | None] | None:
    """The (status, reason) `row` should have, when it differs from what it has."""
    verdict: tuple[str, str | None] | None = None
    if row.token_expires_at is not None and row.token_expires_at - now <= warn:
        credentials: Mapping[str, Any] = {}
        if row.credentials:
            try:
                credentials = rt.secretbox.open(row.credentials)
            except SecretBoxError:
                credentials = {}
        if not can_refresh(row.platform, credentials, row.options):
            verdict = expiry_verdict(
                platform=row.platform, expires_at=row.token_expires_at, now=now, warn=warn
            )
    if verdict is None and row.status == AccountStatus.EXPIRING:
        verdict = (AccountStatus.ACTIVE, None)
    if verdict is None or (verdict[0], verdict[1]) == (row.status, row.status_reason):
        return None
    return verdict
