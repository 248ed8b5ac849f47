"""What the composer asks the server: each platform's limits, and its own count of a text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import limits_for
from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.domain.text import (
    grapheme_length,
    mastodon_length,
    plain_length,
    threads_length,
    x_weighted_length,
)
from postwright.runtime import Runtime
from tests.support.factories import Member, assert_problem, assert_violation, make_member

TEXT = "Spring 🌸 is here: https://example.com/a/very/long/path/to/the/collection #linen 👨‍👩‍👧"


@pytest.fixture
async def viewer(runtime: Runtime) -> Member:
    return await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)


async def _count(
    client: httpx.AsyncClient, member: Member, platform: str, text: str, **options: object
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/preview/count",
        json={"platform": platform, "text": text, "options": options},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_platform_is_listed_with_its_limits(
    client: httpx.AsyncClient, viewer: Member
) -> None:
    response = await client.get("/api/v1/platforms", headers=viewer.headers)
    assert response.status_code == 200
    listed = {p["platform"]: p for p in response.json()}
    assert set(listed) == {p.value for p in Platform}
    x = listed["x"]
    assert (x["max_text"], x["text_unit"]) == (280, "weighted characters")
    assert x["max_bytes"]["image"] == 5 * 1_048_576
    assert {"kinds": ["image"], "max_items": 4} in x["media_groups"]
    assert listed["bluesky"]["max_text_bytes"] == 3000
    assert listed["instagram"]["media_required"] is True
    assert listed["reddit"]["max_title"] == 300
    assert x["color"].startswith("#")


@pytest.mark.parametrize(
    ("platform", "count"),
    [
        ("x", x_weighted_length),
        ("bluesky", grapheme_length),
        ("mastodon", mastodon_length),
        ("threads", threads_length),
        ("linkedin", plain_length),
        ("sandbox", plain_length),
    ],
)
async def test_the_count_is_the_platforms_own(
    client: httpx.AsyncClient, viewer: Member, platform: str, count: Callable[[str], int]
) -> None:
    body = await _count(client, viewer, platform, TEXT)
    assert body["count"] == count(TEXT)
    limits = limits_for(Platform(platform))
    assert body["limit"] == limits.max_text
    assert body["unit"] == limits.text_unit
    assert body["remaining"] == limits.max_text - count(TEXT)
    assert body["within_limit"] is True


async def test_over_the_limit_and_bluesky_bytes(client: httpx.AsyncClient, viewer: Member) -> None:
    body = await _count(client, viewer, "x", "a" * 281)
    assert (body["count"], body["remaining"], body["within_limit"]) == (281, -1, False)
    # 300 graphemes of 4 bytes fit the grapheme limit; 1,200 bytes fit the byte limit too
    body = await _count(client, viewer, "bluesky", "🌸" * 300)
    assert (body["count"], body["bytes"], body["max_bytes"]) == (300, 1200, 3000)
    assert body["within_limit"] is True
    body = await _count(client, viewer, "x", "hello")
    assert body["bytes"] is None


async def test_options_change_the_count(client: httpx.AsyncClient, viewer: Member) -> None:
    plain = await _count(client, viewer, "mastodon", "hello")
    warned = await _count(client, viewer, "mastodon", "hello", spoiler_text="spoilers")
    assert warned["count"] == plain["count"] + len("spoilers")
    bigger = await _count(client, viewer, "mastodon", "hello", max_characters=1000)
    assert bigger["limit"] == 1000


async def test_problems_other_than_length_are_listed(
    client: httpx.AsyncClient, viewer: Member
) -> None:
    links = " ".join(f"https://example.com/{i}" for i in range(6))
    body = await _count(client, viewer, "threads", links)
    assert [(p["field"], p["rule"]) for p in body["problems"]] == [("text", "max_links")]
    body = await _count(client, viewer, "mastodon", "hi", visibility="everyone")
    assert [(p["field"], p["rule"]) for p in body["problems"]] == [
        ("options.visibility", "invalid")
    ]
    # no media is sent here: Instagram's "needs an image" is the media field's business
    body = await _count(client, viewer, "instagram", "")
    assert body["problems"] == []


async def test_unknown_platforms_and_fields_are_refused(
    client: httpx.AsyncClient, viewer: Member
) -> None:
    response = await client.post(
        "/api/v1/preview/count", json={"platform": "myspace", "text": "hi"}, headers=viewer.headers
    )
    assert_violation(response, "platform", "literal_error")
    response = await client.post(
        "/api/v1/preview/count",
        json={"platform": "x", "text": "hi", "extra": 1},
        headers=viewer.headers,
    )
    assert_violation(response, "extra", "extra_forbidden")


async def test_both_need_a_login(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/platforms"), 401)
    response = await client.post("/api/v1/preview/count", json={"platform": "x", "text": "hi"})
    assert_problem(response, 401)
