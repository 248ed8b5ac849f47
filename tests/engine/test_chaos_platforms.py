"""Chaos on the emulated real platforms: nothing lost, nothing twice, through the real adapters.

The sandbox chaos test (`test_chaos.py`) proves the engine; this one proves the engine and the
adapters together. Accounts of X, Mastodon, Bluesky, Facebook and Threads (and Reddit and
LinkedIn, once their adapters are registered and the emulator serves them) are created in the
database with the credentials each adapter expects and the emulator's token conventions; the
adapters reach the emulator through `POSTWRIGHT_PLATFORM_URLS`. Three worker processes publish
over 300 deliveries, due within a few seconds, while each platform's post-creating request meets
timeouts and resets after storing, 5xx and 429 (each kind once for certain, then at random;
no 429 where the platform's throttle means minutes or a day: Meta, LinkedIn), and working
workers are killed with SIGKILL and replaced six times. At the end every delivery is
`published`, each post is in the emulator's ledger exactly once, and each delivery's external
id is the post the ledger holds for it. `chaos-summary.json` in the test's temporary directory
tells what the faults and the engine did (attempts by platform, outcome and error class).

Each platform has its own way to make a retry safe (Mastodon's Idempotency-Key, Bluesky's record
key, the container status of Threads, the account's recent posts for X, Facebook, Reddit and
LinkedIn): a duplicate or a lost post here names the adapter whose `find` or `publish` let it
through.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from postwright.auth.principal import Principal
from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.domain.roles import Role
from postwright.platforms.registry import AdapterRegistry, UnsupportedPlatform
from postwright.runtime import Runtime
from postwright.services import identity
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store import accounts as account_store
from postwright.store.tables import accounts, attempts, deliveries, posts
from tests.engine.chaos_support import (
    SECRET,
    Workers,
    diagnosis,
    emulator_process,
    ledger,
    reset_database,
    wait_for_states,
    wait_for_workers,
    worker_env,
    working_pids,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKERS = 3
KILLS = 6
PUBLISH_TIMEOUT_S = 6.0
SETTLE_S = 30  # after the faults stop, how long every delivery has to reach `published`


# -- the platforms: how an account of each is connected to the emulator -------------------


@dataclass(frozen=True)
class Connection:
    """An account as the connect flow would store it, and the name the ledger files it under."""

    handle: str
    external_id: str
    credentials: dict[str, Any]
    options: dict[str, Any]
    ledger_account: str


Connect = Callable[[httpx.AsyncClient, int], Awaitable[Connection]]


@dataclass(frozen=True)
class Profile:
    """One platform in the mix: its accounts, the posts each gets, and where its API is."""

    platform: Platform
    accounts: int
    posts_each: int
    api_path: str  # appended to the emulator's URL: the adapter's base URL
    connect: Connect
    target_options: Callable[[int], dict[str, Any]] = field(default=lambda _i: {})
    external_id: Callable[[str], str] = field(default=lambda post_id: post_id)
    """The external id a delivery records for the ledger's `post_id` (Reddit adds `t3_`)."""
    rate_limit_faults: bool = True
    """False where a 429 means minutes of waiting: Meta's throttles say when access comes back
    in whole minutes (`estimated_time_to_regain_access`), which the adapters rightly honour."""


async def _x(emu: httpx.AsyncClient, n: int) -> Connection:
    user = str(1_400_000_000 + n)
    return Connection(f"chaos_x_{n}", user, {"access_token": f"x-user-{user}"}, {}, user)


async def _mastodon(emu: httpx.AsyncClient, n: int) -> Connection:
    account = str(109_000 + n)
    return Connection(
        f"chaos_{n}@emulated.social",
        account,
        {"access_token": f"mastodon-account-{account}"},
        {"instance_url": str(emu.base_url).rstrip("/")},
        account,
    )


