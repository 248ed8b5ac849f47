"""What a post must look like for each platform, checked before it is scheduled.

`validate_content` returns every rule a draft breaks (not just the first), each as a `Violation`
whose message says what to change: the count, the limit and the unit ("312 graphemes; Bluesky
allows 300"), or the file and its size. `limits_for` exposes the same numbers to whoever wants to
show a counter. The facts come from PLATFORMS.md; "(?)" there means weak evidence, and where a
limit's unit is unknown we take the stricter reading, so a post we accept is not refused later.

Rule names (the `rule` of a Violation):

    required      something needed is missing (text or media, a subreddit, a title)
    max_length    text (or title) longer than the platform allows
    max_media     too many attachments
    media_kind    a kind of file the platform does not take, or kinds it will not mix
    media_size    a file larger than the platform takes
    invalid       an option with a value the platform does not know
    max_links     too many links (Threads)
    max_hashtags  too many hashtags (Instagram)
    max_mentions  too many @-mentions (Instagram)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

from postwright.domain.errors import Violation
from postwright.domain.platforms import Platform
from postwright.domain.text import (
    grapheme_length,
    mastodon_length,
    plain_length,
    threads_length,
    url_count,
    utf8_length,
    x_weighted_length,
)

__all__ = [
    "GIF",
    "IMAGE",
    "OTHER",
    "VIDEO",
    "ContentDraft",
    "MediaGroup",
    "MediaInfo",
    "PlatformLimits",
    "SizeLimit",
    "count_text",
    "limits_for",
    "validate_content",
]

IMAGE = "image"
GIF = "gif"
VIDEO = "video"
OTHER = "other"

MASTODON_DEFAULT_MAX_CHARACTERS = 500
_MB = 1_000_000
_MIB = 1_048_576


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the rules need to know about one attached file."""

    filename: str
    kind: str  # image | gif | video | other
    mime_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class ContentDraft:
    """The content going to one target: its text, its media and that platform's options."""

    text: str
    media: Sequence[MediaInfo] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SizeLimit:
    """A file-size cap as the platform states it: `amount` MB (or GB) of `unit` bytes each.

    X means 5 MB as 5 x 1,048,576 bytes; Bluesky means 1 MB as 1,000,000. Where a platform does
    not say, the decimal reading is used because it is the smaller one.
    """

    amount: int
    unit: int = _MB
    gigabytes: bool = False

    @property
    def max_bytes(self) -> int:
        return self.amount * self.unit * (self._kilo if self.gigabytes else 1)

    @property
    def label(self) -> str:
        return f"{self.amount} {'GB' if self.gigabytes else 'MB'}"

    def describe(self, size_bytes: int) -> tuple[str, str]:
        """How to show `size_bytes` next to this limit, in the same unit, without a false tie."""
        scale = self.unit * (self._kilo if self.gigabytes else 1)
        shown = f"{size_bytes / scale:.1f}"
        if float(shown) <= self.amount:  # 5,242,881 bytes would read "5.0 MB ... up to 5 MB"
            return f"{size_bytes:,} bytes", f"{self.max_bytes:,} bytes ({self.label})"
        return f"{shown} {'GB' if self.gigabytes else 'MB'}", self.label

    @property
    def _kilo(self) -> int:
        return 1024 if self.unit == _MIB else 1000


@dataclass(frozen=True, slots=True)
class MediaGroup:
    """Kinds of media that may share one post, and how many (None: no documented cap)."""

    kinds: frozenset[str]
    max_items: int | None


@dataclass(frozen=True)
class PlatformLimits:
    """One platform's content limits, as `validate_content` applies them."""

    platform: Platform
    name: str
    max_text: int
    text_unit: str  # what `count_text` counts, e.g. "weighted characters", "graphemes"
    text_note: str = ""  # how counting differs from the obvious, added to length messages
    text_limit_owner: str = ""  # who sets the text limit, when not the platform as a whole
    max_text_bytes: int | None = None
    # A post's media must fit in one group: X takes 4 images, or 1 GIF, or 1 video.
    media_groups: tuple[MediaGroup, ...] = ()
    max_bytes: Mapping[str, SizeLimit] = field(default_factory=dict)
    mime_types: Mapping[str, frozenset[str]] = field(default_factory=dict)  # when restricted
    media_required: bool = False
    max_links: int | None = None
    max_hashtags: int | None = None
    max_mentions: int | None = None
    max_title: int | None = None

    @property
    def media_kinds(self) -> frozenset[str]:
        """Every kind of media the platform takes."""
        return frozenset().union(*(group.kinds for group in self.media_groups))

    @property
    def max_media(self) -> int | None:
        """The most attachments one post can have (None: no documented cap)."""
        caps = [group.max_items for group in self.media_groups]
        if any(cap is None for cap in caps):
            return None
        return max((cap for cap in caps if cap is not None), default=0)


