"""A video the platform processes for longer than a publish may wait: resumed, never doubled.

Through the real X adapter and the emulator, whose X media takes as long to process as a test
says (`processing.seconds["x"]`). The publish timeout is 2 s, so the adapter waits 1.5 s for
media before it says StillProcessing; the engine then puts the delivery back with the media id
and without spending an attempt, and the next try continues with the same upload.
"""

from __future__ import annotations

import struct
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from postwright.domain.models import AccountStatus, Delivery, new_id
from postwright.domain.platforms import Platform
from postwright.domain.states import DeliveryState
from postwright.platforms.emulator.rules import FaultRule
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store import accounts as account_store
from postwright.store import media as media_store
from tests.engine.conftest import (
    Scene,
    StartEngine,
    attempts_of,
    get_delivery,
    wait_until,
)

USER = "4200"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, emulator: BackgroundEmulator) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        platform_urls={"x": emulator.url},
        lease_s=3.0,
        poll_interval_s=0.2,
        claim_ahead_ms=500,
        reconcile_settle_s=0.2,
        publish_timeout_s=2.0,
        retry_base_delay_s=0.2,
        retry_max_delay_s=1.0,
    )


async def x_video_post(scene: Scene, text: str) -> post_service.PostView:
    """A post of `text` and a small MP4 to an X account of the emulator, due in a moment."""
    rt = scene.rt
    media_id = new_id()
    storage = f"media/{media_id}.mp4"
    path = rt.settings.media_dir / storage
    path.parent.mkdir(parents=True, exist_ok=True)
    data = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 4084
    path.write_bytes(data)
    async with rt.db.write() as conn:
        account = await account_store.create_account(
            conn,
            workspace_id=scene.principal.workspace_id,
            platform=Platform.X.value,
            handle="alice",
            display_name="alice",
            status=AccountStatus.ACTIVE,
            options={},
            credentials=rt.secretbox.seal({"access_token": f"x-user-{USER}"}),
            external_id=USER,
            token_expires_at=None,
            now=rt.now(),
        )
        await media_store.create_media(
            conn,
            media_id=media_id,
            workspace_id=scene.principal.workspace_id,
            values={
                "kind": "video",
                "mime_type": "video/mp4",
                "size_bytes": len(data),
                "width": 1280,
                "height": 720,
                "checksum_sha256": "0" * 64,
                "filename": "long.mp4",
                "storage_path": storage,
            },
            now=rt.now(),
        )
    return await scene.post(text, [account], media_ids=[media_id])


async def the_delivery(scene: Scene, post_id: uuid.UUID) -> Delivery:
    [delivery] = (await scene.view(post_id)).deliveries
    return await get_delivery(scene.rt, delivery.id)


async def still_processing(scene: Scene, post_id: uuid.UUID) -> bool:
    d = await the_delivery(scene, post_id)
    return d.state is DeliveryState.SCHEDULED and d.resume is not None


async def test_a_slow_video_is_published_once_after_resuming_without_spending_attempts(
    scene: Scene, start_engine: StartEngine
) -> None:
    scene.emulator.app.processing.seconds["x"] = 4.0
    post = await x_video_post(scene, "a long video, once")
    await start_engine()

    await wait_until(lambda: still_processing(scene, post.post.id), what="a first StillProcessing")
    waiting = await the_delivery(scene, post.post.id)
    assert waiting.attempts == 0  # the platform's processing is not a failed try
    assert waiting.hold_reason is not None
    assert waiting.hold_reason.startswith("X is still processing long.mp4")
    assert "checking again at" in waiting.hold_reason
    view = await scene.wait_for(post.post.id, {"published"}, timeout=20)

    [upload] = scene.emulator.app.processing.made("x")  # uploaded once, resumed with its id
    [stored] = scene.ledger(USER)
    delivery = await the_delivery(scene, post.post.id)
    assert delivery.external_id == stored.post_id == view.deliveries[0].external_id
    assert stored.attributes["media"] == [
        {"id": upload, "media_key": f"7_{upload}", "type": "video", "alt_text": None}
    ]
    assert delivery.resume is None
    assert delivery.attempts == 1
    outcomes = [a.outcome for a in await attempts_of(scene.rt, delivery.id)]
    assert outcomes[-1] == "published"
    assert len(outcomes) >= 2
    assert set(outcomes[:-1]) == {"processing"}


async def test_processing_past_the_budget_fails_with_a_clear_message(
    scene: Scene, start_engine: StartEngine
) -> None:
    scene.emulator.app.processing.seconds["x"] = 600.0
    post = await x_video_post(scene, "a video that never finishes")
    await start_engine(processing_budget_s=2.0)

    await scene.wait_for(post.post.id, {"failed"}, timeout=20)

    delivery = await the_delivery(scene, post.post.id)
    assert delivery.error_class == "processing_timeout"
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("X is still processing long.mp4; gave up after waiting")
    assert "processing_budget_s" in delivery.last_error
    assert delivery.resume is None
    assert scene.ledger(USER) == []
    assert len(scene.emulator.app.processing.made("x")) == 1


async def test_an_edit_while_processing_starts_over_with_fresh_media(
    scene: Scene, start_engine: StartEngine
) -> None:
    scene.emulator.app.processing.seconds["x"] = 600.0
    post = await x_video_post(scene, "before the edit")
    await start_engine()
    await wait_until(lambda: still_processing(scene, post.post.id), what="a first StillProcessing")
    [stale] = scene.emulator.app.processing.made("x")

    scene.emulator.app.processing.seconds["x"] = 0.5
    soon = scene.rt.now() + timedelta(milliseconds=300)
    await post_service.update_post(
        scene.rt,
        scene.principal,
        post.post.id,
        post_service.PostUpdate(text="after the edit", scheduled_at=soon.isoformat()),
    )
    await scene.wait_for(post.post.id, {"published"}, timeout=20)

    made = scene.emulator.app.processing.made("x")
    assert made[0] == stale
    assert len(made) == 2  # the old upload is not reused for the edited post
    [stored] = scene.ledger(USER)
    assert stored.text.startswith("after the edit")
    assert stored.attributes["media"][0]["id"] == made[1]


async def test_a_lost_answer_after_resuming_is_reconciled_to_one_post(
    scene: Scene, start_engine: StartEngine
) -> None:
    scene.emulator.app.processing.seconds["x"] = 3.0
    # the post is stored, its answer never comes: the engine's timeout makes it uncertain
    scene.emulator.app.faults.add(
        FaultRule.model_validate(
            {"match": {"platform": "x"}, "effect": {"timeout_after_store": True}, "count": 1}
        )
    )
    post = await x_video_post(scene, "resumed, then lost")
    await start_engine()

    view = await scene.wait_for(post.post.id, {"published"}, timeout=25)

    [stored] = scene.ledger(USER)
    assert view.deliveries[0].external_id == stored.post_id
    assert len(scene.emulator.app.processing.made("x")) == 1
    outcomes = [a.outcome for a in await attempts_of(scene.rt, view.deliveries[0].id)]
    assert "processing" in outcomes
    assert "uncertain" in outcomes
    assert outcomes[-1] == "found"
