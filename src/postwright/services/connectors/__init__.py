"""The registry of connect flows: one line per platform (see `services/connect.py`)."""

from __future__ import annotations

from postwright.domain.platforms import Platform
from postwright.services import connect_bluesky, connect_mastodon
from postwright.services.connect import CONNECTORS
from postwright.services.connectors import facebook, instagram, linkedin, reddit, threads, x

__all__: list[str] = []

CONNECTORS[Platform.MASTODON] = connect_mastodon.MastodonConnector()
CONNECTORS[Platform.BLUESKY] = connect_bluesky.BlueskyConnector()
CONNECTORS[Platform.X] = x.XConnector()
CONNECTORS[Platform.REDDIT] = reddit.RedditConnector()
CONNECTORS[Platform.LINKEDIN] = linkedin.LinkedInConnector()
CONNECTORS[Platform.FACEBOOK] = facebook.FacebookConnector()
CONNECTORS[Platform.INSTAGRAM] = instagram.InstagramConnector()
CONNECTORS[Platform.THREADS] = threads.ThreadsConnector()