async def _bluesky(emu: httpx.AsyncClient, n: int) -> Connection:
    handle = f"chaos-{n}.bsky.social"
    response = await emu.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": handle, "password": "chaos-app-password"},
    )
    response.raise_for_status()
    session = response.json()
    return Connection(
        handle,
        session["did"],
        {
            "access_jwt": session["accessJwt"],
            "refresh_jwt": session["refreshJwt"],
            "did": session["did"],
        },
        {"service": str(emu.base_url).rstrip("/")},
        session["did"],
    )


async def _facebook(emu: httpx.AsyncClient, n: int) -> Connection:
    page = str(100_000_000_000 + n)
    return Connection(f"Chaos Page {n}", page, {"access_token": f"page-token-{page}"}, {}, page)


async def _threads(emu: httpx.AsyncClient, n: int) -> Connection:
    user = str(26_000_000_000 + n)
    return Connection(
        f"chaos.threads.{n}", user, {"access_token": f"threads-token-{user}"}, {}, user
    )


async def _reddit(emu: httpx.AsyncClient, n: int) -> Connection:
    user = f"chaos_reddit_{n}"
    return Connection(user, user, {"access_token": f"reddit-user-{user}"}, {}, user)


def _reddit_target(i: int) -> dict[str, Any]:
    return {"subreddit": "postwright_chaos", "title": f"Mixed chaos {i:03d}"}


async def _linkedin(emu: httpx.AsyncClient, n: int) -> Connection:
    urn = f"urn:li:person:chaos{n}Xq"
    return Connection(f"Chaos Member {n}", urn, {"access_token": f"li-person-chaos{n}Xq"}, {}, urn)


# Threads makes every post a container, polled until FINISHED (about 2.6 s with the adapter's
# polling), and the engine publishes one delivery at a time per account: many Threads accounts
# with a few posts each keep the test within its minute.
PROFILES = [
    Profile(Platform.X, accounts=3, posts_each=24, api_path="", connect=_x),
    Profile(Platform.MASTODON, accounts=3, posts_each=24, api_path="", connect=_mastodon),
    Profile(Platform.BLUESKY, accounts=3, posts_each=24, api_path="", connect=_bluesky),
    Profile(
        Platform.FACEBOOK,
        accounts=3,
        posts_each=24,
        api_path="/facebook/v26.0",
        connect=_facebook,
        rate_limit_faults=False,
    ),
    Profile(
        Platform.THREADS,
        accounts=8,
        posts_each=4,
        api_path="/threads/v1.0",
        connect=_threads,
        rate_limit_faults=False,
    ),
    # Reddit and LinkedIn join once their adapters are registered and the emulator serves them
    Profile(
        Platform.REDDIT,
        accounts=2,
        posts_each=12,
        api_path="",
        connect=_reddit,
        target_options=_reddit_target,
        external_id=lambda post_id: f"t3_{post_id}",
    ),
    # a LinkedIn 429 carries no reset: the adapter waits for the daily quota (midnight UTC)
    Profile(
        Platform.LINKEDIN,
        accounts=2,
        posts_each=12,
        api_path="",
        connect=_linkedin,
        rate_limit_faults=False,
    ),
]


_EFFECTS: list[tuple[dict[str, Any], float]] = [
    ({"timeout_after_store": True}, 0.03),
    ({"reset_after_store": True}, 0.03),
    ({"status": 503}, 0.05),
    ({"rate_limit": {"retry_after": 1}}, 0.02),
]


def _faults(profile: Profile) -> list[dict[str, Any]]:
    """The sandbox chaos test's mix of faults on this platform's post-creating requests: each
    kind once for certain (the first such requests), then each with its probability."""
    match = {"platform": profile.platform.value}
    effects = [
        (effect, p)
        for effect, p in _EFFECTS
        if profile.rate_limit_faults or "rate_limit" not in effect
    ]
    once = [{"match": match, "effect": effect, "count": 1} for effect, _ in effects]
    sometimes = [{"match": match, "effect": effect, "probability": p} for effect, p in effects]
    return once + sometimes


