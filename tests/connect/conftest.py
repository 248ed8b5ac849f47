"""Connect-flow fixtures: the emulator on a local port (a fresh one per test), settings that
point every connect flow at it (OAuth endpoints, client ids and the secrets the emulator
expects), and an owner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postwright.platforms.emulator.oauth_core import client_secret_for, emulator_oauth_urls
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.runtime import Runtime
from postwright.settings import Settings
from tests.support.factories import Member, make_member

_OAUTH_PLATFORMS = ("x", "reddit", "linkedin", "facebook", "instagram", "threads")


@pytest.fixture
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator() as emu:
        yield emu


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[BackgroundEmulator]:
    """One emulator for the session, for modules whose tests need no fresh one: they override
    `emulator` with it (starting one costs more than most connect tests)."""
    with BackgroundEmulator() as emu:
        yield emu


@pytest.fixture
def emulator_url(emulator: BackgroundEmulator) -> str:
    return emulator.url


@pytest.fixture
def settings(database_url: str, tmp_path: Path, emulator: BackgroundEmulator) -> Settings:
    clients: dict[str, str] = {}
    for platform in _OAUTH_PLATFORMS:
        client_id = f"pw-{platform}-client"
        clients[f"{platform}_client_id"] = client_id
        clients[f"{platform}_client_secret"] = client_secret_for(client_id)
    return Settings.model_validate(
        {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "secret_key": "test-secret-key-not-for-production-0123456789",
            "public_url": "http://testserver",
            "oauth_urls": emulator_oauth_urls(emulator.url),
            "connect_allow_http_localhost": True,
            **clients,
        }
    )


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")
