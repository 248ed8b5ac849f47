"""The shared in-memory store of every post the emulated platforms received.

Every platform module writes through `Ledger.record` and reads through `get`, `recent` and
`delete`; the control API reads `entries` to show tests what arrived, how often and when.

One process, one event loop: no method awaits, so no locks are needed.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue

from postwright.platforms.emulator.clock import rfc3339

__all__ = ["IDEMPOTENCY_KEY_TTL", "Ledger", "StoredPost"]

IDEMPOTENCY_KEY_TTL = 3600.0
"""Seconds an Idempotency-Key is remembered (Mastodon keeps them one hour)."""


@dataclass(slots=True)
class StoredPost:
    """One post as a platform stored it."""

    platform: str
    account: str
    post_id: str
    text: str
    first_received_at: float
    """Unix seconds when the first create request for it arrived, before any injected latency."""
    created_at: float
    """Unix seconds when it was stored."""
    received_count: int = 1
    """Create requests received for it: 1, plus one per idempotent replay."""
    attributes: dict[str, JsonValue] = field(default_factory=dict)
    """Platform-specific fields (media, link, ...), kept as the platform module wants them."""

    def ledger_entry(self) -> dict[str, JsonValue]:
        """The public shape of `GET /_emulator/ledger`."""
        return {
            "platform": self.platform,
            "account": self.account,
            "post_id": self.post_id,
            "text": self.text,
            "received_count": self.received_count,
            "first_received_at": rfc3339(self.first_received_at),
        }


_Account = tuple[str, str]  # (platform, account)
_Key = tuple[str, str, str]  # (platform, account, idempotency key)


class Ledger:
    """Posts by platform and account, in the order they were stored, with idempotency keys."""

    def __init__(
        self,
        *,
        key_ttl: float = IDEMPOTENCY_KEY_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key_ttl = key_ttl
        self._clock = clock
        self._ids = itertools.count(1_000_001)
        self._posts: dict[tuple[str, str], StoredPost] = {}  # (platform, post_id), insertion order
        self._by_account: dict[_Account, dict[str, StoredPost]] = {}
        # Keys expire in insertion order (one TTL for all), so the oldest are always first.
        self._keys: OrderedDict[_Key, tuple[str, float]] = OrderedDict()

    def record(
        self,
        *,
        platform: str,
        account: str,
        text: str,
        received_at: float,
        idempotency_key: str | None = None,
        post_id: str | None = None,
        attributes: dict[str, JsonValue] | None = None,
    ) -> tuple[StoredPost, bool]:
        """Store a post, or replay the one stored under the same idempotency key.

        Returns the post and whether it was created now (False: an idempotent replay, which only
        increments `received_count`). Without a key every call stores a new post. `post_id` lets a
        platform choose its own id format; by default the ledger numbers posts.
        """
        # Times are kept to the microsecond, as they are written, so that a timestamp read back
        # from a response (e.g. as `since`) compares equal to the one stored.
        now = round(self._clock(), 6)
        self._expire_keys(now)
        if idempotency_key is not None:
            replayed = self._replay((platform, account, idempotency_key))
            if replayed is not None:
                return replayed, False
        post = StoredPost(
            platform=platform,
            account=account,
            post_id=post_id if post_id is not None else str(next(self._ids)),
            text=text,
            first_received_at=round(received_at, 6),
            created_at=now,
            attributes=attributes or {},
        )
        self._posts[(platform, post.post_id)] = post
        self._by_account.setdefault((platform, account), {})[post.post_id] = post
        if idempotency_key is not None:
            self._keys[(platform, account, idempotency_key)] = (post.post_id, now + self._key_ttl)
        return post, True

    def get(self, platform: str, account: str, post_id: str) -> StoredPost | None:
        """The account's post with this id, if it exists."""
        return self._by_account.get((platform, account), {}).get(post_id)

    def delete(self, platform: str, account: str, post_id: str) -> bool:
        """Remove the account's post; False if there was none. Deleted posts leave the ledger."""
        post = self._by_account.get((platform, account), {}).pop(post_id, None)
        if post is None:
            return False
        del self._posts[(platform, post_id)]
        return True

    def recent(
        self, platform: str, account: str, *, since: float | None = None, limit: int
    ) -> list[StoredPost]:
        """The account's posts, newest first, created at or after `since`, at most `limit`."""
        found: list[StoredPost] = []
        for post in reversed(self._by_account.get((platform, account), {}).values()):
            if len(found) >= limit or (since is not None and post.created_at < since):
                break
            found.append(post)
        return found

    def entries(
        self, *, platform: str | None = None, account: str | None = None
    ) -> list[StoredPost]:
        """Every stored post, oldest first, optionally of one platform and/or account."""
        return [
            post
            for post in self._posts.values()
            if (platform is None or post.platform == platform)
            and (account is None or post.account == account)
        ]

    def clear(self) -> None:
        """Forget every post and idempotency key (ids keep counting up)."""
        self._posts.clear()
        self._by_account.clear()
        self._keys.clear()

    def _replay(self, key: _Key) -> StoredPost | None:
        remembered = self._keys.get(key)
        if remembered is None:
            return None
        post = self.get(key[0], key[1], remembered[0])
        if post is None:  # deleted since: the key no longer points anywhere
            del self._keys[key]
            return None
        post.received_count += 1
        return post

    def _expire_keys(self, now: float) -> None:
        while self._keys:
            key, (_, expires_at) = next(iter(self._keys.items()))
            if expires_at > now:
                return
            del self._keys[key]
