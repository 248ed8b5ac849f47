"""One delivery at a time: the "needs attention" list, attempt logs, retry, cancel, mark as
published, editing one occurrence or target, and skipping one occurrence of a series."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.engine.jobs import materialize_recurrences
from postwright.runtime import Runtime
from postwright.store import audit
from postwright.store import delivery_queue as q
from postwright.store import posts as post_store
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    in_future,
    make_account,
    make_member,
    make_platform_account,
)

DELIVERIES = "/api/v1/deliveries"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@pytest.fixture
async def editor(runtime: Runtime, owner: Member) -> Member:
    return await make_member(runtime, email="editor@example.com", role=Role.EDITOR)


@pytest.fixture
async def viewer(runtime: Runtime, owner: Member) -> Member:
    return await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)


@pytest.fixture
async def stranger(runtime: Runtime) -> Member:
    """The owner of another workspace."""
    return await make_member(runtime, email="stranger@example.com", workspace="globex")


@pytest.fixture
async def account(client: httpx.AsyncClient, owner: Member) -> dict[str, Any]:
    return await make_account(client, owner, handle="brand")


async def _scheduled(
    client: httpx.AsyncClient, member: Member, account_ids: list[str], **body: Any
) -> dict[str, Any]:
    body.setdefault("scheduled_at", in_future(days=1))
    return await create_post(client, member, account_ids, **body)


def _delivery_id(post: dict[str, Any], index: int = 0) -> str:
    value: str = post["deliveries"][index]["id"]
    return value


async def _force(
    rt: Runtime, member: Member, delivery_id: str, state: DeliveryState, **values: Any
) -> None:
    """Put one delivery in `state`, as the engine would."""
    async with rt.db.write() as conn:
        moved = await post_store.transition_delivery(
            conn,
            workspace_id=uuid.UUID(member.workspace_id),
            delivery_id=uuid.UUID(delivery_id),
            from_states=list(DeliveryState),
            values={"state": state.value, **values},
        )
        assert moved is not None
        await post_store.refresh_post_status(conn, post_id=moved.post_id, now=rt.now())


async def _get(client: httpx.AsyncClient, member: Member, delivery_id: str) -> dict[str, Any]:
    r = await client.get(f"{DELIVERIES}/{delivery_id}", headers=member.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _list(client: httpx.AsyncClient, member: Member, query: str = "") -> dict[str, Any]:
    r = await client.get(f"{DELIVERIES}{query}", headers=member.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _audit(rt: Runtime, member: Member) -> list[Any]:
    async with rt.db.read() as conn:
        return await audit.list_audit(
            conn, workspace_id=uuid.UUID(member.workspace_id), limit=50, offset=0
        )


# -- the "needs attention" list -----------------------------------------------------------


async def test_needs_attention_lists_failed_uncertain_and_held(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, account: dict[str, Any]
) -> None:
    paused = await make_account(client, owner, handle="paused")
    r = await client.post(f"/api/v1/accounts/{paused['id']}/pause", headers=owner.headers)
    assert r.status_code == 200, r.text

    failed = await _scheduled(client, owner, [account["id"]], text="a post that failed")
    uncertain = await _scheduled(client, owner, [account["id"]], text="maybe out")
    deferred = await _scheduled(client, owner, [account["id"]], text="too soon")
    on_paused = await _scheduled(client, owner, [paused["id"]], text="to a paused account")
    fine = await _scheduled(client, owner, [account["id"]], text="all is well")
    published = await _scheduled(client, owner, [account["id"]], text="out already")
    await _force(
        runtime,
        owner,
        _delivery_id(failed),
        DeliveryState.FAILED,
        attempts=6,
        last_error="gave up after 6 attempts: 503 from the platform",
        error_class="retryable",
    )
    await _force(runtime, owner, _delivery_id(uncertain), DeliveryState.UNCERTAIN)
    await _force(
        runtime,
        owner,
        _delivery_id(deferred),
        DeliveryState.SCHEDULED,
        hold_reason="at most 1 post an hour",
    )
    await _force(runtime, owner, _delivery_id(published), DeliveryState.PUBLISHED)

    page = await _list(client, owner, "?state=failed&state=uncertain&held=true")
    assert page["count"] == 4
    by_post = {d["post_id"]: d for d in page["data"]}
    assert set(by_post) == {failed["id"], uncertain["id"], deferred["id"], on_paused["id"]}

    item = by_post[failed["id"]]
    assert item["state"] == "failed"
    assert item["excerpt"] == "a post that failed"
    assert item["account"] == {
        "id": account["id"],
        "handle": "brand",
        "platform": "sandbox",
        "status": "active",
        "status_reason": None,
        "removed": False,
    }
    assert item["attempts"] == 6
    assert item["last_error"] == "gave up after 6 attempts: 503 from the platform"
    assert item["reason"] == item["last_error"]
    assert item["actions"] == ["retry", "mark_published", "cancel", "edit"]

    assert by_post[uncertain["id"]]["actions"] == ["mark_published"]
    assert "looking for it" in by_post[uncertain["id"]]["reason"]
    assert by_post[deferred["id"]]["hold_reason"] == "at most 1 post an hour"
    assert by_post[deferred["id"]]["reason"] == "at most 1 post an hour"
    held = by_post[on_paused["id"]]
    assert held["account"]["status"] == "paused"
    assert "paused" in held["reason"]
    assert "resume_account" in held["actions"]

    assert (await _list(client, owner, "?held=true"))["count"] == 2
    assert [d["post_id"] for d in (await _list(client, owner, "?state=failed"))["data"]] == [
        failed["id"]
    ]
    assert (await _list(client, owner))["count"] == 6
    not_held = await _list(client, owner, "?held=false")
    assert {d["post_id"] for d in not_held["data"]} == {
        failed["id"],
        uncertain["id"],
        fine["id"],
        published["id"],
    }
    only_paused = await _list(client, owner, f"?account_id={paused['id']}")
    assert [d["post_id"] for d in only_paused["data"]] == [on_paused["id"]]

    first = await _list(client, owner, "?state=failed&state=uncertain&held=true&limit=3")
    rest = await _list(client, owner, "?state=failed&state=uncertain&held=true&limit=3&offset=3")
    assert (first["count"], len(first["data"]), len(rest["data"])) == (4, 3, 1)
    assert {d["id"] for d in first["data"] + rest["data"]} == {d["id"] for d in page["data"]}


async def test_a_long_text_is_shortened_and_an_override_wins(
    client: httpx.AsyncClient, owner: Member, account: dict[str, Any]
) -> None:
    second = await make_account(client, owner, handle="second")
    post = await create_post(
        client,
        owner,
        [],
        text="word " * 100,
        targets=[{"account_id": account["id"]}, {"account_id": second["id"], "text": "own"}],
    )
    excerpts = {d["account"]["handle"]: d["excerpt"] for d in (await _list(client, owner))["data"]}
    assert excerpts["second"] == "own"
    assert len(excerpts["brand"]) == 200
    assert excerpts["brand"].endswith("…")
    assert post["id"]


async def test_readers_see_only_their_workspace(
    client: httpx.AsyncClient,
    runtime: Runtime,
    viewer: Member,
    stranger: Member,
    account: dict[str, Any],
    owner: Member,
) -> None:
    mine = await _scheduled(client, owner, [account["id"]])
    theirs_account = await make_account(client, stranger)
    theirs = await _scheduled(client, stranger, [theirs_account["id"]])
    await _force(runtime, stranger, _delivery_id(theirs), DeliveryState.FAILED)

    page = await _list(client, viewer)
    assert [d["post_id"] for d in page["data"]] == [mine["id"]]
    assert (await _list(client, viewer, f"?account_id={theirs_account['id']}"))["count"] == 0
    assert (await _get(client, viewer, _delivery_id(mine)))["post_id"] == mine["id"]
    for path in ("", "/attempts"):
        r = await client.get(f"{DELIVERIES}/{_delivery_id(theirs)}{path}", headers=owner.headers)
        assert_problem(r, 404)
        r = await client.get(f"{DELIVERIES}/{uuid.uuid4()}{path}", headers=owner.headers)
        assert_problem(r, 404)


async def test_listing_checks_its_input(client: httpx.AsyncClient, owner: Member) -> None:
    assert_problem(await client.get(DELIVERIES), 401)
    assert_violation(
        await client.get(f"{DELIVERIES}?state=lost", headers=owner.headers),
        "state.0",
        "literal_error",
    )
    assert_violation(
        await client.get(f"{DELIVERIES}?limit=0", headers=owner.headers),
        "limit",
        "greater_than_equal",
    )
    assert_violation(
        await client.get(f"{DELIVERIES}?account_id=nope", headers=owner.headers),
        "account_id",
        "uuid_parsing",
    )


# -- the attempt log ----------------------------------------------------------------------


async def test_the_attempt_log(
    client: httpx.AsyncClient, runtime: Runtime, viewer: Member, owner: Member, account: Any
) -> None:
    post = await _scheduled(client, owner, [account["id"]])
    delivery_id = uuid.UUID(_delivery_id(post))
    r = await client.get(f"{DELIVERIES}/{delivery_id}/attempts", headers=viewer.headers)
    assert r.status_code == 200, r.text
    assert r.json() == []

    now = datetime.now(UTC)
    async with runtime.db.write() as conn:
        for outcome, error_class, status, error in (
            ("retry", "retryable", 503, "503 Service Unavailable"),
            ("published", None, 200, None),
        ):
            await q.record_attempt(
                conn,
                attempt=q.AttemptRecord(
                    delivery_id=delivery_id,
                    workspace_id=uuid.UUID(owner.workspace_id),
                    worker_id="w1",
                    started_at=now,
                    finished_at=now + timedelta(milliseconds=120),
                    outcome=outcome,
                    error_class=error_class,
                    http_status=status,
                    error=error,
                    latency_ms=3.5,
                    execution_time_ms=120.0,
                ),
            )
    r = await client.get(f"{DELIVERIES}/{delivery_id}/attempts", headers=viewer.headers)
    assert r.status_code == 200, r.text
    first, second = r.json()
    assert first == {
        "number": 1,
        "outcome": "retry",
        "error_class": "retryable",
        "http_status": 503,
        "error": "503 Service Unavailable",
        "latency_ms": 3.5,
        "execution_time_ms": 120.0,
        "started_at": first["started_at"],
        "finished_at": first["finished_at"],
    }
    assert datetime.fromisoformat(first["started_at"]) == now
    assert (second["number"], second["outcome"], second["error"]) == (2, "published", None)


# -- retry --------------------------------------------------------------------------------


async def test_retry_schedules_a_failed_delivery_now(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    account: dict[str, Any],
) -> None:
    post = await _scheduled(client, owner, [account["id"]])
    delivery_id = _delivery_id(post)
    await _force(
        runtime, owner, delivery_id, DeliveryState.FAILED, attempts=6, last_error="gave up"
    )
    before = datetime.now(UTC)
    r = await client.post(f"{DELIVERIES}/{delivery_id}/retry", headers=editor.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "scheduled"
    assert body["attempts"] == 0
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(body["due_at"])
    assert datetime.fromisoformat(body["due_at"]) <= datetime.now(UTC)
    post_now = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()
    assert post_now["status"] == "scheduled"
    [entry] = [e for e in await _audit(runtime, owner) if e.action == "delivery.retried"]
    assert str(entry.actor_id) == editor.user_id
    assert entry.target_id == delivery_id

    # only a failed one can be retried
    assert "failed" in assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/retry", headers=editor.headers), 409
    )
    await _force(runtime, owner, delivery_id, DeliveryState.UNCERTAIN)
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/retry", headers=editor.headers), 409
    )


async def test_retry_roles_and_tenants(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    viewer: Member,
    stranger: Member,
    account: dict[str, Any],
) -> None:
    post = await _scheduled(client, owner, [account["id"]])
    delivery_id = _delivery_id(post)
    await _force(runtime, owner, delivery_id, DeliveryState.FAILED)
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/retry", headers=viewer.headers), 403
    )
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/retry", headers=stranger.headers), 404
    )
    assert (await _get(client, owner, delivery_id))["state"] == "failed"


# -- cancel -------------------------------------------------------------------------------


async def test_cancel_one_target_alone(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    account: dict[str, Any],
) -> None:
    second = await make_account(client, owner, handle="second")
    post = await _scheduled(client, owner, [account["id"], second["id"]])
    first_id, second_id = _delivery_id(post, 0), _delivery_id(post, 1)
    r = await client.post(f"{DELIVERIES}/{first_id}/cancel", headers=editor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"
    assert r.json()["due_at"] is None
    assert r.json()["actions"] == []
    assert (await _get(client, owner, second_id))["state"] == "scheduled"
    post_now = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()
    assert post_now["status"] == "scheduled"
    assert any(e.action == "delivery.cancelled" for e in await _audit(runtime, owner))

    assert_problem(
        await client.post(f"{DELIVERIES}/{first_id}/cancel", headers=editor.headers), 409
    )


@pytest.mark.parametrize(
    "state", [DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN, DeliveryState.PUBLISHED]
)
async def test_what_is_out_or_on_its_way_cannot_be_cancelled(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    account: dict[str, Any],
    state: DeliveryState,
) -> None:
    post = await _scheduled(client, owner, [account["id"]])
    delivery_id = _delivery_id(post)
    await _force(runtime, owner, delivery_id, state)
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/cancel", headers=owner.headers), 409
    )
    assert (await _get(client, owner, delivery_id))["state"] == state.value


async def test_cancel_roles_and_tenants(
    client: httpx.AsyncClient,
    owner: Member,
    viewer: Member,
    stranger: Member,
    account: dict[str, Any],
) -> None:
    delivery_id = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/cancel", headers=viewer.headers), 403
    )
    assert_problem(
        await client.post(f"{DELIVERIES}/{delivery_id}/cancel", headers=stranger.headers), 404
    )
    assert (await _get(client, owner, delivery_id))["state"] == "scheduled"


# -- mark as published --------------------------------------------------------------------


@pytest.mark.parametrize("state", [DeliveryState.FAILED, DeliveryState.UNCERTAIN])
async def test_an_admin_marks_a_delivery_published(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    account: dict[str, Any],
    state: DeliveryState,
) -> None:
    admin = await make_member(runtime, email="admin@example.com", role=Role.ADMIN)
    post = await _scheduled(client, owner, [account["id"]])
    delivery_id = _delivery_id(post)
    await _force(runtime, owner, delivery_id, state, last_error="timed out after sending")
    r = await client.post(
        f"{DELIVERIES}/{delivery_id}/mark-published",
        json={"permalink": "https://sandbox.example/brand/123", "external_id": "123"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "published"
    assert body["permalink"] == "https://sandbox.example/brand/123"
    assert body["external_id"] == "123"
    assert body["published_at"] is not None
    assert body["last_error"] is None
    post_now = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()
    assert post_now["status"] == "published"

    attempts = (
        await client.get(f"{DELIVERIES}/{delivery_id}/attempts", headers=owner.headers)
    ).json()
    assert [a["outcome"] for a in attempts] == ["marked_published"]
    [entry] = [e for e in await _audit(runtime, owner) if e.action == "delivery.marked_published"]
    assert str(entry.actor_id) == admin.user_id
    assert entry.details["permalink"] == "https://sandbox.example/brand/123"
    assert entry.details["from"] == state.value

    # once published, it cannot be marked again
    r = await client.post(
        f"{DELIVERIES}/{delivery_id}/mark-published",
        json={"permalink": "https://sandbox.example/brand/123"},
        headers=admin.headers,
    )
    assert_problem(r, 409)


async def test_mark_published_checks_state_role_input_and_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    stranger: Member,
    account: dict[str, Any],
) -> None:
    delivery_id = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    url = f"{DELIVERIES}/{delivery_id}/mark-published"
    good = {"permalink": "https://example.com/p/1"}
    assert_problem(await client.post(url, json=good, headers=owner.headers), 409)  # scheduled
    await _force(runtime, owner, delivery_id, DeliveryState.FAILED)
    assert_problem(await client.post(url, json=good, headers=editor.headers), 403)
    assert_problem(await client.post(url, json=good, headers=stranger.headers), 404)
    for permalink in ("javascript:alert(1)", "example.com/p/1", "https://", " "):
        r = await client.post(url, json={"permalink": permalink}, headers=owner.headers)
        assert_violation(r, "permalink", "invalid")
    assert_violation(await client.post(url, json={}, headers=owner.headers), "permalink", "missing")
    assert (await _get(client, owner, delivery_id))["state"] == "failed"


# -- editing one delivery -----------------------------------------------------------------


async def test_edit_the_text_of_one_target_alone(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    account: dict[str, Any],
) -> None:
    second = await make_account(client, owner, handle="second")
    post = await _scheduled(client, owner, [account["id"], second["id"]], text="for everyone")
    first_id, second_id = _delivery_id(post, 0), _delivery_id(post, 1)
    r = await client.patch(
        f"{DELIVERIES}/{first_id}", json={"text": "just for brand"}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "just for brand"
    assert r.json()["excerpt"] == "just for brand"
    assert r.json()["state"] == "scheduled"
    assert (await _get(client, owner, second_id))["text"] is None
    updated = [e for e in await _audit(runtime, owner) if e.action == "delivery.updated"]
    assert updated[0].details["fields"] == ["text"]

    # null goes back to the post's text
    r = await client.patch(f"{DELIVERIES}/{first_id}", json={"text": None}, headers=editor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["text"] is None
    assert r.json()["excerpt"] == "for everyone"


async def test_edited_text_follows_the_platforms_rules(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    x = await make_platform_account(runtime, owner, "x")
    delivery_id = _delivery_id(await _scheduled(client, owner, [x["id"]], text="short"))
    r = await client.patch(
        f"{DELIVERIES}/{delivery_id}", json={"text": "a" * 281}, headers=owner.headers
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["text"]
    assert (await _get(client, owner, delivery_id))["text"] is None


async def test_move_one_target_to_another_time(
    client: httpx.AsyncClient, owner: Member, editor: Member, account: dict[str, Any]
) -> None:
    second = await make_account(client, owner, handle="second")
    post = await _scheduled(client, owner, [account["id"], second["id"]])
    first_id, second_id = _delivery_id(post, 0), _delivery_id(post, 1)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    r = await client.patch(
        f"{DELIVERIES}/{first_id}", json={"scheduled_at": when.isoformat()}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["scheduled_at"]) == when
    assert datetime.fromisoformat(r.json()["due_at"]) == when
    other = await _get(client, owner, second_id)
    assert datetime.fromisoformat(other["scheduled_at"]) == datetime.fromisoformat(
        post["scheduled_at"]
    )


async def test_a_new_time_releases_a_claim_and_revives_a_failure(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, account: dict[str, Any]
) -> None:
    claimed = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    failed = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    await _force(
        runtime,
        owner,
        claimed,
        DeliveryState.CLAIMED,
        lease_owner="w1",
        lease_expires_at=datetime.now(UTC) + timedelta(seconds=30),
    )
    await _force(runtime, owner, failed, DeliveryState.FAILED, attempts=6)
    when = in_future(hours=3)
    for delivery_id in (claimed, failed):
        r = await client.patch(
            f"{DELIVERIES}/{delivery_id}", json={"scheduled_at": when}, headers=owner.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "scheduled"
        assert r.json()["attempts"] == 0
    # the worker that claimed it cannot start publishing it any more
    async with runtime.db.write() as conn:
        started = await q.begin_publishing(
            conn,
            delivery_id=uuid.UUID(claimed),
            worker_id="w1",
            now=datetime.now(UTC),
            lease=timedelta(seconds=30),
        )
    assert started is None


async def test_a_draft_keeps_its_state_when_its_time_changes(
    client: httpx.AsyncClient, owner: Member, account: dict[str, Any]
) -> None:
    draft = await create_post(client, owner, [account["id"]])
    assert draft["status"] == "draft"
    when = in_future(days=3)
    r = await client.patch(
        f"{DELIVERIES}/{_delivery_id(draft)}", json={"scheduled_at": when}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "draft"
    assert r.json()["due_at"] is None
    assert datetime.fromisoformat(r.json()["scheduled_at"]) == datetime.fromisoformat(when)


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "body", "empty"),
        ({"scheduled_at": "2020-01-01T09:00:00Z"}, "scheduled_at", "in_past"),
        ({"scheduled_at": "2030-01-01T09:00:00"}, "scheduled_at", "missing_offset"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at", "invalid_instant"),
        ({"scheduled_at": "9999-01-01T09:00:00Z"}, "scheduled_at", "out_of_range"),
        ({"scheduled_at": None}, "scheduled_at", "required"),
        ({"state": "published"}, "state", "extra_forbidden"),
    ],
)
async def test_edits_check_their_input(
    client: httpx.AsyncClient,
    owner: Member,
    account: dict[str, Any],
    body: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    delivery_id = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    r = await client.patch(f"{DELIVERIES}/{delivery_id}", json=body, headers=owner.headers)
    assert_violation(r, field, rule)


@pytest.mark.parametrize(
    "state",
    [
        DeliveryState.PUBLISHING,
        DeliveryState.UNCERTAIN,
        DeliveryState.PUBLISHED,
        DeliveryState.CANCELLED,
    ],
)
async def test_what_is_out_on_its_way_or_cancelled_cannot_be_edited(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    account: dict[str, Any],
    state: DeliveryState,
) -> None:
    delivery_id = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    await _force(runtime, owner, delivery_id, state)
    r = await client.patch(f"{DELIVERIES}/{delivery_id}", json={"text": "x"}, headers=owner.headers)
    assert_problem(r, 409)
    assert (await _get(client, owner, delivery_id))["text"] is None


async def test_edit_roles_tenants_and_approval(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    viewer: Member,
    stranger: Member,
    account: dict[str, Any],
) -> None:
    delivery_id = _delivery_id(await _scheduled(client, owner, [account["id"]]))
    url = f"{DELIVERIES}/{delivery_id}"
    assert_problem(await client.patch(url, json={"text": "x"}, headers=viewer.headers), 403)
    assert_problem(await client.patch(url, json={"text": "x"}, headers=stranger.headers), 404)

    # an approved post is changed only by someone who may approve
    approved = await _scheduled(client, editor, [account["id"]], approval_required=True)
    approved_id = _delivery_id(approved)
    url = f"{DELIVERIES}/{approved_id}"
    assert approved["deliveries"][0]["state"] == "pending_approval"
    r = await client.patch(url, json={"text": "still waiting"}, headers=editor.headers)
    assert r.status_code == 200, r.text  # not approved yet: editors may change it
    r = await client.post(f"/api/v1/posts/{approved['id']}/approve", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert_problem(await client.patch(url, json={"text": "sneaky"}, headers=editor.headers), 403)
    r = await client.patch(url, json={"text": "fixed typo"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "fixed typo"


# -- skipping one occurrence --------------------------------------------------------------


async def _series(client: httpx.AsyncClient, member: Member, account_ids: list[str]) -> Any:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    post = await create_post(
        client,
        member,
        account_ids,
        text="daily tip",
        scheduled_at=start.isoformat(),
        recurrence="FREQ=DAILY",
    )
    return post, start


def _skip_url(post_id: str) -> str:
    return f"/api/v1/posts/{post_id}/occurrences/skip"


async def test_skip_one_occurrence(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    editor: Member,
    account: dict[str, Any],
) -> None:
    second = await make_account(client, owner, handle="second")
    post, start = await _series(client, owner, [account["id"], second["id"]])
    day2 = start + timedelta(days=1)
    r = await client.post(
        _skip_url(post["id"]), json={"occurrence_at": day2.isoformat()}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cancelled"] == 2
    assert [datetime.fromisoformat(s) for s in body["skips"]] == [day2]
    assert {d["state"] for d in body["deliveries"]} == {"cancelled"}
    assert len(body["deliveries"]) == 2

    deliveries = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()[
        "deliveries"
    ]
    by_day: dict[datetime, set[str]] = {}
    for d in deliveries:
        by_day.setdefault(datetime.fromisoformat(d["occurrence_at"]), set()).add(d["state"])
    assert by_day[day2] == {"cancelled"}
    assert by_day[start] == {"scheduled"}
    assert by_day[start + timedelta(days=2)] == {"scheduled"}
    assert any(e.action == "post.occurrence_skipped" for e in await _audit(runtime, owner))

    assert_problem(
        await client.post(
            _skip_url(post["id"]), json={"occurrence_at": day2.isoformat()}, headers=editor.headers
        ),
        409,
    )


async def test_skip_an_occurrence_not_planned_yet(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, account: dict[str, Any]
) -> None:
    post, start = await _series(client, owner, [account["id"]])
    far = start + timedelta(days=20)  # past the 14 days materialised ahead
    r = await client.post(
        _skip_url(post["id"]), json={"occurrence_at": far.isoformat()}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == 0
    assert [d["state"] for d in r.json()["deliveries"]] == ["cancelled"]

    # when the engine plans that far, the skipped occurrence stays skipped
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(days=10)
    try:
        created = await materialize_recurrences(runtime)
    finally:
        runtime.clock = real_clock
    assert created["deliveries_created"] > 0
    deliveries = (await client.get(f"/api/v1/posts/{post['id']}", headers=owner.headers)).json()[
        "deliveries"
    ]
    states = {datetime.fromisoformat(d["occurrence_at"]): d["state"] for d in deliveries}
    assert states[far] == "cancelled"
    assert states[far - timedelta(days=1)] == "scheduled"
    assert states[far + timedelta(days=1)] == "scheduled"


async def test_skip_checks_the_series_and_the_instant(
    client: httpx.AsyncClient, owner: Member, account: dict[str, Any]
) -> None:
    post, start = await _series(client, owner, [account["id"]])
    url = _skip_url(post["id"])
    for instant, rule in (
        ((start + timedelta(hours=1)).isoformat(), "not_an_occurrence"),
        ((start - timedelta(days=1)).isoformat(), "not_an_occurrence"),
        ("next monday", "invalid_instant"),
        ("2030-01-01T09:00:00", "missing_offset"),
    ):
        r = await client.post(url, json={"occurrence_at": instant}, headers=owner.headers)
        assert_violation(r, "occurrence_at", rule)
    assert_violation(
        await client.post(url, json={}, headers=owner.headers), "occurrence_at", "missing"
    )
    once = await _scheduled(client, owner, [account["id"]])
    r = await client.post(
        _skip_url(once["id"]), json={"occurrence_at": once["scheduled_at"]}, headers=owner.headers
    )
    assert_problem(r, 409)


@pytest.mark.parametrize("state", [DeliveryState.PUBLISHED, DeliveryState.PUBLISHING])
async def test_an_occurrence_out_or_on_its_way_cannot_be_skipped(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    account: dict[str, Any],
    state: DeliveryState,
) -> None:
    post, start = await _series(client, owner, [account["id"]])
    [first] = [d for d in post["deliveries"] if datetime.fromisoformat(d["occurrence_at"]) == start]
    await _force(runtime, owner, first["id"], state)
    r = await client.post(
        _skip_url(post["id"]), json={"occurrence_at": start.isoformat()}, headers=owner.headers
    )
    assert_problem(r, 409)
    assert (await _get(client, owner, first["id"]))["state"] == state.value


async def test_skip_roles_and_tenants(
    client: httpx.AsyncClient,
    owner: Member,
    viewer: Member,
    stranger: Member,
    account: dict[str, Any],
) -> None:
    post, start = await _series(client, owner, [account["id"]])
    body = {"occurrence_at": start.isoformat()}
    assert_problem(await client.post(_skip_url(post["id"]), json=body, headers=viewer.headers), 403)
    assert_problem(
        await client.post(_skip_url(post["id"]), json=body, headers=stranger.headers), 404
    )
    assert_problem(
        await client.post(_skip_url(str(uuid.uuid4())), json=body, headers=owner.headers), 404
    )


async def test_edit_one_occurrence_alone(
    client: httpx.AsyncClient, owner: Member, account: dict[str, Any]
) -> None:
    post, start = await _series(client, owner, [account["id"]])
    by_day = {datetime.fromisoformat(d["occurrence_at"]): d["id"] for d in post["deliveries"]}
    day3 = start + timedelta(days=2)
    later = day3 + timedelta(hours=3)
    r = await client.patch(
        f"{DELIVERIES}/{by_day[day3]}",
        json={"text": "a special tip", "scheduled_at": later.isoformat()},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "a special tip"
    assert datetime.fromisoformat(r.json()["due_at"]) == later
    assert datetime.fromisoformat(r.json()["occurrence_at"]) == day3  # still that occurrence
    assert "skip_occurrence" in r.json()["actions"]
    neighbour = await _get(client, owner, by_day[start + timedelta(days=1)])
    assert neighbour["text"] is None
    assert datetime.fromisoformat(neighbour["due_at"]) == start + timedelta(days=1)
