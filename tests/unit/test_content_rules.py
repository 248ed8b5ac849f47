"""Per-platform content rules (postwright.domain.content_rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwright.domain.content_rules import (
    ContentDraft,
    MediaInfo,
    count_text,
    limits_for,
    validate_content,
)
from postwright.domain.errors import Violation
from postwright.domain.platforms import Platform

P = Platform
MB = 1_000_000
MIB = 1_048_576
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 UTF-8 bytes
REDDIT_OK = {"subreddit": "r/python", "title": "A title"}


def image(size: int = 1000, name: str = "photo.jpg") -> MediaInfo:
    return MediaInfo(name, "image", "image/jpeg", size, 1080, 1080, None)


def gif(size: int = 1000, name: str = "loop.gif") -> MediaInfo:
    return MediaInfo(name, "gif", "image/gif", size, 480, 480, None)


def video(size: int = 1000, name: str = "clip.mp4", mime: str = "video/mp4") -> MediaInfo:
    return MediaInfo(name, "video", mime, size, 1920, 1080, 12.5)


def other(name: str = "notes.pdf") -> MediaInfo:
    return MediaInfo(name, "other", "application/pdf", 1000, None, None, None)


def draft(
    text: str = "hello",
    media: Sequence[MediaInfo] = (),
    options: Mapping[str, Any] | None = None,
) -> ContentDraft:
    return ContentDraft(text=text, media=media, options=options or {})


def rules(platform: Platform, content: ContentDraft) -> set[tuple[str, str]]:
    return {(v.field, v.rule) for v in validate_content(platform, content, prefix="t.0")}


# Each case: a draft that breaks exactly one rule, and the (field, rule) it must report.
FAILING = [
    # text length, one over the limit
    pytest.param(P.X, draft("a" * 281), ("t.0.text", "max_length"), id="x-281"),
    pytest.param(P.X, draft("日" * 141), ("t.0.text", "max_length"), id="x-141-cjk"),
    pytest.param(P.X, draft(FAMILY * 141), ("t.0.text", "max_length"), id="x-141-families"),
    pytest.param(P.BLUESKY, draft("é" * 301), ("t.0.text", "max_length"), id="bsky-301"),
    pytest.param(P.BLUESKY, draft(FAMILY * 120 + "a"), ("t.0.text", "max_length"), id="bsky-3001B"),
    pytest.param(P.MASTODON, draft("a" * 501), ("t.0.text", "max_length"), id="masto-501"),
    pytest.param(
        P.MASTODON,
        draft("a" * 1001, options={"max_characters": 1000}),
        ("t.0.text", "max_length"),
        id="masto-instance-limit",
    ),
    pytest.param(
        P.MASTODON,
        draft("a" * 490, options={"spoiler_text": "x" * 11}),
        ("t.0.text", "max_length"),
        id="masto-content-warning-counts",
    ),
    pytest.param(
        P.MASTODON,
        draft("a" * 477 + " https://example.com/x"),
        ("t.0.text", "max_length"),
        id="masto-url-counts-23",
    ),
    pytest.param(P.THREADS, draft("a" * 501), ("t.0.text", "max_length"), id="threads-501"),
    pytest.param(
        P.THREADS, draft("a" * 497 + "\U0001f44d"), ("t.0.text", "max_length"), id="threads-emoji"
    ),
    pytest.param(P.LINKEDIN, draft("a" * 3001), ("t.0.text", "max_length"), id="linkedin-3001"),
    pytest.param(P.INSTAGRAM, draft("a" * 2201, [image()]), ("t.0.text", "max_length"), id="ig"),
    pytest.param(P.FACEBOOK, draft("a" * 63207), ("t.0.text", "max_length"), id="fb-63207"),
    pytest.param(
        P.REDDIT, draft("a" * 40001, options=REDDIT_OK), ("t.0.text", "max_length"), id="reddit"
    ),
    pytest.param(P.SANDBOX, draft("a" * 5001), ("t.0.text", "max_length"), id="sandbox-5001"),
    # empty posts
    pytest.param(P.X, draft(""), ("t.0.text", "required"), id="x-empty"),
    pytest.param(P.BLUESKY, draft(" \n\t"), ("t.0.text", "required"), id="bsky-blank"),
    pytest.param(P.MASTODON, draft(""), ("t.0.text", "required"), id="masto-empty"),
    pytest.param(P.THREADS, draft(""), ("t.0.text", "required"), id="threads-empty"),
    pytest.param(P.LINKEDIN, draft(""), ("t.0.text", "required"), id="linkedin-empty"),
    pytest.param(P.FACEBOOK, draft(""), ("t.0.text", "required"), id="fb-empty"),
    pytest.param(P.REDDIT, draft("", options=REDDIT_OK), ("t.0.text", "required"), id="reddit"),
    pytest.param(P.SANDBOX, draft(""), ("t.0.text", "required"), id="sandbox-empty"),
    # links, hashtags, mentions
    pytest.param(
        P.THREADS,
        draft(" ".join(f"https://e{i}.com" for i in range(6))),
        ("t.0.text", "max_links"),
        id="threads-6-links",
    ),
    pytest.param(
        P.INSTAGRAM,
        draft(" ".join(f"#tag{i}" for i in range(31)), [image()]),
        ("t.0.text", "max_hashtags"),
        id="ig-31-hashtags",
    ),
    pytest.param(
        P.INSTAGRAM,
        draft(" ".join(f"@user{i}" for i in range(21)), [image()]),
        ("t.0.text", "max_mentions"),
        id="ig-21-mentions",
    ),
    # media count and mixing
    pytest.param(P.X, draft(media=[image()] * 5), ("t.0.media", "max_media"), id="x-5-images"),
    pytest.param(P.X, draft(media=[gif()] * 2), ("t.0.media", "max_media"), id="x-2-gifs"),
    pytest.param(P.X, draft(media=[video()] * 2), ("t.0.media", "max_media"), id="x-2-videos"),
    pytest.param(P.X, draft(media=[image(), gif()]), ("t.0.media", "media_kind"), id="x-mix"),
    pytest.param(
        P.BLUESKY, draft(media=[image()] * 5), ("t.0.media", "max_media"), id="bsky-5-images"
    ),
    pytest.param(
        P.BLUESKY, draft(media=[image(), video()]), ("t.0.media", "media_kind"), id="bsky-mix"
    ),
    pytest.param(P.MASTODON, draft(media=[image()] * 5), ("t.0.media", "max_media"), id="masto-5"),
    pytest.param(
        P.MASTODON, draft(media=[image(), video()]), ("t.0.media", "media_kind"), id="masto-mix"
    ),
    pytest.param(
        P.THREADS, draft(media=[image()] * 21), ("t.0.media", "max_media"), id="threads-21"
    ),
    pytest.param(
        P.LINKEDIN, draft(media=[image()] * 21), ("t.0.media", "max_media"), id="linkedin-21"
    ),
    pytest.param(
        P.LINKEDIN, draft(media=[video()] * 2), ("t.0.media", "max_media"), id="linkedin-2-videos"
    ),
    pytest.param(
        P.LINKEDIN, draft(media=[image(), video()]), ("t.0.media", "media_kind"), id="linkedin-mix"
    ),
    pytest.param(P.INSTAGRAM, draft(media=[image()] * 11), ("t.0.media", "max_media"), id="ig-11"),
    pytest.param(
        P.REDDIT,
        draft(media=[image()] * 2, options=REDDIT_OK),
        ("t.0.media", "max_media"),
        id="reddit-2",
    ),
    pytest.param(P.SANDBOX, draft(media=[image()] * 5), ("t.0.media", "max_media"), id="sandbox-5"),
    pytest.param(
        P.FACEBOOK, draft(media=[image(), video()]), ("t.0.media", "media_kind"), id="fb-mix"
    ),
    # media kinds
    pytest.param(P.X, draft(media=[other()]), ("t.0.media", "media_kind"), id="x-pdf"),
    pytest.param(P.INSTAGRAM, draft(media=[gif()]), ("t.0.media", "media_kind"), id="ig-gif"),
    pytest.param(P.THREADS, draft(media=[gif()]), ("t.0.media", "media_kind"), id="threads-gif"),
    pytest.param(
        P.BLUESKY,
        draft(media=[video(mime="video/quicktime")]),
        ("t.0.media", "media_kind"),
        id="bsky-mov",
    ),
    pytest.param(
        P.INSTAGRAM,
        draft(media=[image()], options={"media_type": "REELS"}),
        ("t.0.media", "media_kind"),
        id="ig-reel-needs-video",
    ),
    pytest.param(
        P.INSTAGRAM,
        draft(media=[image()] * 2, options={"media_type": "STORIES"}),
        ("t.0.media", "max_media"),
        id="ig-story-is-one-item",
    ),
    # media sizes, one byte over
    pytest.param(P.X, draft(media=[image(5 * MIB + 1)]), ("t.0.media", "media_size"), id="x-img"),
    pytest.param(P.X, draft(media=[gif(15 * MIB + 1)]), ("t.0.media", "media_size"), id="x-gif"),
    pytest.param(
        P.X, draft(media=[video(512 * MIB + 1)]), ("t.0.media", "media_size"), id="x-video"
    ),
    pytest.param(
        P.BLUESKY, draft(media=[image(MB + 1)]), ("t.0.media", "media_size"), id="bsky-img"
    ),
    pytest.param(
        P.BLUESKY, draft(media=[video(300 * MB + 1)]), ("t.0.media", "media_size"), id="bsky-video"
    ),
    pytest.param(
        P.THREADS, draft(media=[image(8 * MB + 1)]), ("t.0.media", "media_size"), id="threads-img"
    ),
    pytest.param(
        P.THREADS, draft(media=[video(10**9 + 1)]), ("t.0.media", "media_size"), id="threads-1GB"
    ),
    pytest.param(
        P.INSTAGRAM, draft(media=[image(8 * MB + 1)]), ("t.0.media", "media_size"), id="ig-img"
    ),
    # required media and options
    pytest.param(P.INSTAGRAM, draft("caption"), ("t.0.media", "required"), id="ig-needs-media"),
    pytest.param(
        P.REDDIT,
        draft(options={"title": "A title"}),
        ("t.0.options.subreddit", "required"),
        id="reddit-no-subreddit",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "r/ab", "title": "A title"}),
        ("t.0.options.subreddit", "invalid"),
        id="reddit-subreddit-2-chars",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "a" * 22, "title": "A title"}),
        ("t.0.options.subreddit", "invalid"),
        id="reddit-subreddit-22-chars",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "py-thon", "title": "A title"}),
        ("t.0.options.subreddit", "invalid"),
        id="reddit-subreddit-dash",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": 42, "title": "A title"}),
        ("t.0.options.subreddit", "invalid"),
        id="reddit-subreddit-not-text",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "python", "title": "  "}),
        ("t.0.options.title", "required"),
        id="reddit-blank-title",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "python", "title": "t" * 301}),
        ("t.0.options.title", "max_length"),
        id="reddit-title-301",
    ),
    pytest.param(
        P.MASTODON,
        draft(options={"visibility": "friends"}),
        ("t.0.options.visibility", "invalid"),
        id="masto-visibility",
    ),
    pytest.param(
        P.MASTODON,
        draft(options={"max_characters": 0}),
        ("t.0.options.max_characters", "invalid"),
        id="masto-max-characters-0",
    ),
    pytest.param(
        P.MASTODON,
        draft(options={"max_characters": True}),
        ("t.0.options.max_characters", "invalid"),
        id="masto-max-characters-bool",
    ),
    pytest.param(
        P.X,
        draft(options={"reply_settings": "everyone"}),
        ("t.0.options.reply_settings", "invalid"),
        id="x-reply-settings",
    ),
    pytest.param(
        P.LINKEDIN,
        draft(options={"visibility": "public"}),
        ("t.0.options.visibility", "invalid"),
        id="linkedin-visibility-case",
    ),
    pytest.param(
        P.INSTAGRAM,
        draft(media=[image()], options={"media_type": "CAROUSEL"}),
        ("t.0.options.media_type", "invalid"),
        id="ig-media-type",
    ),
    pytest.param(
        P.BLUESKY,
        draft(options={"langs": ["en", "fr", "de", "es"]}),
        ("t.0.options.langs", "invalid"),
        id="bsky-4-langs",
    ),
    pytest.param(
        P.BLUESKY,
        draft(options={"langs": "en"}),
        ("t.0.options.langs", "invalid"),
        id="bsky-langs-not-a-list",
    ),
]


@pytest.mark.parametrize(("platform", "content", "expected"), FAILING)
def test_each_rule_reports_its_violation(
    platform: Platform, content: ContentDraft, expected: tuple[str, str]
) -> None:
    assert rules(platform, content) == {expected}


# Each case: a draft exactly at the limits that must pass.
PASSING = [
    pytest.param(P.X, draft("a" * 280), id="x-280"),
    pytest.param(P.X, draft("日" * 140), id="x-140-cjk"),
    pytest.param(P.X, draft(FAMILY * 140), id="x-140-families"),
    pytest.param(P.X, draft("a" * 256 + " https://example.com/" + "x" * 200), id="x-url-23"),
    pytest.param(P.X, draft(media=[image(5 * MIB)] * 4), id="x-4-images-5MiB"),
    pytest.param(P.X, draft(media=[gif(15 * MIB)]), id="x-gif-15MiB"),
    pytest.param(P.X, draft(media=[video(512 * MIB)]), id="x-video-512MiB"),
    pytest.param(P.X, draft(options={"reply_settings": "following"}), id="x-reply-settings"),
    pytest.param(P.BLUESKY, draft("é" * 300), id="bsky-300"),
    pytest.param(P.BLUESKY, draft(FAMILY * 120), id="bsky-3000B"),
    pytest.param(P.BLUESKY, draft("", [image(MB)] * 4), id="bsky-4-images-no-text"),
    pytest.param(P.BLUESKY, draft(media=[video(300 * MB)]), id="bsky-video-300MB"),
    pytest.param(P.BLUESKY, draft(options={"langs": ["en", "fr", "de"]}), id="bsky-3-langs"),
    pytest.param(P.MASTODON, draft("a" * 500), id="masto-500"),
    pytest.param(P.MASTODON, draft("a" * 1000, options={"max_characters": 1000}), id="masto-1000"),
    pytest.param(P.MASTODON, draft("a" * 476 + " https://example.com/" + "x" * 99), id="masto-url"),
    pytest.param(P.MASTODON, draft("@a@" + "b" * 600 + ".social"), id="masto-remote-mention"),
    pytest.param(P.MASTODON, draft(media=[image()] * 3 + [gif()]), id="masto-4-images-and-gifs"),
    pytest.param(
        P.MASTODON,
        draft("a" * 490, options={"spoiler_text": "x" * 10, "visibility": "unlisted"}),
        id="masto-cw-at-limit",
    ),
    pytest.param(P.THREADS, draft("a" * 496 + "\U0001f44d"), id="threads-500-with-emoji"),
    pytest.param(P.THREADS, draft(" ".join(f"https://e{i}.com" for i in range(5))), id="5-links"),
    pytest.param(P.THREADS, draft(media=[image(8 * MB)] * 19 + [video(10**9)]), id="threads-20"),
    pytest.param(P.LINKEDIN, draft("a" * 3000, options={"visibility": "PUBLIC"}), id="li-3000"),
    pytest.param(P.LINKEDIN, draft(media=[image()] * 20), id="linkedin-20-images"),
    pytest.param(P.LINKEDIN, draft(media=[video()]), id="linkedin-1-video"),
    pytest.param(P.INSTAGRAM, draft("a" * 2200, [image(8 * MB)]), id="ig-2200"),
    pytest.param(P.INSTAGRAM, draft("", [image()] * 9 + [video()]), id="ig-carousel-10"),
    pytest.param(
        P.INSTAGRAM,
        draft(
            " ".join(f"#tag{i}" for i in range(30)) + " " + " ".join(f"@u{i}" for i in range(20)),
            [image()],
        ),
        id="ig-30-hashtags-20-mentions",
    ),
    pytest.param(P.INSTAGRAM, draft("mail me@example.com C# 1", [image()]), id="ig-not-tags"),
    pytest.param(
        P.INSTAGRAM, draft(media=[video()], options={"media_type": "REELS"}), id="ig-reel"
    ),
    pytest.param(
        P.INSTAGRAM, draft(media=[image()], options={"media_type": "STORIES"}), id="ig-story"
    ),
    pytest.param(P.FACEBOOK, draft("a" * 63206, [image()] * 30), id="fb-63206"),
    pytest.param(P.REDDIT, draft("a" * 40000, options=REDDIT_OK), id="reddit-40000"),
    pytest.param(
        P.REDDIT,
        draft(media=[video()], options={"subreddit": "abc", "title": "t" * 300, "kind": "video"}),
        id="reddit-3-char-subreddit-300-title",
    ),
    pytest.param(
        P.REDDIT,
        draft(options={"subreddit": "/r/" + "a" * 21, "title": "x"}),
        id="reddit-21-char-subreddit-with-prefix",
    ),
    pytest.param(P.SANDBOX, draft("a" * 5000, [image(), gif(), video(), image()]), id="sandbox"),
]


@pytest.mark.parametrize(("platform", "content"), PASSING)
def test_content_at_the_limits_passes(platform: Platform, content: ContentDraft) -> None:
    assert validate_content(platform, content, prefix="t.0") == []


@pytest.mark.parametrize("platform", list(Platform))
def test_other_files_are_refused_everywhere(platform: Platform) -> None:
    options = REDDIT_OK if platform is P.REDDIT else {}
    content = draft(media=[other("notes.pdf")], options=options)
    found = validate_content(platform, content, prefix="t.0")
    assert [(v.field, v.rule) for v in found] == [("t.0.media", "media_kind")]
    assert found[0].message.startswith("notes.pdf is not an image or a video;")


@pytest.mark.parametrize("platform", list(Platform))
def test_empty_post_is_refused_everywhere(platform: Platform) -> None:
    options = REDDIT_OK if platform is P.REDDIT else {}
    assert ("t.0.text", "required") in rules(platform, draft("", options=options))


@pytest.mark.parametrize(
    ("platform", "content", "message"),
    [
        pytest.param(
            P.X,
            draft(media=[image(int(6.2 * MIB), "photo.png")]),
            "photo.png is 6.2 MB; X accepts images up to 5 MB",
            id="x-image-size",
        ),
        pytest.param(
            P.X,
            draft(media=[image(5 * MIB + 1, "photo.png")]),
            "photo.png is 5,242,881 bytes; X accepts images up to 5,242,880 bytes (5 MB)",
            id="x-image-size-no-false-tie",
        ),
        pytest.param(
            P.BLUESKY,
            draft("é" * 312),
            "312 graphemes; Bluesky allows 300",
            id="bluesky-graphemes",
        ),
        pytest.param(
            P.X,
            draft("a" * 300),
            "300 weighted characters; X allows 280 "
            "(links count 23, emoji and CJK characters count 2)",
            id="x-length",
        ),
        pytest.param(
            P.MASTODON,
            draft("a" * 501),
            "501 characters; this Mastodon server allows 500 "
            "(each link counts 23, and the content warning counts too)",
            id="mastodon-length",
        ),
        pytest.param(
            P.FACEBOOK,
            draft("a" * 63207),
            "63,207 characters; Facebook allows 63,206",
            id="thousands-separator",
        ),
        pytest.param(
            P.X,
            draft(media=[image(), image(), video()]),
            "X takes up to 4 images, or 1 GIF, or 1 video per post, not a mix; "
            "this post has 2 images and 1 video",
            id="x-mix",
        ),
        pytest.param(
            P.THREADS,
            draft(media=[video(int(1.5 * 10**9), "talk.mp4")]),
            "talk.mp4 is 1.5 GB; Threads accepts videos up to 1 GB",
            id="threads-gigabytes",
        ),
        pytest.param(
            P.BLUESKY,
            draft(media=[video(mime="video/quicktime", name="clip.mov")]),
            "clip.mov is video/quicktime; Bluesky accepts videos only as video/mp4",
            id="bluesky-mp4-only",
        ),
        pytest.param(
            P.INSTAGRAM,
            draft("caption", options={"media_type": "REELS"}),
            "Instagram (Reels) needs at least one video",
            id="instagram-reel-needs-video",
        ),
        pytest.param(
            P.REDDIT,
            draft(options={"subreddit": "python", "title": "t" * 301}),
            "The title is 301 characters; Reddit allows 300",
            id="reddit-title",
        ),
    ],
)
def test_messages_say_what_to_change(
    platform: Platform, content: ContentDraft, message: str
) -> None:
    assert [v.message for v in validate_content(platform, content, prefix="t.0")] == [message]


def test_every_broken_rule_is_reported() -> None:
    content = draft(
        "a" * 301,
        [image(2 * MB, "big.jpg"), image(name="a.jpg"), image(name="b.jpg")] + [image()] * 2,
        {"langs": "en"},
    )
    found = validate_content(P.BLUESKY, content, prefix="targets.3")
    assert [(v.field, v.rule) for v in found] == [
        ("targets.3.options.langs", "invalid"),
        ("targets.3.text", "max_length"),
        ("targets.3.media", "media_size"),
        ("targets.3.media", "max_media"),
    ]
    assert "big.jpg" in found[2].message


def test_media_without_text_is_enough_except_where_media_is_required() -> None:
    assert validate_content(P.X, draft("", [image()]), prefix="t") == []
    assert validate_content(P.INSTAGRAM, draft("", [image()]), prefix="t") == []


def test_instagram_without_media_or_text_reports_both() -> None:
    assert rules(P.INSTAGRAM, draft("")) == {("t.0.text", "required"), ("t.0.media", "required")}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, 500, id="default"),
        pytest.param({"max_characters": 5000}, 5000, id="instance"),
        pytest.param({"max_characters": 0}, 500, id="zero-falls-back"),
        pytest.param({"max_characters": "5000"}, 500, id="string-falls-back"),
        pytest.param({"max_characters": True}, 500, id="bool-falls-back"),
    ],
)
def test_mastodon_limit_comes_from_options(options: dict[str, Any], expected: int) -> None:
    assert limits_for(P.MASTODON, options).max_text == expected


def test_limits_describe_each_platform() -> None:
    x = limits_for(P.X)
    assert (x.max_text, x.text_unit, x.max_media) == (280, "weighted characters", 4)
    assert x.media_kinds == {"image", "gif", "video"}
    assert x.max_bytes["image"].max_bytes == 5 * MIB
    bluesky = limits_for(P.BLUESKY)
    assert (bluesky.max_text, bluesky.text_unit, bluesky.max_text_bytes) == (300, "graphemes", 3000)
    assert limits_for(P.INSTAGRAM).media_required
    assert not limits_for(P.X).media_required
    assert limits_for(P.FACEBOOK).max_media is None  # no documented cap on photos
    assert limits_for(P.INSTAGRAM, {"media_type": "REELS"}).media_kinds == {"video"}
    assert limits_for(P.REDDIT).max_title == 300


@pytest.mark.parametrize(
    ("platform", "text", "options", "expected"),
    [
        pytest.param(P.X, "日本語 https://example.com", {}, 6 + 1 + 23, id="x"),
        pytest.param(P.BLUESKY, FAMILY + "e\u0301", {}, 2, id="bluesky"),
        pytest.param(P.MASTODON, "hi @a@b.social", {"spoiler_text": "cw"}, 5 + 2, id="mastodon"),
        pytest.param(P.THREADS, "hi \U0001f44d", {}, 7, id="threads"),
        pytest.param(P.LINKEDIN, "hi \U0001f44d", {}, 4, id="linkedin"),
        pytest.param(P.REDDIT, "e\u0301", {}, 2, id="reddit-code-points"),
    ],
)
def test_count_text_uses_the_platforms_unit(
    platform: Platform, text: str, options: dict[str, Any], expected: int
) -> None:
    assert count_text(platform, text, options) == expected


@given(
    platform=st.sampled_from(list(Platform)),
    text=st.text(max_size=400),
    sizes=st.lists(st.integers(min_value=0, max_value=2 * 10**9), max_size=6),
    kind=st.sampled_from(["image", "gif", "video", "other"]),
)
def test_validation_never_raises_and_stays_under_prefix(
    platform: Platform, text: str, sizes: list[int], kind: str
) -> None:
    media = [MediaInfo(f"f{i}", kind, "video/mp4", size) for i, size in enumerate(sizes)]
    found = validate_content(platform, ContentDraft(text, media, REDDIT_OK), prefix="targets.7")
    assert all(isinstance(v, Violation) for v in found)
    assert all(v.field.startswith("targets.7.") and v.message for v in found)
    too_long = count_text(platform, text, REDDIT_OK) > limits_for(platform).max_text
    assert too_long == any(v.rule == "max_length" and v.field.endswith(".text") for v in found)
