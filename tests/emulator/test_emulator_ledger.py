"""The shared ledger: its Python interface and `/_emulator/ledger`."""

from __future__ import annotations

import re
import time

import httpx

from postwright.platforms.emulator.clock import parse_rfc3339, rfc3339
from postwright.platforms.emulator.ledger import Ledger

AUTH = {"Authorization": "Bearer secret-token"}
RFC3339_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rfc3339_round_trips_microseconds() -> None:
    assert rfc3339(1_795_428_000.123456) == "2026-11-23T10:00:00.123456Z"
    assert parse_rfc3339("2026-11-23T10:00:00.123456Z") == 1_795_428_000.123456
    assert parse_rfc3339("2026-11-23T11:00:00+01:00") == 1_795_428_000.0


def test_a_replay_increments_received_count_without_storing_again() -> None:
    ledger = Ledger()

    first, created = ledger.record(
        platform="sandbox", account="a", text="t", received_at=1.0, idempotency_key="k"
    )
    again, replayed_created = ledger.record(
        platform="sandbox", account="a", text="t", received_at=2.0, idempotency_key="k"
    )

    assert created is True
    assert replayed_created is False
    assert again is first
    assert (first.received_count, first.first_received_at) == (2, 1.0)
    assert ledger.entries() == [first]


def test_idempotency_keys_are_forgotten_after_their_ttl() -> None:
    clock = FakeClock()
    ledger = Ledger(key_ttl=3600, clock=clock)
    first, _ = ledger.record(
        platform="sandbox", account="a", text="t", received_at=clock.now, idempotency_key="k"
    )

    clock.now += 3599
    within, within_created = ledger.record(
        platform="sandbox", account="a", text="t", received_at=clock.now, idempotency_key="k"
    )
    clock.now += 2
    after, after_created = ledger.record(
        platform="sandbox", account="a", text="t", received_at=clock.now, idempotency_key="k"
    )

    assert (within is first, within_created) == (True, False)
    assert after_created is True
    assert after.post_id != first.post_id


def test_a_key_of_a_deleted_post_stores_a_new_one() -> None:
    ledger = Ledger()
    first, _ = ledger.record(
        platform="sandbox", account="a", text="t", received_at=1.0, idempotency_key="k"
    )
    assert ledger.delete("sandbox", "a", first.post_id)

    second, created = ledger.record(
        platform="sandbox", account="a", text="t", received_at=2.0, idempotency_key="k"
    )

    assert created is True
    assert second.post_id != first.post_id
    assert ledger.delete("sandbox", "a", first.post_id) is False


def test_platforms_may_choose_their_post_ids() -> None:
    ledger = Ledger()

    post, _ = ledger.record(
        platform="bluesky", account="did:plc:x", text="t", received_at=1.0, post_id="3kabc"
    )

    assert ledger.get("bluesky", "did:plc:x", "3kabc") is post
    assert ledger.get("bluesky", "did:plc:y", "3kabc") is None


def test_recent_is_newest_first_with_since_and_limit() -> None:
    clock = FakeClock(100.0)
    ledger = Ledger(clock=clock)
    for text in ["a", "b", "c", "d"]:
        clock.now += 1
        ledger.record(platform="sandbox", account="x", text=text, received_at=clock.now)
    ledger.record(platform="sandbox", account="y", text="other", received_at=clock.now)

    assert [p.text for p in ledger.recent("sandbox", "x", limit=10)] == ["d", "c", "b", "a"]
    assert [p.text for p in ledger.recent("sandbox", "x", limit=2)] == ["d", "c"]
    assert [p.text for p in ledger.recent("sandbox", "x", since=102.0, limit=10)] == ["d", "c", "b"]
    assert ledger.recent("sandbox", "nobody", limit=10) == []


async def test_the_ledger_endpoint_lists_posts_in_arrival_order(
    client: httpx.AsyncClient,
) -> None:
    before = time.time()
    for account, text in [("alice", "one"), ("bob", "two"), ("alice", "three")]:
        response = await client.post(f"/sandbox/{account}/posts", json={"text": text}, headers=AUTH)
        assert response.status_code == 201
    after = time.time()

    entries = (await client.get("/_emulator/ledger")).json()

    assert [(e["account"], e["text"]) for e in entries] == [
        ("alice", "one"),
        ("bob", "two"),
        ("alice", "three"),
    ]
    for entry in entries:
        assert set(entry) == {
            "platform",
            "account",
            "post_id",
            "text",
            "received_count",
            "first_received_at",
        }
        assert entry["platform"] == "sandbox"
        assert entry["received_count"] == 1
        assert RFC3339_MICROS.match(entry["first_received_at"])
        assert before <= parse_rfc3339(entry["first_received_at"]) <= after


async def test_the_ledger_endpoint_filters_and_resets(client: httpx.AsyncClient) -> None:
    for account in ["alice", "bob", "bob"]:
        await client.post(f"/sandbox/{account}/posts", json={"text": "hi"}, headers=AUTH)

    bobs = (await client.get("/_emulator/ledger", params={"account": "bob"})).json()
    sandbox = (await client.get("/_emulator/ledger", params={"platform": "sandbox"})).json()
    nothing = (await client.get("/_emulator/ledger", params={"platform": "x"})).json()
    reset = await client.delete("/_emulator/ledger")
    after_reset = (await client.get("/_emulator/ledger")).json()

    assert [e["account"] for e in bobs] == ["bob", "bob"]
    assert len(sandbox) == 3
    assert nothing == []
    assert reset.status_code == 204
    assert after_reset == []


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/_emulator/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    # every platform the adapters publish to is served
    assert {"sandbox", "x", "mastodon", "bluesky", "facebook", "instagram", "threads"} <= set(
        body["platforms"]
    )
