"""The emulated Mastodon instance answers as Mastodon does: paths, bodies, codes, headers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, RateLimit, create_app
from postwright.platforms.emulator.mastodon import DEFAULT_ACCOUNT_ID, PROCESSING_S

ALICE = {"Authorization": "Bearer mastodon-account-1"}
BOB = {"Authorization": "Bearer mastodon-account-2"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
MP4 = struct.pack(">I", 24) + b"ftypisom" + b"\0" * 500


@pytest.fixture
def app() -> EmulatorApp:
    return create_app(seed=5)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


async def upload(
    client: httpx.AsyncClient, data: bytes, mime: str, *, headers: dict[str, str] = ALICE
) -> httpx.Response:
    return await client.post(
        "/api/v2/media",
        files={"file": ("upload", data, mime)},
        data={"description": "described"},
        headers=headers,
    )


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], *, key: str | None = None
) -> httpx.Response:
    headers = {**ALICE, **({"Idempotency-Key": key} if key else {})}
    return await client.post("/api/v1/statuses", json=body, headers=headers)


async def test_a_status_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/v1/statuses", json={"status": "hi"})
    revoked = await client.post(
        "/api/v1/statuses", json={"status": "hi"}, headers={"Authorization": "Bearer revoked"}
    )

    assert (missing.status_code, revoked.status_code) == (401, 401)
    assert revoked.json() == {"error": "The access token is invalid"}


async def test_a_status_acts_for_the_token_s_account(client: httpx.AsyncClient) -> None:
    mine = await post(client, {"status": "Hello #World https://example.com/path"})
    default = await client.post(
        "/api/v1/statuses", json={"status": "hi"}, headers={"Authorization": "Bearer anything"}
    )
    ledger = (await client.get("/_emulator/ledger", params={"platform": "mastodon"})).json()

    status = mine.json()
    assert mine.status_code == 200
    assert status["account"]["id"] == "1"
    assert status["url"] == f"http://emulator/@user1/{status['id']}"
    assert status["content"].startswith('<p>Hello <a href="http://emulator/tags/world"')
    assert status["tags"] == [{"name": "world", "url": "http://emulator/tags/world"}]
    assert [e["account"] for e in ledger] == ["1", DEFAULT_ACCOUNT_ID]
    assert default.status_code == 200
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in mine.headers
    reset = datetime.fromisoformat(mine.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert reset > datetime.now(UTC)


async def test_an_idempotency_key_returns_the_same_status_before_reading_the_body(
    app: EmulatorApp, client: httpx.AsyncClient
) -> None:
    first = await post(client, {"status": "Exactly once"}, key="k-1")
    again = await post(client, {"status": "Exactly once"}, key="k-1")
    probe = await post(client, {"status": ""}, key="k-1")
    unknown = await post(client, {"status": ""}, key="k-2")
    other_account = await client.post(
        "/api/v1/statuses",
        json={"status": "Exactly once"},
        headers={**BOB, "Idempotency-Key": "k-1"},
    )

    assert first.json()["id"] == again.json()["id"] == probe.json()["id"]
    assert unknown.status_code == 422
    assert unknown.json() == {"error": "Validation failed: Text can't be blank"}
    assert other_account.json()["id"] != first.json()["id"]
    entries = app.ledger.entries(platform="mastodon")
    assert [(e.account, e.received_count) for e in entries] == [("1", 3), ("2", 1)]


async def test_a_deleted_status_frees_its_key(client: httpx.AsyncClient) -> None:
    first = await post(client, {"status": "Gone soon"}, key="k")
    deleted = await client.delete(f"/api/v1/statuses/{first.json()['id']}", headers=ALICE)
    again = await post(client, {"status": "Gone soon"}, key="k")

    assert deleted.json()["text"] == "Gone soon"
    assert again.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "x" * 501}, "Validation failed: Text character limit of 500 exceeded"),
        ({"status": "   "}, "Validation failed: Text can't be blank"),
        ({"status": "hi", "visibility": "everyone"}, "'everyone' is not a valid visibility"),
        ({"status": "hi", "media_ids": ["1", "2", "3", "4", "5"]}, "more than 4 files"),
        ({"status": "hi", "media_ids": ["404"]}, "Media with IDs 404 not found"),
    ],
)
async def test_invalid_statuses_are_422s(
    client: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await post(client, body)

    assert response.status_code == 422
    assert message in response.json()["error"]


async def test_links_count_23_characters(client: httpx.AsyncClient) -> None:
    text = "x" * 470 + " https://example.com/" + "p" * 200

    assert (await post(client, {"status": text})).status_code == 200


async def test_an_image_is_ready_at_once_and_attaches_with_its_description(
    client: httpx.AsyncClient,
) -> None:
    image = await upload(client, PNG, "image/png")

    status = await post(client, {"status": "cat", "media_ids": [image.json()["id"]]})
    reuse = await post(client, {"status": "again", "media_ids": [image.json()["id"]]})

    assert image.status_code == 200
    assert image.json()["url"] is not None
    assert status.json()["media_attachments"][0]["description"] == "described"
    assert reuse.status_code == 422  # already attached to another status


async def test_a_video_processes_206_then_200(client: httpx.AsyncClient) -> None:
    video = await upload(client, MP4, "video/mp4")
    media_id = video.json()["id"]

    early = await client.get(f"/api/v1/media/{media_id}", headers=ALICE)
    too_soon = await post(client, {"status": "v", "media_ids": [media_id]})
    await asyncio.sleep(PROCESSING_S + 0.05)
    ready = await client.get(f"/api/v1/media/{media_id}", headers=ALICE)
    someone_else = await client.get(f"/api/v1/media/{media_id}", headers=BOB)

    assert (video.status_code, video.json()["url"]) == (202, None)
    assert early.status_code == 206
    assert "not finished processing" in too_soon.json()["error"]
    assert ready.status_code == 200
    assert ready.json()["url"] is not None
    assert someone_else.status_code == 404


async def test_a_broken_video_fails_processing(client: httpx.AsyncClient) -> None:
    video = await upload(client, b"\0" * 64, "video/mp4")
    await asyncio.sleep(PROCESSING_S + 0.05)

    status = await client.get(f"/api/v1/media/{video.json()['id']}", headers=ALICE)

    assert status.status_code == 422
    assert status.json() == {"error": "Error processing thumbnail for uploaded media"}


async def test_uploads_refuse_what_mastodon_refuses(client: httpx.AsyncClient) -> None:
    pdf = await upload(client, b"%PDF", "application/pdf")
    nothing = await client.post("/api/v2/media", data={"description": "x"}, headers=ALICE)
    too_long = await client.post(
        "/api/v2/media",
        files={"file": ("a.png", PNG, "image/png")},
        data={"description": "d" * 1501},
        headers=ALICE,
    )

    assert pdf.json() == {"error": "Validation failed: File content type is invalid"}
    assert nothing.json() == {"error": "Validation failed: File can't be blank"}
    assert too_long.status_code == 422


async def test_an_account_s_statuses_page_newest_first_with_a_link_header(
    client: httpx.AsyncClient,
) -> None:
    ids = [(await post(client, {"status": f"s{n}"})).json()["id"] for n in range(5)]

    first = await client.get("/api/v1/accounts/1/statuses", params={"limit": "3"}, headers=BOB)
    second = await client.get(
        "/api/v1/accounts/1/statuses", params={"limit": "3", "max_id": ids[2]}, headers=BOB
    )
    newer = await client.get(
        "/api/v1/accounts/1/statuses", params={"min_id": ids[0], "limit": "2"}, headers=BOB
    )

    assert [s["id"] for s in first.json()] == ids[:1:-1]
    assert f"max_id={ids[2]}" in first.headers["Link"]
    assert [s["id"] for s in second.json()] == [ids[1], ids[0]]
    assert [s["id"] for s in newer.json()] == [ids[2], ids[1]]


async def test_only_the_author_deletes(client: httpx.AsyncClient) -> None:
    status_id = (await post(client, {"status": "mine"})).json()["id"]

    theirs = await client.delete(f"/api/v1/statuses/{status_id}", headers=BOB)
    mine = await client.delete(f"/api/v1/statuses/{status_id}", headers=ALICE)
    gone = await client.get(f"/api/v1/statuses/{status_id}", headers=ALICE)

    assert (theirs.status_code, mine.status_code, gone.status_code) == (404, 200, 404)
    assert gone.json() == {"error": "Record not found"}


async def test_the_instance_reports_its_limits(client: httpx.AsyncClient) -> None:
    instance = (await client.get("/api/v2/instance")).json()

    statuses = instance["configuration"]["statuses"]
    assert statuses == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    assert instance["configuration"]["media_attachments"]["description_limit"] == 1500


async def test_verify_credentials_names_the_token_s_account(client: httpx.AsyncClient) -> None:
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=BOB)).json()

    assert (me["id"], me["username"]) == ("2", "user2")


async def test_forms_are_accepted_too(client: httpx.AsyncClient) -> None:
    image = (await upload(client, PNG, "image/png")).json()["id"]

    response = await client.post(
        "/api/v1/statuses",
        data={"status": "from a form", "media_ids[]": [image], "visibility": "private"},
        headers=ALICE,
    )

    assert response.status_code == 200
    assert response.json()["visibility"] == "private"
    assert len(response.json()["media_attachments"]) == 1


async def test_a_spent_window_answers_429_without_retry_after() -> None:
    app = create_app(rate_limits={"mastodon:media": RateLimit(limit=1, window_seconds=1800)})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        await upload(client, PNG, "image/png")
        refused = await upload(client, PNG, "image/png")
        status = await post(client, {"status": "text still goes"})

    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Limit"] == "1"  # the closest limit: media's
    assert "retry-after" not in refused.headers
    assert status.status_code == 200


async def test_injected_faults_answer_in_mastodon_s_shape(client: httpx.AsyncClient) -> None:
    for effect in ({"status": 503}, {"rate_limit": {"retry_after": 30}}):
        rule = {"match": {"platform": "mastodon"}, "effect": effect, "count": 1}
        assert (await client.post("/_emulator/faults", json=rule)).status_code == 201

    unavailable = await post(client, {"status": "a"})
    limited = await post(client, {"status": "b"})
    through = await post(client, {"status": "c"})

    assert (unavailable.status_code, unavailable.json()) == (503, {"error": "Service unavailable"})
    assert (limited.status_code, limited.json()) == (429, {"error": "Too many requests"})
    assert "retry-after" not in limited.headers
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")
    assert through.status_code == 200
