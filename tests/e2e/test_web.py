"""The web app in a real browser, against a real postwright whose engine publishes to the
emulator: log in, compose and schedule to X and Mastodon, find the post on the calendar and
drag it to another day, recover a failed delivery from "needs attention", approve a post.
Each step is checked through the API, not only on screen; screenshots of every main page are
saved to artifacts/screenshots/."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from postwright.domain.text import mastodon_length, x_weighted_length
from tests.e2e.harness import (
    BROWSER_TIME_ZONE,
    PASSWORD,
    Stack,
    log_in,
    screenshot,
    wait_for,
)

pytestmark = pytest.mark.slow

PARIS = ZoneInfo(BROWSER_TIME_ZONE)


def _tag() -> str:
    """A word that makes one test's post easy to find among the others'."""
    return "t" + uuid.uuid4().hex[:8]


def _find_post(stack: Stack, tag: str) -> dict[str, Any] | None:
    with stack.api() as api:
        found = api.get("/posts", params={"q": tag}).json()["data"]
    return found[0] if found else None


def _today() -> date:
    return datetime.now(PARIS).date()


def _drag(tab: Any, event: Any, cell: Any) -> None:
    """Drag a calendar event onto a day cell with real mouse moves (FullCalendar listens to
    pointer events and needs a few moves past its threshold)."""
    start, end = event.bounding_box(), cell.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    tab.mouse.move(x, y)
    tab.mouse.down()
    tab.mouse.move(x + 6, y + 6, steps=3)
    tab.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=15)
    tab.mouse.up()


def _pick_account(tab: Any, stack: Stack, platform: str) -> None:
    tab.locator(f"#account-{stack.accounts[platform]}").check()


def _day_cell(tab: Any, day: date) -> Any:
    return tab.locator(f"[role=gridcell][data-date='{day.isoformat()}']")


def test_login_refuses_a_wrong_password_then_opens_the_calendar(tab: Any, stack: Stack) -> None:
    tab.goto(stack.url("/"))
    tab.wait_for_url(re.compile(r"/login\?next=/$"))
    screenshot(tab, "01-login")

    tab.get_by_label("Email address").fill(stack.owner.email)
    tab.get_by_label("Password").fill("not the password")
    tab.get_by_role("button", name="Log in").click()
    assert "wrong email or password" in tab.get_by_role("alert").inner_text().lower()

    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(stack.url("/"))
    tab.get_by_role("heading", name="Calendar").wait_for()
    cookie = next(c for c in tab.context.cookies() if c["name"] == "pw_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"


def test_compose_and_schedule_to_x_and_mastodon(tab: Any, stack: Stack) -> None:
    tag = _tag()
    log_in(tab, stack, stack.owner, next_path="/compose")
    _pick_account(tab, stack, "x")
    _pick_account(tab, stack, "mastodon")

    # too long for X: refused by the server, and the reason shows under the text
    tab.locator("#text").fill(f"{tag} " + "Linen is back. " * 20)
    tab.get_by_role("button", name="Schedule").click()
    error = tab.locator("#text").locator("xpath=..").locator(".field-error")
    error.wait_for()
    assert "X (acme)" in error.inner_text()
    assert "allows 280" in error.inner_text()
    tab.locator("#error-summary").wait_for()
    screenshot(tab, "03-composer-error")
    tab.locator("#text").fill("")
    error.wait_for(state="detached")  # editing the field takes its error away

    text = f"Spring is here {tag}: linen shirts are back https://example.com/spring/linen #linen"
    tab.locator("#text").fill(text)
    # the counters are the server's own counts, each platform's way
    x_counter = tab.locator(".counter[aria-label^='acme on X:']")
    mastodon_counter = tab.locator(".counter[aria-label^='acme on Mastodon:']")
    x_count = f": {x_weighted_length(text)} of 280 weighted characters"
    wait_for(lambda: x_count in x_counter.get_attribute("aria-label"), what="the X counter")
    wait_for(
        lambda: (
            f": {mastodon_length(text)} of 500 characters"
            in mastodon_counter.get_attribute("aria-label")
        ),
        what="the Mastodon counter",
    )
    assert tab.locator(".preview-x").inner_text().count(tag) == 1
    assert tab.locator(".preview-mastodon").inner_text().count(tag) == 1

    tomorrow = _today() + timedelta(days=1)
    tab.get_by_label("Date").fill(tomorrow.isoformat())
    tab.get_by_label("Time", exact=True).fill("10:00")
    assert tab.get_by_label("Time zone").input_value() == BROWSER_TIME_ZONE
    tab.locator("#text").blur()
    tab.evaluate("window.scrollTo(0, 0)")
    screenshot(tab, "02-composer")
    tab.get_by_role("button", name="Schedule").click()
    tab.wait_for_url(stack.url("/"))

    post = _find_post(stack, tag)
    assert post is not None
    expected = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=PARIS)
    assert datetime.fromisoformat(post["scheduled_at"]) == expected
    assert post["status"] == "scheduled"
    assert sorted(d["platform"] for d in post["deliveries"]) == ["mastodon", "x"]
    assert {d["state"] for d in post["deliveries"]} == {"scheduled"}


def test_calendar_shows_the_post_and_moves_it_by_drag_and_drop(tab: Any, stack: Stack) -> None:
    tag = _tag()
    tomorrow = _today() + timedelta(days=1)
    at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=PARIS)
    with stack.api() as api:
        created = api.post(
            "/posts",
            json={
                "text": f"Workshop tickets {tag} are on sale",
                "targets": [
                    {"account_id": stack.accounts["x"]},
                    {"account_id": stack.accounts["mastodon"]},
                ],
                "scheduled_at": at.isoformat(),
            },
        )
        assert created.status_code == 201, created.text

    tab.set_viewport_size({"width": 1360, "height": 1500})  # the whole month, no scrolling
    log_in(tab, stack, stack.owner)
    # a month that shows yesterday, tomorrow and the day after next
    yesterday = _today() - timedelta(days=1)
    tab.evaluate(
        "day => { const c = window.postwrightCalendar; c.changeView('dayGridMonth'); "
        "c.gotoDate(day) }",
        yesterday.isoformat(),
    )
    events = tab.locator(".pw-event", has_text=tag)
    events.first.wait_for()
    assert events.count() == 2
    assert _day_cell(tab, tomorrow).locator(".pw-event", has_text=tag).count() == 2
    screenshot(tab, "04-calendar-month", full_page=True)

    # into the past: the server refuses, the event goes back, and the reason shows there
    _drag(tab, events.first, _day_cell(tab, yesterday))
    bubble = tab.locator(".drop-error")
    bubble.wait_for()
    assert "in the past" in bubble.inner_text()
    wait_for(
        lambda: _day_cell(tab, tomorrow).locator(".pw-event", has_text=tag).count() == 2,
        what="the refused event to go back",
    )
    post = _find_post(stack, tag)
    assert post is not None
    assert datetime.fromisoformat(post["scheduled_at"]) == at
    screenshot(tab, "05-calendar-refused-move")

    # two days later: the whole post moves, both deliveries with it
    later = tomorrow + timedelta(days=2)
    _drag(tab, tab.locator(".pw-event", has_text=tag).first, _day_cell(tab, later))

    def moved_post() -> dict[str, Any] | None:
        post = _find_post(stack, tag)
        moved = post and datetime.fromisoformat(post["scheduled_at"]) == at + timedelta(days=2)
        return post if moved else None

    moved = wait_for(moved_post, what="the post to move two days later")
    assert {datetime.fromisoformat(d["scheduled_at"]) for d in moved["deliveries"]} == {
        at + timedelta(days=2)
    }
    wait_for(
        lambda: _day_cell(tab, later).locator(".pw-event", has_text=tag).count() == 2,
        what="both events on the new day",
    )

    # the list and week views, and an event's details
    show = "([view, day]) => window.postwrightCalendar.changeView(view, day)"
    tab.evaluate(show, ["timeGridWeek", later.isoformat()])
    tab.locator(".pw-event", has_text=tag).first.wait_for()
    screenshot(tab, "06-calendar-week")
    tab.locator(".pw-event", has_text=tag).first.click()
    tab.get_by_role("dialog").wait_for()
    assert tag in tab.get_by_role("dialog").inner_text()
    screenshot(tab, "07-calendar-event-details")
    tab.keyboard.press("Escape")
    tab.evaluate(show, ["listWeek", later.isoformat()])
    tab.locator(".pw-event", has_text=tag).first.wait_for()
    screenshot(tab, "08-calendar-list")
    tab.set_viewport_size({"width": 1360, "height": 960})


def test_a_failed_delivery_is_in_needs_attention_and_retried(tab: Any, stack: Stack) -> None:
    tag = _tag()
    stack.inject_fault(
        {
            "match": {"platform": "mastodon"},
            "effect": {"status": 422, "body": {"error": "Validation failed: Text is spammy"}},
            "count": 1,
        }
    )
    with stack.api() as api:
        created = api.post(
            "/posts",
            json={
                "text": f"Doors open at nine {tag}",
                "targets": [{"account_id": stack.accounts["mastodon"]}],
            },
        ).json()
        assert api.post(f"/posts/{created['id']}/publish-now").status_code == 200

        def delivery() -> dict[str, Any]:
            found: dict[str, Any] = api.get(f"/posts/{created['id']}").json()["deliveries"][0]
            return found

        wait_for(lambda: delivery()["state"] == "failed", what="the delivery to fail")

        log_in(tab, stack, stack.owner, next_path="/attention")
        card = tab.locator("article", has_text=tag)
        card.wait_for()
        assert "Text is spammy" in card.locator(".reason").inner_text()
        assert card.get_by_role("button", name="Mark as published…").is_visible()
        screenshot(tab, "09-needs-attention")

        card.get_by_role("button", name="Retry now").click()
        published = wait_for(
            lambda: (d := delivery())["state"] == "published" and d, what="the retry to publish"
        )
        assert published["permalink"]
        card.wait_for(state="detached")


def test_an_editor_asks_for_approval_and_an_approver_approves(
    browser_context: Any, tab: Any, stack: Stack
) -> None:
    tag = _tag()
    log_in(tab, stack, stack.editor, next_path="/compose")
    _pick_account(tab, stack, "x")
    tab.locator("#text").fill(f"Price update {tag}: new plans from next month")
    tab.get_by_label("Date").fill((_today() + timedelta(days=3)).isoformat())
    tab.get_by_label("Time", exact=True).fill("11:15")
    tab.get_by_label("Ask an approver before it is published").check()
    tab.get_by_role("button", name="Send for approval").click()
    tab.wait_for_url(stack.url("/"))
    post = _find_post(stack, tag)
    assert post is not None
    assert post["status"] == "pending_approval"
    assert post["approval_required"]

    browser_context.clear_cookies()
    log_in(tab, stack, stack.approver, next_path="/approvals")
    card = tab.locator("article", has_text=tag)
    card.wait_for()
    assert stack.editor.email in card.inner_text()
    screenshot(tab, "10-approvals")
    card.get_by_role("button", name="Approve").click()
    card.wait_for(state="detached")
    approved = _find_post(stack, tag)
    assert approved is not None
    assert approved["status"] == "scheduled"
    assert {d["state"] for d in approved["deliveries"]} == {"scheduled"}


def test_accounts_queue_and_phone_width(tab: Any, stack: Stack) -> None:
    log_in(tab, stack, stack.owner, next_path="/accounts")
    tab.locator(".account-card").first.wait_for()
    assert tab.locator(".account-card").count() >= 2
    assert "Active" in tab.locator(".account-card").first.inner_text()
    # a sandbox account, added by handle
    tab.get_by_label(re.compile("sandbox account")).fill("try-it-out")
    tab.get_by_role("button", name="Add sandbox account").click()
    tab.locator(".account-card", has_text="try-it-out").wait_for()
    screenshot(tab, "11-accounts", full_page=True)

    tab.goto(stack.url("/system"))
    tab.locator(".stat").first.wait_for()
    tab.locator("#jobs table").wait_for()
    screenshot(tab, "12-queue-and-jobs", full_page=True)

    tab.set_viewport_size({"width": 390, "height": 844})
    tab.goto(stack.url("/"))
    tab.get_by_text(re.compile(r"deliver(y|ies) shown")).wait_for()
    screenshot(tab, "13-phone-calendar")
    tab.get_by_role("button", name="Menu").click()
    tab.get_by_role("link", name="Needs attention").wait_for()
    screenshot(tab, "14-phone-menu")
    tab.goto(stack.url("/compose"))
    _pick_account(tab, stack, "x")
    tab.locator("#text").fill("Looks fine on a phone too")
    tab.locator(".preview-x").wait_for()
    screenshot(tab, "15-phone-composer")
    tab.set_viewport_size({"width": 1360, "height": 960})