def _text(i: int) -> str:
    return f"mixed chaos post {i:03d}, every platform once"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def chaos_database_url(pg_database_url: str) -> str:
    return reset_database(pg_database_url)


@pytest.fixture
def emulator_url(tmp_path: Path) -> Iterator[str]:
    with emulator_process(tmp_path, seed=11) as url:
        yield url


@dataclass
class Connected:
    profile: Profile
    account_id: uuid.UUID
    connection: Connection


def _in_play(settings: Settings, emulated: set[str]) -> list[Profile]:
    """The profiles whose adapter is registered and whose API the emulator serves."""
    registry = AdapterRegistry.from_settings(settings)
    playing = []
    try:
        for profile in PROFILES:
            try:
                registry.get(profile.platform)
            except UnsupportedPlatform:
                continue
            if profile.platform.value in emulated:
                playing.append(profile)
    finally:
        asyncio.run(registry.aclose())
    return playing


async def _setup(
    rt: Runtime, emu: httpx.AsyncClient, profiles: list[Profile]
) -> tuple[Principal, list[Connected]]:
    user, ws, _ = await identity.ensure_user(
        rt,
        email="chaos@example.com",
        password="correct horse",
        workspace_name="chaos",
        role=Role.OWNER,
    )
    principal = Principal(user_id=user.id, workspace_id=ws.id, role=Role.OWNER, via="test")
    connected = []
    for profile in profiles:
        for n in range(profile.accounts):
            connection = await profile.connect(emu, n)
            async with rt.db.write() as conn:
                account = await account_store.create_account(
                    conn,
                    workspace_id=ws.id,
                    platform=profile.platform.value,
                    handle=connection.handle,
                    display_name=connection.handle,
                    status=AccountStatus.ACTIVE,
                    options=connection.options,
                    credentials=rt.secretbox.seal(connection.credentials),
                    external_id=connection.external_id,
                    token_expires_at=None,
                    now=rt.now(),
                )
            connected.append(Connected(profile, account.id, connection))
    return principal, connected


async def _schedule(rt: Runtime, principal: Principal, accounts: list[Connected]) -> int:
    """Post i goes to every account that takes more than i posts; returns the deliveries made."""
    start = rt.now() + timedelta(seconds=3)
    made = 0
    for i in range(max(a.profile.posts_each for a in accounts)):
        targets = [
            post_service.TargetIn(account_id=a.account_id, options=a.profile.target_options(i))
            for a in accounts
            if i < a.profile.posts_each
        ]
        # on a loaded machine creating them takes a while: never schedule into the past
        at = max(start + timedelta(milliseconds=100 * i), rt.now() + timedelta(milliseconds=300))
        await post_service.create_post(
            rt,
            principal,
            post_service.PostCreate(text=_text(i), targets=targets, scheduled_at=at.isoformat()),
        )
        made += len(targets)
    return made


async def _attempts(rt: Runtime) -> dict[str, int]:
    """Attempts by platform, outcome and error class: what the chaos made the engine do."""
    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.platform, attempts.c.outcome, attempts.c.error_class).join(
                    deliveries, deliveries.c.id == attempts.c.delivery_id
                )
            )
        ).all()
    tally = Counter(f"{r[0]} {r[1]} {r[2] or ''}".strip() for r in rows)
    return dict(sorted(tally.items()))


