"""The emulator application: the platforms it serves, its control API, and how to run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from postwright.platforms.emulator.bluesky import BlueskyPlatform
from postwright.platforms.emulator.control import ControlPlane
from postwright.platforms.emulator.facebook import FacebookPlatform
from postwright.platforms.emulator.faults import FaultBook
from postwright.platforms.emulator.instagram import InstagramPlatform
from postwright.platforms.emulator.ledger import Ledger
from postwright.platforms.emulator.linkedin import LinkedInPlatform
from postwright.platforms.emulator.mastodon import MastodonPlatform
from postwright.platforms.emulator.mastodon_oauth import MastodonOAuthPlatform
from postwright.platforms.emulator.middleware import ExchangeMiddleware, Holds
from postwright.platforms.emulator.oauth_facebook import FacebookOAuthPlatform
from postwright.platforms.emulator.oauth_instagram import InstagramOAuthPlatform
from postwright.platforms.emulator.oauth_linkedin import LinkedInOAuthPlatform
from postwright.platforms.emulator.oauth_reddit import RedditOAuthPlatform
from postwright.platforms.emulator.oauth_threads import ThreadsOAuthPlatform
from postwright.platforms.emulator.oauth_x import XOAuthPlatform
from postwright.platforms.emulator.platform import PlatformFactory, Toolkit
from postwright.platforms.emulator.processing import Processing
from postwright.platforms.emulator.ratelimit import RateLimit
from postwright.platforms.emulator.reddit import RedditPlatform
from postwright.platforms.emulator.sandbox import SandboxPlatform
from postwright.platforms.emulator.server import make_server
from postwright.platforms.emulator.threads import ThreadsPlatform
from postwright.platforms.emulator.x import XPlatform

__all__ = ["PLATFORMS", "EmulatorApp", "create_app", "run"]

PLATFORMS: Sequence[PlatformFactory] = (
    # the OAuth servers first: their paths (`/facebook/v26.0/me`, `/instagram/oauth/...`) would
    # also match the Graph platforms' `/{object_id}` routes
    XOAuthPlatform,
    RedditOAuthPlatform,
    LinkedInOAuthPlatform,
    FacebookOAuthPlatform,
    InstagramOAuthPlatform,
    ThreadsOAuthPlatform,
    SandboxPlatform,
    BlueskyPlatform,
    FacebookPlatform,
    InstagramPlatform,
    ThreadsPlatform,
    XPlatform,
    MastodonPlatform,
    RedditPlatform,
    LinkedInPlatform,
    MastodonOAuthPlatform,
)
"""Every emulated platform; a new platform module adds one entry."""


class EmulatorApp(Starlette):
    """The emulator as an ASGI app, with its state at hand for in-process tests."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        faults: FaultBook,
        holds: Holds,
        processing: Processing,
        routes: Sequence[BaseRoute],
    ) -> None:
        super().__init__(routes=routes)
        self.ledger = ledger
        self.faults = faults
        self.holds = holds
        self.processing = processing

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack inside the exchange middleware, which must be outermost: it stamps
        arrival first, and dropping a connection needs the server's own `send`."""
        return ExchangeMiddleware(super().build_middleware_stack(), holds=self.holds)


def create_app(
    *, seed: int | None = None, rate_limits: Mapping[str, RateLimit] | None = None
) -> EmulatorApp:
    """A fresh emulator with an empty ledger and no fault rules.

    `seed` seeds the RNG of rule probabilities; `rate_limits` overrides platforms' default rate
    limits by platform name (e.g. `{"sandbox": RateLimit(limit=3, window_seconds=60)}`).
    """
    ledger = Ledger()
    faults = FaultBook(seed=seed)
    processing = Processing()
    toolkit = Toolkit(
        ledger=ledger, faults=faults, rate_limits=dict(rate_limits or {}), processing=processing
    )
    platforms = [build(toolkit) for build in PLATFORMS]
    control = ControlPlane(ledger=ledger, faults=faults, platforms=[p.name for p in platforms])
    routes: list[BaseRoute] = [route for platform in platforms for route in platform.routes()]
    routes.extend(control.routes())  # after the platforms': they are matched far less often
    return EmulatorApp(
        ledger=ledger, faults=faults, holds=Holds(), processing=processing, routes=routes
    )


def run(
    host: str,
    port: int,
    *,
    seed: int | None = None,
    rate_limits: Mapping[str, RateLimit] | None = None,
) -> None:
    """Serve a new emulator on host:port until interrupted."""
    app = create_app(seed=seed, rate_limits=rate_limits)
    make_server(app, holds=app.holds, host=host, port=port, log_level="info").run()
