"""Where a browser lands after connecting an account, and what the accounts page then says.

The OAuth callback is the platform sending the person's browser back to postwright. An API
client gets JSON from it; a browser navigation gets a 303 into the web app instead: to the
accounts page with a notice of what was connected or of why nothing was, or to the choice
screen when one authorization reached several accounts. The notice travels in the query string,
so it carries only a platform and a count, or a refusal's plain words (which never quote the
code or the state), cut short; the template escapes it like any other text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from postwright.domain.errors import InvalidInput, PostwrightError
from postwright.domain.platforms import Platform
from postwright.services.connect import LABELS, ConnectOutcome

__all__ = [
    "MAX_MESSAGE",
    "Notice",
    "after_connect",
    "after_refusal",
    "connect_notice",
    "prefers_html",
]

ACCOUNTS_PAGE = "/accounts"
CHOOSE_PAGE = "/accounts/choose"
MAX_MESSAGE = 300
_MAX_COUNT = 100  # a choice offers at most this many (`ChooseBody.external_ids`)


def prefers_html(accept: str | None) -> bool:
    """Whether an Accept header ranks text/html above application/json, as a browser's
    navigation does. No header, `*/*` or a tie keep the API's JSON: an API client that never
    thought about Accept must keep getting what it got before."""
    if not accept:
        return False
    ranges = _ranges(accept)
    return _quality(ranges, "text/html") > _quality(ranges, "application/json")


def _ranges(accept: str) -> list[tuple[str, float]]:
    found = []
    for part in accept.split(",")[:50]:
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            found.append((media.lower(), quality))
    return found


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    # RFC 9110 12.5.1: the most specific range that matches decides
    kind = media_type.split("/")[0]
    for pattern in (media_type, f"{kind}/*", "*/*"):
        qualities = [q for media, q in ranges if media == pattern]
        if qualities:
            return max(qualities)
    return 0.0


def after_connect(outcome: ConnectOutcome) -> str:
    """The web app's address after a callback that connected accounts or left a choice."""
    platform = outcome.platform.value
    if outcome.choice_id is not None:
        return f"{CHOOSE_PAGE}?{urlencode({'platform': platform, 'choice': outcome.choice_id})}"
    return f"{ACCOUNTS_PAGE}?{urlencode({'connected': platform, 'n': len(outcome.accounts)})}"


def after_refusal(error: PostwrightError) -> str:
    """The accounts page, saying why nothing was connected."""
    if isinstance(error, InvalidInput):
        message = "; ".join(v.message for v in error.violations)
    else:
        message = error.message
    return f"{ACCOUNTS_PAGE}?{urlencode({'connect_error': _cut(message)})}"


@dataclass(frozen=True, slots=True)
class Notice:
    """A message shown at the top of a page, once."""

    kind: Literal["success", "error"]
    text: str


def connect_notice(query: Mapping[str, str]) -> Notice | None:
    """The notice `after_connect`, `after_refusal` or the choice screen asked for, if any."""
    error = query.get("connect_error", "").strip()
    if error:
        return Notice("error", _sentence(_cut(error)))
    try:
        platform = Platform(query.get("connected", ""))
        count = int(query.get("n", "1"))
    except ValueError:
        return None
    if not 1 <= count <= _MAX_COUNT:
        return None
    noun = "account" if count == 1 else "accounts"
    return Notice("success", f"Connected {count} {LABELS[platform]} {noun}.")


def _cut(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."
