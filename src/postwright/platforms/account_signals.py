"""Which platform answers say an account is suspended or restricted, not just signed out.

An adapter classifies every failure into a `PlatformError` class (what the engine does with the
delivery). Some of those failures also say something about the *account*: its token stopped
working (needs_reconnect), the platform suspended it, or the platform limits what it may do.
This module reads that second meaning, so the account's health can say which it is and the
delivery is held rather than failed. The mapping, from the platforms' own words:

    platform                   answer                                          status
    mastodon                   403 "Your login is currently disabled"          suspended
                               (Mastodon: the user is disabled, or its account
                               suspended or memorialised)
    mastodon                   403 "Your login is missing a confirmed e-mail    restricted
                               address" / "... is currently pending approval"
    bluesky                    XRPC error AccountTakedown                      suspended
    bluesky                    XRPC error AccountDeactivated                   restricted
    bluesky (sessions)         `active: false` with status takendown |          suspended |
                               suspended | deactivated                         restricted
    x                          "Your account is suspended" (code 64)           suspended
    x                          "your account has been locked" (code 326)       restricted
    facebook, instagram,       code 368 (blocked for policy violations)        restricted
    threads                    code 190 subcode 459 (checkpointed) or 464       restricted
                               (unconfirmed user)

Everything else that is `AuthNeeded` means needs_reconnect. The adapters carry the platform's
own message (and, for Graph and XRPC, its code or error name) into the error they raise; the
markers below are those exact phrases, compared case-insensitively, never guesses at meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from postwright.domain.errors import AuthNeeded, Permanent, PlatformError

__all__ = ["AccountSignal", "account_signal", "session_status_signal"]

SUSPENDED = "suspended"
RESTRICTED = "restricted"


@dataclass(frozen=True, slots=True)
class AccountSignal:
    """What a platform said about the account: its health status and why."""

    status: str  # suspended | restricted
    reason: str


@dataclass(frozen=True, slots=True)
class _Marker:
    platform: str
    pattern: re.Pattern[str]
    status: str
    reason: str


def _marker(platform: str, pattern: str, status: str, reason: str) -> _Marker:
    return _Marker(platform, re.compile(pattern, re.IGNORECASE), status, reason)


_GRAPH = ("facebook", "instagram", "threads")

_MARKERS: tuple[_Marker, ...] = (
    _marker(
        "mastodon",
        r"Your login is currently disabled",
        SUSPENDED,
        "the instance disabled or suspended the account",
    ),
    _marker(
        "mastodon",
        r"Your login is missing a confirmed e-mail address",
        RESTRICTED,
        "the account's e-mail address is not confirmed on the instance",
    ),
    _marker(
        "mastodon",
        r"Your login is currently pending approval",
        RESTRICTED,
        "the instance has not approved the account yet",
    ),
    _marker("bluesky", r"\bAccountTakedown\b", SUSPENDED, "Bluesky took the account down"),
    _marker(
        "bluesky",
        r"\bAccountDeactivated\b",
        RESTRICTED,
        "the account is deactivated; reactivate it on Bluesky",
    ),
    _marker("x", r"Your account is suspended|\bcode 64\b", SUSPENDED, "X suspended the account"),
    _marker(
        "x",
        r"your account (?:has been|is temporarily) locked|\bcode 326\b",
        RESTRICTED,
        "X locked the account; unlock it on x.com",
    ),
    *(
        _marker(
            p,
            r"\bcode 368\b|\b368(?:/\d+)?$",
            RESTRICTED,
            "the account is blocked from posting for a policy violation",
        )
        for p in _GRAPH
    ),
    *(
        _marker(
            p,
            r"\bcode 190/(?:459|464)\b|^190/(?:459|464)$",
            RESTRICTED,
            "the platform asks the account owner to sign in and confirm the account",
        )
        for p in _GRAPH
    ),
)


def account_signal(platform: str, exc: BaseException) -> AccountSignal | None:
    """The suspension or restriction `exc` reports for the account, or None."""
    if not isinstance(exc, (AuthNeeded, Permanent)):
        return None
    said = [str(exc)]
    if isinstance(exc, Permanent) and exc.platform_code:
        said.append(exc.platform_code)
    for marker in _MARKERS:
        if marker.platform != platform:
            continue
        if any(marker.pattern.search(text) for text in said):
            return AccountSignal(marker.status, f"{marker.reason} ({_first_line(exc)})")
    return None


_SESSION_STATUSES = {
    "takendown": (SUSPENDED, "Bluesky took the account down"),
    "suspended": (SUSPENDED, "Bluesky suspended the account"),
    "deactivated": (RESTRICTED, "the account is deactivated; reactivate it on Bluesky"),
}


def session_status_signal(active: object, status: object) -> AccountSignal | None:
    """Bluesky's `active`/`status` of a session (createSession, refreshSession)."""
    if active is not False:
        return None
    found = _SESSION_STATUSES.get(str(status or ""))
    if found is None:
        return AccountSignal(RESTRICTED, f"Bluesky says the account is not active ({status})")
    return AccountSignal(*found)


def _first_line(exc: PlatformError) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
