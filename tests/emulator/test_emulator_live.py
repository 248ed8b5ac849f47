"""Faults only a real socket shows: a request held open, a connection dropped; clean stops."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from postwright.platforms.emulator.testing import BackgroundEmulator

AUTH = {"Authorization": "Bearer secret-token"}
POST = {"text": "did it land?"}


async def add_fault(client: httpx.AsyncClient, effect: dict[str, object]) -> None:
    response = await client.post("/_emulator/faults", json={"effect": effect, "count": 1})
    assert response.status_code == 201


async def eventually(condition: Callable[[], bool]) -> None:
    """Poll a condition about the server thread for up to 2 s."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 2 s")


async def test_a_real_server_publishes(live: BackgroundEmulator) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=2) as client:
        response = await client.post("/sandbox/alice/posts", json=POST, headers=AUTH)
        ledger = (await client.get("/_emulator/ledger")).json()

    assert response.status_code == 201
    assert [e["post_id"] for e in ledger] == [response.json()["id"]]


async def test_timeout_after_store_stores_then_never_answers(live: BackgroundEmulator) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=2) as control:
        await add_fault(control, {"timeout_after_store": True})
        async with httpx.AsyncClient(base_url=live.url, timeout=0.5) as publisher:
            held = asyncio.create_task(
                publisher.post("/sandbox/alice/posts", json=POST, headers=AUTH)
            )
            await eventually(lambda: len(live.app.holds) == 1)

            # Held, it blocks nothing else.
            health = await control.get("/_emulator/health")
            other = await control.post("/sandbox/bob/posts", json=POST, headers=AUTH)

            with pytest.raises(httpx.ReadTimeout):
                await held
        ledger = (await control.get("/_emulator/ledger", params={"account": "alice"})).json()

    assert health.status_code == 200
    assert other.status_code == 201
    assert [(e["text"], e["received_count"]) for e in ledger] == [(POST["text"], 1)]
    await eventually(lambda: len(live.app.holds) == 0)  # the client gave up: the hold ended


async def test_reset_after_store_stores_then_drops_the_connection(live: BackgroundEmulator) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=2) as client:
        await add_fault(client, {"reset_after_store": True})

        with pytest.raises((httpx.RemoteProtocolError, httpx.ConnectError)) as raised:
            await client.post("/sandbox/alice/posts", json=POST, headers=AUTH)
        # The next request gets a fresh connection and an ordinary answer.
        after = await client.post("/sandbox/alice/posts", json=POST, headers=AUTH)
        ledger = (await client.get("/_emulator/ledger")).json()

    assert "without sending a response" in str(raised.value)
    assert after.status_code == 201
    assert [e["received_count"] for e in ledger] == [1, 1]


async def test_stopping_the_server_lets_held_requests_go(live: BackgroundEmulator) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        await add_fault(client, {"timeout_after_store": True})
        held = asyncio.create_task(client.post("/sandbox/alice/posts", json=POST, headers=AUTH))
        await eventually(lambda: len(live.app.holds) == 1)

        took = await asyncio.to_thread(live.stop)

        with pytest.raises(httpx.RemoteProtocolError):
            await held

    assert took < 1.5
    assert len(live.app.ledger.entries()) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_python_dash_m_serves_the_emulator() -> None:
    port = free_port()
    command = [sys.executable, "-m", "postwright.platforms.emulator", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the emulator did not start in time"
                time.sleep(0.05)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=5)

    assert health.status_code == 200
    # uvicorn stops gracefully on SIGTERM, then re-raises the signal to exit as it asked.
    assert process.returncode in (0, -signal.SIGTERM), stderr.decode()
    assert b"Traceback" not in stderr
