"""The sandbox platform's REST API, in process."""

from __future__ import annotations

import time

import httpx
import pytest

from postwright.platforms.emulator import create_app
from postwright.platforms.emulator.clock import parse_rfc3339

AUTH = {"Authorization": "Bearer secret-token"}


async def create(
    client: httpx.AsyncClient, text: str, *, account: str = "alice", key: str | None = None
) -> httpx.Response:
    headers = dict(AUTH)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(f"/sandbox/{account}/posts", json={"text": text}, headers=headers)


async def test_create_answers_201_with_the_stored_post(client: httpx.AsyncClient) -> None:
    before = time.time()
    response = await client.post(
        "/sandbox/alice/posts",
        json={
            "text": "Hello, world",
            "media": [{"url": "https://cdn.example/a.png", "alt": "a cat"}, {"id": "m-1"}],
            "link": "https://example.com/story",
        },
        headers=AUTH,
    )

    assert response.status_code == 201
    post = response.json()
    assert set(post) == {"id", "url", "created_at", "text", "media", "link"}
    assert post["text"] == "Hello, world"
    assert post["media"] == [{"url": "https://cdn.example/a.png", "alt": "a cat"}, {"id": "m-1"}]
    assert post["link"] == "https://example.com/story"
    assert post["url"] == f"http://emulator/sandbox/alice/posts/{post['id']}"
    assert response.headers["location"] == post["url"]
    assert before <= parse_rfc3339(post["created_at"]) <= time.time()


async def test_get_returns_the_post_only_to_its_account(client: httpx.AsyncClient) -> None:
    created = (await create(client, "mine")).json()

    own = await client.get(f"/sandbox/alice/posts/{created['id']}", headers=AUTH)
    other = await client.get(f"/sandbox/bob/posts/{created['id']}", headers=AUTH)

    assert own.status_code == 200
    assert own.json() == created
    assert other.status_code == 404
    assert other.json()["error"] == "no such post for this account"


async def test_list_is_newest_first_and_honours_since_and_limit(
    client: httpx.AsyncClient,
) -> None:
    first = (await create(client, "one")).json()
    second = (await create(client, "two")).json()
    third = (await create(client, "three")).json()
    await create(client, "elsewhere", account="bob")

    everything = await client.get("/sandbox/alice/posts", headers=AUTH)
    newest_two = await client.get("/sandbox/alice/posts", params={"limit": 2}, headers=AUTH)
    since_second = await client.get(
        "/sandbox/alice/posts", params={"since": second["created_at"]}, headers=AUTH
    )

    assert [p["text"] for p in everything.json()["data"]] == ["three", "two", "one"]
    assert everything.json()["data"][2] == first
    assert everything.json()["meta"] == {"result_count": 3}
    assert [p["id"] for p in newest_two.json()["data"]] == [third["id"], second["id"]]
    assert [p["text"] for p in since_second.json()["data"]] == ["three", "two"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-23T10:00:00"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
async def test_list_rejects_bad_query_parameters(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/sandbox/alice/posts", params=params, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_delete_removes_the_post(client: httpx.AsyncClient) -> None:
    post_id = (await create(client, "short-lived")).json()["id"]

    deleted = await client.delete(f"/sandbox/alice/posts/{post_id}", headers=AUTH)
    again = await client.delete(f"/sandbox/alice/posts/{post_id}", headers=AUTH)
    fetched = await client.get(f"/sandbox/alice/posts/{post_id}", headers=AUTH)
    ledger = await client.get("/_emulator/ledger")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert fetched.status_code == 404
    assert ledger.json() == []


async def test_metrics_are_deterministic_per_post_id(client: httpx.AsyncClient) -> None:
    first_id = (await create(client, "one")).json()["id"]
    second_id = (await create(client, "two")).json()["id"]
    other_app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other_app), base_url="http://other"
    ) as other:
        assert (await create(other, "different text")).json()["id"] == first_id
        elsewhere = (
            await other.get(f"/sandbox/alice/posts/{first_id}/metrics", headers=AUTH)
        ).json()

    first = (await client.get(f"/sandbox/alice/posts/{first_id}/metrics", headers=AUTH)).json()
    repeat = (await client.get(f"/sandbox/alice/posts/{first_id}/metrics", headers=AUTH)).json()
    second = (await client.get(f"/sandbox/alice/posts/{second_id}/metrics", headers=AUTH)).json()

    assert set(first) == {"id", "likes", "comments", "shares", "views", "clicks"}
    assert first == repeat == elsewhere
    assert first != second
    assert first["views"] >= first["likes"] >= first["comments"] >= 0
    assert first["views"] >= first["clicks"] >= 0
    assert first["likes"] >= first["shares"] >= 0


