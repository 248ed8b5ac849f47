"""The Instagram adapter against the emulator over a real socket: containers, quota, recovery of
a lost publish answer, every error class, validation."""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.facebook import metric_value
from postwright.platforms.emulator.instagram import shortcode
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.graph import Polling, PublishingQuotaExceeded
from postwright.platforms.http import make_client
from postwright.platforms.instagram import InstagramAdapter
from postwright.platforms.media_urls import verify_media_signature
from postwright.settings import Settings

USER = "17841400000000001"
TOKEN = "ig-token"
SECRET = "test-secret-for-media-urls"
PUBLIC = "https://pw.example.com"
FAST = Polling(first_s=0.01, factor=1.0, max_interval_s=0.01)


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=7)) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean(emulator: BackgroundEmulator) -> None:
    emulator.app.ledger.clear()
    emulator.app.faults.clear()


def settings_for(url: str | None, tmp_path: Path, *, timeout_s: float = 2.0) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SECRET,
        public_url=PUBLIC,
        platform_urls={"instagram": f"{url}/instagram/v26.0"} if url else {},
        publish_timeout_s=timeout_s,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    client = make_client(timeout_s=2.0)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def adapter(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> InstagramAdapter:
    return InstagramAdapter(client, settings=settings_for(emulator.url, tmp_path), polling=FAST)


def account(token: str = TOKEN) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        handle="brand",
        external_id=USER,
        options={},
        credentials={"access_token": token},
    )


def media_file(tmp_path: Path, name: str, *, kind: str = "image") -> MediaFile:
    data = (
        b"\xff\xd8\xff\xe0" if kind == "image" else b"\x00\x00\x00\x18ftypmp42"
    ) + name.encode() * 32
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=name,
        mime_type="image/jpeg" if kind == "image" else "video/mp4",
        kind=kind,
        size_bytes=len(data),
        checksum_sha256=hashlib.sha256(data).hexdigest(),
        alt_text=f"alt for {name}" if kind == "image" else None,
    )


def request(text: str, media: list[MediaFile], **options: Any) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=uuid.uuid4().hex,
        text=text,
        media=media,
        options=options,
        account=account(),
        fingerprint="",
        scheduled_at=None,
    )


def posts(emulator: BackgroundEmulator) -> list[StoredPost]:
    return emulator.app.ledger.entries(platform="instagram", account=USER)


def attrs(post: StoredPost, key: str) -> dict[str, Any]:
    value = post.attributes[key]
    assert isinstance(value, dict)
    return cast(dict[str, Any], value)


def children(post: StoredPost) -> list[dict[str, Any]]:
    value = post.attributes["children"]
    assert isinstance(value, list)
    return [cast(dict[str, Any], item) for item in value]


def add_fault(emulator: BackgroundEmulator, rule: dict[str, Any]) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


