from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwright.domain.errors import InvalidInput
from postwright.domain.posting_rules import (
    Deferral,
    PastPublish,
    PostingRules,
    content_fingerprint,
    next_allowed,
)

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
TEXT = content_fingerprint("Spring sale starts today")
OTHER = content_fingerprint("Something else entirely")


def ago(
    minutes: float, fingerprint: str = OTHER, scope: str = "", *, own: bool = True
) -> PastPublish:
    return PastPublish(
        at=NOW - timedelta(minutes=minutes), fingerprint=fingerprint, scope=scope, same_account=own
    )


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "rules"),
    [
        (None, PostingRules()),
        ({}, PostingRules()),
        ({"min_interval_s": 600}, PostingRules(min_interval_s=600)),
        (
            {"max_per_hour": 3, "max_per_day": 20, "duplicate_window_s": 86400},
            PostingRules(max_per_hour=3, max_per_day=20, duplicate_window_s=86400),
        ),
        ({"max_per_hour": None}, PostingRules()),
        ({"max_per_hour": 3.0}, PostingRules(max_per_hour=3)),
    ],
)
def test_rules_from_options(options: Mapping[str, object] | None, rules: PostingRules) -> None:
    assert PostingRules.from_options(options) == rules


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"min_interval_s": 0}, ["options.posting_rules.min_interval_s"]),
        ({"min_interval_s": -5}, ["options.posting_rules.min_interval_s"]),
        ({"max_per_hour": "3"}, ["options.posting_rules.max_per_hour"]),
        ({"max_per_hour": True}, ["options.posting_rules.max_per_hour"]),
        ({"max_per_day": 2.5}, ["options.posting_rules.max_per_day"]),
        ({"duplicate_window_s": 10 * 365 * 86400}, ["options.posting_rules.duplicate_window_s"]),
        ({"max_per_week": 3}, ["options.posting_rules.max_per_week"]),
        (
            {"max_per_hour": 0, "max_per_day": "x", "min_interval_s": 60},
            ["options.posting_rules.max_per_hour", "options.posting_rules.max_per_day"],
        ),
    ],
)
def test_bad_options_are_422_with_field_paths(
    options: Mapping[str, object], fields: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        PostingRules.from_options(options)
    assert [v.field for v in caught.value.violations] == fields


def test_options_round_trip() -> None:
    rules = PostingRules(min_interval_s=600, duplicate_window_s=3600)
    assert rules.to_options() == {"min_interval_s": 600, "duplicate_window_s": 3600}
    assert PostingRules.from_options(rules.to_options()) == rules
    assert rules.enabled
    assert not PostingRules().enabled


# --- each rule, deferring and allowing ---------------------------------------------------------

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("rules", "history", "until", "rule"),
    [
        # no rules, no limits
        (PostingRules(), [ago(0), ago(0), ago(0)], None, None),
        # minimum interval
        (PostingRules(min_interval_s=600), [], None, None),
        (
            PostingRules(min_interval_s=600),
            [ago(30), ago(4)],
            NOW + timedelta(minutes=6),
            "min_interval",
        ),
        (PostingRules(min_interval_s=600), [ago(10)], None, None),
        (PostingRules(min_interval_s=600), [ago(11)], None, None),
        # other accounts' publishes do not count for the account's own pace
        (PostingRules(min_interval_s=600), [ago(1, own=False)], None, None),
        # per hour: a rolling 60 minutes
        (
            PostingRules(max_per_hour=3),
            [ago(50), ago(20), ago(5)],
            NOW + timedelta(minutes=10),
            "max_per_hour",
        ),
        (
            PostingRules(max_per_hour=3),
            [ago(70), ago(50), ago(20), ago(5)],
            NOW + timedelta(minutes=10),
            "max_per_hour",
        ),
        (PostingRules(max_per_hour=3), [ago(60), ago(20), ago(5)], None, None),
        (PostingRules(max_per_hour=3), [ago(20), ago(5)], None, None),
        (PostingRules(max_per_hour=1), [ago(59)], NOW + timedelta(minutes=1), "max_per_hour"),
        # more than the limit already (e.g. the rule was just lowered): wait for enough to age out
        (
            PostingRules(max_per_hour=2),
            [ago(50), ago(40), ago(30), ago(1)],
            NOW + timedelta(minutes=30),
            "max_per_hour",
        ),
        # per day: a rolling 24 hours
        (PostingRules(max_per_day=2), [ago(23 * 60), ago(60)], NOW + H, "max_per_day"),
        (PostingRules(max_per_day=2), [ago(24 * 60), ago(60)], None, None),
        # duplicates: identical content to this account within the window
        (PostingRules(duplicate_window_s=86400), [ago(60, TEXT)], NOW + 23 * H, "duplicate"),
        (
            PostingRules(duplicate_window_s=86400),
            [ago(23 * 60, TEXT), ago(60, TEXT)],
            NOW + 23 * H,
            "duplicate",
        ),
        (PostingRules(duplicate_window_s=86400), [ago(24 * 60, TEXT)], None, None),
        (PostingRules(duplicate_window_s=86400), [ago(60, OTHER)], None, None),
        # to this account in another subreddit is still this account
        (
            PostingRules(duplicate_window_s=3600),
            [ago(30, TEXT, "r/other")],
            NOW + timedelta(minutes=30),
            "duplicate",
        ),
        # another account to the same subreddit: duplicate; to another subreddit: not
        (
            PostingRules(duplicate_window_s=3600),
            [ago(30, TEXT, "r/python", own=False)],
            NOW + timedelta(minutes=30),
            "duplicate",
        ),
        (PostingRules(duplicate_window_s=3600), [ago(30, TEXT, "r/other", own=False)], None, None),
    ],
)
def test_each_rule(
    rules: PostingRules, history: list[PastPublish], until: datetime | None, rule: str | None
) -> None:
    deferral = next_allowed(rules, now=NOW, history=history, fingerprint=TEXT, scope="r/python")
    if until is None:
        assert deferral is None
    else:
        assert deferral is not None
        assert (deferral.until, deferral.rule) == (until, rule)


