"""A local stand-in for the social platforms' APIs, for tests, the demo and benchmarks.

It runs as its own HTTP process (`python -m postwright.platforms.emulator --port N`), serves each
emulated platform's publishing API, records what arrived in one ledger, and injects faults on
demand, all controlled over HTTP under `/_emulator`.

    app.py         create_app() and run(): the platforms, the control API, the server
    platform.py    the interface a platform module implements and the Toolkit it is given
    sandbox.py     the built-in `sandbox` platform
    ledger.py      the shared store of received posts, with idempotency keys
    rules.py       fault rules as clients send them (validation)
    faults.py      the rules in force and which fire for a request
    gate.py        the fault gate in front of every platform endpoint
    middleware.py  arrival stamps and after-store faults (hold, drop the connection)
    exchange.py    per-request state shared by the three above
    ratelimit.py   fixed-window quotas
    control.py     the /_emulator endpoints
    server.py      uvicorn, tuned and with a clean stop
    testing.py     BackgroundEmulator: a real server on a free port, in a thread
"""

from __future__ import annotations

from postwright.platforms.emulator.app import PLATFORMS, EmulatorApp, create_app, run
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["PLATFORMS", "EmulatorApp", "RateLimit", "create_app", "run"]
