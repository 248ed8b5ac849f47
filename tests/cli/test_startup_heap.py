"""Long-running commands (`serve`, `worker`) freeze their start-up heap, so a full garbage
collection does not walk it and stall the event loop while deliveries are due."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from postwright import cli


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # give the test process its heap back


def test_the_start_up_heap_is_frozen_out_of_the_collectors_reach(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    cli._freeze_startup_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules, settings and app objects alive at start-up
    gc.collect()
    assert gc.get_freeze_count() == frozen  # a collection leaves them be
