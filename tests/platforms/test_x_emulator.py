"""The emulated X API v2 answers as X does: paths, bodies, status codes, errors and headers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, RateLimit, create_app
from postwright.platforms.emulator.x import DEFAULT_USER_ID, PROCESSING_S

ALICE = {"Authorization": "Bearer x-user-42"}
BOB = {"Authorization": "Bearer x-user-7"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 500


@pytest.fixture
def app() -> EmulatorApp:
    return create_app(seed=3)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


async def upload(
    client: httpx.AsyncClient, data: bytes, media_type: str, category: str, *, alt: str = ""
) -> tuple[str, dict[str, Any]]:
    init = await client.post(
        "/2/media/upload/initialize",
        json={"media_type": media_type, "total_bytes": len(data), "media_category": category},
        headers=ALICE,
    )
    media_id = init.json()["data"]["id"]
    appended = await client.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("blob", data, "application/octet-stream")},
        headers=ALICE,
    )
    assert appended.status_code == 200, appended.text
    final = await client.post(f"/2/media/upload/{media_id}/finalize", headers=ALICE)
    assert final.status_code == 200, final.text
    if alt:
        meta = await client.post(
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": alt}}},
            headers=ALICE,
        )
        assert meta.status_code == 200, meta.text
    data_out: dict[str, Any] = final.json()["data"]
    return media_id, data_out


async def test_a_create_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/2/tweets", json={"text": "hi"})

    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


async def test_a_create_acts_for_the_token_s_user_and_renders_like_x(
    client: httpx.AsyncClient,
) -> None:
    text = "Tea & cake <3 at https://example.com/menu?a=1&b=2 or example.org"

    response = await client.post("/2/tweets", json={"text": text}, headers=ALICE)
    other = await client.post(
        "/2/tweets", json={"text": "hi"}, headers={"Authorization": "Bearer t"}
    )
    ledger = (await client.get("/_emulator/ledger", params={"platform": "x"})).json()

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["edit_history_post_ids"] == [data["id"]]
    assert data["text"].startswith("Tea &amp; cake &lt;3 at https://t.co/")
    assert data["text"].count("https://t.co/") == 2
    assert [(e["account"], e["text"]) for e in ledger] == [("42", text), (DEFAULT_USER_ID, "hi")]
    assert other.status_code == 201
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert name in response.headers


async def test_the_same_text_twice_is_a_duplicate_for_the_same_user_only(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/2/tweets", json={"text": "Once"}, headers=ALICE)
    again = await client.post("/2/tweets", json={"text": "Once"}, headers=ALICE)
    elsewhere = await client.post("/2/tweets", json={"text": "Once"}, headers=BOB)

    assert (first.status_code, again.status_code, elsewhere.status_code) == (201, 403, 201)
    assert again.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }


async def test_after_a_delete_the_text_may_go_again(client: httpx.AsyncClient) -> None:
    first = (await client.post("/2/tweets", json={"text": "Again"}, headers=ALICE)).json()
    deleted = await client.delete(f"/2/tweets/{first['data']['id']}", headers=ALICE)
    again = await client.post("/2/tweets", json={"text": "Again"}, headers=ALICE)

    assert deleted.json() == {"data": {"deleted": True}}
    assert again.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "x" * 281}, "Your Tweet text is too long"),
        ({"text": "hi", "unknown": 1}, "`unknown` field is not a valid field"),
        ({"text": ""}, "text is required"),
        ({"text": "hi", "media": {"media_ids": ["123"]}}, "Your media IDs are invalid."),
        ({"text": "hi", "reply_settings": "everyone"}, "reply_settings"),
    ],
)
async def test_invalid_creates_are_400s(
    client: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await client.post("/2/tweets", json=body, headers=ALICE)

    assert response.status_code == 400
    assert message in response.text


async def test_an_image_needs_no_processing_and_carries_its_alt_text(
    app: EmulatorApp, client: httpx.AsyncClient
) -> None:
    media_id, final = await upload(client, PNG, "image/png", "tweet_image", alt="A cat")

    response = await client.post(
        "/2/tweets", json={"text": "cat", "media": {"media_ids": [media_id]}}, headers=ALICE
    )

    assert "processing_info" not in final
    assert final["media_key"] == f"3_{media_id}"
    assert response.status_code == 201
    assert response.json()["data"]["text"].startswith("cat https://t.co/")  # the media link
    (post,) = app.ledger.entries(platform="x")
    assert post.attributes["media"] == [
        {"id": media_id, "media_key": f"3_{media_id}", "type": "image", "alt_text": "A cat"}
    ]


async def test_a_video_processes_before_it_can_be_attached(client: httpx.AsyncClient) -> None:
    media_id, final = await upload(client, MP4, "video/mp4", "tweet_video")
    status_url = "/2/media/upload"
    params = {"command": "STATUS", "media_id": media_id}

    early = await client.get(status_url, params=params, headers=ALICE)
    too_soon = await client.post(
        "/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}}, headers=ALICE
    )
    await asyncio.sleep(PROCESSING_S + 0.05)
    done = await client.get(status_url, params=params, headers=ALICE)
    posted = await client.post(
        "/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}}, headers=ALICE
    )

    assert final["processing_info"] == {"state": "pending", "check_after_secs": 1}
    assert early.json()["data"]["processing_info"]["state"] == "in_progress"
    assert too_soon.status_code == 400
    assert done.json()["data"]["processing_info"] == {"state": "succeeded", "progress_percent": 100}
    assert posted.status_code == 201


async def test_finalize_checks_the_segments_add_up(client: httpx.AsyncClient) -> None:
    init = await client.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/png", "total_bytes": 1000, "media_category": "tweet_image"},
        headers=ALICE,
    )
    media_id = init.json()["data"]["id"]
    await client.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("blob", PNG, "application/octet-stream")},
        headers=ALICE,
    )

    final = await client.post(f"/2/media/upload/{media_id}/finalize", headers=ALICE)

    assert final.status_code == 400
    assert "do not add up" in final.text


async def test_a_post_takes_4_images_or_1_video(client: httpx.AsyncClient) -> None:
    images = [(await upload(client, PNG, "image/png", "tweet_image"))[0] for _ in range(5)]
    video, _ = await upload(client, MP4, "video/mp4", "tweet_video")
    await asyncio.sleep(PROCESSING_S + 0.05)

    five = await client.post(
        "/2/tweets", json={"text": "5", "media": {"media_ids": images}}, headers=ALICE
    )
    mixed = await client.post(
        "/2/tweets", json={"text": "m", "media": {"media_ids": [images[0], video]}}, headers=ALICE
    )

    assert five.status_code == 400
    assert mixed.status_code == 400
    assert "4 images, or 1 GIF, or 1 video" in mixed.text


async def test_the_timeline_pages_newest_first_from_start_time(client: httpx.AsyncClient) -> None:
    ids = []
    for n in range(7):
        created = await client.post("/2/tweets", json={"text": f"post {n}"}, headers=ALICE)
        ids.append(created.json()["data"]["id"])
    params = {
        "max_results": "5",
        "tweet.fields": "created_at",
        "start_time": "2020-01-01T00:00:00Z",
    }

    first = (await client.get("/2/users/42/tweets", params=params, headers=BOB)).json()
    second = (
        await client.get(
            "/2/users/42/tweets",
            params={**params, "pagination_token": first["meta"]["next_token"]},
            headers=BOB,
        )
    ).json()
    future = (
        await client.get(
            "/2/users/42/tweets", params={"start_time": "2999-01-01T00:00:00Z"}, headers=BOB
        )
    ).json()
    bad = await client.get("/2/users/42/tweets", params={"max_results": "500"}, headers=BOB)

    assert [p["id"] for p in first["data"] + second["data"]] == ids[::-1]
    assert first["data"][0]["created_at"].endswith("Z")
    assert first["meta"]["result_count"] == 5
    assert "next_token" not in second["meta"]
    assert future == {"meta": {"result_count": 0}}
    assert bad.status_code == 400


async def test_a_lookup_names_reposts_after_the_fields_parameter(client: httpx.AsyncClient) -> None:
    post_id = (await client.post("/2/tweets", json={"text": "m"}, headers=ALICE)).json()["data"][
        "id"
    ]

    old = await client.get(
        f"/2/tweets/{post_id}", params={"tweet.fields": "public_metrics"}, headers=ALICE
    )
    new = await client.get(
        f"/2/tweets/{post_id}",
        params={"post.fields": "public_metrics,non_public_metrics"},
        headers=ALICE,
    )
    someone_else = await client.get(
        f"/2/tweets/{post_id}", params={"tweet.fields": "non_public_metrics"}, headers=BOB
    )

    assert "retweet_count" in old.json()["data"]["public_metrics"]
    assert "repost_count" in new.json()["data"]["public_metrics"]
    assert "url_link_clicks" in new.json()["data"]["non_public_metrics"]
    assert "non_public_metrics" not in someone_else.json()["data"]
    assert someone_else.json()["errors"][0]["type"].endswith("/not-authorized-for-field")


async def test_a_lookup_of_an_unknown_post_is_a_200_with_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/2/tweets/123456", headers=ALICE)

    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["type"] == "https://api.x.com/2/problems/resource-not-found"


async def test_only_the_author_may_delete(client: httpx.AsyncClient) -> None:
    post_id = (await client.post("/2/tweets", json={"text": "mine"}, headers=ALICE)).json()["data"][
        "id"
    ]

    theirs = await client.delete(f"/2/tweets/{post_id}", headers=BOB)
    mine = await client.delete(f"/2/tweets/{post_id}", headers=ALICE)
    gone = await client.delete(f"/2/tweets/{post_id}", headers=ALICE)

    assert (theirs.status_code, mine.status_code, gone.status_code) == (403, 200, 404)


async def test_a_spent_window_answers_429_without_retry_after() -> None:
    app = create_app(rate_limits={"x": RateLimit(limit=1, window_seconds=900)})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        await client.post("/2/tweets", json={"text": "1"}, headers=ALICE)
        refused = await client.post("/2/tweets", json={"text": "2"}, headers=ALICE)
        other_user = await client.post("/2/tweets", json={"text": "3"}, headers=BOB)

    assert refused.status_code == 429
    assert refused.json() == {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert "retry-after" not in refused.headers
    assert other_user.status_code == 201


async def test_injected_faults_answer_in_x_s_shape(client: httpx.AsyncClient) -> None:
    for effect in ({"status": 503}, {"rate_limit": {"retry_after": 30}}):
        rule = {"match": {"platform": "x"}, "effect": effect, "count": 1}
        assert (await client.post("/_emulator/faults", json=rule)).status_code == 201

    unavailable = await client.post("/2/tweets", json={"text": "a"}, headers=ALICE)
    limited = await client.post("/2/tweets", json={"text": "b"}, headers=ALICE)
    through = await client.post("/2/tweets", json={"text": "c"}, headers=ALICE)

    assert unavailable.status_code == 503
    assert unavailable.json()["title"] == "Service Unavailable"
    assert limited.status_code == 429
    assert "retry-after" not in limited.headers
    assert int(limited.headers["x-rate-limit-reset"]) > 0
    assert through.status_code == 201


async def test_a_gif_may_go_up_as_a_still_image_or_an_animation(
    client: httpx.AsyncClient,
) -> None:
    gif = b"GIF89a" + b"0" * 32

    _, still = await upload(client, gif, "image/gif", "tweet_image")
    _, animated = await upload(client, gif, "image/gif", "tweet_gif")

    assert still["media_key"].startswith("3_")
    assert "processing_info" not in still
    assert animated["media_key"].startswith("16_")
    assert animated["processing_info"]["state"] == "pending"
