"""Fault injection, in process: every effect, matching, counts, probabilities, validation."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, create_app
from postwright.platforms.emulator.clock import parse_rfc3339
from postwright.platforms.emulator.faults import NO_FAULT, FaultBook, Verdict
from postwright.platforms.emulator.rules import FaultRule, StatusEffect

AUTH = {"Authorization": "Bearer secret-token"}


async def add_fault(client: httpx.AsyncClient, rule: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create(client: httpx.AsyncClient, account: str = "alice") -> httpx.Response:
    return await client.post(f"/sandbox/{account}/posts", json={"text": "hi"}, headers=AUTH)


async def ledger(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get("/_emulator/ledger")).json()
    return entries


async def test_adding_a_rule_echoes_it_with_an_id(client: httpx.AsyncClient) -> None:
    rule = {"match": {"platform": "sandbox"}, "effect": {"status": 503}, "count": 2}

    created = await add_fault(client, rule)
    listed = (await client.get("/_emulator/faults")).json()

    assert created == {
        "id": created["id"],
        **rule,
        "probability": None,
        "remaining": 2,
        "applied": 0,
    }
    assert listed == [created]


async def test_a_status_fault_answers_before_storing(client: httpx.AsyncClient) -> None:
    await add_fault(client, {"match": {}, "effect": {"status": 503}})

    response = await create(client)

    assert response.status_code == 503
    assert response.json() == {"error": "injected fault: HTTP 503", "field": None}
    assert "x-ratelimit-limit" in response.headers
    assert await ledger(client) == []


async def test_a_status_fault_can_carry_its_own_body(client: httpx.AsyncClient) -> None:
    body = {"error": "over capacity", "code": 130}
    await add_fault(client, {"effect": {"status": 400, "body": body}})

    response = await create(client)

    assert response.status_code == 400
    assert response.json() == body


async def test_a_rate_limit_fault_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await add_fault(client, {"effect": {"rate_limit": {"retry_after": 30}}})

    response = await create(client)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-limit"] == "100000"
    assert abs(int(response.headers["x-ratelimit-reset"]) - (time.time() + 30)) <= 2
    assert await ledger(client) == []


async def test_latency_delays_the_post_but_not_its_arrival_stamp(
    client: httpx.AsyncClient,
) -> None:
    await add_fault(client, {"effect": {"latency_ms": 200}})
    started = time.time()

    response = await create(client)

    elapsed = time.time() - started
    assert response.status_code == 201
    assert elapsed >= 0.2
    (entry,) = await ledger(client)
    received = parse_rfc3339(entry["first_received_at"])
    created = parse_rfc3339(response.json()["created_at"])
    assert started <= received < started + 0.1
    assert created - received >= 0.2


async def test_latency_adds_up_with_a_terminal_effect(client: httpx.AsyncClient) -> None:
    await add_fault(client, {"effect": {"status": 502}})
    await add_fault(client, {"effect": {"latency_ms": 50}})
    started = time.monotonic()

    response = await create(client)

    assert response.status_code == 502
    assert time.monotonic() - started >= 0.05


async def test_a_counted_rule_expires_after_its_count(client: httpx.AsyncClient) -> None:
    rule = await add_fault(client, {"effect": {"status": 500}, "count": 2})

    first = await create(client)
    after_one = (await client.get("/_emulator/faults")).json()
    second = await create(client)
    after_two = (await client.get("/_emulator/faults")).json()
    third = await create(client)

    assert [first.status_code, second.status_code, third.status_code] == [500, 500, 201]
    assert [(r["id"], r["remaining"], r["applied"]) for r in after_one] == [(rule["id"], 1, 1)]
    assert after_two == []
    assert len(await ledger(client)) == 1


async def probability_pattern(app: EmulatorApp, *, reseed: int | None = None) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        if reseed is not None:
            seeded = await client.post("/_emulator/seed", json={"seed": reseed})
            assert seeded.json() == {"seed": reseed}
        await add_fault(client, {"effect": {"status": 503}, "probability": 0.5})
        return [(await create(client)).status_code for _ in range(30)]


async def test_probability_is_deterministic_for_a_seed() -> None:
    first = await probability_pattern(create_app(seed=7))
    second = await probability_pattern(create_app(seed=7))
    reseeded = await probability_pattern(create_app(seed=99), reseed=7)
    other_seed = await probability_pattern(create_app(seed=8))

    assert first == second == reseeded
    assert first != other_seed
    assert set(first) == {201, 503}
    assert 5 <= first.count(503) <= 25


@pytest.mark.parametrize(("probability", "expected"), [(0.0, 201), (1.0, 503)])
async def test_probability_bounds(
    client: httpx.AsyncClient, probability: float, expected: int
) -> None:
    await add_fault(client, {"effect": {"status": 503}, "probability": probability})

    statuses = {(await create(client)).status_code for _ in range(10)}

    assert statuses == {expected}


async def test_rules_match_by_account(client: httpx.AsyncClient) -> None:
    await add_fault(
        client, {"match": {"platform": "sandbox", "account": "bob"}, "effect": {"status": 503}}
    )

    alice = await create(client, "alice")
    bob = await create(client, "bob")

    assert alice.status_code == 201
    assert bob.status_code == 503


async def test_rules_without_a_path_only_touch_post_creating_requests(
    client: httpx.AsyncClient,
) -> None:
    post_id = (await create(client)).json()["id"]
    await add_fault(client, {"effect": {"status": 503}})

    listing = await client.get("/sandbox/alice/posts", headers=AUTH)
    metrics = await client.get(f"/sandbox/alice/posts/{post_id}/metrics", headers=AUTH)
    health = await client.get("/_emulator/health")

    assert listing.status_code == 200
    assert metrics.status_code == 200
    assert health.status_code == 200


async def test_a_path_rule_reaches_any_matching_platform_request(
    client: httpx.AsyncClient,
) -> None:
    post_id = (await create(client)).json()["id"]
    await add_fault(
        client, {"match": {"path": "/sandbox/*/posts/*/metrics"}, "effect": {"status": 500}}
    )
    await add_fault(
        client,
        {
            "match": {"path": "/sandbox/alice/posts/*", "method": "delete"},
            "effect": {"status": 502},
        },
    )

    metrics = await client.get(f"/sandbox/alice/posts/{post_id}/metrics", headers=AUTH)
    fetched = await client.get(f"/sandbox/alice/posts/{post_id}", headers=AUTH)
    deleted = await client.delete(f"/sandbox/alice/posts/{post_id}", headers=AUTH)
    created = await create(client)

    assert metrics.status_code == 500
    assert fetched.status_code == 200
    assert deleted.status_code == 502
    assert created.status_code == 201


async def test_the_first_terminal_rule_wins_and_only_it_is_spent(
    client: httpx.AsyncClient,
) -> None:
    first = await add_fault(client, {"effect": {"status": 500}, "count": 1})
    second = await add_fault(client, {"effect": {"status": 503}, "count": 1})

    statuses = [(await create(client)).status_code for _ in range(3)]

    assert statuses == [500, 503, 201]
    assert first["id"] != second["id"]


async def test_rules_can_be_withdrawn_one_or_all(client: httpx.AsyncClient) -> None:
    one = await add_fault(client, {"effect": {"status": 500}})
    two = await add_fault(client, {"effect": {"status": 503}})

    removed = await client.delete(f"/_emulator/faults/{one['id']}")
    unknown = await client.delete(f"/_emulator/faults/{one['id']}")
    remaining = (await client.get("/_emulator/faults")).json()
    cleared = await client.delete("/_emulator/faults")

    assert removed.status_code == 204
    assert unknown.status_code == 404
    assert [r["id"] for r in remaining] == [two["id"]]
    assert cleared.status_code == 204
    assert (await client.get("/_emulator/faults")).json() == []
    assert (await create(client)).status_code == 201


async def test_reset_after_store_in_process_raises_connection_reset(
    client: httpx.AsyncClient,
) -> None:
    # Without a real socket there is no connection to drop: the app raises instead
    # (tests/emulator/test_emulator_live.py checks the real thing).
    await add_fault(client, {"effect": {"reset_after_store": True}, "count": 1})

    with pytest.raises(ConnectionResetError):
        await create(client)

    assert [e["received_count"] for e in await ledger(client)] == [1]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "effect: Field required"),
        ({"effect": {}}, "effect must be an object with exactly one of"),
        ({"effect": {"status": 503, "latency_ms": 5}}, "exactly one of"),
        ({"effect": {"explode": True}}, "exactly one of"),
        (
            {"effect": {"status": 200}},
            "effect.status: Input should be greater than or equal to 400",
        ),
        ({"effect": {"status": 600}}, "effect.status: Input should be less than or equal to 599"),
        ({"effect": {"rate_limit": {}}}, "effect.rate_limit.retry_after: Field required"),
        ({"effect": {"rate_limit": {"retry_after": -1}}}, "effect.rate_limit.retry_after"),
        ({"effect": {"latency_ms": -5}}, "effect.latency_ms"),
        ({"effect": {"timeout_after_store": False}}, "effect.timeout_after_store"),
        ({"effect": {"reset_after_store": "yes"}}, "effect.reset_after_store"),
        ({"effect": {"status": 503}, "count": 0}, "count: Input should be greater than or equal"),
        ({"effect": {"status": 503}, "probability": 1.5}, "probability: Input should be less"),
        ({"effect": {"status": 503}, "when": "now"}, "when: Extra inputs are not permitted"),
        ({"match": {"acount": "a"}, "effect": {"status": 503}}, "match.acount: Extra inputs"),
        ({"match": {"method": "GET"}, "effect": {"status": 503}}, "'method' only narrows a 'path'"),
        ({"match": {"platform": "myspace"}, "effect": {"status": 503}}, "'myspace' is not served"),
        ([], "Input should be an object"),
    ],
)
async def test_invalid_rules_are_422_with_a_clear_message(
    client: httpx.AsyncClient, rule: object, message: str
) -> None:
    response = await client.post("/_emulator/faults", json=rule)

    assert response.status_code == 422
    assert response.json()["error"].startswith("invalid fault rule: ")
    assert message in response.json()["error"]
    assert (await client.get("/_emulator/faults")).json() == []


async def test_a_rule_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/_emulator/faults", content=b"{oops")

    assert response.status_code == 422
    assert "invalid fault rule" in response.json()["error"]


@pytest.mark.parametrize("body", [{}, {"seed": "seven"}, {"seed": 1, "extra": 2}])
async def test_a_bad_seed_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/_emulator/seed", json=body)

    assert response.status_code == 422
    assert response.json()["error"].startswith("invalid seed: ")


def draw(book: FaultBook, *, platform: str = "sandbox", account: str = "alice") -> Verdict:
    return book.draw(platform=platform, account=account, method="POST", path="/any", creates=True)


def test_rules_match_by_platform() -> None:
    book = FaultBook()
    book.add(FaultRule.model_validate({"match": {"platform": "x"}, "effect": {"status": 503}}))

    assert draw(book, platform="sandbox") is NO_FAULT
    assert draw(book, platform="x") == Verdict(effect=StatusEffect(status=503))


def test_every_firing_latency_rule_adds_up() -> None:
    book = FaultBook()
    for rule in [
        {"effect": {"latency_ms": 10}},
        {"effect": {"status": 500}, "count": 1},
        {"effect": {"latency_ms": 5}, "count": 1},
        {"match": {"account": "bob"}, "effect": {"latency_ms": 1000}},
    ]:
        book.add(FaultRule.model_validate(rule))

    first = draw(book)
    second = draw(book)

    assert first == Verdict(latency_ms=15, effect=StatusEffect(status=500))
    assert second == Verdict(latency_ms=10)
    assert [active.applied for active in book.rules()] == [2, 0]
