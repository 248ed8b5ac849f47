"""No secret in plaintext anywhere: a full run (connect Mastodon, Bluesky and X on the emulator,
publish to all three, refresh the X token, rotate the key), with every log record captured at
DEBUG, then the SQLite database file, its WAL and shared memory, the captured logs, every API
answer and the audit log are searched for each token, password and client secret used."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select, update

from postwright.api.app import create_app
from postwright.auth.keyring import rotate_keys
from postwright.auth.refresh import default_refreshers
from postwright.engine.service import EngineService
from postwright.platforms.emulator.oauth_core import client_secret_for, emulator_oauth_urls
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.services import posts as post_service
from postwright.settings import Settings
from postwright.store.migrate import upgrade
from postwright.store.tables import accounts, deliveries, oauth_states
from tests.support.account_flows import (
    CONNECT,
    authorize,
    callback,
    credentials_of,
    emulator,
    principal_of,
)
from tests.support.factories import Member, make_member

__all__ = ["emulator"]  # fixtures

SECRET_KEY = "scan-secret-key-0123456789-abcdefghijklmnopqrstuv"
NEXT_KEY = "scan-next-secret-key-0123456789-abcdefghijklmnopq"
APP_PASSWORD = "scan-ab12-cd34-ef56"
X_CLIENT = "pw-x-scan-client"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "scan.db"


def _settings(tmp_path: Path, db_path: Path, emulator_url: str, **extra: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": tmp_path / "data",
            "database_url": f"sqlite:///{db_path}",
            "secret_key": SECRET_KEY,
            "public_url": "http://testserver",
            "connect_allow_http_localhost": True,
            "platform_urls": {"bluesky": emulator_url, "x": emulator_url},
            "oauth_urls": emulator_oauth_urls(emulator_url),
            "x_client_id": X_CLIENT,
            "x_client_secret": client_secret_for(X_CLIENT),
            "lease_s": 3.0,
            "poll_interval_s": 0.2,
            "claim_ahead_ms": 500,
            "publish_timeout_s": 5.0,
            "retry_base_delay_s": 0.2,
            "retry_max_delay_s": 1.0,
            "log_level": "debug",
            **extra,
        }
    )


@pytest.fixture
async def scan_runtime(
    tmp_path: Path, db_path: Path, emulator: BackgroundEmulator
) -> AsyncIterator[Runtime]:
    settings = _settings(tmp_path, db_path, emulator.url)
    rt = Runtime.from_settings(settings)
    await upgrade(rt.db)
    try:
        yield rt
    finally:
        await rt.close()


class Seen:
    """Every API answer of the run, to search them too."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        self.bodies.append(f"{response.headers}\n{response.text}")


async def _schedule(rt: Runtime, owner: Member, account_ids: list[str], text: str) -> list[Any]:
    view = await post_service.create_post(
        rt,
        principal_of(owner),
        post_service.PostCreate(
            text=text,
            targets=[post_service.TargetIn(account_id=uuid.UUID(a)) for a in account_ids],
            scheduled_at=(rt.now() + timedelta(seconds=1)).isoformat(),
        ),
    )
    return [d.id for d in view.deliveries]


async def _published(rt: Runtime, ids: list[Any]) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        async with rt.db.read() as conn:
            rows = (
                await conn.execute(
                    select(deliveries.c.state, deliveries.c.last_error).where(
                        deliveries.c.id.in_(ids)
                    )
                )
            ).all()
        if all(r.state == "published" for r in rows):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not published: {[tuple(r) for r in rows]}")
        await asyncio.sleep(0.05)


def _forms(secret: str) -> set[bytes]:
    """The ways a secret could be written down: as is, URL-quoted, base64 (of itself)."""
    return {
        secret.encode(),
        quote(secret, safe="").encode(),
        base64.b64encode(secret.encode()).rstrip(b"="),
        base64.urlsafe_b64encode(secret.encode()).rstrip(b"="),
    }


def _leaks(haystack: bytes, secrets: dict[str, str]) -> list[str]:
    return sorted(
        name for name, secret in secrets.items() if any(f in haystack for f in _forms(secret))
    )


def _database_bytes(db_path: Path) -> dict[str, bytes]:
    files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
    return {p.name: p.read_bytes() for p in files if p.exists()}


