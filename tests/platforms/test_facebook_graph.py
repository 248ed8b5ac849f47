"""The Graph API conventions shared by Facebook, Instagram and Threads: error classes, usage
headers, container polling, timestamps and field lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.platforms.graph import (
    DEFAULT_THROTTLE_WAIT,
    ContainerExpired,
    ContainerStatus,
    Polling,
    PublishingQuotaExceeded,
    Step,
    classify,
    parse_graph_time,
    parse_usage,
    split_fields,
    wait_for_container,
)

NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
CREATE = Step("publishing the post", creates=True)
UPLOAD = Step("uploading cat.jpg", media_file="cat.jpg")


def answer(
    status: int, error: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"error": {"message": "m", "type": "OAuthException", **error}} if error else None
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "error", "step", "expected"),
    [
        (400, {"code": 190, "error_subcode": 463}, CREATE, AuthNeeded),
        (400, {"code": 102}, CREATE, AuthNeeded),
        (400, {"code": 104}, UPLOAD, AuthNeeded),
        (403, {"code": 10}, CREATE, AuthNeeded),
        (403, {"code": 200}, CREATE, AuthNeeded),
        (400, {"code": 4}, CREATE, RateLimited),
        (400, {"code": 17}, CREATE, RateLimited),
        (400, {"code": 32}, CREATE, RateLimited),
        (400, {"code": 613}, CREATE, RateLimited),
        (400, {"code": 80001}, CREATE, RateLimited),
        (400, {"code": 80002}, UPLOAD, RateLimited),
        (400, {"code": 9, "error_subcode": 2207042}, CREATE, PublishingQuotaExceeded),
        (500, {"code": 1}, CREATE, Uncertain),
        (503, {"code": 2}, CREATE, Uncertain),
        (500, {"code": 1}, UPLOAD, Retryable),
        (400, {"code": 100, "is_transient": True}, CREATE, Uncertain),
        (400, {"code": 9007, "error_subcode": 2207027}, CREATE, Retryable),
        (400, {"code": 100}, CREATE, Permanent),
        (400, {"code": 506}, CREATE, Permanent),
        (500, None, CREATE, Uncertain),
        (502, None, UPLOAD, Retryable),
        (429, None, UPLOAD, RateLimited),
        (401, None, UPLOAD, AuthNeeded),
        (404, None, UPLOAD, Permanent),
    ],
)
def test_classification(
    status: int, error: dict[str, Any] | None, step: Step, expected: type[PlatformError]
) -> None:
    found = classify("Meta", answer(status, error), now=NOW, step=step)
    assert type(found) is expected


def test_permanent_keeps_the_message_codes_and_file() -> None:
    error = {
        "code": 100,
        "error_subcode": 2207052,
        "message": "(#100) Media download failed",
        "error_user_msg": "The image could not be downloaded.",
        "fbtrace_id": "AbC",
    }
    found = classify("Instagram", answer(400, error), now=NOW, step=UPLOAD)
    assert isinstance(found, Permanent)
    assert found.media_file == "cat.jpg"
    assert found.platform_code == "100/2207052"
    assert str(found) == (
        "Instagram refused uploading cat.jpg (cat.jpg): The image could not be downloaded. "
        "((#100) Media download failed) [code 100/2207052, fbtrace_id AbC]"
    )


def test_throttle_reset_prefers_the_longest_signal() -> None:
    buc = {"123": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    headers = {"X-Business-Use-Case-Usage": json.dumps(buc), "Retry-After": "60"}
    found = classify("Facebook", answer(400, {"code": 80001}, headers), now=NOW, step=CREATE)
    assert isinstance(found, RateLimited)
    assert found.reset_at == NOW + timedelta(minutes=7)


def test_throttle_without_any_estimate_waits_the_default() -> None:
    headers = {"X-App-Usage": json.dumps({"call_count": 100})}
    found = classify("Facebook", answer(400, {"code": 4}, headers), now=NOW, step=CREATE)
    assert isinstance(found, RateLimited)
    assert found.reset_at == NOW + DEFAULT_THROTTLE_WAIT


def test_usage_headers_take_the_highest_share_and_the_longest_wait() -> None:
    buc = {
        "1": [{"type": "pages", "call_count": 20, "total_time": 95, "total_cputime": 3}],
        "2": [
            {"type": "instagram", "call_count": 5, "estimated_time_to_regain_access": 3},
            {"type": "instagram", "call_count": 5, "estimated_time_to_regain_access": 12},
        ],
    }
    usage = parse_usage(
        {
            "x-app-usage": json.dumps({"call_count": 40, "total_time": 10, "total_cputime": 2}),
            "X-Business-Use-Case-Usage": json.dumps(buc),
        }
    )
    assert usage is not None
    assert usage.percent == 95
    assert usage.regain_minutes == 12
    info = usage.rate_info(NOW)
    assert (info.limit, info.remaining, info.reset_at) == (100, 5, NOW + timedelta(minutes=12))


def test_usage_headers_absent_or_garbled() -> None:
    assert parse_usage({}) is None
    assert parse_usage({"X-App-Usage": "not json", "X-Business-Use-Case-Usage": "[]"}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-01T12:00:00+0000", NOW),
        ("2026-08-01T14:00:00+0200", NOW),
        ("2026-08-01T12:00:00Z", NOW),
        ("2026-08-01T12:00:00.000Z", NOW),
        (NOW.timestamp(), NOW),
        ("yesterday", None),
        (None, None),
    ],
)
def test_graph_times(text: object, expected: datetime | None) -> None:
    assert parse_graph_time(text) == expected


def test_split_fields_respects_nesting() -> None:
    fields = "id,reactions.summary(total_count),children{id,media_url},comments.limit(0)"
    assert split_fields(fields) == [
        "id",
        "reactions.summary(total_count)",
        "children{id,media_url}",
        "comments.limit(0)",
    ]


FAST = Polling(first_s=0.001, factor=1.0, max_interval_s=0.001)


def statuses(*states: ContainerStatus) -> Any:
    queue = list(states)

    async def read() -> ContainerStatus:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return read


async def test_waits_through_in_progress_until_finished() -> None:
    read = statuses(ContainerStatus("IN_PROGRESS"), ContainerStatus("FINISHED"))
    status = await wait_for_container(
        read,
        platform="Instagram",
        what="cat.jpg",
        media_file="cat.jpg",
        polling=FAST,
        deadline=1e18,
    )
    assert status.state == "FINISHED"


async def test_an_error_container_is_permanent_and_names_the_file() -> None:
    read = statuses(ContainerStatus("IN_PROGRESS"), ContainerStatus("ERROR", "download failed"))
    with pytest.raises(Permanent, match=r"could not process cat\.jpg: download failed") as caught:
        await wait_for_container(
            read,
            platform="Instagram",
            what="cat.jpg",
            media_file="cat.jpg",
            polling=FAST,
            deadline=1e18,
        )
    assert caught.value.media_file == "cat.jpg"


async def test_expired_containers_are_retryable_and_slow_ones_still_processing() -> None:
    with pytest.raises(ContainerExpired, match="expired"):
        await wait_for_container(
            statuses(ContainerStatus("EXPIRED")),
            platform="Threads",
            what="the post",
            media_file=None,
            polling=FAST,
            deadline=1e18,
        )
    clock = iter(float(n) for n in range(100))
    with pytest.raises(StillProcessing, match="still processing") as late:
        await wait_for_container(
            statuses(ContainerStatus("IN_PROGRESS")),
            platform="Threads",
            what="the video",
            media_file="v.mp4",
            polling=FAST,
            deadline=5.0,
            clock=lambda: next(clock),
        )
    # look again after about as long as it waited this time; the caller adds what it made
    assert late.value.check_after >= timedelta(seconds=1)
    assert late.value.resume == {}
