"""The engine publishes at the due second, once, and records what happened."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from postwright.engine.service import EngineService
from postwright.services import posts
from tests.engine.conftest import Scene


async def test_publishes_at_due_time_once(scene: Scene, engine: EngineService) -> None:
    account = await scene.account("brand")
    view = await scene.post("hello world", [account])
    due = view.deliveries[0].scheduled_at
    assert due is not None
    done = await scene.wait_for(view.post.id, {"published"})
    delivery = done.deliveries[0]
    assert delivery.external_id
    assert delivery.permalink is not None
    assert "/sandbox/brand/posts/" in delivery.permalink
    entries = scene.ledger("brand")
    assert [e.text for e in entries] == ["hello world"]
    received = datetime.fromtimestamp(entries[0].first_received_at, UTC)
    assert received >= due  # never early
    assert done.post.status.value == "published"


async def test_cancelled_post_is_never_published(scene: Scene, engine: EngineService) -> None:
    account = await scene.account("brand")
    keep = await scene.post("send me", [account], at=scene.rt.now() + timedelta(milliseconds=400))
    drop = await scene.post("cancel me", [account], at=scene.rt.now() + timedelta(milliseconds=400))
    await posts.cancel_post(scene.rt, scene.principal, drop.post.id)
    await scene.wait_for(keep.post.id, {"published"})
    await asyncio.sleep(0.3)
    assert [e.text for e in scene.ledger()] == ["send me"]
    assert (await scene.view(drop.post.id)).deliveries[0].state.value == "cancelled"


async def test_edit_before_due_publishes_new_text(scene: Scene, engine: EngineService) -> None:
    account = await scene.account("brand")
    view = await scene.post(
        "first draft", [account], at=scene.rt.now() + timedelta(milliseconds=700)
    )
    await posts.update_post(scene.rt, scene.principal, view.post.id, posts.PostUpdate(text="final"))
    await scene.wait_for(view.post.id, {"published"})
    assert [e.text for e in scene.ledger()] == ["final"]
