"""Every column that holds sealed values (`auth.secretbox`), for key rotation to walk.

A module whose table keeps a sealed value registers the column once, at import time, with
`register_sealed`; `postwright keys rotate` re-encrypts what every registered column holds.
Writes are compare-and-swap on the old value, so a row changed meanwhile (a token refreshed,
an account reconnected) is left as its writer left it: already under the current key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.store.tables import accounts, oauth_states

__all__ = ["SealedColumn", "page_sealed", "register_sealed", "registered", "replace_sealed"]


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """One text column of sealed values, with the table's single-column primary key."""

    table: Table
    key: Column[Any]
    value: Column[Any]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.value.name}"


_REGISTRY: dict[str, SealedColumn] = {}


def register_sealed(table: Table, *, key: str, value: str) -> SealedColumn:
    column = SealedColumn(table=table, key=table.c[key], value=table.c[value])
    _REGISTRY[column.name] = column
    return column


def registered() -> list[SealedColumn]:
    """The registered columns, in a stable order."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


async def page_sealed(
    conn: AsyncConnection, column: SealedColumn, *, after: Any, limit: int
) -> list[tuple[Any, str]]:
    """Up to `limit` (key, sealed value) pairs with a key greater than `after` (None: first)."""
    query = select(column.key, column.value).where(column.value.is_not(None))
    if after is not None:
        query = query.where(column.key > after)
    rows = (await conn.execute(query.order_by(column.key).limit(limit))).all()
    return [(r[0], str(r[1])) for r in rows]


async def replace_sealed(
    conn: AsyncConnection, column: SealedColumn, *, key: Any, old: str, new: str
) -> bool:
    """Set the value to `new` if it is still `old`."""
    result = await conn.execute(
        update(column.table)
        .where(column.key == key, column.value == old)
        .values({column.value: new})
    )
    return result.rowcount > 0


register_sealed(accounts, key="id", value="credentials")
register_sealed(oauth_states, key="id", value="code_verifier")
register_sealed(oauth_states, key="id", value="sealed_extra")
