"""The Instagram adapter against the emulator over a real socket: containers, quota, recovery of
a lost publish answer, every error class, validation. The scenarios it shares with Threads are in
`meta_containers`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import Permanent, RateLimited, StillProcessing
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator.facebook import metric_value
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.meta_containers import shortcode
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.instagram import InstagramAdapter
from tests.platforms import meta_containers as meta
from tests.platforms.meta_containers import assert_signed_for, children, graph_body

IG = meta.MetaAccount(
    platform="instagram",
    version="v26.0",
    user="17841400000000001",
    token="ig-token",
    create_edge="media",
    publish_edge="media_publish",
    make=InstagramAdapter,
)
USER = IG.user

emulator = meta.emulator
client = meta.client
_clean = meta.clean_emulator


@pytest.fixture
def adapter(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> InstagramAdapter:
    return IG.adapter(client, emulator.url, tmp_path)


def account(token: str = IG.token) -> AccountRef:
    return IG.account(token)


def media_file(tmp_path: Path, name: str, *, kind: str = "image") -> MediaFile:
    return meta.media_file(tmp_path, name, kind=kind)


def request(text: str, media: list[MediaFile], **options: Any) -> PublishRequest:
    return IG.request(text, media, **options)


def posts(emulator: BackgroundEmulator) -> list[StoredPost]:
    return IG.posts(emulator)


def attrs(post: StoredPost, key: str) -> dict[str, Any]:
    return meta.dict_attribute(post, key)


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
    await meta.expired_token_needs_auth(IG, adapter, request("hi", [media_file(tmp_path, "a.jpg")]))


async def test_code_190_on_publish_needs_auth(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("hi", [media_file(tmp_path, "a.jpg")])
    await meta.code_190_on_publish_needs_auth(IG, adapter, emulator, req)


async def test_a_container_error_names_the_failing_file(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = [media_file(tmp_path, "fine.jpg"), media_file(tmp_path, "broken.jpg")]
    error = await meta.a_failed_container_is_permanent(
        IG,
        client,
        emulator,
        tmp_path,
        request("two", media),
        fails=lambda m: m.filename == "broken.jpg",
    )
    assert error.media_file == "broken.jpg"
    assert "broken.jpg" in str(error)
    assert "Media download has failed" in str(error)


async def test_code_100_on_a_container_is_permanent_and_names_the_file(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    error = await meta.code_100_on_a_container_is_permanent(
        IG,
        adapter,
        emulator,
        request("x", [media_file(tmp_path, "weird.jpg")]),
        graph_body(100, "(#100) Unsupported format", 2207026),
    )
    assert error.media_file == "weird.jpg"
    assert error.platform_code == "100/2207026"


async def test_throttle_code_and_buc_header_are_rate_limited(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("x", [media_file(tmp_path, "a.jpg")])
    error = await meta.injected_throttle(IG, adapter, emulator, req, retry_after=600)
    assert "code 80002" in str(error)
    assert posts(emulator) == []


async def test_the_publishing_quota_is_checked_first_with_an_estimated_reset(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reqs = [
        request("first", [media_file(tmp_path, "1.jpg")]),
        request("second", [media_file(tmp_path, "2.jpg")]),
    ]
    error = await meta.publishing_quota(IG, client, tmp_path, reqs)
    assert "allows 1 post per 24 h" in str(error)


async def test_a_quota_refusal_at_publish_is_rate_limited(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    body = graph_body(9, "(#9) Application request limit reached", 2207042)
    meta.add_fault(
        emulator, {"match": {"path": IG.publish_path}, "effect": {"status": 400, "body": body}}
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("x", [media_file(tmp_path, "a.jpg")]))
    reset = caught.value.reset_at
    assert reset is not None
    assert reset >= before + timedelta(minutes=59)  # no post of the account in the window


async def test_a_5xx_on_publish_is_settled_by_publishing_the_same_container_again(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("once", [media_file(tmp_path, "a.jpg")])
    await meta.server_error_on_publish_is_settled(IG, adapter, emulator, req, status=500)


@pytest.mark.parametrize("effect", ["timeout_after_store", "reset_after_store"])
async def test_a_lost_publish_answer_is_settled_by_the_container_status(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path, effect: str
) -> None:
    req = request("did it land?", [media_file(tmp_path, "a.jpg")])
    post = await meta.lost_publish_answer_is_settled(
        IG, client, emulator, tmp_path, req, effect=effect
    )
    assert post.received_count == 1


async def test_uncertain_when_the_lost_answer_cannot_be_settled_then_find_settles_it(
    client: httpx.AsyncClient, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("lost", [media_file(tmp_path, "a.jpg")])
    await meta.uncertain_then_find_settles_it(
        IG, client, emulator, tmp_path, req, effect="timeout_after_store", timeout_s=0.5
    )


async def test_connection_refused_is_retryable(client: httpx.AsyncClient, tmp_path: Path) -> None:
    req = request("x", [media_file(tmp_path, "a.jpg")])
    await meta.connection_refused_is_retryable(IG, client, tmp_path, req)


async def test_a_private_public_url_is_refused_before_calling_meta(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    req = request("x", [media_file(tmp_path, "a.jpg")])
    await meta.media_needs_a_public_address(
        IG, client, tmp_path, req, public_url="http://127.0.0.1:8000"
    )


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


# -- media still processing ------------------------------------------------------------------


async def test_a_reel_still_processing_resumes_with_the_same_container(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("A long reel", [media_file(tmp_path, "reel.mp4", kind="video")])
    late = await meta.a_slow_video_is_published_once_after_resuming(IG, adapter, emulator, req)
    assert late[0].message.startswith("Instagram is still processing reel.mp4")


async def test_a_carousel_with_a_slow_video_keeps_its_children_across_tries(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    emulator.app.processing.seconds[IG.platform] = 2.5
    media = [media_file(tmp_path, "a.jpg"), media_file(tmp_path, "b.mp4", kind="video")]
    req = request("Two", media)

    with pytest.raises(StillProcessing) as late:
        await adapter.publish(req)
    children_made = late.value.resume["children"]
    assert late.value.resume["container"] is None  # the carousel waits for its children
    await asyncio.sleep(2.5)
    published = await adapter.publish(replace(req, resume=late.value.resume))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    made = emulator.app.processing.made(IG.platform)
    # the two children of the first try, then the carousel itself
    assert made == [*children_made, post.attributes["container_id"]]


async def test_a_stale_resume_state_makes_a_new_container(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("Old state", [media_file(tmp_path, "clip.mp4", kind="video")])
    await meta.a_stale_resume_state_makes_a_new_container(IG, adapter, emulator, req)


async def test_a_published_container_is_found_not_published_again(
    adapter: InstagramAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    req = request("Once", [media_file(tmp_path, "clip.mp4", kind="video")])
    await meta.a_published_container_is_found_not_published_again(IG, adapter, emulator, req)
