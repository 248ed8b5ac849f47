"""Signed, expiring media URLs: the contract the public media route verifies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from postwright.platforms.media_urls import (
    is_public_address,
    media_signature,
    signed_media_url,
    verify_media_signature,
)
from postwright.settings import Settings

SECRET = "s3cret"
MEDIA = uuid.UUID("12345678-1234-5678-1234-567812345678")
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["exp"][0], query["sig"][0]


def test_url_shape_and_round_trip(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://pw.example.com/")
    url = signed_media_url(settings, MEDIA, NOW + timedelta(hours=1), secret_key=SECRET)

    path, exp, sig = parts(url)
    assert url.startswith("https://pw.example.com/media/12345678-1234-5678-1234-567812345678?")
    assert path == f"/media/{MEDIA}"
    assert exp == str(int((NOW + timedelta(hours=1)).timestamp()))
    assert len(sig) == 64
    assert sig == media_signature(SECRET, MEDIA, int(exp))
    assert verify_media_signature(SECRET, str(MEDIA), exp, sig, now=NOW)
    assert verify_media_signature(SECRET, str(MEDIA).upper(), int(exp), sig.upper(), now=NOW)


def test_anything_changed_or_expired_fails(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://pw.example.com")
    _, exp, sig = parts(
        signed_media_url(settings, MEDIA, NOW + timedelta(hours=1), secret_key=SECRET)
    )
    other = str(uuid.uuid4())

    assert not verify_media_signature(SECRET, other, exp, sig, now=NOW)
    assert not verify_media_signature(SECRET, str(MEDIA), str(int(exp) + 1), sig, now=NOW)
    assert not verify_media_signature(SECRET, str(MEDIA), exp, "0" * 64, now=NOW)
    assert not verify_media_signature("another-key", str(MEDIA), exp, sig, now=NOW)
    assert not verify_media_signature(SECRET, str(MEDIA), "12ab", sig, now=NOW)
    assert not verify_media_signature(
        SECRET, str(MEDIA), exp, sig, now=NOW + timedelta(hours=1, seconds=1)
    )


def test_naive_expiry_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_media_url(settings, MEDIA, datetime(2026, 8, 1, 12, 0), secret_key=SECRET)


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://pw.example.com", True),
        ("https://203.0.113.9:8443", False),  # documentation range, not global
        ("https://8.8.8.8", True),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://10.1.2.3", False),
        ("http://192.168.1.5", False),
        ("http://[::1]:8000", False),
        ("http://postwright", False),
        ("http://box.local", False),
    ],
)
def test_public_addresses(url: str, public: bool) -> None:
    assert is_public_address(url) is public
