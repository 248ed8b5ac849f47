"""Fixtures of the browser tests: one running stack per session (`harness.running_stack`),
Debian's Chromium driven by Playwright (never a downloaded browser), and a fresh logged-out tab
per test that fails the test on script errors and Content-Security-Policy violations.

Without /usr/bin/chromium (which `scripts/test` installs) the tests are skipped; under CI=true
they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    BROWSER_TIME_ZONE,
    CHROMIUM,
    CHROMIUM_ARGS,
    IN_CI,
    Stack,
    running_stack,
)


@pytest.fixture(scope="session")
def chromium() -> Path:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing; scripts/test installs Debian's chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed: pip install -e '.[test]'"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture(scope="session")
def stack(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


# Module-scoped, not session-scoped: Playwright's sync API runs an event loop in this thread
# while it is started, and the tests after these ones need `asyncio.run` here again.
@pytest.fixture(scope="module")
def browser_context(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 960},
            timezone_id=BROWSER_TIME_ZONE,
            locale="en-GB",
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def tab(browser_context: Any, stack: Stack) -> Iterator[Any]:
    """A new tab with no session, watched for script errors and CSP violations."""
    browser_context.clear_cookies()
    page = browser_context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Uncaught" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    yield page
    page.close()
    assert not problems, "\n".join(problems)
