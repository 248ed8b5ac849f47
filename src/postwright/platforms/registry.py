"""Which adapter serves which platform, built once per process from the settings.

Adding a platform is adding its module (one `build(client, settings) -> Adapter` function) and
one line to `_BUILDERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from postwright.domain.platforms import Platform
from postwright.platforms import (
    bluesky,
    facebook,
    instagram,
    linkedin,
    mastodon,
    reddit,
    sandbox,
    threads,
    x,
)
from postwright.platforms.base import Adapter
from postwright.platforms.http import make_client
from postwright.settings import Settings

__all__ = ["AdapterRegistry", "UnsupportedPlatform"]

Builder = Callable[[httpx.AsyncClient, Settings], Adapter]

_BUILDERS: dict[Platform, Builder] = {
    Platform.SANDBOX: sandbox.build,
    Platform.BLUESKY: bluesky.build,
    Platform.FACEBOOK: facebook.build,
    Platform.INSTAGRAM: instagram.build,
    Platform.THREADS: threads.build,
    Platform.X: x.build,
    Platform.MASTODON: mastodon.build,
    Platform.REDDIT: reddit.build,
    Platform.LINKEDIN: linkedin.build,
}


class UnsupportedPlatform(LookupError):
    """No adapter is installed for this platform yet."""


class AdapterRegistry:
    def __init__(
        self, adapters: Mapping[Platform, Adapter], *, client: httpx.AsyncClient | None = None
    ) -> None:
        self._adapters = dict(adapters)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> AdapterRegistry:
        client = make_client(timeout_s=settings.publish_timeout_s)
        adapters = {platform: build(client, settings) for platform, build in _BUILDERS.items()}
        return cls(adapters, client=client)

    def get(self, platform: Platform) -> Adapter:
        try:
            return self._adapters[platform]
        except KeyError:
            raise UnsupportedPlatform(f"no adapter for {platform.value} yet") from None

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()
        if self._client is not None:
            await self._client.aclose()
