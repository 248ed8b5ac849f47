"""Password-guessing protection: how many failed logins an account or a client may have.

Failures are counted per key in a fixed window that opens at the first failure. Reaching the
limit blocks the key for the lockout; a blocked key is refused before any password is checked,
the right one included, so a guesser learns nothing while it lasts. Attempts refused while
blocked do not prolong the block: an attacker could otherwise keep an account locked for ever
with one request a minute.

Two kinds of key, so that neither guessing one account from many addresses nor trying one
password on many accounts from one address goes unnoticed:

- an account key, from the email as typed (normalized), whether or not such a user exists, so
  that a lockout says nothing about which emails are registered; the email is kept only as a
  keyed hash;
- a client key, the client's address; IPv6 clients are grouped by /64, the block one customer
  usually gets, so a guesser cannot simply walk through the addresses it was given.

A successful login clears its account key but not its client key: one valid account of one's
own must not reset the count of guesses made against other people's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Strikes", "ThrottlePolicy", "account_key", "blocked_for", "client_key", "strike"]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """At most `max_failures` failures within `window`, then refuse for `lockout`."""

    max_failures: int
    window: timedelta
    lockout: timedelta

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window <= timedelta(0) or self.lockout <= timedelta(0):
            raise ValueError("window and lockout must be positive")


@dataclass(frozen=True, slots=True)
class Strikes:
    """The failures of one key: how many since `window_started_at`, and any block."""

    failures: int
    window_started_at: datetime
    blocked_until: datetime | None = None


def blocked_for(strikes: Strikes | None, *, now: datetime) -> timedelta | None:
    """How long the key is still refused, or None when it may try."""
    if strikes is None or strikes.blocked_until is None or strikes.blocked_until <= now:
        return None
    return strikes.blocked_until - now


def strike(strikes: Strikes | None, *, now: datetime, policy: ThrottlePolicy) -> Strikes:
    """The key's state after one more failure at `now`."""
    if strikes is None:
        strikes = Strikes(failures=0, window_started_at=now)
    elif now - strikes.window_started_at >= policy.window:
        strikes = Strikes(failures=0, window_started_at=now, blocked_until=strikes.blocked_until)
    failures = strikes.failures + 1
    if failures >= policy.max_failures:
        # the block starts a fresh window: once it ends, the key gets its full allowance back
        return Strikes(failures=0, window_started_at=now, blocked_until=now + policy.lockout)
    return Strikes(failures, strikes.window_started_at, strikes.blocked_until)


def account_key(email: str, *, secret: str) -> str:
    """The account key of an email, matched as logins match it (trimmed, lower-cased)."""
    digest = hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"account:{digest}"


def client_key(host: str) -> str:
    """The client key of an address; a host that is not an IP address is kept as it is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"client:{host[:150]}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"client:{address.ipv4_mapped}"
        return f"client:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"client:{address}"