def _group(max_items: int | None, *kinds: str) -> MediaGroup:
    return MediaGroup(frozenset(kinds), max_items)


_INSTAGRAM_MEDIA = {
    # Feed posts are one image or video, or a carousel of up to 10 [PZ:instagram].
    "FEED": (_group(10, IMAGE, VIDEO),),
    "REELS": (_group(1, VIDEO),),
    "STORIES": (_group(1, IMAGE, VIDEO),),
}

_LIMITS: dict[Platform, PlatformLimits] = {
    Platform.X: PlatformLimits(
        platform=Platform.X,
        name="X",
        max_text=280,
        text_unit="weighted characters",
        text_note="links count 23, emoji and CJK characters count 2",
        media_groups=(_group(4, IMAGE), _group(1, GIF), _group(1, VIDEO)),
        # X states its caps in binary megabytes (5 MB = 5,242,880 bytes) [XD:best-practices].
        max_bytes={
            IMAGE: SizeLimit(5, _MIB),
            GIF: SizeLimit(15, _MIB),
            VIDEO: SizeLimit(512, _MIB),
        },
    ),
    Platform.BLUESKY: PlatformLimits(
        platform=Platform.BLUESKY,
        name="Bluesky",
        max_text=300,
        text_unit="graphemes",
        max_text_bytes=3000,
        # A GIF goes up as an image blob (the lexicon accepts image/*), so it shares their cap.
        media_groups=(_group(4, IMAGE, GIF), _group(1, VIDEO)),
        # The lexicon now allows 2,000,000-byte images but the docs still say 1,000,000 [BD:posts].
        max_bytes={
            IMAGE: SizeLimit(1),
            GIF: SizeLimit(1),
            VIDEO: SizeLimit(300),
        },
        mime_types={VIDEO: frozenset({"video/mp4"})},
    ),
    Platform.MASTODON: PlatformLimits(
        platform=Platform.MASTODON,
        name="Mastodon",
        max_text=MASTODON_DEFAULT_MAX_CHARACTERS,
        text_unit="characters",
        text_note="each link counts 23, and the content warning counts too",
        text_limit_owner="this Mastodon server",
        # Mastodon refuses a video or audio file next to anything else; GIFs become `gifv`,
        # which it does not count as video (app/services/post_status_service.rb).
        media_groups=(_group(4, IMAGE, GIF), _group(1, VIDEO)),
    ),
    Platform.THREADS: PlatformLimits(
        platform=Platform.THREADS,
        name="Threads",
        max_text=500,
        text_unit="characters",
        text_note="each emoji counts as its size in bytes, 4 or more",
        media_groups=(_group(20, IMAGE, VIDEO),),
        max_bytes={IMAGE: SizeLimit(8), VIDEO: SizeLimit(1, gigabytes=True)},
        max_links=5,
    ),
    Platform.LINKEDIN: PlatformLimits(
        platform=Platform.LINKEDIN,
        name="LinkedIn",
        max_text=3000,
        text_unit="characters",
        media_groups=(_group(20, IMAGE, GIF), _group(1, VIDEO)),
    ),
    Platform.INSTAGRAM: PlatformLimits(
        platform=Platform.INSTAGRAM,
        name="Instagram",
        max_text=2200,
        text_unit="characters",
        media_groups=_INSTAGRAM_MEDIA["FEED"],
        max_bytes={IMAGE: SizeLimit(8)},
        media_required=True,
        max_hashtags=30,
        max_mentions=20,
    ),
    Platform.FACEBOOK: PlatformLimits(
        platform=Platform.FACEBOOK,
        name="Facebook",
        max_text=63206,
        text_unit="characters",
        # Photos go in `attached_media` (no documented cap); a video is its own post.
        media_groups=(_group(None, IMAGE, GIF), _group(1, VIDEO)),
    ),
    Platform.REDDIT: PlatformLimits(
        platform=Platform.REDDIT,
        name="Reddit",
        max_text=40000,
        text_unit="characters",
        media_groups=(_group(1, IMAGE, GIF, VIDEO),),
        max_title=300,
    ),
    Platform.SANDBOX: PlatformLimits(
        platform=Platform.SANDBOX,
        name="the sandbox",
        max_text=5000,
        text_unit="characters",
        media_groups=(_group(4, IMAGE, GIF, VIDEO),),
    ),
}

