from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postwright.domain.login_throttle import (
    Strikes,
    ThrottlePolicy,
    account_key,
    blocked_for,
    client_key,
    strike,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures=3, window=timedelta(minutes=10), lockout=timedelta(minutes=5))


def _strikes(*minutes: float) -> Strikes | None:
    state: Strikes | None = None
    for m in minutes:
        state = strike(state, now=NOW + timedelta(minutes=m), policy=POLICY)
    return state


def test_the_limit_blocks_for_the_lockout() -> None:
    assert blocked_for(_strikes(0, 1), now=NOW + timedelta(minutes=1)) is None
    blocked = _strikes(0, 1, 2)
    assert blocked is not None
    assert blocked.blocked_until == NOW + timedelta(minutes=7)
    assert blocked_for(blocked, now=NOW + timedelta(minutes=3)) == timedelta(minutes=4)
    assert blocked_for(blocked, now=NOW + timedelta(minutes=7)) is None


def test_the_window_opens_at_the_first_failure() -> None:
    # two in the first window, then the window is over: the count starts again
    assert blocked_for(_strikes(0, 9, 10, 11), now=NOW + timedelta(minutes=11)) is None
    assert blocked_for(_strikes(0, 9, 10, 11, 12), now=NOW + timedelta(minutes=12)) is not None


def test_after_a_lockout_the_key_gets_its_full_allowance_back() -> None:
    after = NOW + timedelta(minutes=7)
    assert blocked_for(_strikes(0, 1, 2, 7, 8), now=after + timedelta(minutes=1)) is None
    assert blocked_for(_strikes(0, 1, 2, 7, 8, 9), now=after + timedelta(minutes=2)) is not None


def test_a_failure_counted_during_a_block_keeps_the_block() -> None:
    # two requests checked before the block began, counted after it
    long = ThrottlePolicy(max_failures=2, window=timedelta(minutes=1), lockout=timedelta(hours=1))
    state = strike(strike(None, now=NOW, policy=long), now=NOW, policy=long)
    later = strike(state, now=NOW + timedelta(minutes=2), policy=long)
    assert later.blocked_until == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"max_failures": 0}, "max_failures"),
        ({"window": timedelta(0)}, "positive"),
        ({"lockout": timedelta(seconds=-1)}, "positive"),
    ],
)
def test_policy_is_checked(policy: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "max_failures": 1,
        "window": timedelta(minutes=1),
        "lockout": timedelta(minutes=1),
        **policy,
    }
    with pytest.raises(ValueError, match=message):
        ThrottlePolicy(**values)  # type: ignore[arg-type]


def test_account_key_matches_emails_as_logins_do_and_hides_them() -> None:
    key = account_key("owner@example.com", secret="s")
    assert account_key(" Owner@Example.COM ", secret="s") == key
    assert account_key("owner@example.org", secret="s") != key
    assert account_key("owner@example.com", secret="other") != key
    assert "owner" not in key


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "client:203.0.113.7"),
        ("2001:db8:1:2::1", "client:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "client:2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "client:2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "client:203.0.113.7"),
        ("testclient", "client:testclient"),
    ],
)
def test_client_key(host: str, key: str) -> None:
    assert client_key(host) == key
