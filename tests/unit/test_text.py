"""Per-platform text counting (postwright.domain.text).

The X cases include twitter-text's own conformance cases (conformance/validate.yml, v3 config),
so a change of library or emoji data that breaks parity shows up here.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwright.domain.text import (
    grapheme_length,
    mastodon_length,
    plain_length,
    threads_length,
    url_count,
    utf8_length,
    x_weighted_length,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦, 7 code points
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽
BLACK_BIRD = "\U0001f426\u200d\u2b1b"  # 🐦‍⬛, Emoji 15: newer than twitter-text-parser's table
HANDSHAKE = "\U0001faf1\U0001f3fb\u200d\U0001faf2\U0001f3fc"  # 🫱🏻‍🫲🏼, Emoji 14
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"  # ❤️‍🔥
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
JAPAN = "\U0001f1ef\U0001f1f5"  # 🇯🇵
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("a" * 280, 280, id="280-ascii-at-limit"),
        pytest.param("a" * 281, 281, id="281-ascii-over"),
        pytest.param("日本語", 6, id="cjk-weighs-2"),
        pytest.param("저찀쯿쿿", 8, id="hangul-weighs-2"),
        pytest.param("é", 1, id="latin-1"),
        pytest.param("A\u0301B", 2, id="nfc-first"),
        pytest.param("\u2014", 1, id="em-dash-in-light-range"),
        pytest.param("\u2026", 2, id="ellipsis-outside-light-ranges"),
        pytest.param("\U0001f44d", 2, id="emoji"),
        pytest.param(THUMBS_MEDIUM, 2, id="emoji-skin-tone"),
        pytest.param(FAMILY, 2, id="zwj-family"),
        pytest.param(FAMILY * 140, 280, id="140-families-at-limit"),
        pytest.param(BLACK_BIRD, 2, id="emoji-15-zwj"),
        pytest.param(HANDSHAKE, 2, id="emoji-14-zwj-skin-tones"),
        pytest.param(HEART_ON_FIRE, 2, id="heart-on-fire"),
        pytest.param(JAPAN, 2, id="flag"),
        pytest.param(JAPAN + JAPAN, 4, id="two-flags"),
        pytest.param(SCOTLAND, 2, id="subdivision-flag"),
        pytest.param(KEYCAP_ONE, 2, id="keycap"),
        pytest.param("\u00a9", 1, id="copyright-is-text"),
        pytest.param("\u00a9\ufe0f", 2, id="copyright-as-emoji"),
        pytest.param("\u2764\ufe0e", 4, id="text-presentation-selector"),
        pytest.param("\U0001f44d\u0301", 3, id="emoji-plus-stray-accent"),
        pytest.param("\r\n", 2, id="crlf-counts-both"),
        pytest.param("https://example.com/a/very/long/path/" + "x" * 100, 23, id="long-url"),
        pytest.param("http://a.co", 23, id="short-url"),
        pytest.param("example.com", 23, id="bare-domain"),
        pytest.param("see example.com now", 31, id="bare-domain-in-text"),
        pytest.param("notes.txt", 9, id="not-a-tld"),
        pytest.param("日本語.jp", 9, id="non-ascii-bare-domain-is-not-a-url"),
        pytest.param("Test https://test.com test https://test.com test.com test", 86, id="3-urls"),
        # twitter-text conformance (validate.yml, WeightedTweetsWithDiscountedEmojiCounterTest)
        pytest.param("Hi http://test.co", 26, id="tt-url"),
        pytest.param("H\U0001f431\u263a" + FAMILY, 7, id="tt-mix"),
        pytest.param("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10, id="tt-5-emoji"),
        pytest.param("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4, id="tt-skin-and-zwj"),
        pytest.param("\U00010000\U0010ffff", 4, id="tt-astral"),
        pytest.param("A\ufb2c", 4, id="tt-normalised-into-3-chars"),
        pytest.param(
            "This is a tweet with general punctuation characters: "
            "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u200c\u200d"
            " \u2010 \u2011 \u2012 \u2013 \u2014 \u2015 \u2016  \u2017 \u2018 \u2019 \u201a"
            " \u201b \u201c \u201d \u201e \u201f \u2032 \u2033 \u2034 \u2035 \u2036 \u2037",
            112,
            id="tt-general-punctuation",
        ),
        pytest.param("x" * 64 + ".com", 68, id="tt-64-char-label-is-not-a-domain"),
        pytest.param("ABC\u202a\uffffABC\ufffe", 12, id="tt-invalid-characters"),
        pytest.param(
            "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; "
            "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
            34,
            id="tt-unicode-10",
        ),
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("hello", 5, id="ascii"),
        pytest.param("e\u0301", 1, id="combining-accent"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param("\u1100\u1161\u11a8", 1, id="hangul-jamo"),
        pytest.param(THUMBS_MEDIUM, 1, id="skin-tone"),
        pytest.param(FAMILY, 1, id="zwj-family"),
        pytest.param(BLACK_BIRD, 1, id="emoji-15-zwj"),
        pytest.param(JAPAN + JAPAN, 2, id="two-flags"),
        pytest.param(SCOTLAND, 1, id="subdivision-flag"),
        pytest.param(KEYCAP_ONE, 1, id="keycap"),
        pytest.param("\r\n", 1, id="crlf"),
        pytest.param("a" * 300, 300, id="300"),
    ],
)
def test_grapheme_length(text: str, expected: int) -> None:
    assert grapheme_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("abc", 3, id="ascii"),
        pytest.param("é", 2, id="latin-1"),
        pytest.param("日", 3, id="cjk"),
        pytest.param("\U0001f44d", 4, id="emoji"),
        pytest.param(FAMILY, 25, id="zwj-family"),
        pytest.param("a\ud800b", 5, id="lone-surrogate-does-not-raise"),
    ],
)
def test_utf8_length(text: str, expected: int) -> None:
    assert utf8_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("hello", 5, id="plain"),
        pytest.param("https://example.com/" + "x" * 100, 23, id="long-url-counts-23"),
        pytest.param("http://a.co", 23, id="short-url-counts-23-too"),
        pytest.param("see https://example.com ok", 30, id="url-in-text"),
        pytest.param("example.com", 11, id="bare-domain-is-not-a-link"),
        pytest.param("hi @alice@mastodon.social", 9, id="remote-mention-counts-user-only"),
        pytest.param("hi @alice", 9, id="local-mention"),
        pytest.param("mail bob@example.org", 20, id="email-is-not-a-mention"),
        pytest.param(FAMILY, 1, id="emoji-is-one"),
        pytest.param("e\u0301", 1, id="graphemes"),
    ],
)
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


def test_mastodon_length_uses_the_instances_url_length() -> None:
    assert mastodon_length("https://example.com/path", url_length=30) == 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("hello", 5, id="ascii"),
        pytest.param("日本語", 3, id="cjk-counts-1"),
        pytest.param("\u00a9 2026", 6, id="copyright-is-a-character"),
        pytest.param("\U0001f44d", 4, id="emoji-4-bytes"),
        pytest.param(THUMBS_MEDIUM, 8, id="skin-tone-8-bytes"),
        pytest.param(FAMILY, 25, id="family-25-bytes"),
        pytest.param(JAPAN, 8, id="flag-8-bytes"),
        pytest.param(KEYCAP_ONE, 7, id="keycap-7-bytes"),
        pytest.param("hi \U0001f44d!", 8, id="mixed"),
    ],
)
def test_threads_length(text: str, expected: int) -> None:
    assert threads_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("hello", 5, id="ascii"),
        pytest.param("日本語", 3, id="cjk"),
        pytest.param(THUMBS_MEDIUM, 2, id="code-points-not-graphemes"),
        pytest.param("e\u0301", 2, id="no-normalisation"),
    ],
)
def test_plain_length(text: str, expected: int) -> None:
    assert plain_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("no links here", 0, id="none"),
        pytest.param("a.com b.com https://c.com/x", 3, id="bare-and-full"),
        pytest.param("notes.txt", 0, id="not-a-tld"),
    ],
)
def test_url_count(text: str, expected: int) -> None:
    assert url_count(text) == expected


# Properties. Each holds for every input, not just the examples above.

ASCII_WITHOUT_URLS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=".:")
)
NO_DOTS = st.text().filter(lambda text: "." not in text)  # no dot, no URL


@given(ASCII_WITHOUT_URLS)
def test_x_ascii_weighs_one_per_character(text: str) -> None:
    assert x_weighted_length(text) == len(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)))
def test_x_cjk_weighs_two_per_character(text: str) -> None:
    assert x_weighted_length(text) == 2 * len(text)


@given(st.text())
def test_x_counts_after_nfc(text: str) -> None:
    assert x_weighted_length(unicodedata.normalize("NFD", text)) == x_weighted_length(text)


@given(NO_DOTS)
def test_x_weighs_at_most_two_per_code_point_without_urls(text: str) -> None:
    assert x_weighted_length(text) <= 2 * len(unicodedata.normalize("NFC", text))


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-_", max_size=500))
def test_any_url_counts_23(path: str) -> None:
    url = "https://example.com/" + path
    assert x_weighted_length(url) == 23
    assert mastodon_length(url) == 23


@given(st.text(), st.text())
def test_graphemes_never_split_when_joining(a: str, b: str) -> None:
    assert grapheme_length(a + b) <= grapheme_length(a) + grapheme_length(b)


@given(st.text())
def test_length_units_are_ordered(text: str) -> None:
    # a grapheme holds at least one code point, a code point at least one byte, and Threads
    # counts each code point once except emoji, which count their bytes
    assert grapheme_length(text) <= plain_length(text) <= threads_length(text)
    assert threads_length(text) <= utf8_length(text)


@given(st.text().filter(lambda text: "@" not in text and ":" not in text))
def test_mastodon_counts_graphemes_without_links_or_mentions(text: str) -> None:
    assert mastodon_length(text) == grapheme_length(text)
