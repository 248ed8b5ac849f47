"""The X adapter's pure decisions: error classes from answers, rate-limit headers, text matching."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    Uncertain,
)
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.x import (
    XAdapter,
    classify_response,
    metrics_of,
    permalink,
    rate_info,
    same_post_text,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())
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


# -- error classes -------------------------------------------------------------------------------


def test_a_201_with_data_is_a_success() -> None:
    assert classify(answer(201, {"data": {"id": "1", "text": "hi"}})) is None


def test_429_waits_for_x_rate_limit_reset() -> None:
    error = classify(
        answer(
            429,
            {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(EPOCH + 900),
            },
        )
    )

    assert isinstance(error, RateLimited)
    assert error.reset_at == datetime.fromtimestamp(EPOCH + 900, UTC)
    assert "Rate limit exceeded" in error.message


def test_429_from_the_24_hour_app_limit_waits_for_that_reset() -> None:
    headers = {
        "x-rate-limit-remaining": "97",
        "x-rate-limit-reset": str(EPOCH + 600),
        "x-app-limit-24hour-remaining": "0",
        "x-app-limit-24hour-reset": str(EPOCH + 20_000),
    }

    error = classify(answer(429, {"title": "Too Many Requests"}, headers))

    assert isinstance(error, RateLimited)
    assert error.reset_at == datetime.fromtimestamp(EPOCH + 20_000, UTC)


def test_429_without_any_header_has_no_reset() -> None:
    error = classify(answer(429, {"title": "Too Many Requests"}))

    assert isinstance(error, RateLimited)
    assert error.reset_at is None


def test_a_usage_cap_is_permanent_even_as_429() -> None:
    body = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
    }

    error = classify(answer(429, body, {"x-rate-limit-remaining": "39999"}))

    assert isinstance(error, Permanent)
    assert error.platform_code == "usage-capped"
    assert "Monthly product cap" in error.message


def test_401_needs_auth() -> None:
    body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}

    assert isinstance(classify(answer(401, body)), AuthNeeded)


def test_a_duplicate_403_on_create_is_uncertain_and_elsewhere_permanent() -> None:
    body = {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }

    assert isinstance(classify(answer(403, body)), Uncertain)
    assert isinstance(classify(answer(403, body), creating=False), Permanent)


def test_another_403_is_permanent_with_the_detail() -> None:
    body = {
        "detail": "You are not permitted to perform this action.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }

    error = classify(answer(403, body))

    assert isinstance(error, Permanent)
    assert "not permitted to perform this action" in error.message


def test_400_lists_the_invalid_parameters_rather_than_the_generic_detail() -> None:
    body = {
        "errors": [{"parameters": {"text": [""]}, "message": "Your media IDs are invalid."}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }

    error = classify(answer(400, body))

    assert isinstance(error, Permanent)
    assert "Your media IDs are invalid." in error.message
    assert error.platform_code == "https://api.x.com/2/problems/invalid-request"


def test_a_media_step_names_the_file() -> None:
    error = classify_response(
        answer(400, {"detail": "File size exceeds 5242880 bytes"}),
        creating=False,
        media=IMAGE,
        now=NOW,
    )

    assert isinstance(error, Permanent)
    assert error.media_file == "cat.png"
    assert "cat.png" in error.message


@pytest.mark.parametrize(
    ("status", "creating", "expected"),
    [
        (500, True, Uncertain),
        (503, True, Uncertain),
        (503, False, Retryable),
        (408, True, Retryable),
        (404, False, Permanent),
    ],
)
def test_status_classes(status: int, creating: bool, expected: type[PlatformError]) -> None:
    assert type(classify(answer(status, {"title": "x"}), creating=creating)) is expected


def test_a_200_carrying_only_errors_is_an_error() -> None:
    body = {
        "errors": [
            {
                "detail": "Could not find tweet with id: [1].",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }

    error = classify(answer(200, body), creating=False)

    assert isinstance(error, Permanent)
    assert "Could not find tweet" in error.message


def test_a_200_with_data_and_partial_errors_is_a_success() -> None:
    body = {"data": {"id": "1"}, "errors": [{"detail": "not authorized for a field"}]}

    assert classify(answer(200, body), creating=False) is None


def test_a_create_answered_200_with_an_internal_error_is_uncertain() -> None:
    body = {
        "errors": [
            {"detail": "Internal error", "type": "https://api.x.com/2/problems/internal-error"}
        ]
    }

    assert isinstance(classify(answer(200, body)), Uncertain)


# -- headers, metrics, permalinks ----------------------------------------------------------------


def test_rate_info_reads_x_rate_limit_headers() -> None:
    info = rate_info(
        httpx.Headers(
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "42",
                "x-rate-limit-reset": str(EPOCH),
            }
        )
    )

    assert info is not None
    assert (info.limit, info.remaining, info.reset_at) == (100, 42, NOW)
    assert rate_info(httpx.Headers({})) is None


def test_metrics_accept_both_names_of_reposts() -> None:
    old = {"public_metrics": {"retweet_count": 3, "like_count": 9, "impression_count": 100}}
    new = {
        "public_metrics": {"repost_count": 3, "like_count": 9, "impression_count": 100},
        "non_public_metrics": {"url_link_clicks": 4, "user_profile_clicks": 1},
    }

    assert metrics_of(old) == {"shares": 3, "likes": 9, "views": 100}
    assert metrics_of(new) == {
        "shares": 3,
        "likes": 9,
        "views": 100,
        "clicks": 4,
        "profile_clicks": 1,
    }


def test_permalink_uses_the_handle_without_at() -> None:
    assert permalink("@alice", "123") == "https://x.com/alice/status/123"
    assert permalink("", "123") == "https://x.com/i/web/status/123"


# -- text matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown", "with_media"),
    [
        ("plain words", "plain words", False),
        ("Case  and\nspace", "case and space", False),
        ("see https://example.com/a?b=1&c=2", "see https://t.co/AbCdEfGhIj", False),
        ("bare example.org works", "bare https://t.co/0123456789 works", False),
        ("fish & chips <3", "fish &amp; chips &lt;3", False),
        ("with a picture", "with a picture https://t.co/pic0000000", True),
        ("", "https://t.co/pic0000000", True),
        (
            "link https://a.example.com then pic",
            "link https://t.co/a then pic https://t.co/p",
            True,
        ),
    ],
)
def test_same_post_text_sees_through_x_s_rewriting(sent: str, shown: str, with_media: bool) -> None:
    assert same_post_text(sent, shown, with_media=with_media)


@pytest.mark.parametrize(
    ("sent", "shown", "with_media"),
    [
        ("one post", "another post", False),
        ("with a picture", "with a picture https://t.co/pic0000000", False),
        ("two links https://a.example.com", "two links https://t.co/a https://t.co/b", False),
        ("text", "text and more https://t.co/p", True),
    ],
)
def test_same_post_text_tells_other_posts_apart(sent: str, shown: str, with_media: bool) -> None:
    assert not same_post_text(sent, shown, with_media=with_media)


# -- validation ----------------------------------------------------------------------------------


def test_validate_adds_x_s_mime_types_to_the_content_rules() -> None:
    adapter = XAdapter(httpx.AsyncClient())
    draft = ContentDraft(
        text="x" * 281,
        media=[MediaInfo(filename="a.bmp", kind="image", mime_type="image/bmp", size_bytes=10)],
    )

    violations = adapter.validate(draft, prefix="targets.0")

    assert {(v.field, v.rule) for v in violations} == {
        ("targets.0.text", "max_length"),
        ("targets.0.media", "media_kind"),
    }


async def test_a_create_answered_without_an_id_is_uncertain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"meta": {}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        adapter = XAdapter(client)
        account = AccountRef(uuid.uuid4(), "a", "1", {}, {"access_token": "t"})
        request = PublishRequest(uuid.uuid4(), "k", "hi", [], {}, account, "", None)
        with pytest.raises(Uncertain, match="without the new post's id"):
            await adapter.publish(request)
