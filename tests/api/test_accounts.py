"""Accounts through the API: add a sandbox account, list, read, pause, resume, remove."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    in_future,
    make_account,
    make_member,
    make_platform_account,
    set_delivery_states,
)

ACCOUNTS = "/api/v1/accounts"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


async def test_create(client: httpx.AsyncClient, owner: Member) -> None:
    response = await client.post(
        ACCOUNTS,
        json={
            "platform": "sandbox",
            "handle": " brand ",
            "options": {"emulator_url": "http://127.0.0.1:9000", "max_characters": 100},
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["platform"] == "sandbox"
    assert account["handle"] == "brand"
    assert account["display_name"] == "brand"
    assert account["status"] == "active"
    assert account["status_reason"] is None
    assert account["options"] == {
        "emulator_url": "http://127.0.0.1:9000",
        "max_characters": 100,
        "idempotency": True,
    }
    assert "credentials" not in response.text
    assert "sbx_" not in response.text, "the account's secret must never be shown"
    got = await client.get(f"{ACCOUNTS}/{account['id']}", headers=owner.headers)
    assert got.json() == account


async def test_same_handle_twice_is_a_conflict(client: httpx.AsyncClient, owner: Member) -> None:
    first = await make_account(client, owner, handle="brand")
    again = await client.post(
        ACCOUNTS, json={"platform": "sandbox", "handle": "brand"}, headers=owner.headers
    )
    assert "already connected" in assert_problem(again, 409)
    # once removed, the handle can be connected again
    assert (
        await client.delete(f"{ACCOUNTS}/{first['id']}", headers=owner.headers)
    ).status_code == 204
    await make_account(client, owner, handle="brand")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"platform": "myspace", "handle": "h"}, "platform", "invalid"),
        ({"platform": "x", "handle": "h"}, "platform", "connect_required"),
        ({"platform": "sandbox", "handle": ""}, "handle", "invalid"),
        ({"platform": "sandbox", "handle": "with space"}, "handle", "invalid"),
        ({"platform": "sandbox"}, "handle", "missing"),
        ({"platform": "sandbox", "handle": "h", "token": "x"}, "token", "extra_forbidden"),
        (
            {"platform": "sandbox", "handle": "h", "options": {"colour": 1}},
            "options.colour",
            "unknown",
        ),
        (
            {"platform": "sandbox", "handle": "h", "options": {"emulator_url": "ftp://x"}},
            "options.emulator_url",
            "invalid",
        ),
        (
            {"platform": "sandbox", "handle": "h", "options": {"idempotency": "yes"}},
            "options.idempotency",
            "invalid",
        ),
        (
            {"platform": "sandbox", "handle": "h", "display_name": "a\x00b"},
            "display_name",
            "invalid_character",
        ),
    ],
)
async def test_create_is_validated(
    client: httpx.AsyncClient, owner: Member, body: dict[str, Any], field: str, rule: str
) -> None:
    assert_violation(await client.post(ACCOUNTS, json=body, headers=owner.headers), field, rule)
    assert (await client.get(ACCOUNTS, headers=owner.headers)).json() == []


async def test_list_and_filter(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    b = await make_account(client, owner, handle="b-brand")
    a = await make_account(client, owner, handle="a-brand")
    x = await make_platform_account(runtime, owner, "x", handle="on-x")
    await client.post(f"{ACCOUNTS}/{b['id']}/pause", headers=owner.headers)

    async def handles(**params: str) -> list[str]:
        response = await client.get(ACCOUNTS, params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [account["handle"] for account in response.json()]

    assert await handles() == ["a-brand", "b-brand", "on-x"]
    assert await handles(platform="sandbox") == ["a-brand", "b-brand"]
    assert await handles(platform="x") == [x["handle"]]
    assert await handles(status="paused") == ["b-brand"]
    assert await handles(status="active") == ["a-brand", "on-x"]
    assert await handles(platform="bluesky") == []
    assert_violation(
        await client.get(ACCOUNTS, params={"platform": "myspace"}, headers=owner.headers),
        "platform",
        "literal_error",
    )
    await client.delete(f"{ACCOUNTS}/{a['id']}", headers=owner.headers)
    assert await handles() == ["b-brand", "on-x"]


async def test_get_unknown(client: httpx.AsyncClient, owner: Member) -> None:
    missing = f"{ACCOUNTS}/00000000-0000-4000-8000-000000000000"
    assert_problem(await client.get(missing, headers=owner.headers), 404)
    assert_violation(
        await client.get(f"{ACCOUNTS}/nope", headers=owner.headers), "account_id", "uuid_parsing"
    )


async def test_pause_and_resume(client: httpx.AsyncClient, owner: Member) -> None:
    account = await make_account(client, owner)
    url = f"{ACCOUNTS}/{account['id']}"
    paused = await client.post(f"{url}/pause", headers=owner.headers)
    assert paused.status_code == 200, paused.text
    assert (paused.json()["status"], paused.json()["status_reason"]) == (
        "paused",
        "paused by a person",
    )
    assert (await client.get(url, headers=owner.headers)).json()["status"] == "paused"
    resumed = await client.post(f"{url}/resume", headers=owner.headers)
    assert (resumed.json()["status"], resumed.json()["status_reason"]) == ("active", None)
    # resuming an active account changes nothing
    again = await client.post(f"{url}/resume", headers=owner.headers)
    assert again.status_code == 200, again.text
    assert again.json() == resumed.json()


async def test_delete_cancels_what_was_not_sent(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    account = await make_account(client, owner)
    other = await make_account(client, owner, handle="other")
    alone = await create_post(client, owner, [account["id"]], scheduled_at=in_future(days=1))
    shared = await create_post(
        client, owner, [account["id"], other["id"]], scheduled_at=in_future(days=1)
    )
    response = await client.delete(f"{ACCOUNTS}/{account['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{ACCOUNTS}/{account['id']}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{ACCOUNTS}/{account['id']}", headers=owner.headers), 404)

    after = (await client.get(f"/api/v1/posts/{alone['id']}", headers=owner.headers)).json()
    [delivery] = after["deliveries"]
    assert delivery["state"] == "cancelled"
    assert delivery["last_error"] == "the account was removed"
    assert after["status"] == "cancelled", "the post's status follows its deliveries"
    both = (await client.get(f"/api/v1/posts/{shared['id']}", headers=owner.headers)).json()
    states = {d["account_id"]: d["state"] for d in both["deliveries"]}
    assert states == {account["id"]: "cancelled", other["id"]: "scheduled"}
    assert both["status"] == "scheduled"
    listed = await client.get(
        "/api/v1/posts", params={"status": "scheduled"}, headers=owner.headers
    )
    assert [p["id"] for p in listed.json()["data"]] == [shared["id"]]
    # a removed account cannot be targeted any more
    assert_problem(
        await client.post(
            "/api/v1/posts",
            json={"text": "hi", "targets": [{"account_id": account["id"]}]},
            headers=owner.headers,
        ),
        404,
    )


async def test_delete_while_publishing_is_a_conflict(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    account = await make_account(client, owner)
    post = await create_post(client, owner, [account["id"]], scheduled_at=in_future(days=1))
    await set_delivery_states(runtime, owner, post["id"], DeliveryState.PUBLISHING)
    url = f"{ACCOUNTS}/{account['id']}"
    assert "being published" in assert_problem(await client.delete(url, headers=owner.headers), 409)
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    await set_delivery_states(runtime, owner, post["id"], DeliveryState.PUBLISHED)
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    kept = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()
    assert kept["status"] == "published", "published history stays"
