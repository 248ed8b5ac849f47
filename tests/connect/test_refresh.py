"""Token refresh: each platform's refresh call and window, the periodic job, rotated refresh
tokens kept (never an empty one over a good one), refreshes serialized across workers, a refused
refresh making the account `needs_reconnect`, and the worker's refresh-and-retry-once; then a
Bluesky session refreshed, and revoked, on the emulated PDS."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from postwright.auth.refresh import (
    BlueskyRefresh,
    MetaLongLivedRefresh,
    OAuth2Refresh,
    RefreshRejected,
    RefreshUnavailable,
    TokenRefresher,
    default_refreshers,
    jwt_expiry,
    platform_refreshes,
)
from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.engine.service import EngineService
from postwright.platforms.emulator import bluesky as emulator_bluesky
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store.tables import attempts, audit_log, deliveries
from tests.support.account_flows import (
    CONNECT,
    FakeTokenEndpoints,
    client,
    credentials_of,
    emulator,
    owner,
    principal_of,
    save_account,
    settings,
    token_row,
)
from tests.support.factories import Member

__all__ = ["client", "emulator", "owner", "settings"]  # fixtures

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# -- each platform's call, without a database ------------------------------------------------


def _handler(
    answer: httpx.Response, seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return handle


async def _call(
    how: Any, answer: httpx.Response, credentials: dict[str, Any], **options: Any
) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(_handler(answer, seen))) as c:
        result = await how.refresh(c, credentials=credentials, options=options, now=NOW)
    return result, seen


def _x(secret: str | None = None) -> OAuth2Refresh:
    return OAuth2Refresh(
        platform=Platform.X,
        name="X",
        token_url="https://api.x.test/2/oauth2/token",
        client_id="pw-x",
        client_secret=secret,
        ahead=timedelta(minutes=15),
    )


async def test_x_refresh_grant_public_client() -> None:
    answer = httpx.Response(
        200,
        json={"access_token": "A2", "refresh_token": "R2", "expires_in": 7200, "scope": "x"},
    )
    result, [request] = await _call(_x(), answer, {"access_token": "A1", "refresh_token": "R1"})
    assert request.url == "https://api.x.test/2/oauth2/token"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {"grant_type": "refresh_token", "refresh_token": "R1", "client_id": "pw-x"}
    assert "authorization" not in request.headers
    assert result.credentials == {"access_token": "A2", "refresh_token": "R2"}
    assert result.expires_at == NOW + timedelta(hours=2)


async def test_confidential_clients_use_basic_auth() -> None:
    answer = httpx.Response(200, json={"access_token": "A2", "expires_in": 3600})
    result, [request] = await _call(_x("s3cret"), answer, {"refresh_token": "R1"})
    expected = "Basic " + base64.b64encode(b"pw-x:s3cret").decode()
    assert request.headers["authorization"] == expected
    assert "client_id" not in request.content.decode()
    assert result.credentials == {"access_token": "A2"}  # no refresh token sent: none here


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "revoked"}),
            RefreshRejected,
            "X refused the refresh token (invalid_grant: revoked)",
        ),
        (
            httpx.Response(401, json={"error": "unauthorized_client"}),
            RefreshUnavailable,
            "client credentials",
        ),
        (httpx.Response(503, text="busy"), RefreshUnavailable, "answered 503"),
        (httpx.Response(429, json={}), RefreshUnavailable, "answered 429"),
        (httpx.Response(200, json={"token_type": "bearer"}), RefreshUnavailable, "without"),
    ],
)
async def test_x_refusals(answer: httpx.Response, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        await _call(_x(), answer, {"refresh_token": "R1-secret-value"})
    assert words in str(caught.value)
    assert "R1-secret-value" not in str(caught.value)


async def test_transport_errors_are_temporary_and_say_nothing_of_the_request() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    how = platform_refreshes(Settings())[Platform.INSTAGRAM]
    async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as c:
        with pytest.raises(RefreshUnavailable) as caught:
            await how.refresh(c, credentials={"access_token": "IGSECRET"}, options={}, now=NOW)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert "IGSECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("platform", "grant"), [(Platform.INSTAGRAM, "ig_refresh_token"), (Platform.THREADS, "th_")]
)
async def test_meta_long_lived_refresh(platform: Platform, grant: str) -> None:
    how = platform_refreshes(Settings())[platform]
    answer = httpx.Response(200, json={"access_token": "L2", "expires_in": 5184000})
    result, [request] = await _call(how, answer, {"access_token": "L1"})
    assert request.method == "GET"
    assert request.url.path == "/refresh_access_token"
    assert request.url.params["grant_type"].startswith(grant)
    assert request.url.params["access_token"] == "L1"
    assert result.credentials == {"access_token": "L2", "issued_at": NOW.isoformat()}
    assert result.expires_at == NOW + timedelta(days=60)
    refused = httpx.Response(400, json={"error": {"message": "Session expired", "code": 190}})
    with pytest.raises(RefreshRejected, match="code 190"):
        await _call(how, refused, {"access_token": "L1"})


def test_meta_refresh_window() -> None:
    how = MetaLongLivedRefresh(
        platform=Platform.INSTAGRAM, name="Instagram", url="u", grant_type="ig_refresh_token"
    )

    def due(days_left: float, age_h: float | None) -> bool:
        credentials = {"access_token": "t"}
        if age_h is not None:
            credentials["issued_at"] = (NOW - timedelta(hours=age_h)).isoformat()
        return how.due(expires_at=NOW + timedelta(days=days_left), credentials=credentials, now=NOW)

    assert not due(30, 24 * 30)  # plenty left
    assert due(6, 48)  # < 7 days left, old enough
    assert not due(6, 2)  # < 24 h old: Meta refuses
    assert due(6, None)  # age unknown: try
    assert not due(-1, 48)  # expired: only a person can help
    assert how.can_refresh({"access_token": "t"}, {})
    assert not how.can_refresh({"access_token": "t"}, {"login": "facebook"})


async def test_bluesky_refresh_session() -> None:
    how = BlueskyRefresh(default_service="https://bsky.test")
    answer = httpx.Response(
        200,
        json={"accessJwt": "AJ2", "refreshJwt": "RJ2", "did": "did:plc:x", "active": True},
    )
    result, [request] = await _call(
        how, answer, {"refresh_jwt": "RJ1", "access_jwt": "AJ1"}, service="https://pds.test/"
    )
    assert request.url == "https://pds.test/xrpc/com.atproto.server.refreshSession"
    assert request.headers["authorization"] == "Bearer RJ1"
    assert result.credentials == {"access_jwt": "AJ2", "refresh_jwt": "RJ2", "did": "did:plc:x"}
    assert result.expires_at == NOW + timedelta(hours=2)  # not a JWT here: the documented 2 h
    assert result.account_status is None
    down = httpx.Response(
        200,
        json={"accessJwt": "a", "refreshJwt": "r", "active": False, "status": "takendown"},
    )
    result, _ = await _call(how, down, {"refresh_jwt": "RJ1"})
    assert result.account_status == ("suspended", "Bluesky took the account down")
    for error in ("ExpiredToken", "InvalidToken"):
        refused = httpx.Response(400, json={"error": error, "message": "Token has expired"})
        with pytest.raises(RefreshRejected, match=error):
            await _call(how, refused, {"refresh_jwt": "RJ1"})
    takedown = httpx.Response(400, json={"error": "AccountTakedown", "message": "gone"})
    with pytest.raises(RefreshRejected, match="took the account down"):
        await _call(how, takedown, {"refresh_jwt": "RJ1"})


def test_windows_and_what_can_be_refreshed() -> None:
    refreshes = platform_refreshes(Settings(x_client_id="x"))
    x = refreshes[Platform.X]
    assert x.due(expires_at=NOW + timedelta(minutes=14), credentials={}, now=NOW)
    assert not x.due(expires_at=NOW + timedelta(minutes=16), credentials={}, now=NOW)
    assert refreshes[Platform.REDDIT].due(
        expires_at=NOW + timedelta(minutes=10), credentials={}, now=NOW
    )
    assert refreshes[Platform.BLUESKY].due(
        expires_at=NOW + timedelta(minutes=10), credentials={}, now=NOW
    )
    linkedin = refreshes[Platform.LINKEDIN]
    assert not linkedin.can_refresh({"access_token": "t"}, {})  # no partner refresh token
    assert linkedin.can_refresh({"access_token": "t", "refresh_token": "r"}, {})
    assert not x.can_refresh({"access_token": "t"}, {})  # no offline.access
    assert Platform.MASTODON not in refreshes
    assert Platform.FACEBOOK not in refreshes


def test_token_urls_follow_the_settings() -> None:
    settings = Settings(
        oauth_urls={
            "x.token": "http://127.0.0.1:9/2/oauth2/token",
            "instagram.graph": "http://127.0.0.1:9/instagram",
        }
    )
    refreshes = platform_refreshes(settings)
    assert refreshes[Platform.X].token_url == "http://127.0.0.1:9/2/oauth2/token"  # type: ignore[attr-defined]
    assert refreshes[Platform.INSTAGRAM].url == (  # type: ignore[attr-defined]
        "http://127.0.0.1:9/instagram/refresh_access_token"
    )
    assert refreshes[Platform.REDDIT].token_url == (  # type: ignore[attr-defined]
        "https://www.reddit.com/api/v1/access_token"
    )


# -- the periodic job, on the database --------------------------------------------------------


def _refresher(settings: Settings, fake: FakeTokenEndpoints) -> TokenRefresher:
    return TokenRefresher(settings, transport=fake.transport())


async def _x_account(
    rt: Runtime, owner: Member, fake: FakeTokenEndpoints, *, expires_in_s: float, n: int = 1
) -> uuid.UUID:
    return await save_account(
        rt,
        owner,
        Platform.X,
        external_id=str(1000 + n),
        credentials={"access_token": fake.issue_access(), "refresh_token": fake.issue_refresh()},
        expires_in_s=expires_in_s,
    )


async def test_the_job_refreshes_what_is_due_and_keeps_the_rotated_token(
    runtime: Runtime, owner: Member
) -> None:
    fake = FakeTokenEndpoints()
    due = await _x_account(runtime, owner, fake, expires_in_s=600, n=1)
    later = await _x_account(runtime, owner, fake, expires_in_s=3600, n=2)
    before_due = await credentials_of(runtime, due)
    before_later = await credentials_of(runtime, later)

    result = await _refresher(runtime.settings, fake).refresh_due(runtime)
    assert result["refreshed"] == 1
    assert result["rejected"] == 0
    assert fake.calls == ["/2/oauth2/token"]

    after = await credentials_of(runtime, due)
    assert after["access_token"] != before_due["access_token"]
    assert after["refresh_token"] != before_due["refresh_token"]
    assert after["refresh_token"] in fake.valid_refresh, "the rotated refresh token is stored"
    row = await token_row(runtime, due)
    assert row.token_expires_at is not None
    assert row.token_expires_at - runtime.now() > timedelta(hours=1, minutes=59)
    assert await credentials_of(runtime, later) == before_later

    # run again: nothing is due any more
    fake.calls.clear()
    again = await _refresher(runtime.settings, fake).refresh_due(runtime)
    assert again["refreshed"] == 0
    assert fake.calls == []


@pytest.mark.parametrize("sent", ["", None])
async def test_a_missing_or_empty_refresh_token_never_replaces_a_good_one(
    runtime: Runtime, owner: Member, sent: str | None
) -> None:
    fake = FakeTokenEndpoints()
    fake.send_refresh = sent
    account = await save_account(
        runtime,
        owner,
        Platform.REDDIT,
        external_id="t2_brand",
        credentials={"access_token": fake.issue_access(), "refresh_token": fake.issue_refresh()},
        expires_in_s=300,
    )
    before = await credentials_of(runtime, account)
    settings = runtime.settings.model_copy(update={"reddit_client_id": "pw-reddit"})
    result = await _refresher(settings, fake).refresh_due(runtime)
    assert result["refreshed"] == 1
    after = await credentials_of(runtime, account)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]


async def test_a_refused_refresh_token_needs_a_person(runtime: Runtime, owner: Member) -> None:
    fake = FakeTokenEndpoints()
    account = await _x_account(runtime, owner, fake, expires_in_s=300)
    secret_refresh = (await credentials_of(runtime, account))["refresh_token"]
    fake.valid_refresh.clear()  # revoked on the platform

    result = await _refresher(runtime.settings, fake).refresh_due(runtime)
    assert result["rejected"] == 1
    row = await token_row(runtime, account)
    assert row.status == AccountStatus.NEEDS_RECONNECT
    assert row.status_reason == (
        "X refused the refresh token (invalid_grant: Invalid refresh token); reconnect the account"
    )
    assert (await credentials_of(runtime, account))["refresh_token"] == secret_refresh
    async with runtime.db.read() as conn:
        entries = (
            await conn.execute(select(audit_log).where(audit_log.c.target_id == str(account)))
        ).all()
    changed = [e for e in entries if e.action == "account.health_changed"]
    assert [e.details["to"] for e in changed] == ["needs_reconnect"]
    assert secret_refresh not in str([dict(e._mapping) for e in entries])
    # a second run does not try again: the account is no longer active
    fake.calls.clear()
    await _refresher(runtime.settings, fake).refresh_due(runtime)
    assert fake.calls == []


async def test_temporary_failures_leave_the_account_alone(runtime: Runtime, owner: Member) -> None:
    fake = FakeTokenEndpoints()
    fake.fail_status = 503
    account = await _x_account(runtime, owner, fake, expires_in_s=300)
    result = await _refresher(runtime.settings, fake).refresh_due(runtime)
    assert result["unavailable"] == 1
    assert (await token_row(runtime, account)).status == AccountStatus.ACTIVE


async def test_refreshes_are_serialized_across_workers(
    runtime: Runtime, owner: Member, settings: Settings
) -> None:
    """Two workers (two runtimes, two connection pools) refresh the same account at once: the
    platform sees one refresh, and both end up with its result."""
    fake = FakeTokenEndpoints(delay_s=0.3)
    account = await _x_account(runtime, owner, fake, expires_in_s=300)
    rejected = await credentials_of(runtime, account)
    other = Runtime.from_settings(settings)
    try:
        first, second = await asyncio.gather(
            _refresher(settings, fake).refresh_account(runtime, account, rejected=rejected),
            _refresher(settings, fake).refresh_account(other, account, rejected=rejected),
        )
        assert fake.calls == ["/2/oauth2/token"]
        assert sorted([first.outcome, second.outcome]) == ["already_refreshed", "refreshed"]
        assert first.credentials == second.credentials
        assert first.credentials is not None
        assert first.credentials["access_token"] != rejected["access_token"]

        # the periodic job on both workers at once: one refresh, the other sees it is done
        await _make_due(runtime, account)
        fake.calls.clear()
        results = await asyncio.gather(
            _refresher(settings, fake).refresh_due(runtime),
            _refresher(settings, fake).refresh_due(other),
        )
        assert fake.calls == ["/2/oauth2/token"]
        assert sorted(r["refreshed"] for r in results) == [0, 1]
        assert (await token_row(runtime, account)).status == AccountStatus.ACTIVE
    finally:
        await other.close()


async def _make_due(rt: Runtime, account_id: uuid.UUID) -> None:
    from sqlalchemy import update

    from postwright.store.tables import accounts

    async with rt.db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(token_expires_at=rt.now() + timedelta(minutes=5))
        )


def test_default_refreshers(settings: Settings) -> None:
    [refresher] = default_refreshers(settings)
    assert isinstance(refresher, TokenRefresher)
    assert refresher.refresh_for("x") is not None
    assert refresher.refresh_for("mastodon") is None
    assert refresher.refresh_for("myspace") is None


# -- the worker: refresh and send again, once --------------------------------------------------


async def _schedule(rt: Runtime, owner: Member, account_id: uuid.UUID, text: str) -> uuid.UUID:
    view = await post_service.create_post(
        rt,
        principal_of(owner),
        post_service.PostCreate(
            text=text,
            targets=[post_service.TargetIn(account_id=account_id)],
            scheduled_at=(rt.now() + timedelta(seconds=1)).isoformat(),
        ),
    )
    return view.deliveries[0].id


async def _wait_state(rt: Runtime, delivery_id: uuid.UUID, states: set[str]) -> Any:
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        async with rt.db.read() as conn:
            row = (
                await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
            ).one()
        if row.state in states:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"delivery still {row.state} ({row.last_error})")
        await asyncio.sleep(0.05)


async def _attempts(rt: Runtime, delivery_id: uuid.UUID) -> list[Any]:
    async with rt.db.read() as conn:
        return list(
            (
                await conn.execute(select(attempts).where(attempts.c.delivery_id == delivery_id))
            ).all()
        )


async def test_an_expired_token_is_refreshed_without_a_failed_publish(
    runtime: Runtime, owner: Member, emulator: BackgroundEmulator
) -> None:
    fake = FakeTokenEndpoints()
    refresh_token = fake.issue_refresh()
    account = await save_account(
        runtime,
        owner,
        Platform.X,
        external_id="2244994945",
        handle="brand",
        # the X emulator refuses `expired-...` tokens with 401, as X does an expired one
        credentials={"access_token": "expired-abc", "refresh_token": refresh_token},
        expires_in_s=3600,  # the platform says otherwise: revoked early, or a clock skew
    )
    engine = EngineService(runtime, refreshers=[_refresher(runtime.settings, fake)])
    await engine.start()
    try:
        delivery = await _schedule(runtime, owner, account, "refreshed on the way")
        row = await _wait_state(runtime, delivery, {"published", "failed"})
    finally:
        await engine.stop()
    assert row.state == "published", row.last_error
    assert row.attempts == 1
    [attempt] = await _attempts(runtime, delivery)
    assert (attempt.outcome, attempt.error) == ("published", None)
    assert fake.calls == ["/2/oauth2/token"]
    stored = await credentials_of(runtime, account)
    assert stored["access_token"] in fake.valid_access
    assert stored["refresh_token"] != refresh_token
    assert (await token_row(runtime, account)).status == AccountStatus.ACTIVE
    assert [p.text for p in emulator.app.ledger.entries()] == ["refreshed on the way"]


async def test_a_refused_refresh_holds_the_delivery(
    runtime: Runtime, owner: Member, emulator: BackgroundEmulator
) -> None:
    fake = FakeTokenEndpoints()
    account = await save_account(
        runtime,
        owner,
        Platform.X,
        external_id="2244994945",
        handle="brand",
        credentials={"access_token": "expired-abc", "refresh_token": "rt-revoked-long-ago"},
        expires_in_s=3600,
    )
    engine = EngineService(runtime, refreshers=[_refresher(runtime.settings, fake)])
    await engine.start()
    try:
        delivery = await _schedule(runtime, owner, account, "held, not failed")
        deadline = asyncio.get_running_loop().time() + 10
        while (await token_row(runtime, account)).status == AccountStatus.ACTIVE:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        row = await _wait_state(runtime, delivery, {"scheduled"})
    finally:
        await engine.stop()
    account_row = await token_row(runtime, account)
    assert account_row.status == AccountStatus.NEEDS_RECONNECT
    assert account_row.status_reason is not None
    assert "refused the refresh token" in account_row.status_reason
    assert row.hold_reason == f"the x account brand needs reconnecting: {account_row.status_reason}"
    assert row.attempts == 0
    assert emulator.app.ledger.entries() == []


async def test_without_a_refresher_the_worker_holds_as_before(
    runtime: Runtime, owner: Member, emulator: BackgroundEmulator
) -> None:
    account = await save_account(
        runtime,
        owner,
        Platform.X,
        external_id="2244994945",
        handle="brand",
        credentials={"access_token": "expired-abc", "refresh_token": "r"},
        expires_in_s=3600,
    )
    engine = EngineService(runtime, refreshers=[])  # refreshing is on by default
    await engine.start()
    try:
        delivery = await _schedule(runtime, owner, account, "no refresher")
        deadline = asyncio.get_running_loop().time() + 10
        while (await token_row(runtime, account)).status == AccountStatus.ACTIVE:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    finally:
        await engine.stop()
    row = await token_row(runtime, account)
    assert row.status == AccountStatus.NEEDS_RECONNECT
    assert row.status_reason is not None
    assert row.status_reason.startswith("X refused the access token")
    assert (await _wait_state(runtime, delivery, {"scheduled"})).hold_reason is not None


# -- Bluesky on the emulated PDS: refreshSession rotates both JWTs ------------------------------


async def _connect_bluesky(client: httpx.AsyncClient, owner: Member) -> uuid.UUID:
    response = await client.post(
        f"{CONNECT}/bluesky",
        json={"handle": "brand.bsky.test", "app_password": "abcd-efgh-ijkl-mnop"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _refresh_session(service: str, refresh_jwt: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as http:
        return await http.post(
            f"{service}/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {refresh_jwt}"},
        )


async def test_a_bluesky_session_is_refreshed_on_the_emulated_pds(
    client: httpx.AsyncClient,
    owner: Member,
    runtime: Runtime,
    emulator: BackgroundEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await _connect_bluesky(client, owner)
    before = await credentials_of(runtime, account)
    # the PDS keeps an old refresh JWT working for 2 hours after a rotation: 50 ms here
    monkeypatch.setattr(emulator_bluesky, "REFRESH_GRACE_S", 0.05)

    await _make_due(runtime, account)
    result = await TokenRefresher(runtime.settings).refresh_due(runtime)

    assert (result["refreshed"], result["rejected"]) == (1, 0), result
    row = await token_row(runtime, account)
    assert row.status == AccountStatus.ACTIVE
    assert row.credentials is not None
    after = await credentials_of(runtime, account)  # sealed: the row holds no JWT in clear
    assert after["did"] == before["did"]
    for key in ("access_jwt", "refresh_jwt"):
        assert after[key] != before[key]
        assert after[key] not in row.credentials
    # the new access JWT's `exp`, no longer the 5 minutes that made it due
    assert row.token_expires_at == jwt_expiry(after["access_jwt"])
    assert row.token_expires_at is not None
    assert row.token_expires_at - runtime.now() > timedelta(hours=1, minutes=59)

    await asyncio.sleep(0.1)  # past the old refresh JWT's grace period
    old = await _refresh_session(emulator.url, before["refresh_jwt"])
    assert (old.status_code, old.json()) == (
        400,
        {"error": "ExpiredToken", "message": "Token has been revoked"},
    )
    # the stored one is the live one: the next refresh spends it
    await _make_due(runtime, account)
    assert (await TokenRefresher(runtime.settings).refresh_due(runtime))["refreshed"] == 1
    assert (await credentials_of(runtime, account))["refresh_jwt"] != after["refresh_jwt"]


async def test_a_revoked_bluesky_session_needs_a_person_and_holds_deliveries(
    client: httpx.AsyncClient, owner: Member, runtime: Runtime, emulator: BackgroundEmulator
) -> None:
    account = await _connect_bluesky(client, owner)
    credentials = await credentials_of(runtime, account)
    async with httpx.AsyncClient(timeout=5.0) as http:  # signed out everywhere
        gone = await http.post(
            f"{emulator.url}/xrpc/com.atproto.server.deleteSession",
            headers={"Authorization": f"Bearer {credentials['refresh_jwt']}"},
        )
    assert gone.status_code == 200, gone.text
    # The PDS lets an access JWT live out its 2 hours after a sign-out; one whose signature
    # no longer verifies is refused as an expired one would be, so the worker refreshes.
    head, _, _ = credentials["access_jwt"].rpartition(".")
    await _save_credentials(runtime, account, {**credentials, "access_jwt": head + ".c3BvaWxlZA"})
    engine = EngineService(runtime, refreshers=default_refreshers(runtime.settings))
    await engine.start()
    try:
        delivery = await _schedule(runtime, owner, account, "held until reconnected")
        deadline = asyncio.get_running_loop().time() + 10
        while (await token_row(runtime, account)).status == AccountStatus.ACTIVE:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        row = await _wait_state(runtime, delivery, {"scheduled"})
    finally:
        await engine.stop()
    account_row = await token_row(runtime, account)
    assert account_row.status == AccountStatus.NEEDS_RECONNECT
    assert account_row.status_reason == (
        "Bluesky refused the session's refresh token (ExpiredToken: Token has been revoked); "
        "reconnect the account"
    )
    assert row.hold_reason is not None
    assert "needs reconnecting" in row.hold_reason
    assert row.attempts == 0
    assert emulator.app.ledger.entries() == []


async def _save_credentials(
    rt: Runtime, account_id: uuid.UUID, credentials: dict[str, Any]
) -> None:
    from sqlalchemy import update

    from postwright.store.tables import accounts

    async with rt.db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(credentials=rt.secretbox.seal(credentials))
        )