# Values the platforms accept for the options we pass through; anything else fails at publish.
_OPTION_CHOICES: dict[Platform, dict[str, tuple[str, ...]]] = {
    Platform.X: {"reply_settings": ("following", "mentionedUsers", "subscribers", "verified")},
    Platform.MASTODON: {"visibility": ("public", "unlisted", "private", "direct")},
    Platform.LINKEDIN: {"visibility": ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER")},
    Platform.INSTAGRAM: {"media_type": tuple(_INSTAGRAM_MEDIA)},
    Platform.REDDIT: {"kind": ("self", "link", "image", "video", "videogif")},
}
_BLUESKY_MAX_LANGS = 3  # app.bsky.feed.post `langs` maxLength [LX]

# Reddit names are 3-21 letters, digits or underscores; people often type the "r/" prefix.
_SUBREDDIT = re.compile(r"(?:/?r/)?[A-Za-z0-9_]{3,21}")
# Instagram counts #tags and @handles; not inside words, so "a@b.com" and "C#" do not count.
_HASHTAG = re.compile(r"(?<![\w&#])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9._]+")


def limits_for(platform: Platform, options: Mapping[str, Any] | None = None) -> PlatformLimits:
    """The limits that apply to a post for `platform` with these target options.

    Only two depend on options: Mastodon's text limit is the instance's `max_characters`
    (default 500), and Instagram's media rules follow `media_type` (FEED, REELS or STORIES).
    Unusable option values fall back to the defaults; `validate_content` reports them.
    """
    options = options or {}
    limits = _LIMITS[platform]
    if platform is Platform.MASTODON:
        max_characters = options.get("max_characters")
        if _is_positive_int(max_characters):
            return replace(limits, max_text=max_characters)
    if platform is Platform.INSTAGRAM:
        media_type = str(options.get("media_type") or "FEED")
        if media_type in _INSTAGRAM_MEDIA and media_type != "FEED":
            return replace(
                limits,
                name=f"Instagram ({media_type.title()})",
                media_groups=_INSTAGRAM_MEDIA[media_type],
            )
    return limits


def count_text(platform: Platform, text: str, options: Mapping[str, Any] | None = None) -> int:
    """The length of `text` in the platform's own unit (see `PlatformLimits.text_unit`)."""
    options = options or {}
    if platform is Platform.X:
        return x_weighted_length(text)
    if platform is Platform.BLUESKY:
        return grapheme_length(text)
    if platform is Platform.MASTODON:
        # StatusLengthValidator counts the content warning and the text together.
        spoiler = options.get("spoiler_text")
        return mastodon_length(text) + (grapheme_length(spoiler) if isinstance(spoiler, str) else 0)
    if platform is Platform.THREADS:
        return threads_length(text)
    return plain_length(text)


def validate_content(platform: Platform, draft: ContentDraft, *, prefix: str) -> list[Violation]:
    """Every rule `draft` breaks on `platform`; empty when it can be published as it is.

    Field paths start with `prefix` (e.g. "targets.0"): `{prefix}.text`, `{prefix}.media`,
    `{prefix}.options.<name>`. Media messages name the file.
    """
    limits = limits_for(platform, draft.options)
    return [
        *_check_options(platform, draft.options, prefix),
        *_check_text(platform, limits, draft, prefix),
        *_check_media(limits, draft.media, prefix),
    ]


def _check_text(
    platform: Platform, limits: PlatformLimits, draft: ContentDraft, prefix: str
) -> list[Violation]:
    where = f"{prefix}.text"
    text = draft.text
    if not text.strip() and not draft.media:
        return [
            Violation(
                where,
                "required",
                f"Write some text or attach media; {limits.name} cannot publish an empty post",
            )
        ]
    found: list[Violation] = []
    count = count_text(platform, text, draft.options)
    if count > limits.max_text:
        note = f" ({limits.text_note})" if limits.text_note else ""
        found.append(
            Violation(
                where,
                "max_length",
                f"{count:,} {limits.text_unit}; {limits.text_limit_owner or limits.name} "
                f"allows {limits.max_text:,}{note}",
            )
        )
    if limits.max_text_bytes is not None:
        size = utf8_length(text)
        if size > limits.max_text_bytes:
            found.append(
                Violation(
                    where,
                    "max_length",
                    f"{size:,} bytes in UTF-8; {limits.name} allows {limits.max_text_bytes:,} bytes"
                    " (emoji and most non-Latin characters take 2 to 4 bytes each)",
                )
            )
    for rule, limit, noun, count_of in (
        ("max_links", limits.max_links, "links", url_count),
        ("max_hashtags", limits.max_hashtags, "hashtags", _count_hashtags),
        ("max_mentions", limits.max_mentions, "@-mentions", _count_mentions),
    ):
        if limit is not None and (found_count := count_of(text)) > limit:
            found.append(
                Violation(where, rule, f"{found_count} {noun}; {limits.name} allows {limit}")
            )
    return found


def _check_media(
    limits: PlatformLimits, media: Sequence[MediaInfo], prefix: str
) -> list[Violation]:
    where = f"{prefix}.media"
    if not media:
        if limits.media_required:
            return [
                Violation(
                    where,
                    "required",
                    f"{limits.name} needs at least one "
                    + " or ".join(_SINGULARS.get(k, k) for k in _ordered(limits.media_kinds)),
                )
            ]
        return []
    found: list[Violation] = []
    accepted = limits.media_kinds
    for item in media:
        if item.kind not in accepted:
            found.append(
                Violation(
                    where,
                    "media_kind",
                    f"{item.filename} is {_kind_phrase(item.kind)}; "
                    f"{limits.name} accepts {_join(_plural(kind) for kind in _ordered(accepted))}",
                )
            )
            continue
        mime_types = limits.mime_types.get(item.kind)
        if mime_types is not None and item.mime_type not in mime_types:
            found.append(
                Violation(
                    where,
                    "media_kind",
                    f"{item.filename} is {item.mime_type}; {limits.name} accepts "
                    f"{_plural(item.kind)} only as {_join(sorted(mime_types))}",
                )
            )
        size_limit = limits.max_bytes.get(item.kind)
        if size_limit is not None and item.size_bytes > size_limit.max_bytes:
            size, cap = size_limit.describe(item.size_bytes)
            found.append(
                Violation(
                    where,
                    "media_size",
                    f"{item.filename} is {size}; {limits.name} accepts "
                    f"{_plural(item.kind)} up to {cap}",
                )
            )
    usable = [item for item in media if item.kind in accepted]
    found.extend(_check_media_count(limits, usable, where))
    return found


def _check_media_count(
    limits: PlatformLimits, media: Sequence[MediaInfo], where: str
) -> list[Violation]:
    if not media:
        return []
    kinds = {item.kind for item in media}
    group = next((g for g in limits.media_groups if kinds <= g.kinds), None)
    if group is None:
        options = ", or ".join(_describe_group(g) for g in limits.media_groups)
        mixed = _join(_count_of(media, kind) for kind in _ordered(kinds))
        return [
            Violation(
                where,
                "media_kind",
                f"{limits.name} takes {options} per post, not a mix; this post has {mixed}",
            )
        ]
    if group.max_items is not None and len(media) > group.max_items:
        noun = _plural(next(iter(kinds))) if len(kinds) == 1 else "attachments"
        return [
            Violation(
                where,
                "max_media",
                f"{len(media)} {noun}; {limits.name} allows {group.max_items} per post",
            )
        ]
    return []


def _check_options(platform: Platform, options: Mapping[str, Any], prefix: str) -> list[Violation]:
    found: list[Violation] = []
    name = _LIMITS[platform].name
    for key, choices in _OPTION_CHOICES.get(platform, {}).items():
        value = options.get(key)
        if value is not None and value not in choices:
            found.append(
                Violation(
                    f"{prefix}.options.{key}",
                    "invalid",
                    f"{value!r} is not a {name} {key.replace('_', ' ')}; "
                    f"use one of: {', '.join(choices)}",
                )
            )
    if platform is Platform.MASTODON:
        value = options.get("max_characters")
        if value is not None and not _is_positive_int(value):
            found.append(
                Violation(
                    f"{prefix}.options.max_characters",
                    "invalid",
                    f"{value!r} is not a character limit; use a whole number above 0",
                )
            )
    if platform is Platform.BLUESKY:
        found.extend(_check_bluesky_langs(options.get("langs"), prefix))
    if platform is Platform.REDDIT:
        found.extend(_check_reddit(options, prefix))
    return found


def _check_bluesky_langs(langs: Any, prefix: str) -> list[Violation]:
    where = f"{prefix}.options.langs"
    if langs is None:
        return []
    if not isinstance(langs, list | tuple) or not all(isinstance(lang, str) for lang in langs):
        return [Violation(where, "invalid", "langs must be a list of language codes, like ['en']")]
    if len(langs) > _BLUESKY_MAX_LANGS:
        return [
            Violation(
                where,
                "invalid",
                f"{len(langs)} languages; Bluesky allows up to {_BLUESKY_MAX_LANGS}",
            )
        ]
    return []


def _check_reddit(options: Mapping[str, Any], prefix: str) -> list[Violation]:
    found: list[Violation] = []
    subreddit = options.get("subreddit")
    where = f"{prefix}.options.subreddit"
    if subreddit is None or (isinstance(subreddit, str) and not subreddit.strip()):
        found.append(Violation(where, "required", "Choose the subreddit to post to"))
    elif not isinstance(subreddit, str) or not _SUBREDDIT.fullmatch(subreddit.strip()):
        found.append(
            Violation(
                where,
                "invalid",
                f"{subreddit!r} is not a subreddit name; "
                "names are 3 to 21 letters, digits or underscores, like r/python",
            )
        )
    title = options.get("title")
    where = f"{prefix}.options.title"
    if title is None or (isinstance(title, str) and not title.strip()):
        found.append(Violation(where, "required", "Reddit posts need a title"))
    elif not isinstance(title, str):
        found.append(Violation(where, "invalid", "The title must be text"))
    else:
        length = plain_length(title)
        limit = _LIMITS[Platform.REDDIT].max_title
        if limit is not None and length > limit:
            found.append(
                Violation(
                    where, "max_length", f"The title is {length} characters; Reddit allows {limit}"
                )
            )
    return found


def _count_hashtags(text: str) -> int:
    return len(_HASHTAG.findall(text))


def _count_mentions(text: str) -> int:
    return len(_MENTION.findall(text))


def _is_positive_int(value: Any) -> TypeGuard[int]:
    # bool is an int in Python; `True` is not a character limit.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_KIND_ORDER = (IMAGE, GIF, VIDEO, OTHER)
_PLURALS = {IMAGE: "images", GIF: "GIFs", VIDEO: "videos"}
_SINGULARS = {IMAGE: "image", GIF: "GIF", VIDEO: "video"}


def _ordered(kinds: frozenset[str] | set[str]) -> list[str]:
    return sorted(kinds, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else 99, k))


def _plural(kind: str) -> str:
    return _PLURALS.get(kind, f"{kind} files")


def _count_of(media: Sequence[MediaInfo], kind: str) -> str:
    count = sum(1 for item in media if item.kind == kind)
    return f"{count} {_SINGULARS.get(kind, kind) if count == 1 else _plural(kind)}"


def _kind_phrase(kind: str) -> str:
    if kind in _SINGULARS:
        return f"a {_SINGULARS[kind]}" if kind != IMAGE else "an image"
    return "not an image or a video"


def _describe_group(group: MediaGroup) -> str:
    kinds = _ordered(group.kinds)
    if group.max_items is None:
        return f"any number of {_join(_plural(k) for k in kinds)}"
    if group.max_items == 1:
        return f"1 {' or '.join(_SINGULARS.get(k, k) for k in kinds)}"
    return f"up to {group.max_items} {_join(_plural(k) for k in kinds)}"


def _join(words: Iterable[str]) -> str:
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