def graph_body(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def assert_signed_for(url: str, media: MediaFile) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC
    assert parts.path == f"/media/{media.id}"
    query = parse_qs(parts.query)
    assert verify_media_signature(
        SECRET, str(media.id), query["exp"][0], query["sig"][0], now=datetime.now(UTC)
    )


PUBLISH = f"/instagram/*/{USER}/media_publish"


# -- publishing ---------------------------------------------------------------------------------


async def test_one_image_with_caption_and_alt_text(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    photo = media_file(tmp_path, "cat.jpg")

    published = await adapter.publish(request("A cat #caturday", [photo]))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert published.permalink == f"https://www.instagram.com/p/{shortcode(post.post_id)}/"
    assert post.text == "A cat #caturday"
    assert post.attributes["media_type"] == "IMAGE"
    params = attrs(post, "params")
    assert params["alt_text"] == "alt for cat.jpg"
    assert_signed_for(params["image_url"], photo)
    assert published.rate is not None


async def test_carousel_of_images_and_a_video(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [
        media_file(tmp_path, "a.jpg"),
        media_file(tmp_path, "b.jpg"),
        media_file(tmp_path, "c.mp4", kind="video"),
    ]

    published = await adapter.publish(request("Three of them", media))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.attributes["media_type"] == "CAROUSEL_ALBUM"
    sent = children(post)
    assert [child["media_type"] for child in sent] == ["IMAGE", "IMAGE", "VIDEO"]
    assert_signed_for(sent[0]["image_url"], media[0])
    assert_signed_for(sent[2]["video_url"], media[2])
    assert sent[1]["alt_text"] == "alt for b.jpg"


async def test_a_video_is_a_reel(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    clip = media_file(tmp_path, "clip.mp4", kind="video")

    published = await adapter.publish(request("Watch", [clip], share_to_feed=False))

    [post] = posts(emulator)
    assert post.attributes["media_product_type"] == "REELS"
    assert attrs(post, "params")["share_to_feed"] is False
    assert published.permalink == f"https://www.instagram.com/reel/{shortcode(post.post_id)}/"


async def test_a_story_carries_no_caption_and_is_found_among_stories(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    req = request("ignored on stories", [media_file(tmp_path, "s.jpg")], media_type="STORIES")

    published = await adapter.publish(req)
    found = await adapter.find(req, since=since)

    [post] = posts(emulator)
    assert post.attributes["media_product_type"] == "STORY"
    assert post.text == ""
    assert found is not None
    assert found.external_id == published.external_id


async def test_find_matches_caption_type_and_time(
    adapter: InstagramAdapter, tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    photo = media_file(tmp_path, "p.jpg")
    await adapter.publish(request("other", [photo]))
    wanted = request("The  Caption", [photo])
    published = await adapter.publish(wanted)

    found = await adapter.find(request("the caption", [photo]), since=since)
    as_carousel = await adapter.find(request("the caption", [photo, photo]), since=since)
    missing = await adapter.find(request("never posted", [photo]), since=since)
    later = await adapter.find(wanted, since=datetime.now(UTC) + timedelta(minutes=1))

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink
    assert as_carousel is None
    assert missing is None
    assert later is None


async def test_metrics(adapter: InstagramAdapter, tmp_path: Path) -> None:
    published = await adapter.publish(request("count me", [media_file(tmp_path, "m.jpg")]))
    media_id = published.external_id

    counts = await adapter.metrics(account(), media_id)

    assert counts == {
        name: metric_value("instagram", media_id, metric)
        for name, metric in [
            ("likes", "like_count"),
            ("comments", "comments_count"),
            ("views", "views"),
            ("reach", "reach"),
            ("saved", "saved"),
            ("shares", "shares"),
        ]
    }


async def test_delete_is_not_supported(adapter: InstagramAdapter) -> None:
    with pytest.raises(Permanent, match="cannot delete"):
        await adapter.delete(account(), "123")


# -- errors ---------------------------------------------------------------------------------------


async def test_expired_token_needs_auth(adapter: InstagramAdapter, tmp_path: Path) -> None:
    req = replace(request("hi", [media_file(tmp_path, "a.jpg")]), account=account("expired-x"))
    with pytest.raises(AuthNeeded, match="code 190/463"):
        await adapter.publish(req)


async def test_code_190_on_publish_needs_auth(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {
            "match": {"platform": "instagram"},
            "effect": {"status": 400, "body": graph_body(190, "bad")},
        },
    )
    with pytest.raises(AuthNeeded):
        await adapter.publish(request("hi", [media_file(tmp_path, "a.jpg")]))
    assert posts(emulator) == []


async def test_a_container_error_names_the_failing_file(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [media_file(tmp_path, "fine.jpg"), media_file(tmp_path, "broken.jpg")]
    adapter = InstagramAdapter(
        client,
        settings=settings_for(emulator.url, tmp_path),
        polling=FAST,
        media_url=lambda m: (
            f"{PUBLIC}/media/{m.id}" + ("?fail=1" if m.filename == "broken.jpg" else "")
        ),
    )
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("two", media))
    assert caught.value.media_file == "broken.jpg"
    assert "broken.jpg" in str(caught.value)
    assert "Media download has failed" in str(caught.value)
    assert posts(emulator) == []


async def test_code_100_on_a_container_is_permanent_and_names_the_file(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {
            "match": {"path": f"/instagram/*/{USER}/media", "method": "POST"},
            "effect": {
                "status": 400,
                "body": graph_body(100, "(#100) Unsupported format", 2207026),
            },
        },
    )
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("x", [media_file(tmp_path, "weird.jpg")]))
    assert caught.value.media_file == "weird.jpg"
    assert caught.value.platform_code == "100/2207026"


async def test_throttle_code_and_buc_header_are_rate_limited(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {"match": {"platform": "instagram"}, "effect": {"rate_limit": {"retry_after": 600}}},
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("x", [media_file(tmp_path, "a.jpg")]))
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(seconds=599) <= reset <= before + timedelta(seconds=605)
    assert "code 80002" in str(caught.value)
    assert posts(emulator) == []


async def test_the_publishing_quota_is_checked_first_with_an_estimated_reset(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    app = create_app(
        rate_limits={"instagram.publishing": RateLimit(limit=1, window_seconds=86_400)}
    )
    with BackgroundEmulator(app) as emu:
        adapter = InstagramAdapter(client, settings=settings_for(emu.url, tmp_path), polling=FAST)
        await adapter.publish(request("first", [media_file(tmp_path, "1.jpg")]))
        with pytest.raises(PublishingQuotaExceeded) as caught:
            await adapter.publish(request("second", [media_file(tmp_path, "2.jpg")]))
        [first] = emu.app.ledger.entries(platform="instagram")
    reset = caught.value.reset_at
    assert reset is not None
    expected = datetime.fromtimestamp(first.created_at, UTC) + timedelta(days=1)
    assert abs((reset - expected).total_seconds()) <= 1  # the first post ages out of the window
    assert "allows 1 post per 24 h" in str(caught.value)


async def test_a_quota_refusal_at_publish_is_rate_limited(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    body = graph_body(9, "(#9) Application request limit reached", 2207042)
    add_fault(emulator, {"match": {"path": PUBLISH}, "effect": {"status": 400, "body": body}})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("x", [media_file(tmp_path, "a.jpg")]))
    reset = caught.value.reset_at
    assert reset is not None
    assert reset >= before + timedelta(minutes=59)  # no post of the account in the window


async def test_a_5xx_on_publish_is_settled_by_publishing_the_same_container_again(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(emulator, {"match": {"platform": "instagram"}, "effect": {"status": 500}, "count": 1})

    published = await adapter.publish(request("once", [media_file(tmp_path, "a.jpg")]))

    [post] = posts(emulator)
    assert published.external_id == post.post_id


@pytest.mark.parametrize("effect", ["timeout_after_store", "reset_after_store"])
async def test_a_lost_publish_answer_is_settled_by_the_container_status(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path, effect: str
) -> None:
    add_fault(emulator, {"match": {"platform": "instagram"}, "effect": {effect: True}, "count": 1})
    adapter = InstagramAdapter(
        client, settings=settings_for(emulator.url, tmp_path, timeout_s=0.5), polling=FAST
    )

    published = await adapter.publish(request("did it land?", [media_file(tmp_path, "a.jpg")]))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.received_count == 1


async def test_uncertain_when_the_lost_answer_cannot_be_settled_then_find_settles_it(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator, {"match": {"path": PUBLISH}, "effect": {"timeout_after_store": True}, "count": 1}
    )
    add_fault(
        emulator,
        {
            "match": {"path": f"/instagram/*/{USER}/media", "method": "GET"},
            "effect": {"status": 500},
            "count": 1,
        },
    )
    adapter = InstagramAdapter(
        client, settings=settings_for(emulator.url, tmp_path, timeout_s=0.5), polling=FAST
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    req = request("lost", [media_file(tmp_path, "a.jpg")])

    with pytest.raises(Uncertain):
        await adapter.publish(req)
    found = await adapter.find(req, since=since)

    [post] = posts(emulator)
    assert found is not None
    assert found.external_id == post.post_id


async def test_connection_refused_is_retryable(client: httpx.AsyncClient, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = InstagramAdapter(
        client, settings=settings_for(f"http://127.0.0.1:{port}", tmp_path), polling=FAST
    )
    with pytest.raises(Retryable, match="could not connect"):
        await adapter.publish(request("x", [media_file(tmp_path, "a.jpg")]))


async def test_a_private_public_url_is_refused_before_calling_meta(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, public_url="http://127.0.0.1:8000")
    adapter = InstagramAdapter(client, settings=settings, polling=FAST)
    with pytest.raises(Permanent, match="POSTWRIGHT_PUBLIC_URL"):
        await adapter.publish(request("x", [media_file(tmp_path, "a.jpg")]))


# -- validation -----------------------------------------------------------------------------------


def info(
    name: str, *, kind: str = "image", mime: str = "image/jpeg", w: int = 1080, h: int = 1080
) -> MediaInfo:
    return MediaInfo(filename=name, kind=kind, mime_type=mime, size_bytes=1000, width=w, height=h)


def rules(adapter: InstagramAdapter, draft: ContentDraft) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in adapter.validate(draft, prefix="t")]


def test_media_is_required(adapter: InstagramAdapter) -> None:
    assert rules(adapter, ContentDraft("only text")) == [("t.media", "required")]


def test_caption_hashtags_and_mentions(adapter: InstagramAdapter) -> None:
    photo = [info("a.jpg")]
    assert rules(adapter, ContentDraft("x" * 2201, media=photo)) == [("t.text", "max_length")]
    tags = " ".join(f"#t{i}" for i in range(31))
    assert rules(adapter, ContentDraft(tags, media=photo)) == [("t.text", "max_hashtags")]
    assert rules(adapter, ContentDraft("x" * 2200, media=photo)) == []


def test_media_formats_aspect_and_count(adapter: InstagramAdapter) -> None:
    png = info("a.png", mime="image/png")
    wide = info("wide.jpg", w=2000, h=1000)
    tall = info("tall.jpg", w=1080, h=1350)
    webm = info("v.webm", kind="video", mime="video/webm")
    gif = info("g.gif", kind="gif", mime="image/gif")

    assert rules(adapter, ContentDraft("x", media=[png])) == [("t.media", "media_kind")]
    assert rules(adapter, ContentDraft("x", media=[wide])) == [("t.media", "media_size")]
    assert rules(adapter, ContentDraft("x", media=[tall])) == []
    assert rules(adapter, ContentDraft("x", media=[webm])) == [("t.media", "media_kind")]
    assert rules(adapter, ContentDraft("x", media=[gif])) == [("t.media", "media_kind")]
    assert rules(adapter, ContentDraft("x", media=[info("s.jpg")] * 11)) == [
        ("t.media", "max_media")
    ]
    wide_story = ContentDraft("x", media=[wide], options={"media_type": "STORIES"})
    assert rules(adapter, wide_story) == []


def test_options(adapter: InstagramAdapter) -> None:
    photo = [info("a.jpg")]
    bad_type = ContentDraft("x", media=photo, options={"media_type": "IGTV"})
    bad_share = ContentDraft("x", media=photo, options={"share_to_feed": "yes"})
    assert rules(adapter, bad_type) == [("t.options.media_type", "invalid")]
    assert rules(adapter, bad_share) == [("t.options.share_to_feed", "invalid")]
