"""Rules for an account's credentials that hold whoever writes them (connect, refresh)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["KEEP_WHEN_EMPTY", "merge_credentials"]

KEEP_WHEN_EMPTY = frozenset({"refresh_token", "refresh_jwt"})
"""Keys a new answer may leave out (or send empty) without losing the old value: platforms
often send no refresh token on a reconnect or a refresh, and the one they sent before still
works. Replacing it with nothing would force a person to reconnect when the access token lapses.
"""


def merge_credentials(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials to store: `new`, except that an empty or missing `KEEP_WHEN_EMPTY` value
    keeps the old one. Every other old key is dropped (a new grant replaces the old one)."""
    merged = dict(new)
    for key in KEEP_WHEN_EMPTY:
        if not merged.get(key) and old and old.get(key):
            merged[key] = old[key]
    return {k: v for k, v in merged.items() if v is not None}