async def test_no_secret_in_the_database_the_logs_or_the_api(
    scan_runtime: Runtime,
    emulator: BackgroundEmulator,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rt = scan_runtime
    seen = Seen()
    owner = await make_member(rt, email="owner@example.com")
    secrets: dict[str, str] = {
        "secret key": SECRET_KEY,
        "next secret key": NEXT_KEY,
        "bluesky app password": APP_PASSWORD,
        "x client secret": client_secret_for(X_CLIENT),
    }
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks={"response": [seen.record]},
    ) as api:
        # -- connect Mastodon (app registration, PKCE) --
        started = await api.post(
            f"{CONNECT}/mastodon", json={"instance": emulator.url}, headers=owner.headers
        )
        url = started.json()["authorization_url"]
        state = httpx.URL(url).params["state"]
        async with rt.db.read() as conn:
            sealed = (
                await conn.execute(
                    select(oauth_states.c.code_verifier).where(oauth_states.c.id == state)
                )
            ).scalar_one()
        secrets["mastodon pkce verifier"] = rt.secretbox.open(sealed)["v"]
        mastodon = (await callback(api, await authorize(url))).json()["accounts"][0]
        stored = await credentials_of(rt, mastodon["id"])
        secrets["mastodon access token"] = stored["access_token"]
        secrets["mastodon client secret"] = stored["client_secret"]

        # -- connect Bluesky (app password, one session) --
        response = await api.post(
            f"{CONNECT}/bluesky",
            json={"handle": "scan.bsky.test", "app_password": APP_PASSWORD},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        bluesky = response.json()
        stored = await credentials_of(rt, bluesky["id"])
        secrets["bluesky access jwt"] = stored["access_jwt"]
        secrets["bluesky refresh jwt"] = stored["refresh_jwt"]

        # -- connect X (OAuth 2.0 with PKCE and a refresh token) --
        url = (await api.post(f"{CONNECT}/x", headers=owner.headers)).json()["authorization_url"]
        async with rt.db.read() as conn:
            sealed = (
                await conn.execute(
                    select(oauth_states.c.code_verifier).where(
                        oauth_states.c.id == httpx.URL(url).params["state"]
                    )
                )
            ).scalar_one()
        secrets["x pkce verifier"] = rt.secretbox.open(sealed)["v"]
        x = (await callback(api, await authorize(url))).json()["accounts"][0]
        stored = await credentials_of(rt, x["id"])
        secrets["x access token"] = stored["access_token"]
        secrets["x refresh token (first)"] = stored["refresh_token"]

        # -- publish to all three --
        engine = EngineService(rt, refreshers=default_refreshers(rt.settings))
        await engine.start()
        try:
            ids = await _schedule(rt, owner, [mastodon["id"], bluesky["id"], x["id"]], "hello")
            await _published(rt, ids)

            # -- the X token is due: the periodic refresh renews it (rotating its refresh token)
            async with rt.db.write() as conn:
                await conn.execute(
                    update(accounts)
                    .where(accounts.c.id == uuid.UUID(x["id"]))
                    .values(token_expires_at=rt.now() + timedelta(minutes=5))
                )
            [refresher] = default_refreshers(rt.settings)
            result = await refresher.refresh_due(rt)
            assert result["refreshed"] == 1, result
            stored = await credentials_of(rt, x["id"])
            assert stored["refresh_token"] != secrets["x refresh token (first)"]
            secrets["x refresh token (second)"] = stored["refresh_token"]

            ids = await _schedule(rt, owner, [mastodon["id"], bluesky["id"], x["id"]], "again")
            await _published(rt, ids)
        finally:
            await engine.stop()

        # -- read back everything a person can see --
        for path in (
            "/api/v1/accounts",
            f"/api/v1/accounts/{mastodon['id']}",
            "/api/v1/deliveries",
            "/api/v1/audit",
            "/api/v1/accounts/connect",
        ):
            assert (await api.get(path, headers=owner.headers)).status_code == 200, path

    # -- rotate the key: the database now also holds values sealed under another key --
    rotated = Runtime.from_settings(
        Settings.model_validate(
            {**rt.settings.model_dump(), "secret_key": NEXT_KEY, "previous_secret_keys": SECRET_KEY}
        )
    )
    try:
        assert (await rotate_keys(rotated)).rotated >= 3
    finally:
        await rotated.close()

    assert len(secrets) == 13
    assert all(len(s) >= 16 for s in secrets.values()), "too short to search for reliably"

    # the search itself finds what it looks for (a planted secret, plaintext that is stored)
    planted = b"...token=" + quote(secrets["x refresh token (second)"], safe="").encode()
    assert _leaks(planted, secrets) == ["x refresh token (second)"]
    assert b"scan.bsky.test" in b"".join(_database_bytes(db_path).values())

    # the database file, its WAL and shared memory, while connections are open ...
    for name, content in _database_bytes(db_path).items():
        assert _leaks(content, secrets) == [], f"plaintext secrets in {name}"
    assert f"{db_path.name}-wal" in _database_bytes(db_path), "the WAL was searched"
    await rt.db.dispose()
    # ... and after they are closed (the WAL checkpointed into the file)
    for name, content in _database_bytes(db_path).items():
        assert _leaks(content, secrets) == [], f"plaintext secrets in {name}"

    logged = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    assert len(caplog.records) > 50, "DEBUG logging was captured"
    assert any(r.name.startswith("httpx") for r in caplog.records)
    assert _leaks(logged.encode(), secrets) == [], "plaintext secrets in the logs"

    answers = "\n".join(seen.bodies)
    assert _leaks(answers.encode(), secrets) == [], "secrets in API answers"
