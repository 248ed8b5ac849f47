"""The life of a post through the API: create, list, read, edit, delete and every action."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    in_future,
    make_account,
    make_campaign,
    make_member,
    make_platform_account,
    set_delivery_states,
)

POSTS = "/api/v1/posts"
DELIVERY_KEYS = {
    "id",
    "account_id",
    "platform",
    "state",
    "due_at",
    "external_id",
    "permalink",
    "last_error",
    "attempts",
}


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@pytest.fixture
async def sandbox(client: httpx.AsyncClient, owner: Member) -> str:
    return str((await make_account(client, owner))["id"])


def _instant(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


# -- create -------------------------------------------------------------------------------


async def test_create_draft(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], text="a draft", notes="check the link")
    assert post["status"] == "draft"
    assert post["text"] == "a draft"
    assert post["notes"] == "check the link"
    assert post["scheduled_at"] is None
    assert post["priority"] == "normal"
    [delivery] = post["deliveries"]
    assert set(delivery) >= DELIVERY_KEYS
    assert delivery["account_id"] == sandbox
    assert delivery["platform"] == "sandbox"
    assert delivery["state"] == "draft"
    assert delivery["due_at"] is None
    assert delivery["attempts"] == 0
    assert delivery["external_id"] is None
    assert delivery["permalink"] is None
    assert delivery["last_error"] is None


async def test_create_scheduled(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    local = when.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=-5)
    post = await create_post(
        client,
        owner,
        [sandbox],
        scheduled_at=f"{local:%Y-%m-%dT%H:%M:%S}-05:00",
        priority="urgent",
    )
    assert post["status"] == "scheduled"
    assert post["priority"] == "urgent"
    assert _instant(post["scheduled_at"]) == when
    [delivery] = post["deliveries"]
    assert delivery["state"] == "scheduled"
    assert _instant(delivery["due_at"]) == when


async def test_create_with_local_time_in_paris(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    wall = (datetime.now(paris) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None
    )
    post = await create_post(
        client,
        owner,
        [sandbox],
        local_time=f"{wall:%Y-%m-%dT%H:%M}",
        timezone="Europe/Paris",
    )
    assert post["status"] == "scheduled"
    assert post["timezone"] == "Europe/Paris"
    assert post["local_time"] == f"{wall:%Y-%m-%dT%H:%M:%S}"
    assert _instant(post["scheduled_at"]) == wall.replace(tzinfo=paris).astimezone(UTC)


async def test_create_for_many_accounts(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    x = await make_platform_account(runtime, owner, "x")
    bluesky = await make_platform_account(runtime, owner, "bluesky")
    post = await create_post(
        client,
        owner,
        [],
        targets=[
            {"account_id": sandbox},
            {
                "account_id": x["id"],
                "text": "short for X",
                "options": {"reply_settings": "following"},
            },
            {"account_id": bluesky["id"], "options": {"langs": ["en"]}},
        ],
        scheduled_at=in_future(hours=2),
    )
    by_platform = {d["platform"]: d for d in post["deliveries"]}
    assert set(by_platform) == {"sandbox", "x", "bluesky"}
    assert len({d["id"] for d in post["deliveries"]}) == 3
    assert by_platform["x"]["text"] == "short for X"
    assert by_platform["x"]["options"] == {"reply_settings": "following"}
    assert by_platform["sandbox"]["text"] is None
    assert all(d["state"] == "scheduled" for d in post["deliveries"])


# -- list ---------------------------------------------------------------------------------


@pytest.fixture
async def catalogue(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> dict[str, Any]:
    """Five posts to filter: drafts and scheduled ones, two platforms, one campaign."""
    x = await make_platform_account(runtime, owner, "x")
    campaign = await make_campaign(runtime, owner)
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    at = [base + timedelta(hours=h) for h in range(4)]
    posts = {
        "draft": await create_post(client, owner, [sandbox], text="draft one"),
        "s0": await create_post(
            client, owner, [sandbox], text="first Launch", scheduled_at=at[0].isoformat()
        ),
        "s1": await create_post(
            client,
            owner,
            [sandbox, x["id"]],
            text="second",
            scheduled_at=at[1].isoformat(),
            campaign_id=campaign,
            priority="low",
        ),
        "s2": await create_post(
            client, owner, [x["id"]], text="third", scheduled_at=at[2].isoformat(), priority="high"
        ),
        "s3": await create_post(
            client,
            owner,
            [sandbox],
            text="fourth launch",
            scheduled_at=at[3].isoformat(),
            campaign_id=campaign,
        ),
    }
    return {"posts": posts, "at": at, "x": x["id"], "sandbox": sandbox, "campaign": campaign}


async def _ids(
    client: httpx.AsyncClient, member: Member, catalogue: dict[str, Any], **params: Any
) -> list[str]:
    response = await client.get(POSTS, params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    names = {p["id"]: name for name, p in catalogue["posts"].items()}
    assert body["count"] >= len(body["data"])
    return [names[p["id"]] for p in body["data"]]


async def test_list_filters(
    client: httpx.AsyncClient, owner: Member, catalogue: dict[str, Any]
) -> None:
    at = catalogue["at"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["s0", "s1", "s2", "s3", "draft"]),
        ({"status": "draft"}, ["draft"]),
        ({"status": "scheduled"}, ["s0", "s1", "s2", "s3"]),
        ({"status": "cancelled"}, []),
        ({"platform": "x"}, ["s1", "s2"]),
        ({"platform": "sandbox"}, ["s0", "s1", "s3", "draft"]),
        ({"platform": "bluesky"}, []),
        ({"account_id": catalogue["x"]}, ["s1", "s2"]),
        ({"campaign_id": catalogue["campaign"]}, ["s1", "s3"]),
        ({"from": at[1].isoformat()}, ["s1", "s2", "s3"]),
        ({"to": at[2].isoformat()}, ["s0", "s1"]),
        ({"from": at[1].isoformat(), "to": at[3].isoformat()}, ["s1", "s2"]),
        ({"q": "launch"}, ["s0", "s3"]),
        ({"platform": "x", "campaign_id": catalogue["campaign"]}, ["s1"]),
    ]
    for params, expected in cases:
        assert await _ids(client, owner, catalogue, **params) == expected, params


async def test_list_pagination(
    client: httpx.AsyncClient, owner: Member, catalogue: dict[str, Any]
) -> None:
    pages = []
    for offset in (0, 2, 4):
        response = await client.get(
            POSTS, params={"limit": 2, "offset": offset}, headers=owner.headers
        )
        body = response.json()
        assert (body["count"], body["limit"], body["offset"]) == (5, 2, offset)
        pages.append([p["id"] for p in body["data"]])
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [i for page in pages for i in page]
    assert len(set(flat)) == 5
    beyond = (await client.get(POSTS, params={"offset": 10}, headers=owner.headers)).json()
    assert (beyond["data"], beyond["count"]) == ([], 5)


async def test_list_sorting(
    client: httpx.AsyncClient, owner: Member, catalogue: dict[str, Any]
) -> None:
    scheduled_desc = await _ids(client, owner, catalogue, sort="scheduled_at", order="desc")
    assert scheduled_desc == ["s3", "s2", "s1", "s0", "draft"], "drafts go last either way"
    created = await _ids(client, owner, catalogue, sort="created_at")
    assert created == ["draft", "s0", "s1", "s2", "s3"]
    created_desc = await _ids(client, owner, catalogue, sort="created_at", order="desc")
    assert created_desc == created[::-1]
    by_priority = await _ids(client, owner, catalogue, sort="priority", status="scheduled")
    assert by_priority[0] == "s2"
    assert by_priority[-1] == "s1"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sent"}, "status"),
        ({"platform": "myspace"}, "platform"),
        ({"sort": "text"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"from": "2026-01-01"}, "from"),
        ({"to": "2026-01-01T00:00:00"}, "to"),
        ({"account_id": "nope"}, "account_id"),
    ],
)
async def test_list_bad_parameters(
    client: httpx.AsyncClient, owner: Member, params: dict[str, Any], field: str
) -> None:
    response = await client.get(POSTS, params=params, headers=owner.headers)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


# -- read, edit, delete -------------------------------------------------------------------


async def test_get(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    response = await client.get(f"{POSTS}/{post['id']}", headers=owner.headers)
    assert response.status_code == 200
    assert response.json() == post
    missing = await client.get(
        f"{POSTS}/00000000-0000-4000-8000-000000000000", headers=owner.headers
    )
    assert_problem(missing, 404)
    assert_violation(
        await client.get(f"{POSTS}/not-a-uuid", headers=owner.headers), "post_id", "uuid_parsing"
    )


async def test_patch_text_and_time(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    response = await client.patch(
        f"{POSTS}/{post['id']}",
        json={"text": "edited", "scheduled_at": later.isoformat(), "notes": "n"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert (edited["text"], edited["notes"], edited["status"]) == ("edited", "n", "scheduled")
    assert _instant(edited["scheduled_at"]) == later
    [delivery] = edited["deliveries"]
    assert delivery["state"] == "scheduled"
    assert _instant(delivery["due_at"]) == later
    assert edited == (await client.get(f"{POSTS}/{post['id']}", headers=owner.headers)).json()


async def test_patch_local_time_and_timezone(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await create_post(client, owner, [sandbox], status="draft")
    wall = datetime.now(UTC).replace(tzinfo=None, microsecond=0, second=0) + timedelta(days=3)
    local = f"{wall:%Y-%m-%dT%H:%M}"
    url = f"{POSTS}/{post['id']}"
    paris = await client.patch(
        url, json={"local_time": local, "timezone": "Europe/Paris"}, headers=owner.headers
    )
    assert paris.status_code == 200, paris.text
    # a new zone alone re-reads the same wall time there
    tokyo = await client.patch(url, json={"timezone": "Asia/Tokyo"}, headers=owner.headers)
    assert tokyo.status_code == 200, tokyo.text
    assert tokyo.json()["local_time"] == paris.json()["local_time"]
    shift = _instant(paris.json()["scheduled_at"]) - _instant(tokyo.json()["scheduled_at"])
    assert shift in (timedelta(hours=7), timedelta(hours=8))
    assert_violation(
        await client.patch(url, json={"timezone": "Nowhere/Land"}, headers=owner.headers),
        "timezone",
        "unknown_timezone",
    )


async def test_patch_targets(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    second = str((await make_account(client, owner, handle="second"))["id"])
    x = await make_platform_account(runtime, owner, "x")
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    url = f"{POSTS}/{post['id']}"

    added = await client.patch(
        url,
        json={"targets": [{"account_id": sandbox}, {"account_id": second}]},
        headers=owner.headers,
    )
    assert added.status_code == 200, added.text
    assert {d["account_id"] for d in added.json()["deliveries"]} == {sandbox, second}
    assert {d["state"] for d in added.json()["deliveries"]} == {"scheduled"}

    removed = await client.patch(
        url, json={"targets": [{"account_id": second}]}, headers=owner.headers
    )
    assert [d["account_id"] for d in removed.json()["deliveries"]] == [second]

    # new targets are checked like on create
    assert_violation(
        await client.patch(url, json={"targets": []}, headers=owner.headers), "targets", "required"
    )
    too_long = await client.patch(
        url,
        json={"text": "a" * 281, "targets": [{"account_id": x["id"]}]},
        headers=owner.headers,
    )
    assert_violation(too_long, "targets.0.text", "max_length")
    # and the text is checked against the targets already there
    assert_violation(
        await client.patch(url, json={"text": "a" * 5001}, headers=owner.headers),
        "targets.0.text",
        "max_length",
    )


async def test_patch_status(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    url = f"{POSTS}/{post['id']}"
    draft = await client.patch(url, json={"status": "draft"}, headers=owner.headers)
    assert draft.status_code == 200, draft.text
    assert draft.json()["status"] == "draft"
    assert [(d["state"], d["due_at"]) for d in draft.json()["deliveries"]] == [("draft", None)]
    back = await client.patch(url, json={"status": "scheduled"}, headers=owner.headers)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "scheduled"
    assert back.json()["deliveries"][0]["due_at"] is not None

    timeless = await create_post(client, owner, [sandbox], status="draft")
    assert_violation(
        await client.patch(
            f"{POSTS}/{timeless['id']}", json={"status": "scheduled"}, headers=owner.headers
        ),
        "scheduled_at",
        "required",
    )


async def test_patch_rejects_unknown_fields(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await create_post(client, owner, [sandbox])
    response = await client.patch(
        f"{POSTS}/{post['id']}", json={"status": "published"}, headers=owner.headers
    )
    assert_violation(response, "status", "literal_error")
    response = await client.patch(
        f"{POSTS}/{post['id']}", json={"deliveries": []}, headers=owner.headers
    )
    assert_violation(response, "deliveries", "extra_forbidden")


async def test_delete(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    url = f"{POSTS}/{post['id']}"
    response = await client.delete(url, headers=owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(url, headers=owner.headers), 404)
    assert_problem(await client.delete(url, headers=owner.headers), 404)
    assert (await client.get(POSTS, headers=owner.headers)).json()["count"] == 0


# -- actions ------------------------------------------------------------------------------


async def test_schedule_a_draft(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox])
    url = f"{POSTS}/{post['id']}/schedule"
    assert_violation(await client.post(url, headers=owner.headers), "scheduled_at", "required")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert_violation(
        await client.post(url, json={"scheduled_at": past}, headers=owner.headers),
        "scheduled_at",
        "in_past",
    )
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    response = await client.post(
        url, json={"scheduled_at": when.isoformat()}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    scheduled = response.json()
    assert scheduled["status"] == "scheduled"
    assert _instant(scheduled["scheduled_at"]) == when
    assert _instant(scheduled["deliveries"][0]["due_at"]) == when
    # a scheduled post is not a draft any more
    assert_problem(await client.post(url, headers=owner.headers), 409)


async def test_schedule_with_local_time(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await create_post(client, owner, [sandbox])
    wall = datetime.now(UTC).replace(tzinfo=None, microsecond=0, second=0) + timedelta(days=2)
    response = await client.post(
        f"{POSTS}/{post['id']}/schedule",
        json={"local_time": f"{wall:%Y-%m-%dT%H:%M}", "timezone": "America/New_York"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["timezone"], body["local_time"]) == (
        "America/New_York",
        f"{wall:%Y-%m-%dT%H:%M:%S}",
    )
    assert _instant(body["scheduled_at"]) - wall.replace(tzinfo=UTC) in (
        timedelta(hours=4),
        timedelta(hours=5),
    )


async def test_publish_now(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=3))
    before = datetime.now(UTC) - timedelta(seconds=1)
    response = await client.post(f"{POSTS}/{post['id']}/publish-now", headers=owner.headers)
    assert response.status_code == 200, response.text
    [delivery] = response.json()["deliveries"]
    assert delivery["state"] == "scheduled"
    assert before <= _instant(delivery["due_at"]) <= datetime.now(UTC) + timedelta(seconds=1)
    draft = await create_post(client, owner, [sandbox])
    now = await client.post(f"{POSTS}/{draft['id']}/publish-now", headers=owner.headers)
    assert now.status_code == 200, now.text
    assert now.json()["status"] == "scheduled"


async def test_cancel(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    url = f"{POSTS}/{post['id']}/cancel"
    response = await client.post(url, headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert [(d["state"], d["due_at"]) for d in response.json()["deliveries"]] == [
        ("cancelled", None)
    ]
    assert_problem(await client.post(url, headers=owner.headers), 409)
    # a cancelled post can be scheduled again
    again = await client.post(
        f"{POSTS}/{post['id']}/schedule",
        json={"scheduled_at": in_future(days=2)},
        headers=owner.headers,
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "scheduled"


async def test_cancel_a_published_post_is_a_conflict(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    await set_delivery_states(runtime, owner, post["id"], DeliveryState.PUBLISHED)
    assert_problem(await client.post(f"{POSTS}/{post['id']}/cancel", headers=owner.headers), 409)


async def test_retry_failed(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(days=1))
    url = f"{POSTS}/{post['id']}/retry"
    assert "failed" in assert_problem(await client.post(url, headers=owner.headers), 409)
    await set_delivery_states(
        runtime,
        owner,
        post["id"],
        DeliveryState.FAILED,
        attempts=6,
        last_error="the platform said no",
        due_at=None,
    )
    failed = (await client.get(f"{POSTS}/{post['id']}", headers=owner.headers)).json()
    assert failed["status"] == "failed"
    assert failed["deliveries"][0]["last_error"] == "the platform said no"
    response = await client.post(url, headers=owner.headers)
    assert response.status_code == 200, response.text
    retried = response.json()
    assert retried["status"] == "scheduled"
    [delivery] = retried["deliveries"]
    assert (delivery["state"], delivery["attempts"]) == ("scheduled", 0)
    assert _instant(delivery["due_at"]) <= datetime.now(UTC) + timedelta(seconds=1)


@pytest.mark.parametrize(
    "action", ["schedule", "publish-now", "cancel", "retry", "approve", "reject"]
)
async def test_actions_on_unknown_post(
    client: httpx.AsyncClient, owner: Member, action: str
) -> None:
    url = f"{POSTS}/00000000-0000-4000-8000-000000000000/{action}"
    assert_problem(await client.post(url, headers=owner.headers), 404)


# -- approvals ----------------------------------------------------------------------------


async def test_approval_flow(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    admin = await make_member(runtime, email="admin@example.com", role=Role.ADMIN)
    post = await create_post(
        client, editor, [sandbox], scheduled_at=in_future(days=1), approval_required=True
    )
    assert post["status"] == "pending_approval"
    assert post["approval_required"] is True
    assert [(d["state"], d["due_at"]) for d in post["deliveries"]] == [("pending_approval", None)]
    url = f"{POSTS}/{post['id']}"

    assert_problem(await client.post(f"{url}/approve", headers=editor.headers), 403)
    assert_problem(await client.post(f"{url}/reject", headers=editor.headers), 403)
    # an editor cannot skip the approver by publishing at once either
    assert_problem(await client.post(f"{url}/publish-now", headers=editor.headers), 403)
    # nor by editing it back to scheduled
    edit = await client.patch(
        url, json={"text": "edited", "status": "scheduled"}, headers=editor.headers
    )
    assert edit.status_code == 200, edit.text
    assert edit.json()["status"] == "pending_approval"

    approved = await client.post(f"{url}/approve", headers=admin.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "scheduled"
    [delivery] = approved.json()["deliveries"]
    assert delivery["state"] == "scheduled"
    assert _instant(delivery["due_at"]) == _instant(post["scheduled_at"])
    assert_problem(await client.post(f"{url}/approve", headers=admin.headers), 409)


async def test_reject_returns_to_draft_with_a_note(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    post = await create_post(
        client, editor, [sandbox], scheduled_at=in_future(days=1), approval_required=True
    )
    url = f"{POSTS}/{post['id']}"
    response = await client.post(
        f"{url}/reject", json={"note": "tone it down"}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert rejected["status"] == "draft"
    assert rejected["review_note"] == "tone it down"
    assert [d["state"] for d in rejected["deliveries"]] == ["draft"]
    assert_problem(await client.post(f"{url}/reject", headers=owner.headers), 409)

    # the editor fixes it and asks again; approval clears the note
    again = await client.post(f"{url}/schedule", headers=editor.headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending_approval"
    approved = await client.post(f"{url}/approve", headers=owner.headers)
    assert approved.json()["review_note"] is None
    assert approved.json()["status"] == "scheduled"


async def test_approval_of_an_overdue_post_is_a_conflict(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    post = await create_post(
        client, owner, [sandbox], scheduled_at=in_future(minutes=10), approval_required=True
    )
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(hours=1)
    detail = assert_problem(
        await client.post(f"{POSTS}/{post['id']}/approve", headers=owner.headers), 409
    )
    assert "reschedule" in detail


# -- recurring posts ----------------------------------------------------------------------


def _occurrences(post: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return sorted((d["scheduled_at"], d["due_at"]) for d in post["deliveries"])


async def _daily(
    client: httpx.AsyncClient, member: Member, account: str, **fields: Any
) -> dict[str, Any]:
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    return await create_post(
        client,
        member,
        [account],
        scheduled_at=first.isoformat(),
        recurrence="FREQ=DAILY",
        **fields,
    )


async def test_recurring_post_has_one_delivery_per_occurrence(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await _daily(client, owner, sandbox)
    times = [_instant(at) for at, _ in _occurrences(post)]
    assert times[0] == _instant(post["scheduled_at"])
    assert len(times) >= 14
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(times))
    assert all(at == due for at, due in _occurrences(post))


async def test_approving_a_recurring_post_keeps_each_occurrence_at_its_time(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    post = await _daily(client, editor, sandbox, approval_required=True)
    assert {d["state"] for d in post["deliveries"]} == {"pending_approval"}
    approved = await client.post(f"{POSTS}/{post['id']}/approve", headers=owner.headers)
    assert approved.status_code == 200, approved.text
    pairs = _occurrences(approved.json())
    assert len({due for _, due in pairs}) == len(pairs), "every occurrence keeps its own time"
    assert all(at == due for at, due in pairs)


async def test_scheduling_a_recurring_draft_keeps_its_occurrences(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await _daily(client, owner, sandbox, status="draft")
    assert {d["state"] for d in post["deliveries"]} == {"draft"}
    scheduled = await client.post(f"{POSTS}/{post['id']}/schedule", headers=owner.headers)
    assert scheduled.status_code == 200, scheduled.text
    pairs = _occurrences(scheduled.json())
    assert len(pairs) >= 14
    assert len({at for at, _ in pairs}) == len(pairs), "occurrences must not collapse into one"
    assert all(at == due for at, due in pairs)
    # and at a new time, the series moves with it
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    await client.post(f"{POSTS}/{post['id']}/cancel", headers=owner.headers)
    moved = await client.post(
        f"{POSTS}/{post['id']}/schedule",
        json={"scheduled_at": later.isoformat()},
        headers=owner.headers,
    )
    assert moved.status_code == 200, moved.text
    times = [_instant(at) for at, _ in _occurrences(moved.json())]
    assert times[0] == later
    assert len(set(times)) == len(times)


async def test_publishing_a_recurring_post_now_sends_one_occurrence(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    post = await _daily(client, owner, sandbox)
    before = _occurrences(post)
    response = await client.post(f"{POSTS}/{post['id']}/publish-now", headers=owner.headers)
    assert response.status_code == 200, response.text
    after = response.json()
    now = datetime.now(UTC)
    due_now = [d for d in after["deliveries"] if _instant(d["due_at"]) <= now]
    assert len(due_now) == 1, "only the next occurrence goes out now"
    # the rest of the series, and its anchor, stay where they were
    assert sorted(d["due_at"] for d in after["deliveries"] if d not in due_now) == [
        due for _, due in before[1:]
    ]
    assert (after["scheduled_at"], after["local_time"]) == (
        post["scheduled_at"],
        post["local_time"],
    )


async def test_editing_a_recurring_post_keeps_the_series_going(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    from postwright.engine.jobs import materialize_recurrences

    post = await _daily(client, owner, sandbox)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=5)
    edited = await client.patch(
        f"{POSTS}/{post['id']}", json={"scheduled_at": later.isoformat()}, headers=owner.headers
    )
    assert edited.status_code == 200, edited.text
    times = [_instant(at) for at, _ in _occurrences(edited.json())]
    assert times[0] == later
    # ten days on, the periodic job tops the series up from where the edit left it
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(days=10)
    result = await materialize_recurrences(runtime)
    assert result["deliveries_created"] > 0
    runtime.clock = real_clock
    extended = (await client.get(f"{POSTS}/{post['id']}", headers=owner.headers)).json()
    all_times = [_instant(at) for at, _ in _occurrences(extended)]
    assert len(set(all_times)) == len(all_times)
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(all_times))


async def test_an_editor_cannot_lift_the_approval_requirement(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    post = await create_post(
        client, editor, [sandbox], scheduled_at=in_future(days=1), approval_required=True
    )
    url = f"{POSTS}/{post['id']}"
    lift = await client.patch(url, json={"approval_required": False}, headers=editor.headers)
    assert "approval" in assert_problem(lift, 403)
    assert_problem(await client.post(f"{url}/publish-now", headers=editor.headers), 403)
    kept = (await client.get(url, headers=owner.headers)).json()
    assert (kept["approval_required"], kept["status"]) == (True, "pending_approval")
    # an admin may lift it; the post then goes out without review
    lifted = await client.patch(url, json={"approval_required": False}, headers=owner.headers)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["approval_required"] is False
    # and an editor may ask for approval on a post of their own
    ask = await client.patch(url, json={"approval_required": True}, headers=editor.headers)
    assert ask.status_code == 200, ask.text
    assert ask.json()["status"] == "pending_approval"


async def test_search_matches_percent_underscore_and_slash_literally(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    texts = {
        "percent": "50% off today",
        "fifty": "500 reasons",
        "underscore": "see a_b",
        "axb": "see axb",
        "slash": "either/or",
        "plain": "either or",
    }
    ids = {
        (await create_post(client, owner, [sandbox], text=text))["id"]: name
        for name, text in texts.items()
    }

    async def found(q: str) -> list[str]:
        response = await client.get(POSTS, params={"q": q}, headers=owner.headers)
        assert response.status_code == 200, response.text
        return sorted(ids[p["id"]] for p in response.json()["data"])

    assert await found("50%") == ["percent"]
    assert await found("%") == ["percent"]
    assert await found("a_b") == ["underscore"]
    assert await found("_") == ["underscore"]
    assert await found("r/o") == ["slash"]
    assert await found("/") == ["slash"]
    assert await found("see a") == ["axb", "underscore"]
