"""Bluesky rich text: find the links, @mentions and #hashtags of a post, as UTF-8 byte spans.

Bluesky does not parse post text: a link, mention or hashtag only works if the client sends a
facet for it, and a facet indexes the text by UTF-8 **bytes** (start inclusive, end exclusive),
not by characters [LX:app/bsky/richtext/facet.json]. "café @bob.test" puts the mention at bytes
6-15, not characters 5-14.

The rules follow the official client's detection (`@atproto/api` rich-text `detectFacets`):

- mentions: `@handle` at the start, after a space or after "(", where the handle is a syntactically
  valid domain name; a mention becomes a facet only once its handle resolves to a DID;
- links: twitter-text's URL grammar (the one our text counting uses): full URLs, and bare
  domains with a known top-level domain, which get `https://` in the facet; trailing punctuation
  is left out;
- hashtags: `#tag` (or the full-width number sign, U+FF03) at the start or after a space,
  running to the next space, with at least one character that is neither a digit nor
  punctuation; trailing punctuation is left out; at most 64 graphemes and 640 bytes (the
  lexicon's limits).

Overlapping spans are impossible to render, so the first found wins (mentions, then links, then
hashtags).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from postwright.domain.text import grapheme_length

with warnings.catch_warnings():
    # See domain/text.py: twitter-text warns about `pkg_resources` at import time.
    warnings.simplefilter("ignore")
    from twitter_text import extract_urls_with_indices

__all__ = ["Segment", "detect", "to_facets", "utf8_offsets"]

FACET = "app.bsky.richtext.facet"
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640

SegmentKind = Literal["mention", "link", "tag"]

# `(?<![^\s(])`: at the start of the text, or after whitespace or "(".
_MENTION = re.compile(r"(?<![^\s(])@([a-zA-Z0-9.-]+)\b")
# AT Protocol handle syntax: a domain name of 2+ labels, the last starting with a letter.
_HANDLE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_MAX_HANDLE = 253
# Characters that end a hashtag besides whitespace: soft hyphen, word joiner, hair space,
# zero-width space/non-joiner/joiner, combining enclosing keycap.
_TAG_BREAKERS = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = re.compile(rf"(?<!\S)[#\uff03]([^\s{_TAG_BREAKERS}]+)")
_VS16 = "\ufe0f"


@dataclass(frozen=True, slots=True)
class Segment:
    """One detected span: `start`/`end` are UTF-8 byte offsets; `value` the handle, URI or tag."""

    kind: SegmentKind
    start: int
    end: int
    value: str


def utf8_offsets(text: str) -> list[int]:
    """`offsets[i]`: the UTF-8 byte offset of code point `i`; `offsets[len(text)]`: the size."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8", "surrogatepass")))
    return offsets


def detect(text: str) -> list[Segment]:
    """Every mention, link and hashtag of `text`, ordered by position, none overlapping."""
    offsets = utf8_offsets(text)
    found: list[Segment] = []
    taken: list[tuple[int, int]] = []
    for kind, start, end, value in (*_mentions(text), *_links(text), *_tags(text)):
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            continue
        taken.append((start, end))
        found.append(Segment(kind, offsets[start], offsets[end], value))
    return sorted(found, key=lambda segment: segment.start)


def to_facets(segments: Sequence[Segment], dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `facets` of a post record; a mention whose handle is not in `dids` is left out."""
    facets: list[dict[str, Any]] = []
    for segment in segments:
        feature: dict[str, Any]
        if segment.kind == "mention":
            did = dids.get(segment.value.lower())
            if did is None:
                continue
            feature = {"$type": f"{FACET}#mention", "did": did}
        elif segment.kind == "link":
            feature = {"$type": f"{FACET}#link", "uri": segment.value}
        else:
            feature = {"$type": f"{FACET}#tag", "tag": segment.value}
        facets.append(
            {
                "index": {"byteStart": segment.start, "byteEnd": segment.end},
                "features": [feature],
            }
        )
    return facets


_Found = Iterator[tuple[SegmentKind, int, int, str]]  # kind, code-point start and end, value


def _mentions(text: str) -> _Found:
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        if len(handle) <= _MAX_HANDLE and _HANDLE.fullmatch(handle):
            yield "mention", match.start(), match.end(), handle


def _links(text: str) -> _Found:
    for entity in extract_urls_with_indices(text, extract_urls_without_protocol=True):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        url = str(entity["url"])
        if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", url):
            url = f"https://{url}"
        yield "link", start, end, url


def _tags(text: str) -> _Found:
    for match in _TAG.finditer(text):
        body = match.group(1)
        if body.startswith(_VS16):  # "#️⃣" is the keycap emoji, not a tag
            continue
        if not any(not _is_punctuation(c) and c not in "0123456789" for c in body):
            continue
        tag = body
        while tag and _is_punctuation(tag[-1]):
            tag = tag[:-1]
        if not tag or grapheme_length(tag) > MAX_TAG_GRAPHEMES:
            continue
        if len(tag.encode("utf-8", "surrogatepass")) > MAX_TAG_BYTES:
            continue
        yield "tag", match.start(), match.start(1) + len(tag), tag


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")
