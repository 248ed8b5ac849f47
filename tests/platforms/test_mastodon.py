"""The Mastodon adapter against the emulated instance, over a real socket: publish, find (by key
and by text), delete, metrics, the Idempotency-Key, and every error class."""

from __future__ import annotations

import dataclasses
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.mastodon import MastodonAdapter
from tests.platforms.conformance import Recorder

ACCOUNT_ID = "7"
PNG = b"\x89PNG\r\n\x1a\n"


def account(
    url: str, *, token: str = f"mastodon-account-{ACCOUNT_ID}", external_id: str | None = ACCOUNT_ID
) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        handle="@bob@emulator",
        external_id=external_id,
        options={"instance_url": url},
        credentials={"access_token": token},
    )


def request_for(
    owner: AccountRef,
    text: str,
    *,
    media: list[MediaFile] | None = None,
    options: dict[str, Any] | None = None,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=str(uuid.uuid4()),
        text=text,
        media=media or [],
        options=options or {},
        account=owner,
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
def adapter(client: httpx.AsyncClient) -> MastodonAdapter:
    return MastodonAdapter(client)


@pytest.fixture
def bob(live: BackgroundEmulator) -> AccountRef:
    return account(live.url)


async def add_fault(live: BackgroundEmulator, rule: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=live.url) as control:
        response = await control.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


async def ledger(live: BackgroundEmulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=live.url) as control:
        entries: list[dict[str, Any]] = (
            await control.get("/_emulator/ledger", params={"platform": "mastodon"})
        ).json()
    return entries


async def status_of(live: BackgroundEmulator, status_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.url) as reader:
        response = await reader.get(
            f"/api/v1/statuses/{status_id}", headers={"Authorization": "Bearer anyone"}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- publishing ----------------------------------------------------------------------------------


async def test_publishes_text_with_options_and_reads_it_back(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    before = datetime.now(UTC)
    options = {"visibility": "unlisted", "spoiler_text": "cw", "language": "en"}

    published = await adapter.publish(request_for(bob, "Hello, fediverse", options=options))

    entries = await ledger(live)
    assert [(e["post_id"], e["account"], e["text"]) for e in entries] == [
        (published.external_id, ACCOUNT_ID, "Hello, fediverse")
    ]
    status = await status_of(live, published.external_id)
    assert published.permalink == status["url"] == f"{live.url}/@user7/{published.external_id}"
    assert (status["visibility"], status["spoiler_text"], status["language"]) == (
        "unlisted",
        "cw",
        "en",
    )
    assert status["sensitive"] is True  # a content warning marks the status sensitive
    assert published.rate is not None
    assert published.rate.reset_at is not None
    assert published.rate.reset_at > before


async def test_publishes_a_link_and_find_matches_its_rendered_html(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    text = "Long read: https://example.com/a/very/long/path/that/mastodon/shortens #news\n\nBye"
    request = request_for(bob, text)

    published = await adapter.publish(request)
    by_text = await adapter.find(request, since=datetime.now(UTC) - timedelta(hours=2))

    status = await status_of(live, published.external_id)
    assert '<span class="ellipsis">' in status["content"]
    assert by_text is not None
    assert by_text.external_id == published.external_id


async def test_publishes_images_with_descriptions(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef, tmp_path: Path
) -> None:
    images = [
        media_file(
            tmp_path / "a.png", PNG + b"a" * 100, kind="image", mime="image/png", alt="First"
        ),
        media_file(tmp_path / "b.png", PNG + b"b" * 100, kind="image", mime="image/png"),
    ]

    published = await adapter.publish(request_for(bob, "Two pictures", media=images))

    status = await status_of(live, published.external_id)
    assert [(m["type"], m["description"]) for m in status["media_attachments"]] == [
        ("image", "First"),
        ("image", None),
    ]


async def test_publishes_a_video_once_processed(
    live: BackgroundEmulator,
    adapter: MastodonAdapter,
    bob: AccountRef,
    recorder: Recorder,
    tmp_path: Path,
) -> None:
    video = media_file(
        tmp_path / "clip.mp4",
        struct.pack(">I", 24) + b"ftypisom" + b"\0" * 4000,
        kind="video",
        mime="video/mp4",
    )

    published = await adapter.publish(request_for(bob, "", media=[video]))

    status = await status_of(live, published.external_id)
    assert [m["type"] for m in status["media_attachments"]] == ["video"]
    assert status["media_attachments"][0]["url"] is not None
    polls = [r for r in recorder.requests if r.url.path.startswith("/api/v1/media/")]
    assert polls  # 202, then GET /api/v1/media/{id} until 200


async def test_a_video_that_fails_processing_is_permanent_and_names_the_file(
    adapter: MastodonAdapter, bob: AccountRef, tmp_path: Path
) -> None:
    broken = media_file(tmp_path / "broken.mp4", b"\0" * 512, kind="video", mime="video/mp4")

    with pytest.raises(Permanent) as raised:
        await adapter.publish(request_for(bob, "broken", media=[broken]))

    assert raised.value.media_file == "broken.mp4"
    assert "Error processing" in raised.value.message


async def test_an_unsupported_file_is_permanent_and_names_it(
    adapter: MastodonAdapter, bob: AccountRef, tmp_path: Path
) -> None:
    doc = media_file(tmp_path / "notes.pdf", b"%PDF-1.7", kind="other", mime="application/pdf")

    with pytest.raises(Permanent, match="content type is invalid") as raised:
        await adapter.publish(request_for(bob, "a pdf", media=[doc]))

    assert raised.value.media_file == "notes.pdf"
    assert raised.value.status == 422


# -- idempotency and find ------------------------------------------------------------------------


async def test_a_replay_with_the_same_key_creates_no_second_status(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef, recorder: Recorder
) -> None:
    request = request_for(bob, "Exactly once")

    first = await adapter.publish(request)
    second = await adapter.publish(request)

    entries = await ledger(live)
    assert second.external_id == first.external_id
    assert [(e["post_id"], e["received_count"]) for e in entries] == [(first.external_id, 2)]
    keys = [r.headers.get("idempotency-key") for r in recorder.requests if r.method == "POST"]
    assert keys == [request.idempotency_key, request.idempotency_key]


async def test_find_within_the_hour_asks_by_key_and_creates_nothing(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef, recorder: Recorder
) -> None:
    request = request_for(bob, "Did it land?")
    published = await adapter.publish(request)
    recorder.clear()
    since = datetime.now(UTC) - timedelta(minutes=3)

    found = await adapter.find(request, since=since)
    missing = await adapter.find(
        dataclasses.replace(request, idempotency_key="unseen"), since=since
    )

    assert found is not None
    assert found.external_id == published.external_id
    assert found.permalink == published.permalink
    assert missing is None
    assert [f"{r.method} {r.url.path}" for r in recorder.requests] == ["POST /api/v1/statuses"] * 2
    assert [e["post_id"] for e in await ledger(live)] == [published.external_id]


async def test_find_after_the_hour_lists_statuses_and_matches_text(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef, recorder: Recorder
) -> None:
    request = request_for(bob, "Hi @carol@other.example, see https://example.org/x")
    published = await adapter.publish(request)
    for n in range(45):  # more than one page of 40
        await adapter.publish(request_for(bob, f"Later status {n}"))
    recorder.clear()

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(hours=2))
    missing = await adapter.find(
        request_for(bob, "Never posted"), since=datetime.now(UTC) - timedelta(hours=2)
    )

    assert found is not None
    assert found.external_id == published.external_id
    assert missing is None
    timeline = f"/api/v1/accounts/{ACCOUNT_ID}/statuses"
    listed = [r for r in recorder.requests if r.url.path == timeline]
    assert len(listed) == 5  # found on page 2; not found after pages 1, 2 and an empty 3
    assert all(r.method == "GET" for r in recorder.requests)


async def test_find_after_the_hour_ignores_statuses_from_before_the_attempt(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    request = request_for(bob, "Old news")
    await adapter.publish(request)
    live.app.ledger.entries(platform="mastodon")[0].created_at -= 3 * 3600

    assert await adapter.find(request, since=datetime.now(UTC) - timedelta(hours=2)) is None


async def test_find_reads_the_account_id_when_the_account_has_none(
    live: BackgroundEmulator, adapter: MastodonAdapter
) -> None:
    owner = account(live.url, token="mastodon-account-99", external_id=None)
    request = request_for(owner, "Whose account?")
    published = await adapter.publish(request)

    found = await adapter.find(request, since=datetime.now(UTC) - timedelta(hours=2))

    assert found is not None
    assert found.external_id == published.external_id


async def test_a_status_stored_then_unanswered_is_uncertain_then_found_and_never_doubled(
    live: BackgroundEmulator, bob: AccountRef
) -> None:
    await add_fault(live, {"effect": {"timeout_after_store": True}, "count": 1})
    request = request_for(bob, "Timed out")
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        with pytest.raises(Uncertain):
            await MastodonAdapter(impatient).publish(request)
    async with httpx.AsyncClient(timeout=5) as client:
        adapter = MastodonAdapter(client)
        found = await adapter.find(request, since=datetime.now(UTC) - timedelta(minutes=1))
        retried = await adapter.publish(request)

    entries = await ledger(live)
    assert found is not None
    assert retried.external_id == found.external_id
    assert [e["post_id"] for e in entries] == [found.external_id]


# -- delete, metrics -----------------------------------------------------------------------------


async def test_delete_removes_the_status_and_tolerates_a_second_delete(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    published = await adapter.publish(request_for(bob, "Short-lived"))

    await adapter.delete(bob, published.external_id)
    await adapter.delete(bob, published.external_id)

    assert await ledger(live) == []


async def test_metrics_are_the_status_counters(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    published = await adapter.publish(request_for(bob, "Count me"))

    metrics = await adapter.metrics(bob, published.external_id)

    status = await status_of(live, published.external_id)
    assert metrics == {
        "likes": status["favourites_count"],
        "shares": status["reblogs_count"],
        "comments": status["replies_count"],
        "quotes": status["quotes_count"],
    }


# -- errors --------------------------------------------------------------------------------------


async def test_an_injected_429_waits_for_the_iso_reset(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    await add_fault(live, {"effect": {"rate_limit": {"retry_after": 300}}, "count": 1})

    with pytest.raises(RateLimited) as raised:
        await adapter.publish(request_for(bob, "Too fast"))

    assert raised.value.reset_at is not None
    assert 290 <= (raised.value.reset_at - datetime.now(UTC)).total_seconds() <= 301


async def test_a_spent_window_is_rate_limited_until_its_reset() -> None:
    app = create_app(rate_limits={"mastodon": RateLimit(limit=1, window_seconds=300)})
    with BackgroundEmulator(app) as live:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = MastodonAdapter(client)
            owner = account(live.url)
            first = await adapter.publish(request_for(owner, "One"))
            with pytest.raises(RateLimited) as raised:
                await adapter.publish(request_for(owner, "Two"))

    assert first.rate is not None
    assert first.rate.remaining == 0
    assert raised.value.reset_at is not None
    assert 290 <= (raised.value.reset_at - datetime.now(UTC)).total_seconds() <= 300


@pytest.mark.parametrize(("token", "status"), [("revoked", 401), ("disabled-by-admin", 403)])
async def test_a_refused_token_needs_auth(
    live: BackgroundEmulator, adapter: MastodonAdapter, token: str, status: int
) -> None:
    with pytest.raises(AuthNeeded) as raised:
        await adapter.publish(request_for(account(live.url, token=token), "Hello?"))

    assert raised.value.status == status


async def test_a_validation_failure_is_permanent_with_mastodon_s_words(
    adapter: MastodonAdapter, bob: AccountRef
) -> None:
    with pytest.raises(Permanent, match="character limit of 500 exceeded") as raised:
        await adapter.publish(request_for(bob, "x" * 501))

    assert raised.value.status == 422


async def test_a_503_on_the_status_is_uncertain(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef
) -> None:
    await add_fault(live, {"effect": {"status": 503}, "count": 1})

    with pytest.raises(Uncertain) as raised:
        await adapter.publish(request_for(bob, "Are you there?"))

    assert raised.value.status == 503


async def test_a_503_while_uploading_is_only_retryable(
    live: BackgroundEmulator, adapter: MastodonAdapter, bob: AccountRef, tmp_path: Path
) -> None:
    await add_fault(
        live, {"match": {"path": "/api/v2/media"}, "effect": {"status": 503}, "count": 1}
    )
    image = media_file(tmp_path / "a.png", PNG, kind="image", mime="image/png")

    with pytest.raises(Retryable):
        await adapter.publish(request_for(bob, "Picture", media=[image]))

    assert await ledger(live) == []


async def test_a_refused_connection_is_retryable(
    adapter: MastodonAdapter,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(Retryable):
        await adapter.publish(request_for(account(f"http://127.0.0.1:{port}"), "Anyone?"))


async def test_an_account_without_instance_url_needs_reconnecting(
    adapter: MastodonAdapter,
) -> None:
    owner = dataclasses.replace(account("http://unused"), options={})

    with pytest.raises(AuthNeeded, match="instance_url"):
        await adapter.publish(request_for(owner, "Where to?"))


async def test_the_platform_urls_setting_overrides_the_instance(
    live: BackgroundEmulator, client: httpx.AsyncClient
) -> None:
    adapter = MastodonAdapter(client, base_url=live.url)
    owner = account("https://mastodon.example")

    published = await adapter.publish(request_for(owner, "Redirected"))

    assert published.permalink is not None
    assert published.permalink.startswith(live.url)
