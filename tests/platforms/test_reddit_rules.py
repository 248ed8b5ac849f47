"""Reddit's pure rules: what a delivery submits, RATELIMIT delays, rate-limit headers, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Uncertain
from postwright.platforms.reddit import (
    RedditAdapter,
    classify_response,
    plan_submission,
    rate_info,
    ratelimit_delay,
    user_agent,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PNG = MediaInfo(filename="a.png", kind="image", mime_type="image/png", size_bytes=10)
MP4 = MediaInfo(filename="a.mp4", kind="video", mime_type="video/mp4", size_bytes=10)


@pytest.mark.parametrize(
    ("message", "seconds", "expected"),
    [
        ("you are doing that too much. try again in 7 minutes.", None, 420),
        ("you are doing that too much. try again in 1 minute.", None, 60),
        ("you are doing that too much. try again in 45 seconds.", None, 45),
        ("you are doing that too much. try again in 500 milliseconds.", None, 0.5),
        (
            "Looks like you've been doing that a lot. "
            "Take a break for 3 minutes before trying again.",
            None,
            180,
        ),
        ("Take a break for 3 minutes before trying again.", 123.5, 123.5),
    ],
)
def test_ratelimit_delay_reads_json_ratelimit_else_the_message(
    message: str, seconds: float | None, expected: float
) -> None:
    assert ratelimit_delay(message, seconds) == timedelta(seconds=expected)


def test_a_ratelimit_without_a_delay_waits_ten_minutes() -> None:
    body = {"json": {"errors": [["RATELIMIT", "slow down", "ratelimit"]]}}

    error = classify_response(httpx.Response(200, json=body), creating=True, now=NOW)

    assert isinstance(error, RateLimited)
    assert error.reset_at == NOW + timedelta(minutes=10)


def test_rate_info_reads_the_x_ratelimit_headers() -> None:
    headers = {"X-Ratelimit-Used": "4", "X-Ratelimit-Remaining": "996.0", "X-Ratelimit-Reset": "37"}

    info = rate_info(headers, now=NOW)

    assert info is not None
    assert (info.limit, info.remaining, info.reset_at) == (1000, 996, NOW + timedelta(seconds=37))
    assert rate_info({}, now=NOW) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (
            200,
            {"json": {"errors": [["USER_REQUIRED", "Please log in to do that.", None]]}},
            {},
            AuthNeeded,
        ),
        (
            200,
            {"json": {"errors": [["TOO_LONG", "this is too long (max: 300)", "title"]]}},
            {},
            Permanent,
        ),
        (401, {"message": "Unauthorized", "error": 401}, {}, AuthNeeded),
        (403, {"message": "Forbidden", "error": 403}, {}, AuthNeeded),
        (429, {"message": "Too Many Requests", "error": 429}, {"Retry-After": "30"}, RateLimited),
        (500, {"message": "Internal Server Error", "error": 500}, {}, Uncertain),
        (400, {"message": "Bad Request", "explanation": "bad flair"}, {}, Permanent),
    ],
)
def test_classify_response(
    status: int, body: dict[str, Any], headers: dict[str, str], kind: type[Exception]
) -> None:
    error = classify_response(
        httpx.Response(status, json=body, headers=headers), creating=True, now=NOW
    )

    assert isinstance(error, kind)


def test_a_429_without_reddit_headers_uses_retry_after() -> None:
    response = httpx.Response(
        429, json={"message": "Too Many Requests"}, headers={"Retry-After": "30"}
    )

    error = classify_response(response, creating=True, now=NOW)

    assert isinstance(error, RateLimited)
    assert error.reset_at == NOW + timedelta(seconds=30)


def test_a_refusal_keeps_reddit_s_code_message_and_field() -> None:
    body = {"json": {"errors": [["TOO_LONG", "this is too long (max: 300)", "title"]]}}

    error = classify_response(httpx.Response(200, json=body), creating=True, now=NOW)

    assert isinstance(error, Permanent)
    assert error.platform_code == "TOO_LONG"
    assert (
        error.message
        == "Reddit refused the post: this is too long (max: 300) (title) [TOO_LONG, title]"
    )


def test_a_success_is_no_error() -> None:
    body = {"json": {"errors": [], "data": {"name": "t3_x"}}}

    assert classify_response(httpx.Response(200, json=body), creating=True, now=NOW) is None


def test_user_agent_follows_reddit_s_form() -> None:
    assert user_agent("abc", "alice") == "web:abc:0.1.0 (by /u/alice)"
    assert user_agent("abc", "") == "web:abc:0.1.0"


@pytest.mark.parametrize(
    ("text", "media", "options", "kind", "url", "body"),
    [
        ("hello", [], {}, "self", None, "hello"),
        ("https://example.com/x", [], {}, "link", "https://example.com/x", ""),
        ("", [], {"link": "https://example.com/y"}, "link", "https://example.com/y", ""),
        ("", [PNG], {}, "image", None, ""),
        ("https://example.com/x", [], {"kind": "self"}, "self", None, "https://example.com/x"),
    ],
)
def test_plan_submission_infers_the_kind(
    text: str,
    media: list[MediaInfo],
    options: dict[str, Any],
    kind: str,
    url: str | None,
    body: str,
) -> None:
    submission, problems = plan_submission(
        text, media, {"subreddit": "/r/python", "title": " T ", **options}
    )

    assert problems == []
    assert submission is not None
    assert (submission.kind, submission.url, submission.text) == (kind, url, body)
    assert (submission.subreddit, submission.title) == ("python", "T")


def validate(text: str, media: list[MediaInfo] | None = None, **options: Any) -> list[str]:
    adapter = RedditAdapter(httpx.AsyncClient())
    draft = ContentDraft(text=text, media=media or [], options=options)
    return [f"{v.field} {v.rule}" for v in adapter.validate(draft, prefix="t")]


def test_validate_needs_a_subreddit_and_a_title_once() -> None:
    assert validate("hi") == ["t.options.subreddit required", "t.options.title required"]


def test_validate_refuses_text_that_reddit_would_drop() -> None:
    assert validate("look", [PNG], subreddit="pics", title="T") == ["t.text invalid"]
    assert validate("look at https://x.y", subreddit="s_s", title="T", link="https://x.y") == [
        "t.text invalid"
    ]


def test_validate_refuses_videos_and_media_on_text_posts() -> None:
    assert validate("", [MP4], subreddit="vids", title="T") == ["t.media media_kind"]
    assert validate("words", [PNG], subreddit="pics", title="T", kind="self") == [
        "t.media media_kind"
    ]


def test_validate_checks_flag_types() -> None:
    assert validate("hi", subreddit="abc", title="T", nsfw="yes", flair_id=3) == [
        "t.options.nsfw invalid",
        "t.options.flair_id invalid",
    ]
