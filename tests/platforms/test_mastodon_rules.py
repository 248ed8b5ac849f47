"""The Mastodon adapter's pure decisions: error classes, rate-limit headers, HTML to text, and
when `find` asks by Idempotency-Key rather than by text."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    Uncertain,
)
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator.mastodon import content_html
from postwright.platforms.mastodon import (
    IDEMPOTENCY_PROBE_WINDOW,
    MastodonAdapter,
    classify_response,
    metrics_of,
    plain_text,
    same_status_text,
    status_body,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACCOUNT = AccountRef(
    id=uuid.uuid4(),
    handle="bob",
    external_id="7",
    options={"instance_url": "https://mastodon.example/"},
    credentials={"access_token": "t"},
)
IMAGE = MediaFile(
    id=uuid.uuid4(),
    path=Path("/nowhere/cat.png"),
    filename="cat.png",
    mime_type="image/png",
    kind="image",
    size_bytes=10,
    checksum_sha256="0" * 64,
    alt_text=None,
)


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def classify(response: httpx.Response, *, creating: bool = True) -> PlatformError | None:
    return classify_response(response, creating=creating, now=NOW)


def request_for(text: str, **options: Any) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key="key-1",
        text=text,
        media=[],
        options=options,
        account=ACCOUNT,
        fingerprint="",
        scheduled_at=None,
    )


# -- error classes -------------------------------------------------------------------------------


def test_429_waits_for_the_iso_reset() -> None:
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-11-23T10:05:00.000000Z",
    }

    error = classify(answer(429, {"error": "Too many requests"}, headers))

    assert isinstance(error, RateLimited)
    assert error.reset_at == NOW + timedelta(minutes=5)
    assert "Too many requests" in error.message


def test_429_prefers_retry_after_when_a_proxy_adds_one() -> None:
    headers = {"Retry-After": "30", "X-RateLimit-Reset": "2026-11-23T10:05:00Z"}

    error = classify(answer(429, {"error": "Too many requests"}, headers))

    assert isinstance(error, RateLimited)
    assert error.reset_at == NOW + timedelta(seconds=30)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_tokens_need_auth(status: int) -> None:
    error = classify(answer(status, {"error": "The access token is invalid"}))

    assert isinstance(error, AuthNeeded)
    assert "The access token is invalid" in error.message


def test_422_is_permanent_with_mastodon_s_message() -> None:
    error = classify(answer(422, {"error": "Validation failed: Text can't be blank"}))

    assert isinstance(error, Permanent)
    assert "Validation failed: Text can't be blank" in error.message


def test_a_media_error_names_the_file() -> None:
    error = classify_response(
        answer(422, {"error": "Validation failed: File content type is invalid"}),
        creating=False,
        media=IMAGE,
        now=NOW,
    )

    assert isinstance(error, Permanent)
    assert error.media_file == "cat.png"


@pytest.mark.parametrize(
    ("status", "creating", "expected"),
    [
        (500, True, Uncertain),
        (503, True, Uncertain),
        (503, False, Retryable),
        (408, True, Retryable),
        (404, True, Permanent),
        (410, True, Permanent),
    ],
)
def test_status_classes(status: int, creating: bool, expected: type[PlatformError]) -> None:
    assert type(classify(answer(status, {"error": "x"}), creating=creating)) is expected


def test_successes_are_not_errors() -> None:
    assert classify(answer(200, {"id": "1"})) is None
    assert classify(answer(202, {"id": "1"}), creating=False) is None


def test_an_oauth_error_keeps_its_description() -> None:
    body = {"error": "invalid_grant", "error_description": "The grant is invalid"}

    error = classify(answer(401, body))

    assert error is not None
    assert "invalid_grant: The grant is invalid" in error.message


# -- bodies, metrics, text -----------------------------------------------------------------------


def test_the_status_body_takes_the_target_options() -> None:
    request = request_for(
        "hi", visibility="private", spoiler_text="cw", sensitive=True, language="de", other=1
    )

    assert status_body(request, ["1", "2"]) == {
        "status": "hi",
        "media_ids": ["1", "2"],
        "visibility": "private",
        "spoiler_text": "cw",
        "language": "de",
        "sensitive": True,
    }
    assert status_body(request_for("plain"), []) == {"status": "plain"}


def test_metrics_map_the_counters_and_skip_missing_ones() -> None:
    status = {"favourites_count": 3, "reblogs_count": 2, "replies_count": 1}

    assert metrics_of(status) == {"likes": 3, "shares": 2, "comments": 1}


def test_plain_text_undoes_mastodon_s_html() -> None:
    content = (
        '<p>Hi <span class="h-card"><a href="https://x.example/@carol" class="u-url mention">'
        '@<span>carol</span></a></span> &amp; all</p><p>Read <a href="https://example.com/a/'
        'long/path"><span class="invisible">https://</span><span class="ellipsis">example.com/'
        'a/</span><span class="invisible">long/path</span></a><br />bye</p>'
    )

    assert plain_text(content) == ("Hi @carol & all\n\nRead https://example.com/a/long/path\nbye")


@pytest.mark.parametrize(
    "text",
    [
        "Plain words",
        "Tea & <cake>",
        "Paragraphs\n\nand\nlines",
        "A link https://example.com/a/very/long/path/that/will/be/shortened?q=1&r=2",
        "Tags #one #Two and a mention of @carol@other.example",
    ],
)
def test_same_status_text_matches_what_the_emulator_renders(text: str) -> None:
    assert same_status_text(text, content_html(text, "https://mastodon.example/"))


def test_same_status_text_tells_statuses_apart() -> None:
    assert not same_status_text("one", content_html("two", "https://mastodon.example/"))


# -- find: by key, then by text ------------------------------------------------------------------


async def probe_or_list(age: timedelta) -> list[str]:
    """The requests `find` makes for an attempt `age` old."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            assert request.headers["idempotency-key"] == "key-1"
            assert json.loads(request.content) == {"status": ""}
            return httpx.Response(422, json={"error": "Validation failed: Text can't be blank"})
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        adapter = MastodonAdapter(client, clock=lambda: NOW)
        assert await adapter.find(request_for("hi"), since=NOW - age) is None
    return seen


async def test_find_asks_by_key_within_55_minutes() -> None:
    requests = await probe_or_list(IDEMPOTENCY_PROBE_WINDOW - timedelta(seconds=1))

    assert requests == ["POST /api/v1/statuses"]


async def test_find_lists_statuses_from_55_minutes_on() -> None:
    requests = await probe_or_list(IDEMPOTENCY_PROBE_WINDOW)

    assert requests == ["GET /api/v1/accounts/7/statuses"]


async def test_an_upload_answered_without_an_id_is_retryable(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"type": "image"})

    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    request = dataclasses.replace(request_for("hi"), media=[dataclasses.replace(IMAGE, path=image)])
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(Retryable, match="without a media id"):
            await MastodonAdapter(client).publish(request)
