"""The emulated Reddit API answers as Reddit does: bodies, 200-with-errors, headers, uploads."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, create_app
from postwright.platforms.emulator.reddit import UPLOAD_PATH

ALICE = {"Authorization": "Bearer reddit-user-alice", "User-Agent": "web:t:1 (by /u/alice)"}


@pytest.fixture
def app() -> EmulatorApp:
    return create_app(seed=1)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


def submit_form(**fields: str) -> dict[str, str]:
    return {"api_type": "json", "sr": "test", "kind": "self", "title": "T", "text": "x", **fields}


async def test_a_generic_user_agent_is_throttled_and_a_bad_token_is_401(
    client: httpx.AsyncClient,
) -> None:
    generic = await client.get("/api/v1/me", headers={"Authorization": "Bearer reddit-user-a1c"})
    expired = await client.get(
        "/api/v1/me", headers={**ALICE, "Authorization": "Bearer expired-token"}
    )

    assert (generic.status_code, generic.json()) == (
        429,
        {"message": "Too Many Requests", "error": 429},
    )
    assert (expired.status_code, expired.json()) == (401, {"message": "Unauthorized", "error": 401})


async def test_a_submit_answers_its_id_and_rate_limit_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/submit", data=submit_form(), headers=ALICE)

    assert response.status_code == 200
    data = response.json()["json"]["data"]
    assert data["name"] == f"t3_{data['id']}"
    assert data["url"] == f"https://www.reddit.com/r/test/comments/{data['id']}/t/"
    assert response.headers["x-ratelimit-used"] == "1"
    assert re.fullmatch(r"\d+\.0", response.headers["x-ratelimit-remaining"])
    assert 590 <= int(response.headers["x-ratelimit-reset"]) <= 600


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"sr": "nonexistent1"}, ["SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr"]),
        ({"title": ""}, ["NO_TEXT", "we need something here", "title"]),
        ({"title": "t" * 301}, ["TOO_LONG", "this is too long (max: 300)", "title"]),
        ({"sr": "textonly_x", "kind": "link", "url": "https://a.b"}, None),
        ({"kind": "link", "url": "ftp://a.b"}, ["BAD_URL", "you should check that url", "url"]),
        (
            {"kind": "image", "url": "https://a.b/x.png"},
            ["BAD_URL", "you should check that url", "url"],
        ),
    ],
)
async def test_refusals_are_http_200_with_json_errors(
    client: httpx.AsyncClient, fields: dict[str, str], error: list[str] | None
) -> None:
    response = await client.post("/api/submit", data=submit_form(**fields), headers=ALICE)

    assert response.status_code == 200
    errors = response.json()["json"]["errors"]
    assert errors == [error or ["NO_LINKS", "that subreddit only allows text posts", "sr"]]


async def test_already_sub_is_lifted_by_resubmit(client: httpx.AsyncClient) -> None:
    link = submit_form(kind="link", url="https://example.com/a", text="")
    first = await client.post("/api/submit", data=link, headers=ALICE)
    again = await client.post("/api/submit", data=link, headers=ALICE)
    forced = await client.post("/api/submit", data={**link, "resubmit": "true"}, headers=ALICE)

    assert first.json()["json"]["errors"] == []
    assert again.json()["json"]["errors"] == [
        ["ALREADY_SUB", "that link has already been submitted", "url"]
    ]
    assert forced.json()["json"]["errors"] == []


async def test_listings_escape_html_unless_raw_json(client: httpx.AsyncClient) -> None:
    await client.post("/api/submit", data=submit_form(title="A & <b>", text="x & y"), headers=ALICE)

    escaped = await client.get("/user/alice/submitted", headers=ALICE)
    raw = await client.get("/user/alice/submitted", params={"raw_json": "1"}, headers=ALICE)

    post = escaped.json()["data"]["children"][0]["data"]
    assert (post["title"], post["selftext"]) == ("A &amp; &lt;b&gt;", "x &amp; y")
    assert raw.json()["data"]["children"][0]["data"]["title"] == "A & <b>"


async def test_the_image_flow_goes_through_the_storage_host(client: httpx.AsyncClient) -> None:
    lease = await client.post(
        "/api/media/asset.json", data={"filepath": "a.png", "mimetype": "image/png"}, headers=ALICE
    )
    args = lease.json()["args"]
    fields = {field["name"]: field["value"] for field in args["fields"]}
    assert args["action"] == f"http://emulator{UPLOAD_PATH}"
    assert fields["success_action_status"] == "201"

    refused = await client.post(
        args["action"], data={**fields, "X-Amz-Signature": "forged"}, files={"file": b"x"}
    )
    uploaded = await client.post(args["action"], data=fields, files={"file": b"\x89PNG"})
    location = re.search(r"<Location>(.*)</Location>", uploaded.text)
    submitted = await client.post(
        "/api/submit",
        data=submit_form(kind="image", url=location.group(1) if location else "", text=""),
        headers=ALICE,
    )

    assert refused.status_code == 403
    assert "<Code>AccessDenied</Code>" in refused.text
    assert uploaded.status_code == 201
    assert location is not None
    data = submitted.json()["json"]["data"]
    assert set(data) == {"user_submitted_page", "websocket_url"}
    assert data["websocket_url"].startswith("wss://")


async def test_info_and_delete(client: httpx.AsyncClient) -> None:
    made = (await client.post("/api/submit", data=submit_form(), headers=ALICE)).json()
    name = made["json"]["data"]["name"]
    bob = {**ALICE, "Authorization": "Bearer reddit-user-bob"}

    info = await client.get("/api/info", params={"id": name}, headers=ALICE)
    not_bobs = await client.post("/api/del", data={"id": name}, headers=bob)
    deleted = await client.post("/api/del", data={"id": name}, headers=ALICE)
    after = await client.get("/api/info", params={"id": name}, headers=ALICE)

    post = info.json()["data"]["children"][0]["data"]
    assert {"score", "ups", "upvote_ratio", "num_comments"} <= set(post)
    assert not_bobs.status_code == 403
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert after.json()["data"]["children"] == []