async def _attempt_log(rt: Runtime) -> dict[tuple[str, str, str], list[str]]:
    """Every attempt, one line each, by (platform, account's external id, text): what to show
    when a post is missing or doubled."""
    a, d = attempts.c, deliveries.c
    async with rt.db.read() as conn:
        rows = (
            await conn.execute(
                select(
                    d.platform,
                    accounts.c.external_id,
                    func.coalesce(d.text, posts.c.text),
                    d.id,
                    a.number,
                    a.worker_id,
                    a.started_at,
                    a.finished_at,
                    a.outcome,
                    a.error,
                )
                .select_from(
                    attempts.join(deliveries, d.id == a.delivery_id)
                    .join(posts, posts.c.id == d.post_id)
                    .join(accounts, accounts.c.id == d.account_id)
                )
                .order_by(a.started_at)
            )
        ).all()
    log: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        platform, account, text, delivery, number, worker, started, finished, outcome, error = row
        span = f"{started:%T.%f}-{finished:%T.%f}" if finished else f"{started:%T.%f}-"
        log.setdefault((str(platform), str(account), str(text)), []).append(
            f"{str(delivery)[:8]} #{number} {worker} {span} {outcome}: {error or ''}"
        )
    return log


async def _published_ids(rt: Runtime) -> Counter[tuple[str, str]]:
    """(platform, external id) of every delivery ("" where it has none)."""
    async with rt.db.read() as conn:
        rows = (await conn.execute(select(deliveries.c.platform, deliveries.c.external_id))).all()
    return Counter((str(r[0]), str(r[1] or "")) for r in rows)


@dataclass
class Outcome:
    accounts: list[Connected]
    total: int
    states: Counter[str]
    why: str  # a diagnosis when not everything was published
    unfired: list[dict[str, Any]]  # one-shot fault rules still waiting for their request
    external_ids: Counter[tuple[str, str]]
    attempt_log: dict[tuple[str, str, str], list[str]]  # by (platform, account, text)


def _fired(rules: list[dict[str, Any]]) -> dict[str, int]:
    """How often each probabilistic rule fired (spent one-shot rules are no longer listed)."""
    tally: Counter[str] = Counter()
    for rule in rules:
        if rule["probability"] is not None:
            kind = next(iter(rule["effect"]))
            tally[f"{rule['match']['platform']} {kind}"] += int(rule["applied"])
    return dict(sorted(tally.items()))


def _story(key: tuple[str, str, str], stored: list[dict[str, Any]], outcome: Outcome) -> str:
    """What the ledger holds and what the engine tried for one (platform, account, text)."""
    copies = [
        (e["post_id"], e["first_received_at"])
        for e in stored
        if (e["platform"], e["account"], e["text"]) == key
    ]
    return f"{key}: on the platform {copies}; attempts {outcome.attempt_log.get(key)}"