def test_without_a_scope_other_accounts_never_make_a_duplicate() -> None:
    rules = PostingRules(duplicate_window_s=3600)
    history = [ago(30, TEXT, "", own=False)]
    assert next_allowed(rules, now=NOW, history=history, fingerprint=TEXT, scope="") is None


def test_the_latest_of_several_rules_is_reported() -> None:
    rules = PostingRules(min_interval_s=300, max_per_hour=2, duplicate_window_s=7200)
    history = [ago(45), ago(2, TEXT)]
    deferral = next_allowed(rules, now=NOW, history=history, fingerprint=TEXT, scope="")
    assert deferral is not None
    assert deferral.rule == "duplicate"
    assert deferral.until == NOW + timedelta(minutes=118)
    # once the duplicate window is over, the account's pace no longer binds either
    assert (
        next_allowed(rules, now=deferral.until, history=history, fingerprint=TEXT, scope="") is None
    )


def test_reasons_are_plain_words() -> None:
    history = [ago(50), ago(20), ago(18)]
    deferral = next_allowed(
        PostingRules(max_per_hour=3), now=NOW, history=history, fingerprint=TEXT, scope=""
    )
    assert deferral == Deferral(
        until=datetime(2026, 3, 1, 10, 10, tzinfo=UTC),
        rule="max_per_hour",
        reason="at most 3 posts per hour for this account; next allowed at 2026-03-01 10:10:00 UTC",
    )
    one = next_allowed(
        PostingRules(max_per_day=1), now=NOW, history=history, fingerprint=TEXT, scope=""
    )
    assert one is not None
    assert one.reason.startswith("at most 1 post per day for this account; next allowed at ")
    pace = next_allowed(
        PostingRules(min_interval_s=1800), now=NOW, history=history, fingerprint=TEXT, scope=""
    )
    assert pace is not None
    assert pace.reason == (
        "at least 30 minutes between posts for this account; the last one went out at "
        "2026-03-01 09:42:00 UTC; next allowed at 2026-03-01 10:12:00 UTC"
    )
    duplicate = next_allowed(
        PostingRules(duplicate_window_s=86400),
        now=NOW,
        history=[ago(60, TEXT, "r/python", own=False)],
        fingerprint=TEXT,
        scope="r/python",
    )
    assert duplicate is not None
    assert duplicate.reason == (
        "identical content went to r/python at 2026-03-01 09:00:00 UTC; the same content may go "
        "again 1 day later, at 2026-03-02 09:00:00 UTC"
    )


def test_history_times_in_other_offsets_are_understood() -> None:
    paris = ZoneInfo("Europe/Paris")
    history = [
        PastPublish(at=(NOW - timedelta(minutes=5)).astimezone(paris), fingerprint=OTHER, scope="")
    ]
    deferral = next_allowed(
        PostingRules(min_interval_s=600), now=NOW, history=history, fingerprint=TEXT, scope=""
    )
    assert deferral is not None
    assert deferral.until == NOW + timedelta(minutes=5)
    assert deferral.until.tzinfo is UTC


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        next_allowed(PostingRules(), now=datetime(2026, 3, 1), history=[], fingerprint="", scope="")


@given(
    limit=st.integers(min_value=1, max_value=5),
    minutes=st.lists(st.floats(min_value=0, max_value=180), max_size=12),
)
def test_waiting_until_the_deferral_is_enough(limit: int, minutes: list[float]) -> None:
    rules = PostingRules(max_per_hour=limit, min_interval_s=120)
    history = [ago(m) for m in minutes]
    deferral = next_allowed(rules, now=NOW, history=history, fingerprint=TEXT, scope="")
    if deferral is None:
        return
    assert deferral.until > NOW
    assert (
        next_allowed(rules, now=deferral.until, history=history, fingerprint=TEXT, scope="") is None
    )


# --- fingerprints ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello world", "hello WORLD"),
        ("Hello world", "  Hello \n\t world  "),
        ("Straße", "STRASSE"),  # case folding, not just lower()
        ("café", "cafe\u0301"),  # NFC: precomposed and combining accent are the same text
    ],
)
def test_fingerprint_ignores_trivial_differences(a: str, b: str) -> None:
    assert content_fingerprint(a) == content_fingerprint(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Hello world", ()), ("Hello, world", ())),
        (("Hello world", ()), ("Hello world", ("abc",))),
        (("Hello world", ("abc", "def")), ("Hello world", ("def", "abc"))),
        (("a", ("b",)), ("a\x00\x00\x00\x00\x00\x00\x00\x01b", ())),
        (("ab", ()), ("a", ("b",))),
    ],
)
def test_fingerprint_tells_different_posts_apart(
    a: tuple[str, tuple[str, ...]], b: tuple[str, tuple[str, ...]]
) -> None:
    assert content_fingerprint(*a) != content_fingerprint(*b)


def test_fingerprint_is_stable_across_versions() -> None:
    # Stored fingerprints are compared with new ones: changing the algorithm breaks that.
    assert content_fingerprint("Hello world") == (
        "601eee044763649a25547413079dc096de6ab01838a05999dfdca3d16197a68b"
    )
    assert content_fingerprint(" hello  WORLD ", [" ABC "]) == (
        "0b304049bec1a2e4982354308262db80a3644c08126ec443c7d824e18f578de1"
    )
