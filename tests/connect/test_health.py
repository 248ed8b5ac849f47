"""Account health: platform answers mapped to suspended/restricted, tokens that cannot be refreshed
warned about ahead and marked once past, deliveries of unhealthy accounts held with the reason
shown, and released (under the catch-up policy) when the account is reconnected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from postwright.auth.refresh import TokenRefresher
from postwright.domain.errors import AuthNeeded, Permanent, Retryable
from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.engine.service import EngineService
from postwright.platforms.account_signals import account_signal, session_status_signal
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services import posts as post_service
from postwright.services.account_health import check_token_health, expiry_verdict
from postwright.settings import Settings
from postwright.store.tables import accounts, audit_log, deliveries, workspaces
from tests.support.account_flows import (
    FakeTokenEndpoints,
    client,
    emulator,
    flow_settings,
    owner,
    principal_of,
    save_account,
    token_row,
)
from tests.support.factories import Member

__all__ = ["client", "emulator", "owner"]  # fixtures

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.fixture
def settings(database_url: str, tmp_path: Any, emulator: BackgroundEmulator) -> Settings:
    return flow_settings(database_url, tmp_path, emulator.url, catch_up_spacing_s=1.0)


# -- what platforms say --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "error", "status"),
    [
        (
            "mastodon",
            AuthNeeded("Mastodon refused the access token: Your login is currently disabled"),
            "suspended",
        ),
        (
            "mastodon",
            AuthNeeded(
                "Mastodon refused the access token: Your login is missing a confirmed e-mail "
                "address"
            ),
            "restricted",
        ),
        (
            "bluesky",
            AuthNeeded(
                "Bluesky refused the session (AccountTakedown: Account has been taken down)"
            ),
            "suspended",
        ),
        (
            "bluesky",
            Permanent("Bluesky refused the post: x", platform_code="AccountDeactivated"),
            "restricted",
        ),
        ("x", AuthNeeded("X refused the access token: Your account is suspended"), "suspended"),
        ("x", Permanent("X refused the request: ... [code 326]"), "restricted"),
        (
            "instagram",
            Permanent("Instagram refused it: blocked", platform_code="368/1390008"),
            "restricted",
        ),
        (
            "facebook",
            AuthNeeded("Facebook refused the access token: checkpoint [code 190/459]"),
            "restricted",
        ),
    ],
)
def test_platform_signals(platform: str, error: Exception, status: str) -> None:
    signal = account_signal(platform, error)
    assert signal is not None
    assert signal.status == status
    assert str(error).splitlines()[0][:40] in signal.reason


@pytest.mark.parametrize(
    ("platform", "error"),
    [
        ("mastodon", AuthNeeded("Mastodon refused the access token: The access token is invalid")),
        ("x", AuthNeeded("X refused the access token: Unauthorized")),
        ("instagram", AuthNeeded("Instagram refused the access token: expired [code 190/463]")),
        ("bluesky", Retryable("Bluesky answered 502 (AccountTakedown)")),  # not an account answer
        ("mastodon", AuthNeeded("Bluesky ... AccountTakedown")),  # another platform's words
    ],
)
def test_other_answers_say_nothing_about_the_account(platform: str, error: Exception) -> None:
    assert account_signal(platform, error) is None


def test_bluesky_session_status() -> None:
    assert session_status_signal(True, None) is None
    assert session_status_signal(None, None) is None
    down = session_status_signal(False, "takendown")
    assert down is not None
    assert down.status == "suspended"
    off = session_status_signal(False, "deactivated")
    assert off is not None
    assert off.status == "restricted"
    odd = session_status_signal(False, "something-new")
    assert odd is not None
    assert "something-new" in odd.reason


def test_expiry_verdict() -> None:
    def verdict(left: timedelta) -> tuple[str, str] | None:
        return expiry_verdict(platform="linkedin", expires_at=NOW + left, now=NOW, warn=WEEK)

    assert verdict(timedelta(days=30)) is None
    assert expiry_verdict(platform="linkedin", expires_at=None, now=NOW, warn=WEEK) is None
    expiring = verdict(timedelta(days=3))
    assert expiring == (
        "expiring",
        "the LinkedIn token expires on 2026-12-04 12:00:00 UTC and cannot be renewed "
        "automatically; reconnect the account before then",
    )
    assert verdict(-timedelta(minutes=1)) == (
        "needs_reconnect",
        "the LinkedIn token expired on 2026-12-01 11:59:00 UTC; reconnect the account",
    )


# -- the periodic check --------------------------------------------------------------------------


def _can_refresh(settings: Settings) -> Any:
    return TokenRefresher(settings).can_refresh


async def _linkedin(
    rt: Runtime, owner: Member, *, days: float, refresh: bool = False, n: int = 1
) -> uuid.UUID:
    credentials = {"access_token": f"li-token-{n}"}
    if refresh:
        credentials["refresh_token"] = f"li-refresh-{n}"
    return await save_account(
        rt,
        owner,
        Platform.LINKEDIN,
        external_id=f"urn:li:person:{n}",
        handle=f"member{n}",
        credentials=credentials,
        expires_in_s=days * 86400,
    )


async def _schedule(
    rt: Runtime, owner: Member, account_id: uuid.UUID, text: str, *, in_s: float = 3600
) -> uuid.UUID:
    view = await post_service.create_post(
        rt,
        principal_of(owner),
        post_service.PostCreate(
            text=text,
            targets=[post_service.TargetIn(account_id=account_id)],
            scheduled_at=(rt.now() + timedelta(seconds=in_s)).isoformat(),
        ),
    )
    return view.deliveries[0].id


async def _delivery(rt: Runtime, delivery_id: uuid.UUID) -> Any:
    async with rt.db.read() as conn:
        return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()


async def test_tokens_that_cannot_be_refreshed_are_warned_about_then_marked(
    runtime: Runtime, owner: Member, client: httpx.AsyncClient
) -> None:
    soon = await _linkedin(runtime, owner, days=3, n=1)
    gone = await _linkedin(runtime, owner, days=-0.01, n=2)
    partner = await _linkedin(runtime, owner, days=3, refresh=True, n=3)
    far = await _linkedin(runtime, owner, days=40, n=4)
    waiting = await _schedule(runtime, owner, soon, "still goes out")
    held = await _schedule(runtime, owner, gone, "waits for a person")

    result = await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    assert result == {"expiring": 1, "expired": 1, "recovered": 0}

    soon_row = await token_row(runtime, soon)
    assert soon_row.status == AccountStatus.EXPIRING
    assert soon_row.status_reason is not None
    assert soon_row.status_reason.startswith("the LinkedIn token expires on ")
    assert (await _delivery(runtime, waiting)).hold_reason is None  # expiring still publishes
    gone_row = await token_row(runtime, gone)
    assert gone_row.status == AccountStatus.NEEDS_RECONNECT
    assert gone_row.status_reason is not None
    assert (await _delivery(runtime, held)).hold_reason == (
        f"the linkedin account member2 needs reconnecting: {gone_row.status_reason}"
    )
    assert (await token_row(runtime, partner)).status == AccountStatus.ACTIVE  # refreshable
    assert (await token_row(runtime, far)).status == AccountStatus.ACTIVE

    # the API says why the delivery waits, and what to do
    listed = await client.get(
        "/api/v1/deliveries", params={"account_id": str(gone)}, headers=owner.headers
    )
    assert listed.status_code == 200, listed.text
    [item] = [d for d in listed.json()["data"] if d["id"] == str(held)]
    assert item["account"]["status"] == "needs_reconnect"
    assert item["reason"] is not None
    assert "needs reconnecting" in item["reason"]
    assert "reconnect_account" in item["actions"]
    assert "li-token" not in listed.text

    # audited, without secrets
    async with runtime.db.read() as conn:
        entries = (
            await conn.execute(
                select(audit_log).where(audit_log.c.action == "account.health_changed")
            )
        ).all()
    assert sorted(e.details["to"] for e in entries) == ["expiring", "needs_reconnect"]
    assert "li-token" not in str([e.details for e in entries])

    # a second run changes nothing
    again = await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    assert again == {"expiring": 0, "expired": 0, "recovered": 0}


async def test_an_expiring_account_recovers_when_its_token_is_renewed(
    runtime: Runtime, owner: Member
) -> None:
    account = await _linkedin(runtime, owner, days=2)
    await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    assert (await token_row(runtime, account)).status == AccountStatus.EXPIRING
    # reconnected (a new 60-day token): active again at once, by the connect flow
    await _linkedin(runtime, owner, days=60)
    row = await token_row(runtime, account)
    assert (row.status, row.status_reason) == (AccountStatus.ACTIVE, None)
    # or renewed by other means: the check lifts the warning
    await _linkedin(runtime, owner, days=2)
    await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    async with runtime.db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account)
            .values(token_expires_at=runtime.now() + timedelta(days=50))
        )
    result = await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    assert result["recovered"] == 1
    row = await token_row(runtime, account)
    assert (row.status, row.status_reason) == (AccountStatus.ACTIVE, None)


async def test_the_warning_follows_the_setting(runtime: Runtime, owner: Member) -> None:
    account = await _linkedin(runtime, owner, days=3)
    short = runtime.settings.model_copy(update={"token_expiry_warning_days": 2})
    rt = Runtime(
        settings=short,
        db=runtime.db,
        secret_key=runtime.secret_key,
        secretbox=runtime.secretbox,
        plans=runtime.plans,
    )
    await check_token_health(rt, can_refresh=_can_refresh(short))
    assert (await token_row(runtime, account)).status == AccountStatus.ACTIVE


async def test_the_refresh_job_runs_the_check(runtime: Runtime, owner: Member) -> None:
    account = await _linkedin(runtime, owner, days=1)
    result = await TokenRefresher(runtime.settings).refresh_due(runtime)
    assert result["expiring"] == 1
    assert (await token_row(runtime, account)).status == AccountStatus.EXPIRING


async def test_paused_accounts_stay_paused(runtime: Runtime, owner: Member) -> None:
    account = await _linkedin(runtime, owner, days=-1)
    async with runtime.db.write() as conn:
        await conn.execute(update(accounts).where(accounts.c.id == account).values(status="paused"))
    await check_token_health(runtime, can_refresh=_can_refresh(runtime.settings))
    assert (await token_row(runtime, account)).status == AccountStatus.PAUSED


# -- through the engine --------------------------------------------------------------------------


async def _wait(check: Any, *, what: str, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.05)


async def test_a_suspended_account_holds_its_deliveries(
    runtime: Runtime, owner: Member, emulator: BackgroundEmulator, client: httpx.AsyncClient
) -> None:
    account = await save_account(
        runtime,
        owner,
        Platform.MASTODON,
        external_id="109000000000000001",
        handle="@brand@mastodon.example",
        # the emulated instance answers 403 "Your login is currently disabled" to this token
        credentials={"access_token": "disabled-token"},
        expires_in_s=None,
        options={"instance_url": emulator.url},
    )
    first = await _schedule(runtime, owner, account, "first", in_s=0.4)
    second = await _schedule(runtime, owner, account, "second", in_s=3600)
    engine = EngineService(runtime)
    await engine.start()
    try:

        async def suspended() -> bool:
            return (await token_row(runtime, account)).status == AccountStatus.SUSPENDED

        await _wait(suspended, what="the suspension")
    finally:
        await engine.stop()
    row = await token_row(runtime, account)
    assert row.status_reason is not None
    assert row.status_reason.startswith("the instance disabled or suspended the account")
    for delivery_id in (first, second):
        held = await _delivery(runtime, delivery_id)
        assert held.state == "scheduled"
        assert held.hold_reason == (
            f"mastodon suspended the account @brand@mastodon.example: {row.status_reason}"
        )
    assert (await _delivery(runtime, first)).attempts == 0
    got = await client.get(f"/api/v1/deliveries/{first}", headers=owner.headers)
    assert got.json()["account"]["status"] == "suspended"
    assert "suspended" in got.json()["reason"]
    assert emulator.app.ledger.entries() == []


async def test_revoked_then_reconnected_publishes_under_the_catch_up_policy(
    runtime: Runtime, owner: Member, emulator: BackgroundEmulator
) -> None:
    """The issue's story: a refresh token is revoked, the account needs reconnecting and its
    deliveries wait (overdue by now); a person reconnects; they go out, spread apart."""
    fake = FakeTokenEndpoints()
    account = await save_account(
        runtime,
        owner,
        Platform.X,
        external_id="2244994945",
        handle="brand",
        credentials={"access_token": "expired-1", "refresh_token": "rt-revoked"},
        expires_in_s=300,
    )
    first = await _schedule(runtime, owner, account, "one", in_s=0.4)
    second = await _schedule(runtime, owner, account, "two", in_s=0.5)
    engine = EngineService(
        runtime, refreshers=[TokenRefresher(runtime.settings, transport=fake.transport())]
    )
    await engine.start()
    try:

        async def held() -> bool:
            if (await token_row(runtime, account)).status != AccountStatus.NEEDS_RECONNECT:
                return False
            rows = [await _delivery(runtime, d) for d in (first, second)]
            return all(
                r.state == "scheduled" and "needs reconnecting" in (r.hold_reason or "")
                for r in rows
            )

        await _wait(held, what="needs_reconnect, with both deliveries held")
        assert emulator.app.ledger.entries() == []
        # they became overdue while the account waited for a person
        async with runtime.db.write() as conn:
            past = runtime.now() - timedelta(minutes=10)
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_([first, second]))
                .values(due_at=past, scheduled_at=past)
            )
            await conn.execute(update(workspaces).values(catch_up_policy="spread"))
        # a person reconnects the same account
        same = await save_account(
            runtime,
            owner,
            Platform.X,
            external_id="2244994945",
            handle="brand",
            credentials={
                "access_token": fake.issue_access(),
                "refresh_token": fake.issue_refresh(),
            },
            expires_in_s=7200,
        )
        assert same == account

        async def both_published() -> bool:
            rows = [await _delivery(runtime, d) for d in (first, second)]
            return all(r.state == "published" for r in rows)

        await _wait(both_published, what="publishing after the reconnect")
    finally:
        await engine.stop()
    rows = sorted(
        [await _delivery(runtime, d) for d in (first, second)], key=lambda r: r.published_at
    )
    assert rows[1].published_at - rows[0].published_at >= timedelta(seconds=0.9)
    assert all(r.hold_reason is None for r in rows)
    assert sorted(p.text for p in emulator.app.ledger.entries()) == ["one", "two"]
    row = await token_row(runtime, account)
    assert (row.status, row.status_reason) == (AccountStatus.ACTIVE, None)
