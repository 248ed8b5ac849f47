"""Timestamps as the emulator keeps them (unix seconds) and writes them (RFC 3339, UTC, µs)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_rfc3339", "rfc3339"]


def rfc3339(timestamp: float) -> str:
    """`1795428000.123456` -> `"2026-11-23T10:00:00.123456Z"`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 timestamp; `ValueError` if it is not one or has no offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (end it with 'Z' or '+00:00')")
    return moment.timestamp()