async def test_metrics_of_an_unknown_post_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/sandbox/alice/posts/404404/metrics", headers=AUTH)

    assert response.status_code == 404


async def test_a_replayed_idempotency_key_returns_the_same_post(
    client: httpx.AsyncClient,
) -> None:
    first = await create(client, "once", key="delivery-1")
    replay = await create(client, "once", key="delivery-1")
    other_account = await create(client, "once", account="bob", key="delivery-1")

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert other_account.status_code == 201
    assert other_account.json()["id"] != first.json()["id"]
    ledger = (await client.get("/_emulator/ledger", params={"account": "alice"})).json()
    assert [(e["post_id"], e["received_count"]) for e in ledger] == [(first.json()["id"], 2)]


async def test_without_a_key_every_request_stores_a_post(client: httpx.AsyncClient) -> None:
    first = await create(client, "same text")
    second = await create(client, "same text")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    ledger = (await client.get("/_emulator/ledger")).json()
    assert [e["received_count"] for e in ledger] == [1, 1]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["missing", "empty-token", "wrong-scheme"],
)
async def test_requests_without_a_bearer_token_get_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/sandbox/alice/posts", json={"text": "hi"}, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "missing or invalid bearer token", "field": None}
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "x-ratelimit-remaining" in response.headers
    assert (await client.get("/_emulator/ledger")).json() == []


async def test_text_over_5000_characters_is_a_422_on_the_text_field(
    client: httpx.AsyncClient,
) -> None:
    at_limit = await create(client, "é" * 5000)
    over = await create(client, "x" * 5001)

    assert at_limit.status_code == 201
    assert over.status_code == 422
    assert over.json() == {
        "error": "text is 5001 characters; at most 5000 are allowed",
        "field": "text",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": 42}, "text"),
        ({"text": "  "}, "text"),
        ({"text": "hi", "media": [{"alt": "no source"}]}, "media.0"),
        ({"text": "hi", "media": [{"url": "ftp://x/y.png"}]}, "media.0.url"),
        ({"text": "hi", "media": [{"id": str(n)} for n in range(5)]}, "media"),
        ({"text": "hi", "link": "not a url"}, "link"),
        ({"text": "hi", "visibility": "public"}, "visibility"),
    ],
)
async def test_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/sandbox/alice/posts", json=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["error"]


async def test_a_body_that_is_not_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/sandbox/alice/posts", content=b"{not json", headers=AUTH)

    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON")


async def test_every_response_carries_the_account_rate_limit_window(
    limited_client: httpx.AsyncClient,
) -> None:
    created = await create(limited_client, "one")
    missing = await limited_client.get("/sandbox/alice/posts/1", headers=AUTH)
    other_account = await create(limited_client, "one", account="bob")

    assert created.headers["x-ratelimit-limit"] == "3"
    assert created.headers["x-ratelimit-remaining"] == "2"
    assert missing.headers["x-ratelimit-remaining"] == "1"
    assert other_account.headers["x-ratelimit-remaining"] == "2"
    reset = int(created.headers["x-ratelimit-reset"])
    assert time.time() + 58 <= reset <= time.time() + 61


async def test_exhausting_the_window_gives_a_real_429(limited_client: httpx.AsyncClient) -> None:
    statuses = [(await create(limited_client, f"post {n}")).status_code for n in range(3)]
    refused = await create(limited_client, "one too many")

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate limit exceeded"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert time.time() < int(refused.headers["x-ratelimit-reset"]) <= time.time() + 61
    assert len((await limited_client.get("/_emulator/ledger")).json()) == 3
