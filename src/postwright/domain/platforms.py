"""The platforms postwright publishes to, named once."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Platform"]


class Platform(StrEnum):
    """A social network (or the built-in `sandbox`, which publishes to the local emulator)."""

    SANDBOX = "sandbox"
    X = "x"
    REDDIT = "reddit"
    LINKEDIN = "linkedin"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    THREADS = "threads"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
