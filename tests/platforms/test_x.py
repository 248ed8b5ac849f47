"""The X adapter against the emulated X API v2, over a real socket: publish, find, delete, metrics,
and every error class."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.x import CHUNK_BYTES, XAdapter
from tests.platforms.conformance import Recorder

USER = "42"
ACCOUNT = AccountRef(
    id=uuid.uuid4(),
    handle="@alice",
    external_id=USER,
    options={},
    credentials={"access_token": f"x-user-{USER}"},
)
PNG = b"\x89PNG\r\n\x1a\n"


def request_for(
    text: str,
    *,
    media: list[MediaFile] | None = None,
    account: AccountRef = ACCOUNT,
    options: dict[str, Any] | None = None,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=str(uuid.uuid4()),
        text=text,
        media=media or [],
        options=options or {},
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


def media_file(
    path: Path, data: bytes, *, kind: str, mime: str, alt: str | None = None
) -> MediaFile:
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=path.name,
        mime_type=mime,
        kind=kind,
        size_bytes=len(data),
        checksum_sha256="0" * 64,
        alt_text=alt,
    )


def mp4_bytes(size: int) -> bytes:
    return struct.pack(">I", 24) + b"ftypisom" + b"\0" * (size - 12)


@pytest.fixture
def live() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=7)) as emulator:
        yield emulator


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [recorder]}) as client:
        yield client


@pytest.fixture
def adapter(client: httpx.AsyncClient, live: BackgroundEmulator) -> XAdapter:
    return XAdapter(client, base_url=live.url)


async def add_fault(live: BackgroundEmulator, rule: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=live.url) as control:
        response = await control.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


async def ledger(live: BackgroundEmulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=live.url) as control:
        entries: list[dict[str, Any]] = (
            await control.get("/_emulator/ledger", params={"platform": "x"})
        ).json()
    return entries


def paths(recorder: Recorder) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in recorder.requests]


# -- publishing ----------------------------------------------------------------------------------


async def test_publishes_text_and_reads_it_back(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    before = time.time()

    published = await adapter.publish(request_for("Hello from postwright"))

    entries = await ledger(live)
    assert [(e["post_id"], e["account"], e["text"]) for e in entries] == [
        (published.external_id, USER, "Hello from postwright")
    ]
    assert published.permalink == f"https://x.com/alice/status/{published.external_id}"
    assert published.rate is not None
    assert published.rate.remaining is not None
    assert published.rate.reset_at is not None
    assert published.rate.reset_at.timestamp() > before
    async with httpx.AsyncClient(base_url=live.url) as reader:
        lookup = await reader.get(
            f"/2/tweets/{published.external_id}",
            headers={"Authorization": "Bearer x-user-1"},
        )
    assert lookup.json()["data"]["text"] == "Hello from postwright"


async def test_publishes_a_link_which_x_moves_to_t_co_and_find_still_matches(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    text = "Read this: https://example.com/some/long/path?x=1&y=2 and example.org <3"
    request = request_for(text)

    published = await adapter.publish(request)
    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=2))

    assert [e["text"] for e in await ledger(live)] == [text]
    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink


async def test_publishes_images_in_chunks_with_alt_text(
    live: BackgroundEmulator, adapter: XAdapter, recorder: Recorder, tmp_path: Path
) -> None:
    big = media_file(
        tmp_path / "big.png",
        PNG + b"0" * (CHUNK_BYTES + 10),
        kind="image",
        mime="image/png",
        alt="A big picture",
    )
    small = media_file(tmp_path / "small.png", PNG + b"1" * 100, kind="image", mime="image/png")

    published = await adapter.publish(request_for("Two pictures", media=[big, small]))

    stored = live.app.ledger.get("x", USER, published.external_id)
    assert stored is not None
    media = stored.attributes["media"]
    assert isinstance(media, list)
    assert [(m["type"], m["alt_text"]) for m in media if isinstance(m, dict)] == [
        ("image", "A big picture"),
        ("image", None),
    ]
    appends = [p for p in paths(recorder) if p.endswith("/append")]
    assert len(appends) == 3  # two segments for the big file, one for the small one
    assert paths(recorder).count("POST /2/media/metadata") == 1


async def test_publishes_a_video_once_x_has_processed_it(
    live: BackgroundEmulator, adapter: XAdapter, recorder: Recorder, tmp_path: Path
) -> None:
    video = media_file(tmp_path / "clip.mp4", mp4_bytes(4096), kind="video", mime="video/mp4")

    published = await adapter.publish(request_for("", media=[video]))

    stored = live.app.ledger.get("x", USER, published.external_id)
    assert stored is not None
    assert "GET /2/media/upload" in paths(recorder)  # polled STATUS until it succeeded
    initialize = next(r for r in recorder.requests if r.url.path.endswith("/initialize"))
    assert b'"media_category":"tweet_video"' in initialize.content.replace(b" ", b"")


async def test_a_video_x_cannot_process_fails_naming_the_file(
    adapter: XAdapter, tmp_path: Path
) -> None:
    broken = media_file(tmp_path / "broken.mp4", b"\0" * 2048, kind="video", mime="video/mp4")

    with pytest.raises(Permanent) as raised:
        await adapter.publish(request_for("broken video", media=[broken]))

    assert raised.value.media_file == "broken.mp4"
    assert "UnsupportedMedia" in raised.value.message


async def test_a_video_still_processing_resumes_with_the_same_upload(
    live: BackgroundEmulator, client: httpx.AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    live.app.processing.seconds["x"] = 2.0
    adapter = XAdapter(client, base_url=live.url, media_timeout_s=0.3)
    video = media_file(tmp_path / "long.mp4", mp4_bytes(4096), kind="video", mime="video/mp4")
    request = request_for("A long video", media=[video])

    with pytest.raises(StillProcessing) as late:
        await adapter.publish(request)
    assert late.value.message == "X is still processing long.mp4"
    assert late.value.check_after == timedelta(seconds=1)  # X's check_after_secs
    uploads = live.app.processing.made("x")
    assert late.value.resume["media"] == {str(video.id): uploads[0]}
    assert await ledger(live) == []

    resume = late.value.resume
    for _ in range(5):
        await asyncio.sleep(1.0)
        try:
            published = await adapter.publish(replace(request, resume=resume))
            break
        except StillProcessing as again:
            resume = again.resume
    else:
        raise AssertionError("the video was never posted")

    assert live.app.processing.made("x") == uploads  # nothing uploaded twice
    assert paths(recorder).count("POST /2/media/upload/initialize") == 1
    stored = live.app.ledger.get("x", USER, published.external_id)
    assert stored is not None
    media = stored.attributes["media"]
    assert isinstance(media, list)
    assert [m["id"] for m in media if isinstance(m, dict)] == uploads


async def test_a_resumed_upload_x_no_longer_knows_is_uploaded_again(
    live: BackgroundEmulator, adapter: XAdapter, tmp_path: Path
) -> None:
    video = media_file(tmp_path / "clip.mp4", mp4_bytes(4096), kind="video", mime="video/mp4")
    forgotten = {"made_at": datetime.now(UTC).isoformat(), "media": {str(video.id): "123"}}

    published = await adapter.publish(replace(request_for("", media=[video]), resume=forgotten))

    [upload] = live.app.processing.made("x")
    assert upload != "123"
    assert live.app.ledger.get("x", USER, published.external_id) is not None


async def test_reply_settings_are_sent(live: BackgroundEmulator, adapter: XAdapter) -> None:
    published = await adapter.publish(
        request_for("Only followers reply", options={"reply_settings": "following"})
    )

    stored = live.app.ledger.get("x", USER, published.external_id)
    assert stored is not None
    assert stored.attributes["reply_settings"] == "following"


# -- find, delete, metrics -----------------------------------------------------------------------


async def test_find_does_not_find_what_was_not_posted(adapter: XAdapter) -> None:
    await adapter.publish(request_for("Something else entirely"))

    found = await adapter.find(
        request_for("The post that never left"), since=datetime.now(UTC) - timedelta(minutes=2)
    )

    assert found is None


async def test_find_ignores_posts_from_before_the_attempt(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    request = request_for("Posted long ago")
    await adapter.publish(request)
    post = live.app.ledger.entries(platform="x")[0]
    post.created_at -= 3600  # as if it had been posted an hour ago

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=5))

    assert found is None


async def test_find_reads_the_user_id_when_the_account_has_none(adapter: XAdapter) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="bob",
        external_id=None,
        options={},
        credentials={"access_token": "x-user-77"},
    )
    request = request_for("Who am I?", account=account)
    published = await adapter.publish(request)

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))

    assert found is not None
    assert found.external_id == published.external_id


async def test_delete_removes_the_post_and_tolerates_a_second_delete(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    published = await adapter.publish(request_for("Short-lived"))

    await adapter.delete(ACCOUNT, published.external_id)
    await adapter.delete(ACCOUNT, published.external_id)

    assert await ledger(live) == []


async def test_metrics_maps_public_and_private_counts(adapter: XAdapter) -> None:
    published = await adapter.publish(request_for("Count me"))

    metrics = await adapter.metrics(ACCOUNT, published.external_id)

    assert set(metrics) >= {"likes", "comments", "shares", "quotes", "views", "clicks"}
    assert all(value >= 0 for value in metrics.values())


async def test_metrics_of_an_unknown_post_is_permanent(adapter: XAdapter) -> None:
    # X answers 200 with only an `errors` array.
    with pytest.raises(Permanent, match="Could not find tweet"):
        await adapter.metrics(ACCOUNT, "1234567890123")


# -- errors --------------------------------------------------------------------------------------


async def test_an_injected_429_is_rate_limited_until_x_rate_limit_reset(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    await add_fault(live, {"effect": {"rate_limit": {"retry_after": 120}}, "count": 1})

    with pytest.raises(RateLimited) as raised:
        await adapter.publish(request_for("Too fast"))

    reset_at = raised.value.reset_at
    assert reset_at is not None
    assert 110 <= (reset_at - datetime.now(UTC)).total_seconds() <= 125
    assert await ledger(live) == []


async def test_a_spent_window_is_rate_limited_until_its_reset() -> None:
    app = create_app(rate_limits={"x": RateLimit(limit=1, window_seconds=600)})
    with BackgroundEmulator(app) as live:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = XAdapter(client, base_url=live.url)
            first = await adapter.publish(request_for("One"))
            with pytest.raises(RateLimited) as raised:
                await adapter.publish(request_for("Two"))

    assert first.rate is not None
    assert first.rate.remaining == 0
    assert raised.value.reset_at is not None
    assert 590 <= (raised.value.reset_at - datetime.now(UTC)).total_seconds() <= 601


async def test_an_expired_token_needs_auth(adapter: XAdapter) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="old",
        external_id="5",
        options={},
        credentials={"access_token": "expired-2h-ago"},
    )

    with pytest.raises(AuthNeeded) as raised:
        await adapter.publish(request_for("Hello?", account=account))

    assert raised.value.status == 401


async def test_text_x_refuses_is_permanent_with_x_s_words(adapter: XAdapter) -> None:
    with pytest.raises(Permanent, match="Tweet text is too long") as raised:
        await adapter.publish(request_for("x" * 281))

    assert raised.value.status == 400


async def test_a_duplicate_is_uncertain_so_that_find_decides(adapter: XAdapter) -> None:
    first = request_for("Say it once")
    published = await adapter.publish(first)

    with pytest.raises(Uncertain, match="duplicate"):
        await adapter.publish(request_for("Say it once"))

    found = await adapter.find(first, since=datetime.now(UTC) - timedelta(minutes=1))
    assert found is not None
    assert found.external_id == published.external_id


async def test_another_403_is_permanent_with_x_s_detail(
    live: BackgroundEmulator, adapter: XAdapter
) -> None:
    body = {
        "title": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "detail": "You are not permitted to perform this action.",
    }
    await add_fault(live, {"effect": {"status": 403, "body": body}, "count": 1})

    with pytest.raises(Permanent, match="not permitted to perform this action"):
        await adapter.publish(request_for("Forbidden fruit"))


async def test_a_usage_cap_is_permanent(live: BackgroundEmulator, adapter: XAdapter) -> None:
    body = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
        "period": "Monthly",
    }
    await add_fault(live, {"effect": {"status": 429, "body": body}, "count": 1})

    with pytest.raises(Permanent, match="usage cap") as raised:
        await adapter.publish(request_for("Out of credits"))

    assert raised.value.platform_code == "usage-capped"


async def test_a_503_on_create_is_uncertain(live: BackgroundEmulator, adapter: XAdapter) -> None:
    await add_fault(live, {"effect": {"status": 503}, "count": 1})

    with pytest.raises(Uncertain) as raised:
        await adapter.publish(request_for("Are you there?"))

    assert raised.value.status == 503


async def test_a_503_while_uploading_media_is_only_retryable(
    live: BackgroundEmulator, adapter: XAdapter, tmp_path: Path
) -> None:
    await add_fault(
        live,
        {"match": {"path": "/2/media/upload/*/finalize"}, "effect": {"status": 503}, "count": 1},
    )
    image = media_file(tmp_path / "a.png", PNG + b"2" * 10, kind="image", mime="image/png")

    with pytest.raises(Retryable):
        await adapter.publish(request_for("Picture", media=[image]))

    assert await ledger(live) == []


async def test_a_post_stored_then_unanswered_is_uncertain_and_found(
    live: BackgroundEmulator, recorder: Recorder
) -> None:
    await add_fault(live, {"effect": {"timeout_after_store": True}, "count": 1})
    request = request_for("Did it land?")
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        with pytest.raises(Uncertain):
            await XAdapter(impatient, base_url=live.url).publish(request)
    async with httpx.AsyncClient(timeout=5) as client:
        adapter = XAdapter(client, base_url=live.url)
        found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))
        with pytest.raises(Uncertain):  # a blind retry would be refused as a duplicate
            await adapter.publish(request)

    entries = await ledger(live)
    assert found is not None
    assert [e["post_id"] for e in entries] == [found.external_id]


async def test_a_refused_connection_is_retryable(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    adapter = XAdapter(client, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(Retryable):
        await adapter.publish(request_for("Anyone?"))
