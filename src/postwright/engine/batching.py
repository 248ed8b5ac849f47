"""Coalescing concurrent database writes into one transaction.

Many deliveries fall due at the same instant. Each would otherwise pay for its own transaction
(pool checkout, BEGIN, COMMIT; on SQLite, the write lock) twice: to start publishing and to
record the outcome. A `Batcher` gathers the submissions that arrive while the previous batch is
being written and runs them together; a lone submission waits for no one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`await submit(item)` returns `run([...items])[index]` once its batch has run."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        max_size: int,
        retry_if: Callable[[BaseException], bool] = lambda _exc: False,
        attempts: int = 3,
    ) -> None:
        self._run = run
        self._retry_if = retry_if
        self._attempts = attempts
        self._max_size = max_size
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let everything woken at this instant join the first batch
        while self._pending:
            batch = self._pending[: self._max_size]
            del self._pending[: self._max_size]
            try:
                results = await self._run_with_retries([item for item, _ in batch])
            except Exception as exc:  # every caller of the batch learns of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _run_with_retries(self, items: Sequence[T]) -> Sequence[R]:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._run(items)
            except Exception as exc:
                if attempt == self._attempts or not self._retry_if(exc):
                    raise
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")
