"""The LinkedIn adapter against the emulated Posts API over a real socket: text, link, images and
video read back, find, delete, metrics, and every error class."""

from __future__ import annotations

import asyncio
import socket
import struct
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
from postwright.platforms import linkedin
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator import linkedin as emulated
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.linkedin import LINKEDIN_VERSION, LinkedInAdapter
from postwright.settings import Settings
from tests.platforms.conformance import Recorder

PERSON = "urn:li:person:ada42"
ACCOUNT = AccountRef(
    id=uuid.uuid4(),
    handle="Ada",
    external_id=PERSON,
    options={},
    credentials={"access_token": "li-person-ada42"},
)
PAGE = AccountRef(
    id=uuid.uuid4(),
    handle="Acme",
    external_id="urn:li:organization:1234",
    options={},
    credentials={"access_token": "li-person-ada42"},
)
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 500
SINCE = timedelta(minutes=2)


def request_for(
    text: str,
    *,
    media: list[MediaFile] | None = None,
    account: AccountRef = ACCOUNT,
    **options: Any,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=str(uuid.uuid4()),
        text=text,
        media=media or [],
        options=options,
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


def media_file(
    tmp_path: Path,
    name: str,
    data: bytes = PNG,
    *,
    kind: str = "image",
    mime: str = "image/png",
    alt: str | None = None,
) -> MediaFile:
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=name,
        mime_type=mime,
        kind=kind,
        size_bytes=len(data),
        checksum_sha256="0" * 64,
        alt_text=alt,
    )


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=9)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(live: BackgroundEmulator) -> None:
    live.app.ledger.clear()
    live.app.faults.clear()
    live.app.processing.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [recorder]}) as client:
        yield client


@pytest.fixture
def adapter(client: httpx.AsyncClient, live: BackgroundEmulator) -> LinkedInAdapter:
    return LinkedInAdapter(client, base_url=live.url, media_timeout_s=5)


async def add_fault(live: BackgroundEmulator, rule: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=live.url) as control:
        response = await control.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


