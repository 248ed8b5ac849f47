"""The Facebook Pages adapter against the emulator over a real socket: every flow, every error.
What it shares with the Instagram and Threads tests is in `meta_containers`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms import facebook
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.facebook import metric_value
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.facebook import FacebookAdapter
from postwright.platforms.http import make_client
from postwright.settings import Settings
from tests.platforms import meta_containers as meta
from tests.platforms.meta_containers import add_fault

PAGE = "1001"
TOKEN = "page-token"

emulator = meta.emulator
_clean = meta.clean_emulator


def settings_for(url: str, tmp_path: Path, *, timeout_s: float = 2.0) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        platform_urls={"facebook": f"{url}/facebook/v26.0"},
        publish_timeout_s=timeout_s,
    )


@pytest.fixture
async def adapter(emulator: BackgroundEmulator, tmp_path: Path) -> AsyncIterator[FacebookAdapter]:
    client = make_client(timeout_s=2.0)
    try:
        yield facebook.build(client, settings_for(emulator.url, tmp_path))
    finally:
        await client.aclose()


def account(token: str = TOKEN, page: str | None = PAGE) -> AccountRef:
    return meta.emulated_account(page, token)


def media_file(
    tmp_path: Path, name: str, *, kind: str = "image", data: bytes | None = None
) -> MediaFile:
    return meta.media_file(tmp_path, name, kind=kind, data=data)


def request(
    text: str,
    media: list[MediaFile] | None = None,
    *,
    options: dict[str, Any] | None = None,
    acct: AccountRef | None = None,
) -> PublishRequest:
    return meta.publish_request(acct or account(), text, media or [], options or {})


def posts(emulator: BackgroundEmulator) -> list[StoredPost]:
    return emulator.app.ledger.entries(platform="facebook", account=PAGE)


def sent_photos(post: StoredPost) -> list[dict[str, Any]]:
    photos = post.attributes["photos"]
    assert isinstance(photos, list)
    return [cast(dict[str, Any], photo) for photo in photos]


def graph_body(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    return meta.graph_body(code, message, subcode, fbtrace_id="Atrace")


# -- publishing ---------------------------------------------------------------------------------


async def test_text_post(adapter: FacebookAdapter, emulator: BackgroundEmulator) -> None:
    published = await adapter.publish(request("Hello, Page!"))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.post_id.startswith(f"{PAGE}_")
    assert post.text == "Hello, Page!"
    assert post.attributes["kind"] == "status"
    number = post.post_id.split("_")[1]
    assert published.permalink == f"https://www.facebook.com/{PAGE}/posts/{number}"
    assert published.rate is not None
    assert published.rate.limit == 100


async def test_link_post(adapter: FacebookAdapter, emulator: BackgroundEmulator) -> None:
    await adapter.publish(request("Read this", options={"link": "https://example.com/a?b=1"}))

    [post] = posts(emulator)
    assert post.attributes["kind"] == "link"
    assert post.attributes["link"] == "https://example.com/a?b=1"


async def test_one_photo_goes_up_as_multipart_with_caption_and_alt_text(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    photo = media_file(tmp_path, "cat.jpg")

    published = await adapter.publish(request("A cat", [photo]))

    [post] = posts(emulator)
    assert published.external_id == post.post_id
    assert post.text == "A cat"
    [sent] = sent_photos(post)
    assert sent["alt_text"] == "alt for cat.jpg"
    assert sent["source"] == {
        "filename": "cat.jpg",
        "content_type": "image/jpeg",
        "size": photo.size_bytes,
        "sha256": photo.checksum_sha256,
    }


async def test_several_photos_become_one_post_with_attached_media(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    photos = [media_file(tmp_path, f"p{i}.jpg") for i in range(3)]

    published = await adapter.publish(request("An album", photos))

    [post] = posts(emulator)  # unpublished uploads are not posts
    assert published.external_id == post.post_id
    assert post.attributes["kind"] == "album"
    sent = [item["source"]["sha256"] for item in sent_photos(post)]
    assert sent == [p.checksum_sha256 for p in photos]


async def test_video_is_published_and_measured_through_the_video_node(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    clip = media_file(tmp_path, "clip.mp4", kind="video")

    published = await adapter.publish(request("Watch", [clip]))

    [post] = posts(emulator)
    video = post.attributes["video"]
    assert isinstance(video, dict)
    assert published.external_id == video["id"]
    assert video["source"] == {
        "filename": "clip.mp4",
        "content_type": "video/mp4",
        "size": clip.size_bytes,
        "sha256": clip.checksum_sha256,
    }
    assert published.permalink == f"https://www.facebook.com/{PAGE}/videos/{video['id']}/"
    counts = await adapter.metrics(account(), published.external_id)
    assert counts["views"] == metric_value("facebook", published.external_id, "total_video_views")


# -- find, delete, metrics ----------------------------------------------------------------------


async def test_find_matches_by_text_after_since(adapter: FacebookAdapter) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    await adapter.publish(request("something else"))
    req = request("  The  one we want ")
    published = await adapter.publish(req)

    found = await adapter.find(request("the one we want"), since=since)
    missing = await adapter.find(request("never published"), since=since)
    too_late = await adapter.find(req, since=datetime.now(UTC) + timedelta(minutes=1))

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink
    assert missing is None
    assert too_late is None


async def test_delete_removes_the_post_and_tolerates_a_second_delete(
    adapter: FacebookAdapter, emulator: BackgroundEmulator
) -> None:
    await meta.deleted_twice(adapter, request("short-lived"), lambda: posts(emulator))


async def test_metrics_of_a_feed_post(adapter: FacebookAdapter) -> None:
    published = await adapter.publish(request("count me"))
    post_id = published.external_id

    counts = await adapter.metrics(account(), post_id)

    assert counts == {
        "likes": metric_value("facebook", post_id, "reactions"),
        "comments": metric_value("facebook", post_id, "comments"),
        "shares": metric_value("facebook", post_id, "shares"),
        "views": metric_value("facebook", post_id, "post_total_media_view_unique"),
        "clicks": metric_value("facebook", post_id, "post_clicks"),
    }


# -- errors ---------------------------------------------------------------------------------------


async def test_expired_token_needs_auth(adapter: FacebookAdapter) -> None:
    with pytest.raises(AuthNeeded, match="code 190/463"):
        await adapter.publish(request("hi", acct=account(token="expired-token")))


async def test_code_190_from_the_platform_needs_auth(
    adapter: FacebookAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(
        emulator,
        {
            "match": {"platform": "facebook"},
            "effect": {"status": 400, "body": graph_body(190, "bad")},
        },
    )
    with pytest.raises(AuthNeeded):
        await adapter.publish(request("hi"))


async def test_missing_page_id_or_token_needs_auth(adapter: FacebookAdapter) -> None:
    with pytest.raises(AuthNeeded, match="Page id"):
        await adapter.publish(request("hi", acct=account(page=None)))
    with pytest.raises(AuthNeeded, match="access token"):
        await adapter.publish(request("hi", acct=account(token="")))


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
async def test_throttle_codes_are_rate_limited_with_a_reset(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, code: int
) -> None:
    add_fault(
        emulator,
        {
            "match": {"platform": "facebook"},
            "effect": {"status": 400, "body": graph_body(code, "slow down")},
        },
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("hi"))
    assert caught.value.reset_at is not None
    assert caught.value.reset_at >= before + timedelta(minutes=9)  # no estimate: the default wait
    assert posts(emulator) == []


async def test_injected_throttle_honours_retry_after(
    adapter: FacebookAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(
        emulator,
        {"match": {"platform": "facebook"}, "effect": {"rate_limit": {"retry_after": 300}}},
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(request("hi"))
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(seconds=299) <= reset <= before + timedelta(seconds=302)


async def test_buc_header_sets_the_reset_when_the_page_budget_is_spent(tmp_path: Path) -> None:
    app = create_app(rate_limits={"facebook": RateLimit(limit=1, window_seconds=600)})
    with BackgroundEmulator(app) as emu:
        client = make_client(timeout_s=2.0)
        try:
            adapter = facebook.build(client, settings_for(emu.url, tmp_path))
            before = datetime.now(UTC)
            await adapter.publish(request("one"))  # the permalink read after it is throttled
            with pytest.raises(RateLimited) as caught:
                await adapter.publish(request("two"))
        finally:
            await client.aclose()
    reset = caught.value.reset_at
    assert reset is not None
    assert before + timedelta(minutes=9) <= reset <= before + timedelta(minutes=11)
    assert "code 80001" in str(caught.value)


async def test_code_100_on_a_photo_is_permanent_and_names_the_file(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {
            "match": {"path": f"/facebook/*/{PAGE}/photos"},
            "effect": {"status": 400, "body": graph_body(100, "(#100) Invalid image", 1366046)},
        },
    )
    photos = [media_file(tmp_path, "good.jpg"), media_file(tmp_path, "bad.jpg")]
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("album", photos))
    assert caught.value.media_file == "good.jpg"
    assert "good.jpg" in str(caught.value)
    assert caught.value.platform_code == "100/1366046"


async def test_an_empty_file_is_refused_by_name(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    photos = [media_file(tmp_path, "ok.jpg"), media_file(tmp_path, "empty.jpg", data=b"")]
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("album", photos))
    assert caught.value.media_file == "empty.jpg"
    assert posts(emulator) == []


async def test_server_error_on_the_creating_call_is_uncertain(
    adapter: FacebookAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(emulator, {"match": {"platform": "facebook"}, "effect": {"status": 500}, "count": 1})
    with pytest.raises(Uncertain, match="unknown error"):
        await adapter.publish(request("hi"))


async def test_server_error_while_uploading_an_unpublished_photo_is_retryable(
    adapter: FacebookAdapter, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(emulator, {"match": {"platform": "facebook"}, "effect": {"status": 503}, "count": 1})
    photos = [media_file(tmp_path, "a.jpg"), media_file(tmp_path, "b.jpg")]
    with pytest.raises(Retryable):
        await adapter.publish(request("album", photos))


async def test_timeout_after_store_is_uncertain_and_find_settles_it(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    add_fault(
        emulator,
        {"match": {"platform": "facebook"}, "effect": {"timeout_after_store": True}, "count": 1},
    )
    client = make_client(timeout_s=0.5)
    try:
        adapter = facebook.build(client, settings_for(emulator.url, tmp_path, timeout_s=0.5))
        since = datetime.now(UTC) - timedelta(seconds=1)
        req = request("did it land?")
        with pytest.raises(Uncertain):
            await adapter.publish(req)
        found = await adapter.find(req, since=since)
    finally:
        await client.aclose()
    [post] = posts(emulator)
    assert found is not None
    assert found.external_id == post.post_id


async def test_connection_dropped_after_store_is_uncertain(
    adapter: FacebookAdapter, emulator: BackgroundEmulator
) -> None:
    add_fault(
        emulator,
        {"match": {"platform": "facebook"}, "effect": {"reset_after_store": True}, "count": 1},
    )
    with pytest.raises(Uncertain):
        await adapter.publish(request("hi"))
    assert len(posts(emulator)) == 1


async def test_connection_refused_is_retryable(tmp_path: Path) -> None:
    client = make_client(timeout_s=1.0)
    try:
        adapter = facebook.build(client, settings_for(meta.closed_port_url(), tmp_path))
        with pytest.raises(Retryable, match="could not connect"):
            await adapter.publish(request("hi"))
    finally:
        await client.aclose()


async def test_unreadable_media_is_permanent(adapter: FacebookAdapter, tmp_path: Path) -> None:
    photo = media_file(tmp_path, "gone.jpg")
    photo.path.unlink()
    with pytest.raises(Permanent) as caught:
        await adapter.publish(request("x", [photo]))
    assert caught.value.media_file == "gone.jpg"


# -- validation -----------------------------------------------------------------------------------


def test_validate_checks_the_link_option(adapter: FacebookAdapter) -> None:
    photo = MediaInfo(filename="a.jpg", kind="image", mime_type="image/jpeg", size_bytes=10)
    bad = adapter.validate(ContentDraft("x", options={"link": "ftp://x"}), prefix="t")
    with_media = adapter.validate(
        ContentDraft("x", media=[photo], options={"link": "https://e.com"}), prefix="t"
    )
    fine = adapter.validate(ContentDraft("x", options={"link": "https://e.com"}), prefix="t")

    assert [(v.field, v.rule) for v in bad] == [("t.options.link", "invalid")]
    assert [(v.field, v.rule) for v in with_media] == [("t.options.link", "invalid")]
    assert fine == []


def test_validate_refuses_photos_mixed_with_a_video(adapter: FacebookAdapter) -> None:
    media = [
        MediaInfo(filename="a.jpg", kind="image", mime_type="image/jpeg", size_bytes=10),
        MediaInfo(filename="b.mp4", kind="video", mime_type="video/mp4", size_bytes=10),
    ]
    found = adapter.validate(ContentDraft("x", media=media), prefix="t")
    assert [v.rule for v in found] == ["media_kind"]
