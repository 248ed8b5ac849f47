"""Every rule a post must follow (issue 2, point 5 and 6), each with a failing and a passing case.

A broken rule answers 422 problem+json whose `errors[]` names the field and the rule; a target in
another workspace answers 404 as if it did not exist; plan limits answer 403 naming the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.plans import Plan
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    in_future,
    make_account,
    make_media,
    make_member,
    make_platform_account,
    set_delivery_states,
    set_plan,
)

POSTS = "/api/v1/posts"


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@pytest.fixture
async def sandbox(client: httpx.AsyncClient, owner: Member) -> str:
    account = await make_account(client, owner)
    return str(account["id"])


async def _post(client: httpx.AsyncClient, member: Member, body: dict[str, Any]) -> httpx.Response:
    return await client.post(POSTS, json=body, headers=member.headers)


def _body(account_id: str, **fields: Any) -> dict[str, Any]:
    return {"text": "hello", "targets": [{"account_id": account_id}], **fields}


# -- time ---------------------------------------------------------------------------------


async def test_unknown_timezone(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    local = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    bad = await _post(client, owner, _body(sandbox, local_time=local, timezone="Mars/Olympus"))
    assert "Mars/Olympus" in assert_violation(bad, "timezone", "unknown_timezone")
    good = await _post(client, owner, _body(sandbox, local_time=local, timezone="Europe/Paris"))
    assert good.status_code == 201, good.text
    assert good.json()["timezone"] == "Europe/Paris"


async def test_scheduled_time_in_the_past(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    bad = await _post(client, owner, _body(sandbox, scheduled_at=past))
    assert "in the past" in assert_violation(bad, "scheduled_at", "in_past")
    good = await _post(client, owner, _body(sandbox, scheduled_at=in_future(minutes=5)))
    assert good.status_code == 201, good.text
    assert good.json()["status"] == "scheduled"


async def test_local_time_in_the_past(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    bad = await _post(client, owner, _body(sandbox, local_time=yesterday, timezone="UTC"))
    assert_violation(bad, "scheduled_at", "in_past")


async def test_scheduled_at_needs_an_offset(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    naive = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    bad = await _post(client, owner, _body(sandbox, scheduled_at=naive))
    assert_violation(bad, "scheduled_at", "missing_offset")
    good = await _post(client, owner, _body(sandbox, scheduled_at=naive + "Z"))
    assert good.status_code == 201, good.text
    assert good.json()["scheduled_at"].startswith(naive)


async def test_a_scheduled_post_needs_a_time(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    bad = await _post(client, owner, _body(sandbox, status="scheduled"))
    assert_violation(bad, "scheduled_at", "required")
    good = await _post(
        client, owner, _body(sandbox, status="scheduled", scheduled_at=in_future(days=1))
    )
    assert good.status_code == 201, good.text
    assert good.json()["status"] == "scheduled"


async def test_malformed_instant(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    bad = await _post(client, owner, _body(sandbox, scheduled_at="tomorrow at nine"))
    assert_violation(bad, "scheduled_at", "invalid_instant")


async def test_local_time_must_not_carry_an_offset(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    bad = await _post(
        client,
        owner,
        _body(sandbox, local_time=in_future(days=1), timezone="Europe/Paris"),
    )
    assert_violation(bad, "local_time", "local_time_with_offset")


async def test_scheduled_at_and_local_time_exclude_each_other(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    when = datetime.now(UTC) + timedelta(days=1)
    both = _body(
        sandbox,
        scheduled_at=when.isoformat(),
        local_time=when.strftime("%Y-%m-%dT%H:%M"),
        timezone="UTC",
    )
    assert_violation(await _post(client, owner, both), "local_time", "exclusive")
    del both["scheduled_at"]
    good = await _post(client, owner, both)
    assert good.status_code == 201, good.text


# Europe/Paris: clocks jump 02:00 -> 03:00 on 2026-03-29 and go back 03:00 -> 02:00 on 2026-10-25.
# The rule (domain/timeutil.py): a missing wall time moves forward by the gap (02:30 is read under
# the winter offset, +01:00, and published at 03:30 local); a repeated one takes its first
# occurrence (the summer offset, +02:00).
@pytest.mark.parametrize(
    ("local_time", "expected_utc"),
    [
        pytest.param("2026-03-29T02:30", "2026-03-29T01:30:00Z", id="gap"),
        pytest.param("2026-10-25T02:30", "2026-10-25T00:30:00Z", id="overlap"),
        pytest.param("2026-07-14T09:00", "2026-07-14T07:00:00Z", id="summer"),
        pytest.param("2026-01-15T09:00", "2026-01-15T08:00:00Z", id="winter"),
    ],
)
async def test_wall_times_across_daylight_saving(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    sandbox: str,
    local_time: str,
    expected_utc: str,
) -> None:
    runtime.clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)
    response = await _post(
        client, owner, _body(sandbox, local_time=local_time, timezone="Europe/Paris")
    )
    assert response.status_code == 201, response.text
    post = response.json()
    expected = datetime.fromisoformat(expected_utc)
    assert datetime.fromisoformat(post["scheduled_at"]) == expected
    assert post["local_time"] == local_time + ":00"
    assert post["timezone"] == "Europe/Paris"
    assert datetime.fromisoformat(post["deliveries"][0]["due_at"]) == expected


# -- targets ------------------------------------------------------------------------------


@pytest.mark.parametrize("targets", [[], None], ids=["empty", "missing"])
async def test_at_least_one_target(
    client: httpx.AsyncClient, owner: Member, sandbox: str, targets: list[Any] | None
) -> None:
    body: dict[str, Any] = {"text": "hello", "status": "draft"}
    if targets is not None:
        body["targets"] = targets
    assert_violation(await _post(client, owner, body), "targets", "required")
    good = await _post(client, owner, _body(sandbox, status="draft"))
    assert good.status_code == 201, good.text
    assert len(good.json()["deliveries"]) == 1


async def test_duplicate_target(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    other = str((await make_account(client, owner, handle="second"))["id"])
    body = {
        "text": "hello",
        "targets": [{"account_id": sandbox}, {"account_id": other}, {"account_id": sandbox}],
    }
    assert_violation(await _post(client, owner, body), "targets.2.account_id", "duplicate")
    body["targets"] = body["targets"][:2]
    good = await _post(client, owner, body)
    assert good.status_code == 201, good.text
    assert {d["account_id"] for d in good.json()["deliveries"]} == {sandbox, other}


async def test_target_of_another_workspace_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    stranger = await make_member(runtime, email="stranger@example.com", workspace="globex")
    theirs = str((await make_account(client, stranger))["id"])
    foreign = await _post(client, owner, _body(theirs))
    missing = await _post(client, owner, _body("00000000-0000-4000-8000-000000000000"))
    detail = assert_problem(foreign, 404)
    assert_problem(missing, 404)
    assert detail.replace(theirs, "ID") == missing.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", "ID"
    ), "another workspace's account must look exactly like one that does not exist"
    good = await _post(client, owner, _body(sandbox))
    assert good.status_code == 201, good.text


async def test_unknown_media_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    stranger = await make_member(runtime, email="stranger@example.com", workspace="globex")
    theirs = await make_media(runtime, stranger)
    bad = await _post(client, owner, _body(sandbox, media_ids=[theirs]))
    assert_violation(bad, "media_ids.0", "not_found")
    mine = await make_media(runtime, owner)
    good = await _post(client, owner, _body(sandbox, media_ids=[mine]))
    assert good.status_code == 201, good.text
    assert good.json()["media_ids"] == [mine]


# -- text, counted the platform's way ------------------------------------------------------

URL = "https://example.com/" + "a" * 80  # 100 characters, 23 on X and Mastodon
CJK = "中"
EMOJI = "👍🏽"  # two code points, one grapheme; X weighs it 2


@dataclass(frozen=True)
class TextCase:
    platform: str
    passing: str
    failing: str
    limit: int
    counted: int  # the failing text's length as the platform counts it
    options: dict[str, Any]
    account_options: dict[str, Any]
    media: bool = False


def _case(
    platform: str,
    passing: str,
    failing: str,
    *,
    options: dict[str, Any] | None = None,
    account_options: dict[str, Any] | None = None,
    media: bool = False,
    counted: int | None = None,
    id: str,
) -> Any:
    limit = {
        "x": 280,
        "bluesky": 300,
        "mastodon": int((account_options or {}).get("max_characters", 500)),
        "threads": 500,
        "linkedin": 3000,
        "instagram": 2200,
        "facebook": 63206,
        "reddit": 40000,
    }[platform]
    case = TextCase(
        platform=platform,
        passing=passing,
        failing=failing,
        limit=limit,
        counted=counted or limit + 1,
        options=options or {},
        account_options=account_options or {},
        media=media,
    )
    return pytest.param(case, id=id)


REDDIT_OPTIONS = {"subreddit": "r/python", "title": "A title"}

TEXT_CASES = [
    _case("x", "a" * 280, "a" * 281, id="x-latin"),
    _case("x", CJK * 140, CJK * 141, counted=282, id="x-cjk-weighs-2"),
    _case("x", EMOJI * 140, EMOJI * 141, counted=282, id="x-emoji-weighs-2"),
    _case("x", "a" * 256 + " " + URL, "a" * 257 + " " + URL, id="x-url-weighs-23"),
    # 300 graphemes of "e" + a combining accent: 600 code points, still 300 for Bluesky
    _case("bluesky", "e\u0301" * 300, "e\u0301" * 301, id="bluesky-graphemes"),
    _case("mastodon", "a" * 500, "a" * 501, id="mastodon-default-500"),
    _case("mastodon", "a" * 476 + " " + URL, "a" * 477 + " " + URL, id="mastodon-url-23"),
    _case(
        "mastodon",
        "a" * 1000,
        "a" * 1001,
        account_options={"max_characters": 1000},
        id="mastodon-instance-limit",
    ),
    _case("threads", "a" * 500, "a" * 501, id="threads"),
    _case("linkedin", "a" * 3000, "a" * 3001, id="linkedin"),
    _case("instagram", "a" * 2200, "a" * 2201, media=True, id="instagram"),
    _case("facebook", "a" * 63206, "a" * 63207, id="facebook"),
    _case("reddit", "a" * 40000, "a" * 40001, options=REDDIT_OPTIONS, id="reddit-body"),
]


@pytest.mark.parametrize("case", TEXT_CASES)
async def test_text_length_per_platform(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, case: TextCase
) -> None:
    account = await make_platform_account(runtime, owner, case.platform, **case.account_options)
    media = [await make_media(runtime, owner)] if case.media else []

    def body(text: str) -> dict[str, Any]:
        target = {"account_id": account["id"], "options": case.options}
        return {"text": text, "targets": [target], "media_ids": media, "status": "draft"}

    message = assert_violation(
        await _post(client, owner, body(case.failing)), "targets.0.text", "max_length"
    )
    assert message.startswith(f"{case.counted:,} "), message  # counted the platform's way
    assert f"allows {case.limit:,}" in message, message
    good = await _post(client, owner, body(case.passing))
    assert good.status_code == 201, good.text
    assert good.json()["deliveries"][0]["platform"] == case.platform


async def test_per_target_text_is_what_is_counted(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    x = await make_platform_account(runtime, owner, "x")
    body: dict[str, Any] = {
        "text": "a" * 1000,  # fine for the sandbox (5000), too long for X
        "targets": [{"account_id": sandbox}, {"account_id": x["id"], "text": "short for X"}],
        "status": "draft",
    }
    good = await _post(client, owner, body)
    assert good.status_code == 201, good.text
    body["targets"][1]["text"] = CJK * 141
    assert_violation(await _post(client, owner, body), "targets.1.text", "max_length")


async def test_instagram_needs_media(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    account = await make_platform_account(runtime, owner, "instagram")
    body: dict[str, Any] = {"text": "caption", "targets": [{"account_id": account["id"]}]}
    assert_violation(await _post(client, owner, body), "targets.0.media", "required")
    body["media_ids"] = [await make_media(runtime, owner)]
    good = await _post(client, owner, body)
    assert good.status_code == 201, good.text


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        pytest.param({"subreddit": "r/python"}, "options.title", "required", id="no-title"),
        pytest.param({"title": "A title"}, "options.subreddit", "required", id="no-subreddit"),
        pytest.param(
            {"subreddit": "r/python", "title": "t" * 301},
            "options.title",
            "max_length",
            id="title-301",
        ),
        pytest.param(
            {"subreddit": "no spaces allowed", "title": "A title"},
            "options.subreddit",
            "invalid",
            id="bad-subreddit",
        ),
    ],
)
async def test_reddit_title_and_subreddit(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    options: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    account = await make_platform_account(runtime, owner, "reddit")
    body: dict[str, Any] = {
        "text": "body",
        "targets": [{"account_id": account["id"], "options": options}],
    }
    assert_violation(await _post(client, owner, body), f"targets.0.{field}", rule)
    body["targets"][0]["options"] = {"subreddit": "r/python", "title": "t" * 300}
    good = await _post(client, owner, body)
    assert good.status_code == 201, good.text


async def test_every_broken_rule_is_listed(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    x = await make_platform_account(runtime, owner, "x")
    reddit = await make_platform_account(runtime, owner, "reddit")
    body = {
        "text": "a" * 281,
        "targets": [{"account_id": x["id"]}, {"account_id": reddit["id"]}],
    }
    response = await _post(client, owner, body)
    assert_violation(response, "targets.0.text", "max_length")
    assert_violation(response, "targets.1.options.subreddit", "required")
    assert_violation(response, "targets.1.options.title", "required")


# -- shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"txt": "typo"}, "txt", id="top-level"),
        pytest.param({"scheduled_for": "2030-01-01T00:00:00Z"}, "scheduled_for", id="near-miss"),
    ],
)
async def test_unknown_fields_are_rejected(
    client: httpx.AsyncClient, owner: Member, sandbox: str, extra: dict[str, Any], field: str
) -> None:
    bad = await _post(client, owner, {**_body(sandbox), **extra})
    assert_violation(bad, field, "extra_forbidden")
    good = await _post(client, owner, _body(sandbox))
    assert good.status_code == 201, good.text


async def test_unknown_target_field_is_rejected(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    body = {"text": "hello", "targets": [{"account_id": sandbox, "handle": "brand"}]}
    assert_violation(await _post(client, owner, body), "targets.0.handle", "extra_forbidden")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("status", "published", "literal_error"),
        ("priority", "asap", "literal_error"),
        ("approval_required", "maybe", "bool_parsing"),
        ("text", 42, "string_type"),
        ("media_ids", ["not-a-uuid"], "uuid_parsing"),
    ],
)
async def test_wrong_types_name_the_field(
    client: httpx.AsyncClient, owner: Member, sandbox: str, field: str, value: Any, rule: str
) -> None:
    bad = await _post(client, owner, {**_body(sandbox), field: value})
    assert_violation(bad, field if field != "media_ids" else "media_ids.0", rule)


async def test_unknown_campaign(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    bad = await _post(
        client, owner, _body(sandbox, campaign_id="00000000-0000-4000-8000-000000000001")
    )
    assert_violation(bad, "campaign_id", "not_found")


# -- recurrence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_text", "rule"),
    [
        pytest.param("every monday", "invalid_rrule", id="garbage"),
        pytest.param("FREQ=SECONDLY", "too_frequent", id="too-frequent"),
        pytest.param("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never_fires", id="never"),
        pytest.param("FREQ=DAILY;COUNT=20000", "count_too_large", id="count"),
        pytest.param(
            "DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "dtstart_not_allowed", id="dtstart"
        ),
    ],
)
async def test_bad_recurrence(
    client: httpx.AsyncClient, owner: Member, sandbox: str, rule_text: str, rule: str
) -> None:
    body = _body(sandbox, scheduled_at=in_future(days=1), recurrence=rule_text)
    assert_violation(await _post(client, owner, body), "recurrence", rule)


async def test_recurrence_needs_a_first_time(
    client: httpx.AsyncClient, owner: Member, sandbox: str
) -> None:
    bad = await _post(client, owner, _body(sandbox, status="draft", recurrence="FREQ=WEEKLY"))
    assert_violation(bad, "scheduled_at", "required")


async def test_good_recurrence(client: httpx.AsyncClient, owner: Member, sandbox: str) -> None:
    response = await _post(
        client,
        owner,
        _body(sandbox, scheduled_at=in_future(days=1), recurrence="rrule:freq=weekly;byday=mo"),
    )
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert post["deliveries"], "a recurring post has deliveries for its next occurrences"


# -- published or publishing posts cannot change -----------------------------------------


@pytest.mark.parametrize(
    "state", [DeliveryState.PUBLISHED, DeliveryState.PUBLISHING, DeliveryState.UNCERTAIN]
)
async def test_no_edit_or_delete_once_publishing_started(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str, state: DeliveryState
) -> None:
    post = await create_post(client, owner, [sandbox], scheduled_at=in_future(hours=1))
    url = f"{POSTS}/{post['id']}"
    edit = await client.patch(url, json={"text": "before"}, headers=owner.headers)
    assert edit.status_code == 200, edit.text

    await set_delivery_states(runtime, owner, post["id"], state)
    detail = assert_problem(
        await client.patch(url, json={"text": "too late"}, headers=owner.headers), 409
    )
    assert "publish" in detail
    assert_problem(await client.delete(url, headers=owner.headers), 409)
    kept = (await client.get(url, headers=owner.headers)).json()
    assert kept["text"] == "before"
    assert kept["deliveries"][0]["state"] == state.value


# -- plan limits --------------------------------------------------------------------------


async def test_free_plan_cannot_schedule(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    await set_plan(runtime, owner, "free")
    bad = await _post(client, owner, _body(sandbox, scheduled_at=in_future(days=1)))
    assert "free plan cannot schedule" in assert_problem(bad, 403)
    draft = await _post(client, owner, _body(sandbox, status="draft"))
    assert draft.status_code == 201, draft.text
    schedule = await client.post(
        f"{POSTS}/{draft.json()['id']}/schedule",
        json={"scheduled_at": in_future(days=1)},
        headers=owner.headers,
    )
    assert "free plan" in assert_problem(schedule, 403)


async def test_pro_plan_schedules_seven_days_ahead(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    await set_plan(runtime, owner, "pro")
    bad = await _post(client, owner, _body(sandbox, scheduled_at=in_future(days=8)))
    assert "7 days ahead" in assert_problem(bad, 403)
    good = await _post(client, owner, _body(sandbox, scheduled_at=in_future(days=6)))
    assert good.status_code == 201, good.text
    moved = await client.patch(
        f"{POSTS}/{good.json()['id']}",
        json={"scheduled_at": in_future(days=8)},
        headers=owner.headers,
    )
    assert "7 days ahead" in assert_problem(moved, 403)


async def test_monthly_count(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    # a fixed clock so "this month" cannot roll over mid-test
    runtime.clock = lambda: datetime(2030, 6, 10, 12, tzinfo=UTC)
    runtime.plans = {
        **runtime.plans,
        "tiny": Plan("tiny", can_schedule=True, max_days_ahead=None, max_scheduled_per_month=2),
    }
    await set_plan(runtime, owner, "tiny")
    june: Callable[[int], str] = lambda day: f"2030-06-{day:02d}T09:00:00Z"  # noqa: E731
    first = await create_post(client, owner, [sandbox], scheduled_at=june(20))
    await create_post(client, owner, [sandbox], scheduled_at=june(21))
    third = await _post(client, owner, _body(sandbox, scheduled_at=june(22)))
    assert "2 scheduled posts a month" in assert_problem(third, 403)
    # another month has its own count; drafts do not count
    july = await _post(client, owner, _body(sandbox, scheduled_at="2030-07-02T09:00:00Z"))
    assert july.status_code == 201, july.text
    assert (await _post(client, owner, _body(sandbox, status="draft"))).status_code == 201
    # editing a counted post does not count it twice
    edit = await client.patch(
        f"{POSTS}/{first['id']}", json={"text": "edited"}, headers=owner.headers
    )
    assert edit.status_code == 200, edit.text
    # a cancelled post frees its place
    cancel = await client.post(f"{POSTS}/{first['id']}/cancel", headers=owner.headers)
    assert cancel.status_code == 200, cancel.text
    again = await _post(client, owner, _body(sandbox, scheduled_at=june(22)))
    assert again.status_code == 201, again.text


async def _tiny_plan_in(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, timezone: str
) -> None:
    runtime.clock = lambda: datetime(2030, 6, 10, 12, tzinfo=UTC)
    runtime.plans = {
        **runtime.plans,
        "tiny": Plan("tiny", can_schedule=True, max_days_ahead=None, max_scheduled_per_month=2),
    }
    await set_plan(runtime, owner, "tiny")
    moved = await client.patch(
        "/api/v1/workspace", json={"timezone": timezone}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text


async def test_monthly_count_follows_the_workspace_time_zone(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    # Auckland is UTC+12 in winter: its July starts at 2030-06-30T12:00Z
    await _tiny_plan_in(client, runtime, owner, "Pacific/Auckland")
    for when in ("2030-06-30T13:00:00Z", "2030-07-05T09:00:00Z"):  # both in Auckland's July
        await create_post(client, owner, [sandbox], scheduled_at=when)
    july = await _post(client, owner, _body(sandbox, scheduled_at="2030-07-20T09:00:00Z"))
    assert "2 scheduled posts a month" in assert_problem(july, 403)
    # 23:00 on 30 June in Auckland, then earlier in June: June there has room for both
    for when in ("2030-06-30T11:00:00Z", "2030-06-29T09:00:00Z"):
        june = await _post(client, owner, _body(sandbox, scheduled_at=when))
        assert june.status_code == 201, june.text


async def test_moving_a_delivery_counts_in_the_workspace_time_zone(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    # Los Angeles is UTC-7 in summer: its June ends at 2030-07-01T07:00Z
    await _tiny_plan_in(client, runtime, owner, "America/Los_Angeles")
    for when in ("2030-06-15T09:00:00Z", "2030-07-01T03:00:00Z"):  # both in LA's June
        await create_post(client, owner, [sandbox], scheduled_at=when)
    later = await create_post(client, owner, [sandbox], scheduled_at="2030-07-10T09:00:00Z")
    delivery = later["deliveries"][0]["id"]
    moved = await client.patch(
        f"/api/v1/deliveries/{delivery}",
        json={"scheduled_at": "2030-07-01T06:00:00Z"},  # 23:00 on 30 June in LA
        headers=owner.headers,
    )
    assert "2 scheduled posts a month" in assert_problem(moved, 403)
    moved = await client.patch(
        f"/api/v1/deliveries/{delivery}",
        json={"scheduled_at": "2030-07-01T07:00:00Z"},  # midnight on 1 July in LA
        headers=owner.headers,
    )
    assert moved.status_code == 200, moved.text


async def test_unknown_plan_unlocks_nothing(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, sandbox: str
) -> None:
    await set_plan(runtime, owner, "retired-plan")
    bad = await _post(client, owner, _body(sandbox, scheduled_at=in_future(days=1)))
    assert_problem(bad, 403)


# -- values no database can store (found by probing: each was an error 500) ----------------


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        pytest.param('"text": "a\\u0000b"', "text", "invalid_character", id="nul-text"),
        pytest.param('"notes": "\\u0000"', "notes", "invalid_character", id="nul-notes"),
        pytest.param('"text": "a\\ud800b"', "text", "invalid_character", id="lone-surrogate"),
        pytest.param(
            '"targets": [{"account_id": "ACCOUNT", "options": {"k\\u0000": 1}}]',
            "targets.0.options.k\x00",
            "invalid_character",
            id="nul-option-key",
        ),
        pytest.param(
            '"targets": [{"account_id": "ACCOUNT", "options": {"weight": NaN}}]',
            "targets.0.options.weight",
            "invalid_number",
            id="nan",
        ),
    ],
)
async def test_unstorable_values(
    client: httpx.AsyncClient, owner: Member, sandbox: str, raw: str, field: str, rule: str
) -> None:
    fields = {"text": '"hello"', "status": '"draft"'}
    fields["targets"] = f'[{{"account_id": "{sandbox}"}}]'
    name, _, value = raw.replace("ACCOUNT", sandbox).partition(": ")
    fields[name.strip('"')] = value
    content = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    headers = {**owner.headers, "content-type": "application/json"}
    response = await client.post(POSTS, content=content, headers=headers)
    assert_violation(response, field, rule)
    assert (await client.get(POSTS, headers=owner.headers)).json()["count"] == 0


async def test_unstorable_query_parameter(client: httpx.AsyncClient, owner: Member) -> None:
    response = await client.get(POSTS, params={"q": "a\x00"}, headers=owner.headers)
    assert_violation(response, "q", "invalid_character")


@pytest.mark.parametrize(
    "timing",
    [
        pytest.param({"scheduled_at": "9999-12-31T23:00:00Z"}, id="instant-9999"),
        pytest.param(
            {"scheduled_at": "9999-12-31T23:00:00Z", "recurrence": "FREQ=DAILY"},
            id="recurring-9999",
        ),
        pytest.param({"local_time": "9999-12-31T23:59", "timezone": "America/New_York"}, id="9999"),
        pytest.param({"local_time": "0001-01-01T00:00", "timezone": "Asia/Tokyo"}, id="year-1"),
    ],
)
async def test_times_near_the_calendar_limits(
    client: httpx.AsyncClient, owner: Member, sandbox: str, timing: dict[str, str]
) -> None:
    field = "scheduled_at" if "scheduled_at" in timing else "local_time"
    bad = await _post(client, owner, _body(sandbox, **timing))
    assert "year" in assert_violation(bad, field, "out_of_range")
    far = {k: v.replace("9999", "2999").replace("0001", "2999") for k, v in timing.items()}
    good = await _post(client, owner, _body(sandbox, **far))
    assert good.status_code == 201, good.text
