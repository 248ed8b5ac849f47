"""Turn the database's unique-constraint violations into the domain's `Conflict`.

A check-then-insert can race on PostgreSQL; the constraint cannot. Services wrap the write in
`unique_violation_as(Conflict("..."))` and get a 409 instead of a driver error, on both dialects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from postwright.domain.errors import Conflict

__all__ = ["is_unique_violation", "unique_violation_as"]

_PG_UNIQUE_VIOLATION = "23505"


def is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    if getattr(orig, "pgcode", None) == _PG_UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(orig)  # SQLite's wording


@contextmanager
def unique_violation_as(conflict: Conflict) -> Iterator[None]:
    """Raise `conflict` instead of a unique-constraint violation inside the block.

    Use it around the whole transaction (outside `db.write()`): the failed transaction is rolled
    back first, then the conflict reaches the caller.
    """
    try:
        yield
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict from exc
        raise
