"""Text length, counted the way each platform counts it.

Every network measures a post differently, and a scheduler that counts wrong either refuses posts
the platform would take or accepts posts that fail at publish time. Each function below states the
platform's rule and where it comes from (tags as in PLATFORMS.md).

    function             platforms                                       unit
    x_weighted_length    X                                               weighted characters
    grapheme_length      Bluesky                                         graphemes
    utf8_length          Bluesky (its second limit)                      UTF-8 bytes
    mastodon_length      Mastodon                                        characters (graphemes)
    threads_length       Threads                                         characters; emoji = bytes
    plain_length         LinkedIn, Facebook, Instagram, Reddit, sandbox  code points

Emoji are found by grapheme segmentation (the `grapheme` package, Unicode 13 segmentation rules),
not by a list of known emoji: `Extended_Pictographic` covers code points Unicode has reserved for
future emoji, so sequences newer than our data (🐦‍⬛, 🫱🏻‍🫲🏼) are still recognised as one emoji.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator

import grapheme
from grapheme.grapheme_property_group import GraphemePropertyGroup, get_group

with warnings.catch_warnings():
    # twitter-text-parser 3.0.0 loads its emoji table through `pkg_resources`, which recent
    # setuptools releases deprecate with a warning at import time (an error under our pytest
    # settings). We use only its URL extractor, which does not depend on that table.
    warnings.simplefilter("ignore")
    from twitter_text import extract_urls_with_indices

__all__ = [
    "X_URL_LENGTH",
    "grapheme_length",
    "mastodon_length",
    "plain_length",
    "threads_length",
    "url_count",
    "utf8_length",
    "x_weighted_length",
]

X_URL_LENGTH = 23
"""Every URL in a post to X counts this many characters, whatever its real length [TT]."""

# twitter-text v3 config [TT]: code points in these ranges weigh 1, every other weighs 2.
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_X_EMOJI_WEIGHT = 2

_ZWJ = "\u200d"
_VS15 = "\ufe0e"  # text presentation selector: "show this as a plain symbol, not an emoji"
_VS16 = "\ufe0f"  # emoji presentation selector
_COMBINING_KEYCAP = "\u20e3"
_KEYCAP = re.compile("[#*0-9]\ufe0f?\u20e3")

# Mastodon's Account::MENTION_RE (app/models/account.rb): `@user@domain`, not after a word
# character, `=` or `/` (so e-mail addresses and URLs are not mentions). Group 2 is the user.
_MASTODON_MENTION = re.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)", re.IGNORECASE
)


def x_weighted_length(text: str) -> int:
    """Length of a post to X in weighted characters; X allows 280 [TT; XD:counting-characters].

    The twitter-text v3 rule: normalise to NFC; each URL (with or without a scheme: a bare
    `example.com` counts) weighs 23; each emoji, however many code points it is made of, weighs 2;
    every other code point weighs 1 in U+0000-10FF, U+2000-200D, U+2010-201F, U+2032-2037 and 2
    elsewhere (so CJK counts double).

    URLs are found with `twitter-text-parser`, which follows the reference grammar and TLD list.
    Its `parse_tweet` is not used, because it gets three things wrong (checked against
    twitter-text's conformance suite and twemoji-parser's tests):

    - its emoji table is Unicode 12 (2019), so newer sequences are counted per code point:
      🐦‍⬛ weighs 5 and 🫱🏻‍🫲🏼 weighs 9 instead of 2;
    - it treats a bare © or ® as emoji (weight 2); twemoji-parser, which the reference
      implementation uses, only does with U+FE0F after them, so they weigh 1;
    - it rewrites CRLF to LF before counting; the reference implementation counts both
      characters, so we do too (a CRLF is never undercounted).
    """
    normalized = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end in _url_spans(normalized, bare_domains=True):
        total += _x_weight_without_urls(normalized[position:start]) + X_URL_LENGTH
        position = end
    return total + _x_weight_without_urls(normalized[position:])


def grapheme_length(text: str) -> int:
    """Number of extended grapheme clusters: what a reader sees as one character.

    Bluesky allows 300 in a post (`maxGraphemes` in app.bsky.feed.post [LX]). An emoji with skin
    tone, a ZWJ family and a flag each count 1; "e" plus a combining accent counts 1.
    """
    return int(grapheme.length(text))


def utf8_length(text: str) -> int:
    """Size of the text in UTF-8 bytes; Bluesky also caps a post at 3000 [LX:app/bsky/feed/post].

    Lone surrogates (possible in decoded JSON, never valid on the wire) count 3 bytes each
    instead of raising.
    """
    return len(text.encode("utf-8", errors="surrogatepass"))


def mastodon_length(text: str, *, url_length: int = 23) -> int:
    """Length of a Mastodon status as the server counts it [MD:user/posting.md].

    Mastodon's StatusLengthValidator replaces every http(s) URL with `url_length` characters
    (the instance's `characters_reserved_per_url`, 23 by default), shortens every `@user@domain`
    mention to `@user`, then counts grapheme clusters. Bare domains are not links on Mastodon,
    so `example.com` counts its 11 characters. The content warning (`spoiler_text`) counts
    towards the same limit; callers add it (see `content_rules.count_text`).
    """
    countable = _replace_spans(text, _url_spans(text, bare_domains=False), "x" * url_length)
    countable = _MASTODON_MENTION.sub(lambda match: "@" + match.group(2), countable)
    return grapheme_length(countable)


def threads_length(text: str) -> int:
    """Length of a Threads post: 500 allowed [Meta:"Threads Posts"].

    Characters (code points), except that each emoji counts as the number of bytes of its UTF-8
    encoding: 👍 counts 4, 👍🏽 8, a four-person ZWJ family 25.
    """
    total = 0
    for cluster in grapheme.graphemes(text):
        parts = _split_emoji(cluster)
        if parts is None:
            total += len(cluster)
        else:
            emoji, rest = parts
            total += utf8_length(emoji) + len(rest)
    return total


def plain_length(text: str) -> int:
    """Number of Unicode code points.

    LinkedIn (3000), Facebook (63206), Instagram (2200), Reddit (title 300, body 40000) and the
    sandbox document their limits in "characters" without a special counting rule; code points
    are the closest reading of that.
    """
    return len(text)


def url_count(text: str) -> int:
    """Number of links in the text, found with twitter-text's grammar (bare domains included).

    Threads refuses a post with more than 5 links [3P].
    """
    return sum(1 for _ in _url_spans(text, bare_domains=True))


def _url_spans(text: str, *, bare_domains: bool) -> Iterator[tuple[int, int]]:
    """(start, end) code-point offsets of the URLs in `text`, in order, never overlapping."""
    entities = extract_urls_with_indices(text, extract_urls_without_protocol=bare_domains)
    position = 0
    for entity in sorted(entities, key=lambda e: int(e["indices"][0])):
        start, end = int(entity["indices"][0]), int(entity["indices"][1])
        if start >= position:
            yield start, end
            position = end


def _replace_spans(text: str, spans: Iterable[tuple[int, int]], replacement: str) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _x_weight_without_urls(text: str) -> int:
    total = 0
    for cluster in grapheme.graphemes(text):
        parts = _split_emoji(cluster)
        if parts is None:
            total += sum(_x_code_point_weight(char) for char in cluster)
        else:
            _, rest = parts
            total += _X_EMOJI_WEIGHT + sum(_x_code_point_weight(char) for char in rest)
    return total


def _x_code_point_weight(char: str) -> int:
    code_point = ord(char)
    if any(low <= code_point <= high for low, high in _X_LIGHT_RANGES):
        return 1
    return 2


def _split_emoji(cluster: str) -> tuple[str, str] | None:
    """Split a grapheme cluster into (emoji sequence, other code points), or None if no emoji.

    An emoji sequence (UTS #51) is a keycap (`1️⃣`), a pair of regional indicators (a flag), or
    an Extended_Pictographic code point with its modifiers: skin tones, U+FE0F, tag characters
    (subdivision flags) and further pictographs joined by ZWJ. Anything else the segmentation
    attached to it (a stray combining accent) is returned separately, so it is counted on its
    own as the reference implementation does.
    """
    keycap = _KEYCAP.match(cluster)
    if keycap:
        return keycap.group(), cluster[keycap.end() :]
    first = cluster[0]
    if _is_regional_indicator(first):
        size = 2 if len(cluster) > 1 and _is_regional_indicator(cluster[1]) else 1
        return cluster[:size], cluster[size:]
    if not _is_extended_pictographic(first):
        return None
    if len(cluster) == 1:
        # © and ® are pictographic but shown as text unless U+FE0F follows; twemoji-parser
        # agrees, and they are ordinary characters in the Latin-1 range.
        return None if ord(first) < 0x100 else (cluster, "")
    if cluster[1] == _VS15:
        return None  # explicitly asks for the text form
    emoji = [char for char in cluster if _is_emoji_part(char)]
    rest = [char for char in cluster if not _is_emoji_part(char)]
    return "".join(emoji), "".join(rest)


def _is_emoji_part(char: str) -> bool:
    code_point = ord(char)
    return (
        char in (_ZWJ, _VS16, _COMBINING_KEYCAP)
        or 0x1F3FB <= code_point <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code_point <= 0xE007F  # tag characters (subdivision flags like 🏴󠁧󠁢󠁳󠁣󠁴󠁿)
        or _is_extended_pictographic(char)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _is_extended_pictographic(char: str) -> bool:
    # The `grapheme` package does not re-export this lookup; the module is public (no
    # underscore) and holds the same Unicode property table the segmentation uses.
    return bool(get_group(char) is GraphemePropertyGroup.EXTENDED_PICTOGRAPHIC)
