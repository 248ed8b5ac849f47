"""Fixtures for the platform emulator: an in-process app and client, and a real uvicorn server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, RateLimit, create_app
from postwright.platforms.emulator.testing import BackgroundEmulator

SEED = 1234


@pytest.fixture
def app() -> EmulatorApp:
    return create_app(seed=SEED)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


@pytest.fixture
async def limited_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of an emulator whose sandbox allows 3 requests per account per minute."""
    app = create_app(rate_limits={"sandbox": RateLimit(limit=3, window_seconds=60)})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


@pytest.fixture
def live() -> Iterator[BackgroundEmulator]:
    """An emulator served by uvicorn on a real socket, in a background thread."""
    with BackgroundEmulator(create_app(seed=SEED)) as emulator:
        yield emulator
