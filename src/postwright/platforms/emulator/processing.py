"""How long media takes to process on the emulated platforms, and the media they were asked
to make: for tests of media that outlasts a publish (a video still processing minutes later).

    emulator.app.processing.seconds["instagram"] = 3.0   # its video containers: 3 s
    emulator.app.processing.made("instagram")            # the containers made, in order

`seconds` is read when a medium is made: Instagram and Threads containers with a `video_url`,
X GIF and video uploads, LinkedIn videos. A platform without an entry keeps its own default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Processing"]


@dataclass(slots=True)
class Processing:
    """Processing time per platform, and the ids of the media made, per platform."""

    seconds: dict[str, float] = field(default_factory=dict)
    _made: list[tuple[str, str, str]] = field(default_factory=list)  # (platform, account, id)

    def delay(self, platform: str, default: float) -> float:
        """Seconds a medium made now on `platform` takes to process."""
        return self.seconds.get(platform, default)

    def record(self, platform: str, account: str, media_id: str) -> None:
        self._made.append((platform, account, media_id))

    def made(self, platform: str, account: str | None = None) -> list[str]:
        """The ids of the media (containers, uploads) made on `platform`, oldest first."""
        return [m for p, a, m in self._made if p == platform and account in (None, a)]

    def clear(self) -> None:
        """Back to the platforms' defaults, and nothing made."""
        self.seconds.clear()
        self._made.clear()
