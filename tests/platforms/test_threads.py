"""The Threads adapter against the emulator over a real socket: text, link, images, video,
carousel, quota, recovery of a lost publish answer, every error class, validation."""

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
from postwright.platforms.media_urls import verify_media_signature
from postwright.platforms.threads import ThreadsAdapter
from postwright.settings import Settings

USER = "25000000000000001"
TOKEN = "threads-token"
SECRET = "test-secret-for-media-urls"
PUBLIC = "https://pw.example.com"
FAST = Polling(first_s=0.01, factor=1.0, max_interval_s=0.01)
PUBLISH = f"/threads/*/{USER}/threads_publish"


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
        platform_urls={"threads": f"{url}/threads/v1.0"} if url else {},
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
) -> ThreadsAdapter:
    return ThreadsAdapter(client, settings=settings_for(emulator.url, tmp_path), polling=FAST)


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
        b"\x89PNG\r\n\x1a\n" if kind == "image" else b"\x00\x00\x00\x18ftypmp42"
    ) + name.encode() * 32
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=name,
        mime_type="image/png" if kind == "image" else "video/mp4",
        kind=kind,
        size_bytes=len(data),
        checksum_sha256=hashlib.sha256(data).hexdigest(),
        alt_text=f"alt for {name}",
    )


def request(text: str, media: list[MediaFile] | None = None, **options: Any) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=uuid.uuid4().hex,
        text=text,
        media=media or [],
        options=options,
        account=account(),
        fingerprint="",
        scheduled_at=None,
    )


def posts(emulator: BackgroundEmulator) -> list[StoredPost]:
    return emulator.app.ledger.entries(platform="threads", account=USER)


def params(post: StoredPost) -> dict[str, Any]:
    value = post.attributes["params"]
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
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC}/media/{media.id}"
    query = parse_qs(parts.query)
    assert verify_media_signature(
        SECRET, str(media.id), query["exp"][0], query["sig"][0], now=datetime.now(UTC)
    )


# -- publishing ---------------------------------------------------------------------------------


async def test_text_post(adapter: ThreadsAdapter, emulator: BackgroundEmulator) -> None:
    published = await adapter.publish(request("Hello, Threads 👋", reply_control="mentioned_only"))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.text == "Hello, Threads 👋"
    assert post.attributes["media_type"] == "TEXT_POST"
    assert params(post)["reply_control"] == "mentioned_only"
    assert published.permalink == f"https://www.threads.com/@{USER}/post/{shortcode(post.post_id)}"


async def test_link_post(adapter: ThreadsAdapter, emulator: BackgroundEmulator) -> None:
    await adapter.publish(request("Read this", link="https://example.com/story"))

    [post] = posts(emulator)
    assert params(post)["link_attachment"] == "https://example.com/story"


