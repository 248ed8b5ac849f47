"""Connecting accounts in a real browser, through the emulator's Facebook Login consent form: a
person whose authorization reached two Pages picks one on the choice screen (by keyboard) and
lands on the accounts page that says so; a declined consent lands there with the reason. Each
step is checked through the API too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from postwright.platforms.emulator.oauth_facebook import pages_of
from tests.e2e.harness import Stack, log_in, screenshot

pytestmark = pytest.mark.slow

FACEBOOK_USER = "e2e-pages"


def _facebook_accounts(stack: Stack) -> list[dict[str, Any]]:
    with stack.api() as api:
        return [a for a in api.get("/accounts").json() if a["platform"] == "facebook"]


def _consent(tab: Any, decision: str) -> None:
    """Start connecting Facebook from the accounts page and answer the emulator's form."""
    tab.get_by_role("button", name="Connect Facebook").click()
    tab.wait_for_url(re.compile(r"/facebook/[^/]+/dialog/oauth"))
    tab.get_by_label("User").fill(FACEBOOK_USER)
    tab.get_by_role("button", name=decision).click()


def test_a_declined_consent_says_so_on_the_accounts_page(tab: Any, stack: Stack) -> None:
    log_in(tab, stack, stack.owner, next_path="/accounts")
    _consent(tab, "Cancel")
    tab.wait_for_url(re.compile(r"/accounts$"))  # the notice's address is tidied away
    notice = tab.get_by_role("alert").filter(has_text="declined")
    notice.wait_for()
    assert notice.inner_text() == "Facebook: the authorization was declined; nothing was connected."
    assert "code=" not in tab.url
    assert _facebook_accounts(stack) == []


def test_two_facebook_pages_and_the_person_picks_one(tab: Any, stack: Stack) -> None:
    first, second = pages_of(FACEBOOK_USER, 2)
    log_in(tab, stack, stack.owner, next_path="/accounts")
    _consent(tab, "Authorize")

    tab.wait_for_url(re.compile(r"/accounts/choose\?platform=facebook&choice="))
    tab.get_by_role("heading", name="Choose accounts to connect").wait_for()
    group = tab.get_by_role("group", name="Facebook accounts this authorization reached")
    boxes = group.get_by_role("checkbox")
    boxes.first.wait_for()
    assert boxes.count() == 2
    assert _facebook_accounts(stack) == [], "nothing is connected before the choice"

    # nothing ticked: the screen asks for one
    tab.get_by_role("button", name="Connect selected").click()
    assert "Tick at least one" in tab.get_by_role("alert").inner_text()

    pick = group.get_by_role("checkbox", name=re.compile(second.name))
    pick.focus()
    tab.keyboard.press("Space")
    assert pick.is_checked()
    assert not group.get_by_role("checkbox", name=re.compile(first.name)).is_checked()
    screenshot(tab, "16-choose-facebook-pages")
    tab.keyboard.press("Enter")  # submits the form from the focused checkbox

    tab.wait_for_url(re.compile(r"/accounts$"))
    notice = tab.get_by_role("status").filter(has_text="Connected")
    notice.wait_for()
    assert notice.inner_text() == "Connected 1 Facebook account."
    tab.locator(".account-card", has_text=second.name).wait_for()
    screenshot(tab, "17-accounts-after-connecting")
    [account] = _facebook_accounts(stack)
    assert account["display_name"] == second.name
    assert account["handle"] == second.username
    assert account["status"] == "active"

    # at phone width the choice screen still fits: the reconnect lists the connected Page
    tab.set_viewport_size({"width": 390, "height": 844})
    try:
        _consent(tab, "Authorize")
        tab.wait_for_url(re.compile(r"/accounts/choose\?"))
        connected = tab.get_by_role("checkbox", name=re.compile(second.name))
        connected.wait_for()
        assert connected.is_checked()
        assert connected.is_disabled()
        assert (
            "already connected" in tab.locator(".account-option", has_text=second.name).inner_text()
        )
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        screenshot(tab, "18-phone-choose")
        tab.get_by_role("link", name="Cancel").click()
        tab.wait_for_url(re.compile(r"/accounts$"))
    finally:
        tab.set_viewport_size({"width": 1360, "height": 960})
    assert len(_facebook_accounts(stack)) == 1
