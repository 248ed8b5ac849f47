"""The Reddit adapter against the emulated Reddit API over a real socket: text, link and image
posts read back, find, delete, metrics, and every error class."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms import reddit
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator import reddit as emulated
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.reddit import RedditAdapter
from postwright.settings import Settings
from tests.platforms.conformance import Recorder

USER = "alice_posts"
ACCOUNT = AccountRef(
    id=uuid.uuid4(),
    handle=f"u/{USER}",
    external_id=None,
    options={},
    credentials={"access_token": f"reddit-user-{USER}"},
)
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def request_for(
    text: str,
    *,
    title: str = "A title",
    subreddit: str = "r/postwright",
    media: list[MediaFile] | None = None,
    account: AccountRef = ACCOUNT,
    scheduled_at: datetime | None = None,
    **options: Any,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=str(uuid.uuid4()),
        text=text,
        media=media or [],
        options={"subreddit": subreddit, "title": title, **options},
        account=account,
        fingerprint="",
        scheduled_at=scheduled_at,
    )


def image(tmp_path: Path, name: str = "cat.png", data: bytes = PNG) -> MediaFile:
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=name,
        mime_type="image/png",
        kind="image",
        size_bytes=len(data),
        checksum_sha256="0" * 64,
        alt_text=None,
    )


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=5)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(live: BackgroundEmulator) -> None:
    live.app.ledger.clear()
    live.app.faults.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, event_hooks={"request": [recorder]}) as client:
        yield client


@pytest.fixture
def adapter(client: httpx.AsyncClient, live: BackgroundEmulator) -> RedditAdapter:
    return RedditAdapter(client, base_url=live.url, app_id="app123", appear_timeout_s=5)


async def add_fault(live: BackgroundEmulator, rule: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=live.url) as control:
        response = await control.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


async def listing(live: BackgroundEmulator, user: str = USER) -> list[dict[str, Any]]:
    """The user's posts as Reddit lists them (read back the way a person's client would)."""
    headers = {"Authorization": "Bearer reddit-user-reader", "User-Agent": "web:test:1 (by /u/x)"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as reader:
        body = (
            await reader.get(f"/user/{user}/submitted", params={"sort": "new", "raw_json": "1"})
        ).json()
    return [child["data"] for child in body["data"]["children"]]


# -- publishing ----------------------------------------------------------------------------------


async def test_publishes_a_text_post_and_reads_it_back(
    live: BackgroundEmulator, adapter: RedditAdapter, recorder: Recorder
) -> None:
    published = await adapter.publish(
        request_for("Some *markdown* & <text>", title="Tea & <cake>", nsfw=True, flair_id="f1")
    )

    [post] = await listing(live)
    assert published.external_id == f"t3_{post['id']}"
    assert published.permalink == f"https://www.reddit.com{post['permalink']}"
    assert (post["title"], post["selftext"], post["subreddit"]) == (
        "Tea & <cake>",
        "Some *markdown* & <text>",
        "postwright",
    )
    assert post["is_self"] is True
    assert post["over_18"] is True
    assert post["link_flair_template_id"] == "f1"
    submit = next(r for r in recorder.requests if r.url.path == "/api/submit")
    assert submit.headers["user-agent"] == "web:app123:0.1.0 (by /u/alice_posts)"
    assert b"api_type=json" in submit.content
    assert b"sendreplies=true" in submit.content
    assert published.rate is not None
    assert published.rate.remaining is not None
    assert published.rate.reset_at is not None
    assert published.rate.reset_at > datetime.now(UTC)


async def test_a_text_that_is_only_a_url_becomes_a_link_post(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    await adapter.publish(request_for("  https://example.com/article  ", title="Read this"))
    await adapter.publish(
        request_for("", title="And this", link="https://example.org/other", spoiler=True)
    )

    posts = await listing(live)
    assert [(p["url"], p["is_self"], p["spoiler"]) for p in posts] == [
        ("https://example.org/other", False, True),
        ("https://example.com/article", False, False),
    ]


async def test_publishes_an_image_through_the_upload_lease_and_finds_its_id(
    live: BackgroundEmulator, adapter: RedditAdapter, recorder: Recorder, tmp_path: Path
) -> None:
    published = await adapter.publish(
        request_for("", title="My cat", subreddit="pics", media=[image(tmp_path)])
    )

    [post] = await listing(live)
    assert published.external_id == f"t3_{post['id']}"
    assert post["url"].startswith("https://i.redd.it/")
    assert post["subreddit"] == "pics"
    steps = [f"{r.method} {r.url.path}" for r in recorder.requests]
    assert steps[:3] == [
        "POST /api/media/asset.json",
        f"POST {emulated.UPLOAD_PATH}",
        "POST /api/submit",
    ]
    assert "GET /user/alice_posts/submitted" in steps  # the id comes from the listing
    upload = recorder.requests[1]
    assert "authorization" not in upload.headers  # the token never goes to the storage host
    submit = recorder.requests[2]
    assert b"kind=image" in submit.content


# -- find, delete, metrics -----------------------------------------------------------------------


async def test_find_finds_the_post_by_subreddit_and_title(adapter: RedditAdapter) -> None:
    request = request_for("body", title="Weekly thread")
    published = await adapter.publish(request)
    await adapter.publish(request_for("body", title="Weekly thread", subreddit="other_sub"))

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=2))

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink


async def test_find_does_not_find_what_was_not_posted(adapter: RedditAdapter) -> None:
    await adapter.publish(request_for("body", title="Something else"))

    found = await adapter.find(
        request_for("body", title="Never sent"), since=datetime.now(UTC) - timedelta(minutes=2)
    )

    assert found is None


async def test_find_ignores_posts_from_before_the_attempt(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    request = request_for("body", title="Old news")
    await adapter.publish(request)
    live.app.ledger.entries(platform="reddit")[0].created_at -= 3600

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=5))

    assert found is None


async def test_find_reads_the_username_when_the_account_has_none(
    adapter: RedditAdapter, recorder: Recorder
) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="",
        external_id=None,
        options={},
        credentials={"access_token": "reddit-user-nameless"},
    )
    request = request_for("body", title="Who am I", account=account)
    published = await adapter.publish(request)

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))

    assert found is not None
    assert found.external_id == published.external_id
    assert [r.url.path for r in recorder.requests].count("/api/v1/me") == 1  # then remembered


async def test_find_without_the_history_scope_raises_instead_of_guessing(
    adapter: RedditAdapter,
) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle=USER,
        external_id=None,
        options={},
        credentials={"access_token": f"reddit-user-{USER}+nohistory"},
    )
    request = request_for("body", title="Can you see me", account=account)
    await adapter.publish(request)

    with pytest.raises(Uncertain, match="history") as raised:
        await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))

    assert raised.value.status == 403


async def test_delete_removes_the_post_and_tolerates_a_second_delete(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    published = await adapter.publish(request_for("bye", title="Short-lived"))

    await adapter.delete(ACCOUNT, published.external_id)
    await adapter.delete(ACCOUNT, published.external_id)

    assert await listing(live) == []


async def test_metrics_reads_score_ups_ratio_and_comments(adapter: RedditAdapter) -> None:
    published = await adapter.publish(request_for("count me", title="Metrics"))

    metrics = await adapter.metrics(ACCOUNT, published.external_id)

    counts = emulated.metrics_of(published.external_id.removeprefix("t3_"))
    assert metrics == {
        "score": counts["score"],
        "likes": counts["ups"],
        "comments": counts["num_comments"],
        "upvote_ratio_pct": round(float(counts["upvote_ratio"]) * 100),
    }


async def test_metrics_of_an_unknown_post_is_permanent(adapter: RedditAdapter) -> None:
    with pytest.raises(Permanent, match="no post t3_zzzzzz"):
        await adapter.metrics(ACCOUNT, "t3_zzzzzz")


# -- errors --------------------------------------------------------------------------------------


async def test_a_ratelimit_body_is_rate_limited_for_the_delay_reddit_names() -> None:
    app = create_app(rate_limits={"reddit:submit": RateLimit(limit=1, window_seconds=420)})
    with BackgroundEmulator(app) as live:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = RedditAdapter(client, base_url=live.url)
            await adapter.publish(request_for("one", title="First"))
            with pytest.raises(RateLimited, match="Take a break for 7 minutes") as raised:
                await adapter.publish(request_for("two", title="Second"))

    assert raised.value.status == 200  # Reddit refuses with HTTP 200
    reset_at = raised.value.reset_at
    assert reset_at is not None
    assert 410 <= (reset_at - datetime.now(UTC)).total_seconds() <= 421


async def test_an_injected_429_is_rate_limited_until_x_ratelimit_reset(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    await add_fault(live, {"effect": {"rate_limit": {"retry_after": 300}}, "count": 1})

    with pytest.raises(RateLimited) as raised:
        await adapter.publish(request_for("too fast", title="Slow down"))

    assert raised.value.reset_at is not None
    assert 295 <= (raised.value.reset_at - datetime.now(UTC)).total_seconds() <= 301
    assert await listing(live) == []


async def test_a_spent_request_window_is_rate_limited() -> None:
    app = create_app(rate_limits={"reddit": RateLimit(limit=2, window_seconds=600)})
    with BackgroundEmulator(app) as live:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = RedditAdapter(client, base_url=live.url)
            first = await adapter.publish(request_for("one", title="One"))
            await adapter.publish(request_for("two", title="Two"))
            with pytest.raises(RateLimited) as raised:
                await adapter.publish(request_for("three", title="Three"))

    assert first.rate is not None
    assert (first.rate.limit, first.rate.remaining) == (2, 1)
    assert raised.value.status == 429
    assert raised.value.reset_at is not None
    assert 590 <= (raised.value.reset_at - datetime.now(UTC)).total_seconds() <= 601


async def test_an_expired_token_needs_auth(adapter: RedditAdapter) -> None:
    account = AccountRef(
        id=uuid.uuid4(),
        handle="old",
        external_id=None,
        options={},
        credentials={"access_token": "expired-an-hour-ago"},
    )

    with pytest.raises(AuthNeeded) as raised:
        await adapter.publish(request_for("hello?", account=account))

    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("subreddit", "options", "code", "words"),
    [
        ("nonexistent_sub", {}, "SUBREDDIT_NOEXIST", "that subreddit doesn't exist"),
        ("needsflair", {}, "SUBMIT_VALIDATION_FLAIR_REQUIRED", "must contain post flair"),
        ("linksonly", {}, "NO_SELFS", "doesn't allow text posts"),
        ("private_club", {}, "SUBREDDIT_NOTALLOWED", "aren't allowed to post there"),
    ],
)
async def test_subreddit_rules_are_permanent_with_reddit_s_words(
    live: BackgroundEmulator,
    adapter: RedditAdapter,
    subreddit: str,
    options: dict[str, Any],
    code: str,
    words: str,
) -> None:
    with pytest.raises(Permanent, match=words) as raised:
        await adapter.publish(request_for("text", subreddit=subreddit, **options))

    assert raised.value.platform_code == code
    assert await listing(live) == []


async def test_a_link_someone_else_posted_is_permanent_unless_resubmitted(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    other = AccountRef(
        id=uuid.uuid4(),
        handle="bob",
        external_id=None,
        options={},
        credentials={"access_token": "reddit-user-bob"},
    )
    link = "https://example.com/news"
    await adapter.publish(request_for(link, title="Bob's", account=other))

    with pytest.raises(Permanent, match="resubmit") as raised:
        await adapter.publish(request_for(link, title="Mine"))
    assert raised.value.platform_code == "ALREADY_SUB"

    await adapter.publish(request_for(link, title="Mine", resubmit=True))
    assert [p["title"] for p in await listing(live)] == ["Mine"]


async def test_already_submitted_after_a_lost_answer_is_uncertain_and_found(
    live: BackgroundEmulator,
) -> None:
    await add_fault(live, {"effect": {"timeout_after_store": True}, "count": 1})
    request = request_for(
        "https://example.com/launch",
        title="We launched",
        scheduled_at=datetime.now(UTC) - timedelta(seconds=5),
    )
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        with pytest.raises(Uncertain):
            await RedditAdapter(impatient, base_url=live.url).publish(request)
    async with httpx.AsyncClient(timeout=5) as client:
        adapter = RedditAdapter(client, base_url=live.url)
        with pytest.raises(Uncertain, match="earlier attempt probably landed"):
            await adapter.publish(request)  # a retry that `find` had not stopped
        found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))

    posts = await listing(live)
    assert found is not None
    assert [f"t3_{p['id']}" for p in posts] == [found.external_id]


async def test_a_503_on_submit_is_uncertain(
    live: BackgroundEmulator, adapter: RedditAdapter
) -> None:
    await add_fault(live, {"effect": {"status": 503}, "count": 1})

    with pytest.raises(Uncertain) as raised:
        await adapter.publish(request_for("there?", title="Anyone"))

    assert raised.value.status == 503


async def test_a_503_while_uploading_is_only_retryable(
    live: BackgroundEmulator, adapter: RedditAdapter, tmp_path: Path
) -> None:
    await add_fault(
        live,
        {"match": {"path": "/api/media/asset.json"}, "effect": {"status": 503}, "count": 1},
    )

    with pytest.raises(Retryable):
        await adapter.publish(request_for("", title="Pic", media=[image(tmp_path)]))

    assert await listing(live) == []


async def test_a_file_the_storage_host_refuses_is_permanent_naming_it(
    adapter: RedditAdapter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulated, "MAX_UPLOAD_BYTES", 10)

    with pytest.raises(Permanent, match="EntityTooLarge") as raised:
        await adapter.publish(request_for("", title="Big", media=[image(tmp_path, "big.png")]))

    assert raised.value.media_file == "big.png"


async def test_a_refused_connection_is_retryable(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = RedditAdapter(client, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(Retryable):
        await adapter.publish(request_for("anyone?"))


async def test_build_reads_the_base_url_and_the_app_id_from_settings(
    live: BackgroundEmulator, recorder: Recorder, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        platform_urls={"reddit": live.url},
        reddit_client_id="my-client-id",
    )
    adapter = reddit.build(client, settings)

    await adapter.publish(request_for("via settings", title="Settings"))

    assert recorder.requests[-1].headers["user-agent"] == (
        "web:my-client-id:0.1.0 (by /u/alice_posts)"
    )