async def test_one_image(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    photo = media_file(tmp_path, "cat.png")

    published = await adapter.publish(request("A cat", [photo]))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.attributes["media_type"] == "IMAGE"
    assert params(post)["alt_text"] == "alt for cat.png"
    assert_signed_for(params(post)["image_url"], photo)


async def test_an_image_without_text(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    await adapter.publish(request("", [media_file(tmp_path, "quiet.png")]))

    [post] = posts(emulator)
    assert post.text == ""
    assert "text" not in params(post)


async def test_a_video(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    clip = media_file(tmp_path, "clip.mp4", kind="video")

    await adapter.publish(request("Watch", [clip]))

    [post] = posts(emulator)
    assert post.attributes["media_type"] == "VIDEO"
    assert_signed_for(params(post)["video_url"], clip)


async def test_a_carousel(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [media_file(tmp_path, f"{i}.png") for i in range(3)] + [
        media_file(tmp_path, "v.mp4", kind="video")
    ]

    published = await adapter.publish(request("Four", media))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.attributes["media_type"] == "CAROUSEL_ALBUM"
    sent = children(post)
    assert [c["media_type"] for c in sent] == ["IMAGE", "IMAGE", "IMAGE", "VIDEO"]
    for child, item in zip(sent, media, strict=True):
        assert_signed_for(child.get("image_url") or child["video_url"], item)


# -- find, delete, metrics ----------------------------------------------------------------------


async def test_find_matches_text_type_and_time(adapter: ThreadsAdapter, tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    await adapter.publish(request("other"))
    wanted = request("The  one")
    published = await adapter.publish(wanted)

    found = await adapter.find(request("the one"), since=since)
    with_image = await adapter.find(
        request("the one", [media_file(tmp_path, "x.png")]), since=since
    )
    missing = await adapter.find(request("never"), since=since)
    later = await adapter.find(wanted, since=datetime.now(UTC) + timedelta(minutes=1))

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink
    assert with_image is None
    assert missing is None
    assert later is None


async def test_delete_and_delete_again(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    published = await adapter.publish(request("short-lived"))

    await adapter.delete(account(), published.external_id)
    await adapter.delete(account(), published.external_id)

    assert posts(emulator) == []


async def test_metrics(adapter: ThreadsAdapter) -> None:
    published = await adapter.publish(request("count me"))
    media_id = published.external_id

    counts = await adapter.metrics(account(), media_id)

    assert counts == {
        "views": metric_value("threads", media_id, "views"),
        "likes": metric_value("threads", media_id, "likes"),
        "comments": metric_value("threads", media_id, "replies"),
        "reposts": metric_value("threads", media_id, "reposts"),
        "quotes": metric_value("threads", media_id, "quotes"),
        "shares": metric_value("threads", media_id, "shares"),
    }


# -- errors ---------------------------------------------------------------------------------------


async def test_expired_token_needs_auth(adapter: ThreadsAdapter) -> None:
    with pytest.raises(AuthNeeded, match="code 190/463"):
        await adapter.publish(replace(request("hi"), account=account("expired-token")))


async def test_code_190_on_publish_needs_auth(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(
        emulator,
        {
            "match": {"platform": "threads"},
            "effect": {"status": 400, "body": graph_body(190, "bad")},
        },
    )
    with pytest.raises(AuthNeeded):
        await adapter.publish(request("hi"))
    assert posts(emulator) == []


async def test_throttle_code_4_with_the_buc_header(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(
        emulator, {"match": {"platform": "threads"}, "effect": {"rate_limit": {"retry_after": 120}}}
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("hi"))
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(seconds=119) <= reset <= before + timedelta(seconds=125)
    assert "code 4" in str(caught.value)


async def test_the_call_budget_spent_is_rate_limited_until_the_window_ends(tmp_path: Path) -> None:
    app = create_app(rate_limits={"threads": RateLimit(limit=1, window_seconds=300)})
    with BackgroundEmulator(app) as emu:
        client = make_client(timeout_s=2.0)
        try:
            adapter = ThreadsAdapter(client, settings=settings_for(emu.url, tmp_path), polling=FAST)
            before = datetime.now(UTC)
            with pytest.raises(RateLimited) as caught:
                await adapter.publish(request("hi"))  # the quota check passes, the container not
        finally:
            await client.aclose()
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(minutes=4) <= reset <= before + timedelta(minutes=6)


async def test_the_publishing_quota(client: httpx.AsyncClient, tmp_path: Path) -> None:
    app = create_app(rate_limits={"threads.publishing": RateLimit(limit=2, window_seconds=86_400)})
    with BackgroundEmulator(app) as emu:
        adapter = ThreadsAdapter(client, settings=settings_for(emu.url, tmp_path), polling=FAST)
        await adapter.publish(request("one"))
        await adapter.publish(request("two"))
        with pytest.raises(PublishingQuotaExceeded) as caught:
            await adapter.publish(request("three"))
        first = emu.app.ledger.entries(platform="threads")[0]
    reset = caught.value.reset_at
    assert reset is not None
    expected = datetime.fromtimestamp(first.created_at, UTC) + timedelta(days=1)
    assert abs((reset - expected).total_seconds()) <= 1
    assert "allows 2 posts per 24 h" in str(caught.value)


async def test_a_container_error_names_the_file_and_keeps_the_reason(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [media_file(tmp_path, "ok.png"), media_file(tmp_path, "bad.mp4", kind="video")]
    adapter = ThreadsAdapter(
        client,
        settings=settings_for(emulator.url, tmp_path),
        polling=FAST,
        media_url=lambda m: f"{PUBLIC}/media/{m.id}" + ("/fail" if m.kind == "video" else ""),
    )
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("two", media))
    assert caught.value.media_file == "bad.mp4"
    assert "bad.mp4" in str(caught.value)
    assert "FAILED_DOWNLOADING_VIDEO" in str(caught.value)
    assert posts(emulator) == []


async def test_code_100_is_permanent_with_the_platform_message(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {
            "match": {"path": f"/threads/*/{USER}/threads", "method": "POST"},
            "effect": {"status": 400, "body": graph_body(100, "(#100) Invalid image")},
        },
    )
    with pytest.raises(Permanent, match="Invalid image") as caught:
        await adapter.publish(request("x", [media_file(tmp_path, "odd.png")]))
    assert caught.value.media_file == "odd.png"


async def test_a_5xx_on_publish_is_settled_by_publishing_the_container_again(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(emulator, {"match": {"platform": "threads"}, "effect": {"status": 503}, "count": 1})

    published = await adapter.publish(request("once"))

    [post] = posts(emulator)
    assert published.external_id == post.post_id


async def test_a_timeout_after_store_is_settled_by_the_container_status(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {"match": {"platform": "threads"}, "effect": {"timeout_after_store": True}, "count": 1},
    )
    adapter = ThreadsAdapter(
        client, settings=settings_for(emulator.url, tmp_path, timeout_s=0.5), polling=FAST
    )

    published = await adapter.publish(request("did it land?"))

    [post] = posts(emulator)
    assert published.external_id == post.post_id


async def test_uncertain_when_it_cannot_be_settled_then_find_settles_it(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator, {"match": {"path": PUBLISH}, "effect": {"reset_after_store": True}, "count": 1}
    )
    add_fault(
        emulator,
        {
            "match": {"path": f"/threads/*/{USER}/threads", "method": "GET"},
            "effect": {"status": 500},
            "count": 1,
        },
    )
    adapter = ThreadsAdapter(client, settings=settings_for(emulator.url, tmp_path), polling=FAST)
    since = datetime.now(UTC) - timedelta(seconds=1)
    req = request("lost")

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
    adapter = ThreadsAdapter(
        client, settings=settings_for(f"http://127.0.0.1:{port}", tmp_path), polling=FAST
    )
    with pytest.raises(Retryable, match="could not connect"):
        await adapter.publish(request("x"))


async def test_media_needs_a_public_address(client: httpx.AsyncClient, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, public_url="http://localhost:8000")
    adapter = ThreadsAdapter(client, settings=settings, polling=FAST)
    with pytest.raises(Permanent, match="POSTWRIGHT_PUBLIC_URL"):
        await adapter.publish(request("x", [media_file(tmp_path, "a.png")]))


# -- validation -----------------------------------------------------------------------------------


def rules(adapter: ThreadsAdapter, draft: ContentDraft) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in adapter.validate(draft, prefix="t")]


def info(name: str, kind: str, mime: str) -> MediaInfo:
    return MediaInfo(filename=name, kind=kind, mime_type=mime, size_bytes=1000)


def test_text_counts_emoji_by_their_bytes(adapter: ThreadsAdapter) -> None:
    assert rules(adapter, ContentDraft("x" * 500)) == []
    assert rules(adapter, ContentDraft("x" * 497 + "👋")) == [("t.text", "max_length")]
    assert rules(adapter, ContentDraft("")) == [("t.text", "required")]


def test_links_media_and_options(adapter: ThreadsAdapter) -> None:
    six_links = " ".join(f"https://e{i}.com" for i in range(6))
    png = info("a.png", "image", "image/png")
    webp = info("a.webp", "image", "image/webp")
    gif = info("g.gif", "gif", "image/gif")

    assert rules(adapter, ContentDraft(six_links)) == [("t.text", "max_links")]
    assert rules(adapter, ContentDraft("x", media=[png])) == []
    assert rules(adapter, ContentDraft("x", media=[webp])) == [("t.media", "media_kind")]
    assert rules(adapter, ContentDraft("x", media=[gif])) == [("t.media", "media_kind")]
    assert rules(adapter, ContentDraft("x", media=[png] * 21)) == [("t.media", "max_media")]
    assert rules(adapter, ContentDraft("x", options={"link": "nope"})) == [
        ("t.options.link", "invalid")
    ]
    with_media = ContentDraft("x", media=[png], options={"link": "https://e.com"})
    assert rules(adapter, with_media) == [("t.options.link", "invalid")]
    bad_reply = ContentDraft("x", options={"reply_control": "nobody"})
    assert rules(adapter, bad_reply) == [("t.options.reply_control", "invalid")]