async def read_back(live: BackgroundEmulator, urn: str) -> dict[str, Any]:
    """The post as LinkedIn returns it to a reader."""
    headers = {
        "Authorization": "Bearer li-person-ada42",
        "LinkedIn-Version": LINKEDIN_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as reader:
        response = await reader.get(f"/rest/posts/{urn}")
    assert response.status_code == 200, response.text
    post: dict[str, Any] = response.json()
    return post


# -- publishing ----------------------------------------------------------------------------------


async def test_publishes_text_escaped_so_that_nothing_is_cut(
    live: BackgroundEmulator, adapter: LinkedInAdapter, recorder: Recorder
) -> None:
    text = "Big news (really) for C# & *everyone* @ACME #launch_day <3 ~ [draft] {x} | a\\b"

    published = await adapter.publish(request_for(text))

    [entry] = live.app.ledger.entries(platform="linkedin")
    assert entry.text == text  # LinkedIn shows all of it
    post = await read_back(live, published.external_id)
    assert "{hashtag|\\#|launch\\_day}" in post["commentary"]
    assert post["author"] == PERSON
    assert post["visibility"] == "PUBLIC"
    assert post["lifecycleState"] == "PUBLISHED"
    assert post["isReshareDisabledByAuthor"] is False
    assert post["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert published.external_id.startswith("urn:li:share:")
    assert published.permalink == (f"https://www.linkedin.com/feed/update/{published.external_id}/")
    create = next(r for r in recorder.requests if r.url.path == "/rest/posts")
    assert create.headers["linkedin-version"] == "202601"
    assert create.headers["x-restli-protocol-version"] == "2.0.0"


async def test_a_link_becomes_an_article(
    live: BackgroundEmulator, adapter: LinkedInAdapter
) -> None:
    first = await adapter.publish(request_for("Read https://example.com/post, please"))
    second = await adapter.publish(
        request_for(
            "Our story",
            link="https://example.org/story",
            link_title="The story",
            link_description="How it began",
            visibility="CONNECTIONS",
        )
    )

    assert (await read_back(live, first.external_id))["content"] == {
        "article": {"source": "https://example.com/post", "title": "https://example.com/post"}
    }
    post = await read_back(live, second.external_id)
    assert post["content"] == {
        "article": {
            "source": "https://example.org/story",
            "title": "The story",
            "description": "How it began",
        }
    }
    assert post["visibility"] == "CONNECTIONS"


async def test_publishes_one_image_with_alt_text_once_it_is_available(
    live: BackgroundEmulator, adapter: LinkedInAdapter, recorder: Recorder, tmp_path: Path
) -> None:
    photo = media_file(tmp_path, "photo.png", alt="A sunset")

    published = await adapter.publish(request_for("One picture", media=[photo]))

    content = (await read_back(live, published.external_id))["content"]
    assert content["media"]["altText"] == "A sunset"
    assert content["media"]["id"].startswith("urn:li:image:")
    steps = [f"{r.method} {r.url.path}" for r in recorder.requests]
    assert steps[0] == "POST /rest/images"
    assert steps[1].startswith("PUT /dms-uploads/image/")
    assert any(step.startswith("GET /rest/images/urn:li:image:") for step in steps)


async def test_publishes_several_images_as_a_multi_image_post(
    live: BackgroundEmulator, adapter: LinkedInAdapter, tmp_path: Path
) -> None:
    photos = [media_file(tmp_path, f"p{i}.png", alt=f"Photo {i}") for i in range(3)]

    published = await adapter.publish(request_for("Three pictures", media=photos))

    images = (await read_back(live, published.external_id))["content"]["multiImage"]["images"]
    assert [image["altText"] for image in images] == ["Photo 0", "Photo 1", "Photo 2"]


async def test_publishes_a_video_in_parts_keeping_their_etags(
    live: BackgroundEmulator,
    adapter: LinkedInAdapter,
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(emulated, "PART_BYTES", 1024)
    data = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 2500
    clip = media_file(tmp_path, "clip.mp4", data, kind="video", mime="video/mp4")

    published = await adapter.publish(request_for("A clip", media=[clip]))

    content = (await read_back(live, published.external_id))["content"]
    assert content["media"]["id"].startswith("urn:li:video:")
    puts = [r for r in recorder.requests if r.method == "PUT"]
    assert [len(r.content) for r in puts] == [1024, 1024, 464]
    finalize = next(r for r in recorder.requests if r.url.params.get("action") == "finalizeUpload")
    assert finalize.content.count(b"/ambry-video/") == 3


async def test_a_file_linkedin_cannot_process_fails_naming_it(
    adapter: LinkedInAdapter, tmp_path: Path
) -> None:
    broken = media_file(tmp_path, "broken.png", b"not an image")

    with pytest.raises(Permanent, match=r"could not process broken\.png") as raised:
        await adapter.publish(request_for("Broken", media=[broken]))

    assert raised.value.media_file == "broken.png"


async def test_a_video_still_processing_resumes_with_the_same_video(
    live: BackgroundEmulator, client: httpx.AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    live.app.processing.seconds["linkedin"] = 1.0
    adapter = LinkedInAdapter(client, base_url=live.url, media_timeout_s=0.1)
    video = media_file(tmp_path, "long.mp4", MP4, kind="video", mime="video/mp4")
    request = request_for("A long video", media=[video])

    with pytest.raises(StillProcessing) as late:
        await adapter.publish(request)
    assert late.value.message == "LinkedIn is still processing long.mp4"
    assert timedelta(0) < late.value.check_after <= timedelta(seconds=5)
    videos = live.app.processing.made("linkedin")
    assert late.value.resume["videos"] == {str(video.id): videos[0]}
    assert live.app.ledger.entries(platform="linkedin") == []

    resume = late.value.resume
    for _ in range(8):
        await asyncio.sleep(0.5)
        try:
            published = await adapter.publish(replace(request, resume=resume))
            break
        except StillProcessing as again:
            resume = again.resume
    else:
        raise AssertionError("the video was never posted")

    assert live.app.processing.made("linkedin") == videos  # nothing uploaded twice
    starts = [r for r in recorder.requests if r.url.params.get("action") == "initializeUpload"]
    assert len(starts) == 1
    content = (await read_back(live, published.external_id))["content"]
    assert content["media"]["id"] == videos[0]


async def test_a_resumed_video_linkedin_no_longer_knows_is_uploaded_again(
    live: BackgroundEmulator, adapter: LinkedInAdapter, tmp_path: Path
) -> None:
    video = media_file(tmp_path, "clip.mp4", MP4, kind="video", mime="video/mp4")
    forgotten = {
        "made_at": datetime.now(UTC).isoformat(),
        "videos": {str(video.id): "urn:li:video:C5F10AQgone"},
    }

    published = await adapter.publish(
        replace(request_for("Forgotten", media=[video]), resume=forgotten)
    )

    [made] = live.app.processing.made("linkedin")
    content = (await read_back(live, published.external_id))["content"]
    assert content["media"]["id"] == made


async def test_a_resumed_video_too_old_is_uploaded_again_without_asking(
    live: BackgroundEmulator, adapter: LinkedInAdapter, recorder: Recorder, tmp_path: Path
) -> None:
    video = media_file(tmp_path, "clip.mp4", MP4, kind="video", mime="video/mp4")
    await adapter.publish(request_for("First", media=[video]))
    [old] = live.app.processing.made("linkedin")
    stale = {
        "made_at": (datetime.now(UTC) - linkedin.VIDEO_LIFETIME).isoformat(),
        "videos": {str(video.id): old},
    }
    recorder.clear()

    published = await adapter.publish(replace(request_for("Second", media=[video]), resume=stale))

    [_, new] = live.app.processing.made("linkedin")
    content = (await read_back(live, published.external_id))["content"]
    assert content["media"]["id"] == new
    assert not any(old in r.url.path for r in recorder.requests)


async def test_a_resumed_video_linkedin_failed_to_process_is_permanent(
    live: BackgroundEmulator, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    live.app.processing.seconds["linkedin"] = 0.5
    adapter = LinkedInAdapter(client, base_url=live.url, media_timeout_s=0.1)
    broken = media_file(tmp_path, "broken.mp4", b"\0" * 512, kind="video", mime="video/mp4")
    request = request_for("Broken video", media=[broken])
    with pytest.raises(StillProcessing) as late:
        await adapter.publish(request)
    await asyncio.sleep(0.6)

    with pytest.raises(Permanent, match=r"could not process broken\.mp4") as raised:
        await adapter.publish(replace(request, resume=late.value.resume))

    assert raised.value.media_file == "broken.mp4"
    assert raised.value.platform_code == "PROCESSING_FAILED"
    assert len(live.app.processing.made("linkedin")) == 1


async def test_publishes_as_an_organization(
    live: BackgroundEmulator, adapter: LinkedInAdapter, tmp_path: Path
) -> None:
    published = await adapter.publish(
        request_for("From the page", media=[media_file(tmp_path, "logo.png")], account=PAGE)
    )

    assert (await read_back(live, published.external_id))["author"] == "urn:li:organization:1234"


# -- find, delete, metrics -----------------------------------------------------------------------


async def test_find_matches_the_un_escaped_commentary(adapter: LinkedInAdapter) -> None:
    request = request_for("Hello (world) #news")
    published = await adapter.publish(request)
    await adapter.publish(request_for("Something else"))

    found = await adapter.find(request, since=datetime.now(UTC) - SINCE)

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink


async def test_find_does_not_find_what_was_not_posted(adapter: LinkedInAdapter) -> None:
    await adapter.publish(request_for("Posted"))

    assert await adapter.find(request_for("Never posted"), since=datetime.now(UTC) - SINCE) is None


async def test_find_ignores_posts_from_before_the_attempt(
    live: BackgroundEmulator, adapter: LinkedInAdapter
) -> None:
    request = request_for("Old words")
    await adapter.publish(request)
    live.app.ledger.entries(platform="linkedin")[0].created_at -= 3600

    assert await adapter.find(request, since=datetime.now(UTC) - SINCE) is None


async def test_find_without_read_permission_raises_instead_of_guessing(
    adapter: LinkedInAdapter,
) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="Ada",
        external_id=PERSON,
        options={},
        credentials={"access_token": "li-person-ada42+noread"},
    )
    request = request_for("Can you see me?", account=account)
    await adapter.publish(request)

    with pytest.raises(Uncertain, match="r_member_social") as raised:
        await adapter.find(request, since=datetime.now(UTC) - SINCE)

    assert raised.value.status == 403


async def test_delete_removes_the_post_and_tolerates_a_second_delete(
    live: BackgroundEmulator, adapter: LinkedInAdapter, recorder: Recorder
) -> None:
    published = await adapter.publish(request_for("Short-lived"))

    await adapter.delete(ACCOUNT, published.external_id)
    await adapter.delete(ACCOUNT, published.external_id)

    assert live.app.ledger.entries(platform="linkedin") == []
    assert recorder.requests[-1].headers["x-restli-method"] == "DELETE"


async def test_metrics_reads_likes_and_comments(adapter: LinkedInAdapter) -> None:
    published = await adapter.publish(request_for("Count me"))

    metrics = await adapter.metrics(ACCOUNT, published.external_id)

    assert metrics == emulated.metrics_of(published.external_id)


# -- errors --------------------------------------------------------------------------------------


async def test_an_injected_429_waits_for_midnight_utc(
    live: BackgroundEmulator, adapter: LinkedInAdapter
) -> None:
    await add_fault(live, {"effect": {"rate_limit": {"retry_after": 60}}, "count": 1})

    with pytest.raises(RateLimited) as raised:
        await adapter.publish(request_for("Too much today"))

    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert raised.value.reset_at == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC
    )


async def test_a_spent_daily_quota_is_rate_limited() -> None:
    app = create_app(rate_limits={"linkedin": RateLimit(limit=1, window_seconds=86_400)})
    with BackgroundEmulator(app) as live:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = LinkedInAdapter(client, base_url=live.url)
            await adapter.publish(request_for("One"))
            with pytest.raises(RateLimited, match="DAY limit") as raised:
                await adapter.publish(request_for("Two"))

    assert raised.value.reset_at is not None
    assert raised.value.reset_at.time().isoformat() == "00:00:00"


async def test_an_expired_token_needs_auth(adapter: LinkedInAdapter) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="Old",
        external_id=PERSON,
        options={},
        credentials={"access_token": "expired-60-days-ago"},
    )

    with pytest.raises(AuthNeeded, match="Invalid access token") as raised:
        await adapter.publish(request_for("Hello?", account=account))

    assert raised.value.status == 401


async def test_posting_as_another_member_needs_auth(adapter: LinkedInAdapter) -> None:
    other = AccountRef(
        id=uuid.uuid4(),
        handle="Eve",
        external_id="eve7",
        options={},
        credentials={"access_token": "li-person-ada42"},
    )

    with pytest.raises(AuthNeeded, match="Not enough permissions"):
        await adapter.publish(request_for("Not mine", account=other))


async def test_a_retired_version_is_permanent_and_names_the_setting(
    live: BackgroundEmulator, client: httpx.AsyncClient
) -> None:
    adapter = LinkedInAdapter(client, base_url=live.url, version="202401")

    with pytest.raises(Permanent, match="POSTWRIGHT_LINKEDIN_VERSION") as raised:
        await adapter.publish(request_for("Old API"))

    assert raised.value.status == 426


async def test_a_refused_post_is_permanent_with_linkedin_s_words(adapter: LinkedInAdapter) -> None:
    with pytest.raises(Permanent, match="exceeds 3000") as raised:
        await adapter.publish(request_for("x" * 3001))

    assert raised.value.status == 422


async def test_a_duplicate_is_uncertain_so_that_find_decides(adapter: LinkedInAdapter) -> None:
    first = request_for("Say it once")
    published = await adapter.publish(first)

    with pytest.raises(Uncertain, match=f"duplicate of {published.external_id}"):
        await adapter.publish(request_for("Say it once"))

    found = await adapter.find(first, since=datetime.now(UTC) - SINCE)
    assert found is not None
    assert found.external_id == published.external_id


async def test_a_503_on_create_is_uncertain(
    live: BackgroundEmulator, adapter: LinkedInAdapter
) -> None:
    await add_fault(live, {"effect": {"status": 503}, "count": 1})

    with pytest.raises(Uncertain) as raised:
        await adapter.publish(request_for("Are you there?"))

    assert raised.value.status == 503


async def test_a_503_while_uploading_is_only_retryable(
    live: BackgroundEmulator, adapter: LinkedInAdapter, tmp_path: Path
) -> None:
    await add_fault(
        live, {"match": {"path": "/dms-uploads/*"}, "effect": {"status": 503}, "count": 1}
    )

    with pytest.raises(Retryable, match=r"answered 503 \(a\.png\)"):
        await adapter.publish(request_for("Pic", media=[media_file(tmp_path, "a.png")]))

    assert live.app.ledger.entries(platform="linkedin") == []


async def test_a_post_stored_then_unanswered_is_uncertain_and_found(
    live: BackgroundEmulator,
) -> None:
    await add_fault(live, {"effect": {"reset_after_store": True}, "count": 1})
    request = request_for("Did it land?")
    async with httpx.AsyncClient(timeout=5) as client:
        adapter = LinkedInAdapter(client, base_url=live.url)
        with pytest.raises(Uncertain):
            await adapter.publish(request)
        found = await adapter.find(request, since=datetime.now(UTC) - SINCE)

    assert found is not None
    assert [e.post_id for e in live.app.ledger.entries(platform="linkedin")] == [found.external_id]


async def test_a_201_without_the_post_urn_is_not_a_success() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201)  # the anchors' "false success"

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        adapter = LinkedInAdapter(client, base_url="https://api.linkedin.test")
        with pytest.raises(Uncertain, match="x-restli-id") as raised:
            await adapter.publish(request_for("Did it?"))

    assert raised.value.status == 201


async def test_a_refused_connection_is_retryable(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = LinkedInAdapter(client, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(Retryable):
        await adapter.publish(request_for("Anyone?"))


async def test_build_reads_the_base_url_and_the_version_from_settings(
    live: BackgroundEmulator, client: httpx.AsyncClient, recorder: Recorder, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, platform_urls={"linkedin": live.url}, linkedin_version="202509"
    )

    await linkedin.build(client, settings).publish(request_for("Versioned"))

    assert recorder.requests[-1].headers["linkedin-version"] == "202509"
