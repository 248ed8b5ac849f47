"""Password guessing: failed logins per email and per client address, then 429 for a while."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from postwright.api.app import create_app
from postwright.domain.retry import RetryPolicy
from postwright.engine.jobs import default_jobs
from postwright.platforms.registry import AdapterRegistry
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store.tables import login_throttles
from tests.support.factories import PASSWORD, Member, assert_problem, make_member

LOGIN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
START = datetime(2030, 6, 10, 12, tzinfo=UTC)
LOCKOUT = timedelta(minutes=15)  # the default login_lockout_s


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    clock = Clock()
    runtime.clock = clock
    return clock


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


@asynccontextmanager
async def _client_at(runtime: Runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime), client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def _fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        assert (await _login(client, email, "not the password")).status_code == 401


def _throttled(response: httpx.Response) -> str:
    detail = assert_problem(response, 429)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/too-many-attempts")
    return detail


async def test_an_account_is_locked_after_five_failures_even_for_the_right_password(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    await _fail(client, owner.email, 5)
    locked = await _login(client, owner.email, PASSWORD)
    detail = _throttled(locked)
    assert locked.headers["retry-after"] == "900"
    assert "too many failed logins" in detail
    assert "try again in 15 minutes" in detail
    # the case and spaces of the email do not make it another account
    _throttled(await _login(client, " Owner@EXAMPLE.com", PASSWORD))

    clock.now += LOCKOUT - timedelta(seconds=30)
    later = await _login(client, owner.email, PASSWORD)
    assert later.headers["retry-after"] == "30"
    assert "try again in 30 seconds" in _throttled(later)

    clock.now += timedelta(seconds=30)
    assert (await _login(client, owner.email, PASSWORD)).status_code == 200


async def test_failures_outside_the_window_do_not_add_up(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    await _fail(client, owner.email, 4)
    clock.now += timedelta(minutes=15)
    await _fail(client, owner.email, 4)
    assert (await _login(client, owner.email, PASSWORD)).status_code == 200


async def test_a_successful_login_resets_the_account_count(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    for _ in range(3):
        await _fail(client, owner.email, 4)
        assert (await _login(client, owner.email, PASSWORD)).status_code == 200


async def test_a_lockout_does_not_tell_whether_the_email_exists(
    runtime: Runtime, clock: Clock, owner: Member
) -> None:
    answers = []
    for email, address in ((owner.email, "198.51.100.1"), ("nobody@example.com", "198.51.100.2")):
        async with _client_at(runtime, address) as client:
            failures = [await _login(client, email, "not the password") for _ in range(5)]
            assert len({r.text for r in failures}) == 1
            locked = await _login(client, email, "not the password")
            _throttled(locked)
            answers.append((failures[0].json(), locked.json(), locked.headers["retry-after"]))
    assert answers[0] == answers[1]


async def test_one_client_guessing_many_emails_is_refused(
    runtime: Runtime, clock: Clock, owner: Member
) -> None:
    async with _client_at(runtime, "203.0.113.7") as guesser:
        for i in range(19):
            await _fail(guesser, f"user{i}@example.com", 1)
        # logging in to an account of one's own does not reset the address's count
        assert (await _login(guesser, owner.email, PASSWORD)).status_code == 200
        await _fail(guesser, "user19@example.com", 1)
        _throttled(await _login(guesser, owner.email, PASSWORD))
        _throttled(await _login(guesser, "user20@example.com", "not the password"))
    # the same /64 is the same client; other addresses are not affected
    async with _client_at(runtime, "2001:db8:1:2::1") as first:
        for i in range(10):
            await _fail(first, f"v6-{i}@example.com", 1)
    async with _client_at(runtime, "2001:db8:1:2:ffff::9") as neighbour:
        for i in range(10, 20):
            await _fail(neighbour, f"v6-{i}@example.com", 1)
        _throttled(await _login(neighbour, owner.email, PASSWORD))
    async with _client_at(runtime, "203.0.113.8") as someone_else:
        assert (await _login(someone_else, owner.email, PASSWORD)).status_code == 200


async def test_limits_come_from_the_settings(runtime: Runtime, clock: Clock, owner: Member) -> None:
    runtime.settings.login_account_max_failures = 2
    runtime.settings.login_lockout_s = 60
    async with _client_at(runtime, "192.0.2.1") as client:
        await _fail(client, owner.email, 2)
        locked = await _login(client, owner.email, PASSWORD)
        _throttled(locked)
        assert locked.headers["retry-after"] == "60"
        clock.now += timedelta(seconds=60)
        assert (await _login(client, owner.email, PASSWORD)).status_code == 200
    runtime.settings.login_client_max_failures = 3
    async with _client_at(runtime, "192.0.2.2") as client:
        for email in ("a@example.com", "b@example.com", "c@example.com"):
            await _fail(client, email, 1)
        _throttled(await _login(client, owner.email, PASSWORD))


async def test_processes_share_the_count_through_the_database(
    settings: Settings, clock: Clock, owner: Member
) -> None:
    # two runtimes on one database: two `postwright serve` processes behind one proxy
    runtimes = [Runtime.from_settings(settings, clock=clock) for _ in range(2)]
    try:
        async with (
            _client_at(runtimes[0], "192.0.2.10") as one,
            _client_at(runtimes[1], "192.0.2.11") as two,
        ):
            # at the same time: no failure may be lost between the two
            answers = await asyncio.gather(
                *(_login(c, owner.email, "not the password") for c in (one, two, one, two, one))
            )
            assert [r.status_code for r in answers] == [401] * 5
            _throttled(await _login(one, owner.email, PASSWORD))
            _throttled(await _login(two, owner.email, PASSWORD))
    finally:
        for rt in runtimes:
            await rt.close()


async def test_a_lockout_is_in_the_audit_log_without_the_passwords(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    await _fail(client, owner.email, 5)
    response = await client.get("/api/v1/audit", headers=owner.headers)
    assert response.status_code == 200, response.text
    entries = [e for e in response.json()["data"] if e["action"] == "login.locked"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor_id"] is None
    assert entry["target_type"] == "user"
    assert entry["details"]["email"] == owner.email
    assert entry["details"]["client"] == "127.0.0.1"
    assert entry["details"]["failures"] == 5
    assert "not the password" not in response.text


async def test_refresh_is_not_throttled(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    pair = (await _login(client, owner.email, PASSWORD)).json()
    await _fail(client, owner.email, 5)
    _throttled(await _login(client, owner.email, PASSWORD))
    refreshed = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text


async def test_bad_input_does_not_count(
    client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    for _ in range(10):
        response = await client.post(LOGIN, json={"email": owner.email})
        assert response.status_code == 422
    assert (await _login(client, owner.email, PASSWORD)).status_code == 200


async def test_the_archive_job_forgets_counts_once_their_window_and_lockout_are_over(
    runtime: Runtime, client: httpx.AsyncClient, clock: Clock, owner: Member
) -> None:
    await _fail(client, owner.email, 5)  # locked
    await _fail(client, "other@example.com", 1)
    jobs = default_jobs(
        runtime,
        AdapterRegistry({}),
        worker_id="w",
        policy=RetryPolicy(),
        rng=random.Random(1),
        refreshers=[],
    )
    archive = next(job for job in jobs if job.name == "archive")

    async def remembered(after: timedelta) -> int:
        clock.now = START + after
        await archive.run()
        async with runtime.db.read() as conn:
            count = select(func.count()).select_from(login_throttles)
            return int((await conn.execute(count)).scalar_one())

    # two emails and one client address, while the window and the lockout last
    assert await remembered(timedelta(minutes=14)) == 3
    assert await remembered(LOCKOUT + timedelta(seconds=1)) == 0