def test_chaos_on_every_emulated_platform(
    chaos_database_url: str, emulator_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    emulated = set(httpx.get(f"{emulator_url}/_emulator/health").json()["platforms"])
    urls = {p.platform.value: f"{emulator_url}{p.api_path}" for p in PROFILES}
    urls["bluesky_appview"] = emulator_url
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=chaos_database_url,
        secret_key=SECRET,
        platform_urls=urls,
    )
    profiles = _in_play(settings, emulated)
    assert {p.platform for p in profiles} >= {
        Platform.X,
        Platform.MASTODON,
        Platform.BLUESKY,
        Platform.FACEBOOK,
        Platform.THREADS,
    }
    workers = Workers(
        worker_env(
            chaos_database_url,
            tmp_path / "data",
            POSTWRIGHT_PLATFORM_URLS=json.dumps(urls),
            # the Threads adapter waits for its container within 3/4 of the publish timeout,
            # and the emulator's first status read says IN_PROGRESS: 1 s, then 1.6 s more,
            # with room for a loaded machine
            POSTWRIGHT_PUBLISH_TIMEOUT_S=str(PUBLISH_TIMEOUT_S),
        ),
        tmp_path,
    )

    began = time.monotonic()

    async def scenario() -> Outcome:
        rt = Runtime.from_settings(settings)
        try:
            for _ in range(WORKERS):
                workers.start()  # they boot while the accounts are made
            async with httpx.AsyncClient(base_url=emulator_url) as emu:
                principal, accounts = await _setup(rt, emu, profiles)
                await wait_for_workers(rt, workers, WORKERS)
                for profile in profiles:
                    for rule in _faults(profile):
                        (await emu.post("/_emulator/faults", json=rule)).raise_for_status()
                total = await _schedule(rt, principal, accounts)
                # kill and restart workers while the deliveries come due and go out: one that
                # is publishing when there is one (a worker takes seconds to boot, and killing
                # one still importing its modules tests nothing), else any
                for _ in range(KILLS):
                    await asyncio.sleep(1.5)
                    working = await working_pids(rt) & workers.alive()
                    workers.kill(rng.choice(sorted(working or workers.alive())))
                    workers.start()
                await asyncio.sleep(2)
                # the random faults stop; a one-shot rule a slow platform has not met yet
                # (Threads polls each container for seconds) stays until it fires
                fired = (await emu.get("/_emulator/faults")).json()
                for rule in fired:
                    if rule["probability"] is not None:
                        gone = await emu.delete(f"/_emulator/faults/{rule['id']}")
                        gone.raise_for_status()
                states = await wait_for_states(rt, Counter({"published": total}), within=SETTLE_S)
                unfired = (await emu.get("/_emulator/faults")).json()
                (await emu.delete("/_emulator/faults")).raise_for_status()
            why = await diagnosis(rt) if states != Counter({"published": total}) else ""
            summary = {
                "seconds": round(time.monotonic() - began, 1),
                "deliveries": total,
                "states": dict(states),
                "faults_fired": _fired(fired),
                "one_shots_unfired": [r["id"] for r in unfired],
                "attempts": await _attempts(rt),
            }
            (tmp_path / "chaos-summary.json").write_text(json.dumps(summary, indent=2))
            return Outcome(
                accounts,
                total,
                states,
                why,
                unfired,
                await _published_ids(rt),
                await _attempt_log(rt),
            )
        finally:
            await rt.close()

    try:
        outcome = asyncio.run(scenario())
    finally:
        workers.stop_all()
    accounts, total, states, why = outcome.accounts, outcome.total, outcome.states, outcome.why

    playing = {p.platform.value for p in profiles}
    stored = [e for e in ledger(emulator_url) if e["platform"] in playing]
    per_post = Counter((e["platform"], e["account"], e["text"]) for e in stored)
    duplicates = {k: n for k, n in per_post.items() if n > 1}

    assert total >= 300
    assert states == Counter({"published": total}), f"not all published: {states}\n{why}"
    # every kind of fault reached every platform at least once (the one-shot rules)
    assert outcome.unfired == [], f"faults that never fired: {outcome.unfired}"
    assert duplicates == {}, f"duplicates on the platforms: {duplicates}\n" + "\n".join(
        _story(key, stored, outcome) for key in duplicates
    )
    assert len(stored) == total, f"{len(stored)} posts on the platforms, wanted {total}"
    for account in accounts:
        platform = account.profile.platform.value
        texts = {
            e["text"]
            for e in stored
            if e["platform"] == platform and e["account"] == account.connection.ledger_account
        }
        wanted = {_text(i) for i in range(account.profile.posts_each)}
        assert texts == wanted, "\n".join(
            [f"{platform} {account.connection.handle}: {texts ^ wanted}"]
            + [
                _story((platform, account.connection.ledger_account, text), stored, outcome)
                for text in wanted - texts
            ]
        )
    # each delivery points at its own post, and no two deliveries at the same one
    id_of = {p.platform.value: p.external_id for p in profiles}
    on_platforms: Counter[tuple[str, str]] = Counter(
        (e["platform"], id_of[e["platform"]](e["post_id"])) for e in stored
    )
    external_ids = outcome.external_ids
    assert external_ids == on_platforms, (
        f"deliveries' external ids that are not one post each: {external_ids - on_platforms}; "
        f"posts no delivery points at: {on_platforms - external_ids}"
    )
