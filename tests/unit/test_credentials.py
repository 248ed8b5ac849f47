"""merge_credentials: a new grant replaces the old credentials, except a refresh token (or
Bluesky refresh JWT) the new answer left out or sent empty."""

from __future__ import annotations

from typing import Any

import pytest

from postwright.domain.credentials import merge_credentials


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {"access_token": "a2"}, {"access_token": "a2"}),
        (
            {"access_token": "a1", "refresh_token": "r1"},
            {"access_token": "a2", "refresh_token": "r2"},
            {"access_token": "a2", "refresh_token": "r2"},
        ),
        (
            {"access_token": "a1", "refresh_token": "r1"},
            {"access_token": "a2"},
            {"access_token": "a2", "refresh_token": "r1"},
        ),
        (
            {"access_token": "a1", "refresh_token": "r1"},
            {"access_token": "a2", "refresh_token": ""},
            {"access_token": "a2", "refresh_token": "r1"},
        ),
        (
            {"access_token": "a1", "refresh_token": "r1", "scope": "old"},
            {"access_token": "a2", "refresh_token": None},
            {"access_token": "a2", "refresh_token": "r1"},
        ),
        (
            {"access_jwt": "j1", "refresh_jwt": "rj1", "did": "did:plc:x"},
            {"access_jwt": "j2", "did": "did:plc:x"},
            {"access_jwt": "j2", "refresh_jwt": "rj1", "did": "did:plc:x"},
        ),
        ({"access_token": "a1"}, {"access_token": "a2"}, {"access_token": "a2"}),
    ],
)
def test_merge(old: dict[str, Any] | None, new: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge_credentials(old, new) == expected
