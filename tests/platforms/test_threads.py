"""The Threads adapter against the emulator over a real socket: text, link, images, video,
carousel, quota, recovery of a lost publish answer, every error class, validation. The scenarios
it shares with Instagram are in `meta_containers`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import RateLimited
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.facebook import metric_value
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.meta_containers import shortcode
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.http import make_client
from postwright.platforms.threads import ThreadsAdapter
from tests.platforms import meta_containers as meta
from tests.platforms.meta_containers import assert_signed_for, children, graph_body

THREADS = meta.MetaAccount(
    platform="threads",
    version="v1.0",
    user="25000000000000001",
    token="threads-token",
    create_edge="threads",
    publish_edge="threads_publish",
    make=ThreadsAdapter,
)
USER = THREADS.user

emulator = meta.emulator
client = meta.client
_clean = meta.clean_emulator


@pytest.fixture
def adapter(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> ThreadsAdapter:
    return THREADS.adapter(client, emulator.url, tmp_path)


def account(token: str = THREADS.token) -> AccountRef:
    return THREADS.account(token)


def media_file(tmp_path: Path, name: str, *, kind: str = "image") -> MediaFile:
    return meta.media_file(tmp_path, name, kind=kind, image_type="image/png", video_alt=True)


def request(text: str, media: list[MediaFile] | None = None, **options: Any) -> PublishRequest:
    return THREADS.request(text, media or [], **options)


def posts(emulator: BackgroundEmulator) -> list[StoredPost]:
    return THREADS.posts(emulator)


def params(post: StoredPost) -> dict[str, Any]:
    return meta.dict_attribute(post, "params")


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
    await meta.deleted_twice(adapter, request("short-lived"), lambda: posts(emulator))


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
    await meta.expired_token_needs_auth(THREADS, adapter, request("hi"))


async def test_code_190_on_publish_needs_auth(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    await meta.code_190_on_publish_needs_auth(THREADS, adapter, emulator, request("hi"))


async def test_throttle_code_4_with_the_buc_header(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    error = await meta.injected_throttle(THREADS, adapter, emulator, request("hi"), retry_after=120)
    assert "code 4" in str(error)


async def test_the_call_budget_spent_is_rate_limited_until_the_window_ends(tmp_path: Path) -> None:
    app = create_app(rate_limits={"threads": RateLimit(limit=1, window_seconds=300)})
    with BackgroundEmulator(app) as emu:
        client = make_client(timeout_s=2.0)
        try:
            adapter = THREADS.adapter(client, emu.url, tmp_path)
            before = datetime.now(UTC)
            with pytest.raises(RateLimited) as caught:
                await adapter.publish(request("hi"))  # the quota check passes, the container not
        finally:
            await client.aclose()
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(minutes=4) <= reset <= before + timedelta(minutes=6)


async def test_the_publishing_quota(client: httpx.AsyncClient, tmp_path: Path) -> None:
    reqs = [request("one"), request("two"), request("three")]
    error = await meta.publishing_quota(THREADS, client, tmp_path, reqs)
    assert "allows 2 posts per 24 h" in str(error)


async def test_a_container_error_names_the_file_and_keeps_the_reason(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [media_file(tmp_path, "ok.png"), media_file(tmp_path, "bad.mp4", kind="video")]
    error = await meta.a_failed_container_is_permanent(
        THREADS,
        client,
        emulator,
        tmp_path,
        request("two", media),
        fails=lambda m: m.kind == "video",
    )
    assert error.media_file == "bad.mp4"
    assert "bad.mp4" in str(error)
    assert "FAILED_DOWNLOADING_VIDEO" in str(error)


async def test_code_100_is_permanent_with_the_platform_message(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    error = await meta.code_100_on_a_container_is_permanent(
        THREADS,
        adapter,
        emulator,
        request("x", [media_file(tmp_path, "odd.png")]),
        graph_body(100, "(#100) Invalid image"),
    )
    assert "Invalid image" in str(error)
    assert error.media_file == "odd.png"


async def test_a_5xx_on_publish_is_settled_by_publishing_the_container_again(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator
) -> None:
    await meta.server_error_on_publish_is_settled(
        THREADS, adapter, emulator, request("once"), status=503
    )


async def test_a_timeout_after_store_is_settled_by_the_container_status(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    await meta.lost_publish_answer_is_settled(
        THREADS, client, emulator, tmp_path, request("did it land?"), effect="timeout_after_store"
    )


async def test_uncertain_when_it_cannot_be_settled_then_find_settles_it(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    await meta.uncertain_then_find_settles_it(
        THREADS, client, emulator, tmp_path, request("lost"), effect="reset_after_store"
    )


async def test_connection_refused_is_retryable(client: httpx.AsyncClient, tmp_path: Path) -> None:
    await meta.connection_refused_is_retryable(THREADS, client, tmp_path, request("x"))


async def test_media_needs_a_public_address(client: httpx.AsyncClient, tmp_path: Path) -> None:
    req = request("x", [media_file(tmp_path, "a.png")])
    await meta.media_needs_a_public_address(
        THREADS, client, tmp_path, req, public_url="http://localhost:8000"
    )


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


# -- media still processing ------------------------------------------------------------------


async def test_a_video_still_processing_resumes_with_the_same_container(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("A long video", [media_file(tmp_path, "long.mp4", kind="video")])
    late = await meta.a_slow_video_is_published_once_after_resuming(THREADS, adapter, emulator, req)
    assert late[0].message.startswith("Threads is still processing long.mp4")


async def test_a_stale_resume_state_makes_a_new_container(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    await meta.a_stale_resume_state_makes_a_new_container(
        THREADS, adapter, emulator, request("Old state")
    )


async def test_a_published_container_is_found_not_published_again(
    adapter: ThreadsAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    await meta.a_published_container_is_found_not_published_again(
        THREADS, adapter, emulator, request("Once")
    )
