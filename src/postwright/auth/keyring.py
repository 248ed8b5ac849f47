"""The key ring of sealed secrets, and key rotation.

    POSTWRIGHT_SECRET_KEY             the current key: everything new is sealed under it
    POSTWRIGHT_PREVIOUS_SECRET_KEYS   older keys, comma-separated: still opened, never sealed with

Rotating a key:

    1. set POSTWRIGHT_SECRET_KEY to a new random string and move the old one to
       POSTWRIGHT_PREVIOUS_SECRET_KEYS; restart (every process must know both keys);
    2. run `postwright keys rotate`: every sealed value of every registered column
       (`store.sealed`: account credentials; OAuth states' PKCE verifiers and sealed extras,
       such as a Mastodon app's client secret until its callback) is opened
       and sealed again under the current key;
    3. once it reports nothing left under an old key, drop the old key from the settings.

Rotation is idempotent (values already under the current key are left alone) and safe while the
service runs: each value is replaced only if it is still the one that was read. A value that no
key of the ring opens is counted as `unreadable` and left as it is; its account will ask to be
reconnected when it is next used. `secret_key` also signs sessions and access tokens, which only
ever use the current key: people sign in again after a rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from postwright.auth.secretbox import SecretBox, SecretBoxError
from postwright.settings import Settings
from postwright.store import sealed

if TYPE_CHECKING:
    from postwright.runtime import Runtime

__all__ = ["ColumnReport", "RotationReport", "key_ring", "rotate_keys"]

_BATCH = 200


def key_ring(current: str, settings: Settings) -> list[str]:
    """The current key first, then the previous ones (duplicates dropped)."""
    ring = [current]
    for key in settings.previous_secret_keys:
        value = key.get_secret_value()
        if value and value not in ring:
            ring.append(value)
    return ring


@dataclass(slots=True)
class ColumnReport:
    """What rotation did to one column."""

    rotated: int = 0  # re-encrypted under the current key
    current: int = 0  # already under it
    unreadable: int = 0  # no key of the ring opens it
    changed_meanwhile: int = 0  # rewritten by someone else between read and write


@dataclass(slots=True)
class RotationReport:
    key_id: str  # the current key's id (not the key)
    columns: dict[str, ColumnReport] = field(default_factory=dict)

    @property
    def rotated(self) -> int:
        return sum(c.rotated for c in self.columns.values())

    @property
    def unreadable(self) -> int:
        return sum(c.unreadable for c in self.columns.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "columns": {
                name: {
                    "rotated": c.rotated,
                    "current": c.current,
                    "unreadable": c.unreadable,
                    "changed_meanwhile": c.changed_meanwhile,
                }
                for name, c in self.columns.items()
            },
        }


async def rotate_keys(rt: Runtime) -> RotationReport:
    """Re-encrypt every sealed value under the current key (see the module docstring)."""
    box: SecretBox = rt.secretbox
    report = RotationReport(key_id=box.current_key_id)
    for column in sealed.registered():
        counts = report.columns.setdefault(column.name, ColumnReport())
        after: Any = None
        while True:
            async with rt.db.read() as conn:
                page = await sealed.page_sealed(conn, column, after=after, limit=_BATCH)
            if not page:
                break
            after = page[-1][0]
            updates: list[tuple[Any, str, str]] = []
            for key, value in page:
                if box.key_id_of(value) == box.current_key_id:
                    counts.current += 1
                    continue
                try:
                    opened = box.open(value)
                except SecretBoxError:
                    counts.unreadable += 1
                    continue
                updates.append((key, value, box.seal(opened)))
            if updates:
                async with rt.db.write() as conn:
                    for key, old, new in updates:
                        if await sealed.replace_sealed(conn, column, key=key, old=old, new=new):
                            counts.rotated += 1
                        else:
                            counts.changed_meanwhile += 1
    return report
