"""Bluesky pieces without a server: record keys, facets, error classes, link cards, lexicons."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms.bluesky import (
    OpenGraphPreviewer,
    classify,
    is_tid,
    parse_at_uri,
    parse_open_graph,
    rate_info,
    rkey_for,
)
from postwright.platforms.bluesky_facets import Segment, detect, to_facets
from tests.platforms.lexicon import Lexicons, assert_valid_record, lexicons

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
B32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid_micros(tid: str) -> int:
    value = 0
    for char in tid:
        value = value * 32 + B32.index(char)
    return value >> 10


# -- record keys ------------------------------------------------------------------------------


def test_rkey_is_a_tid_and_the_same_for_every_attempt() -> None:
    delivery = uuid.UUID("6f1c1d2e-0000-4000-8000-000000000001")

    rkey = rkey_for(delivery)

    assert rkey == rkey_for(uuid.UUID(str(delivery)))
    assert len(rkey) == 13
    assert is_tid(rkey)


def test_rkeys_differ_and_stay_in_their_time_window() -> None:
    keys = {rkey_for(uuid.uuid4()) for _ in range(2000)}

    assert len(keys) == 2000
    assert all(is_tid(key) for key in keys)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for key in keys:
        moment = datetime.fromtimestamp(tid_micros(key) / 1_000_000, UTC)
        assert start <= moment < start + timedelta(days=815)


def test_parse_at_uri() -> None:
    assert parse_at_uri("at://did:plc:abc/app.bsky.feed.post/3kaaaaaaaaaa2") == (
        "did:plc:abc",
        "app.bsky.feed.post",
        "3kaaaaaaaaaa2",
    )
    with pytest.raises(Permanent):
        parse_at_uri("https://bsky.app/profile/x/post/3kaaaaaaaaaa2")


# -- facets -----------------------------------------------------------------------------------


def spans(text: str) -> list[tuple[str, str, str]]:
    """(kind, the text covered by the byte span, value) of each detected segment."""
    raw = text.encode()
    return [(s.kind, raw[s.start : s.end].decode(), s.value) for s in detect(text)]


def test_offsets_are_utf8_bytes_not_characters() -> None:
    text = "Grüße 🌍 @bob.test #Straße https://example.com/café?q=1"

    segments = detect(text)

    assert [(s.kind, s.start, s.end) for s in segments] == [
        ("mention", 13, 22),  # "Grüße 🌍 " is 9 characters but 13 bytes
        ("tag", 23, 31),
        ("link", 32, 61),
    ]
    assert spans(text) == [
        ("mention", "@bob.test", "bob.test"),
        ("tag", "#Straße", "Straße"),
        ("link", "https://example.com/café?q=1", "https://example.com/café?q=1"),
    ]


def test_links_bare_domains_and_trailing_punctuation() -> None:
    assert spans("See example.com, or (https://en.wikipedia.org/wiki/Foo_(bar)).") == [
        ("link", "example.com", "https://example.com"),
        (
            "link",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
    ]
    assert spans("a file.txt, mail a@b.com, and https://example.com.") == [
        ("link", "https://example.com", "https://example.com"),
    ]


def test_mentions_need_a_handle_at_a_word_start() -> None:
    assert spans("hi @alice.bsky.social. and (@b-c.example.org) x@y.z @nodot @-bad.test") == [
        ("mention", "@alice.bsky.social", "alice.bsky.social"),
        ("mention", "@b-c.example.org", "b-c.example.org"),
    ]


def test_hashtags_follow_the_bluesky_rules() -> None:
    text = "#123 #1a #️⃣ (#paren) x#no #ünïcode! \uff03full #tag#more"

    assert [(kind, covered) for kind, covered, _ in spans(text)] == [
        ("tag", "#1a"),
        ("tag", "#ünïcode"),
        ("tag", "\uff03full"),
        ("tag", "#tag#more"),
    ]
    assert spans("#" + "a" * 64) != []
    assert spans("#" + "a" * 65) == []


def test_a_link_fragment_is_not_a_hashtag() -> None:
    assert [kind for kind, _, _ in spans("go https://x.com/#frag #real")] == ["link", "tag"]


def test_unresolved_mentions_are_left_out_of_the_facets() -> None:
    segments = [
        Segment("mention", 0, 9, "Bob.test"),
        Segment("mention", 10, 22, "nobody.test"),
        Segment("tag", 23, 27, "tag"),
    ]

    facets = to_facets(segments, {"bob.test": "did:plc:bob"})

    assert facets == [
        {
            "index": {"byteStart": 0, "byteEnd": 9},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
        },
        {
            "index": {"byteStart": 23, "byteEnd": 27},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}],
        },
    ]


# -- errors and rate-limit headers --------------------------------------------------------------


def answer(status: int, error: str = "", message: str = "", **headers: str) -> httpx.Response:
    body: dict[str, Any] = {"error": error, "message": message} if error else {}
    return httpx.Response(
        status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


@pytest.mark.parametrize("error", ["ExpiredToken", "InvalidToken"])
def test_bluesky_answers_400_for_bad_tokens(error: str) -> None:
    found = classify(answer(400, error, "Token has expired"), creates=True, now=NOW)

    assert isinstance(found, AuthNeeded)
    assert error in found.message


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_need_auth(status: int) -> None:
    assert isinstance(classify(answer(status, "AuthMissing"), creates=False, now=NOW), AuthNeeded)


def test_429_waits_for_the_later_of_retry_after_and_ratelimit_reset() -> None:
    reset = int((NOW + timedelta(seconds=300)).timestamp())

    later_reset = classify(
        answer(429, "RateLimitExceeded", Retry_After="30", RateLimit_Reset=str(reset)),
        creates=True,
        now=NOW,
    )
    only_retry_after = classify(
        answer(429, "RateLimitExceeded", Retry_After="30"), creates=True, now=NOW
    )

    assert isinstance(later_reset, RateLimited)
    assert later_reset.reset_at == NOW + timedelta(seconds=300)
    assert isinstance(only_retry_after, RateLimited)
    assert only_retry_after.reset_at == NOW + timedelta(seconds=30)


def test_5xx_is_uncertain_only_for_the_create() -> None:
    assert isinstance(
        classify(answer(500, "InternalServerError"), creates=True, now=NOW), Uncertain
    )
    assert isinstance(classify(answer(502, "UpstreamFailure"), creates=False, now=NOW), Retryable)


def test_invalid_request_is_permanent_with_the_pds_message() -> None:
    message = "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301)"

    found = classify(answer(400, "InvalidRequest", message), creates=True, now=NOW)

    assert isinstance(found, Permanent)
    assert message in found.message
    assert found.platform_code == "InvalidRequest"


def test_a_collected_blob_is_retryable_and_a_too_large_one_names_the_file() -> None:
    blob = classify(answer(400, "BlobNotFound", "Could not find blob: bafk"), creates=True, now=NOW)
    large = classify(
        answer(413, "PayloadTooLarge", "request entity too large"),
        creates=False,
        now=NOW,
        media_file="holiday.jpg",
    )

    assert isinstance(blob, Retryable)
    assert isinstance(large, Permanent)
    assert large.media_file == "holiday.jpg"
    assert "holiday.jpg" in large.message


def test_rate_info_reads_the_ratelimit_headers() -> None:
    reset = int(NOW.timestamp()) + 120
    headers = httpx.Headers(
        {"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999", "RateLimit-Reset": str(reset)}
    )

    info = rate_info(headers, NOW)

    assert info is not None
    assert (info.limit, info.remaining) == (3000, 2999)
    assert info.reset_at == NOW + timedelta(seconds=120)
    assert rate_info(httpx.Headers({}), NOW) is None


# -- link cards -------------------------------------------------------------------------------


def test_open_graph_tags_with_fallbacks() -> None:
    html = """<html><head><title> Plain title </title>
      <meta property="og:title" content="OG &amp; title">
      <meta name="description" content="Described">
      <meta property="og:image" content="/card.png"></head><body>x</body></html>"""

    assert parse_open_graph(html) == ("OG & title", "Described", "/card.png")
    assert parse_open_graph("<title>Only</title>") == ("Only", "", None)


async def test_open_graph_previewer_fetches_the_page_and_its_image() -> None:
    png = b"\x89PNG fake"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/post":
            page = (
                '<meta property="og:title" content="T"><meta property="og:image" content="/i.png">'
            )
            return httpx.Response(
                200, text=page, headers={"Content-Type": "text/html; charset=utf-8"}
            )
        if request.url.path == "/i.png":
            return httpx.Response(200, content=png, headers={"Content-Type": "image/png"})
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        previewer = OpenGraphPreviewer(client)
        found = await previewer.preview("https://blog.example/post")
        missing = await previewer.preview("https://blog.example/nothing")

    assert found is not None
    assert (found.title, found.description, found.thumb, found.thumb_mime) == (
        "T",
        "",
        png,
        "image/png",
    )
    assert missing is None


async def test_open_graph_previewer_refuses_large_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, text="<title>x</title>" + "a" * 2000, headers={"Content-Type": "text/html"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert (
            await OpenGraphPreviewer(client, max_page_bytes=1000).preview("https://x.example")
            is None
        )


# -- the lexicon validator itself ---------------------------------------------------------------

BLOB = {
    "$type": "blob",
    "ref": {"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},
    "mimeType": "image/png",
    "size": 70,
}


def good_post() -> dict[str, Any]:
    return {
        "$type": "app.bsky.feed.post",
        "text": "Héllo @bob.test",
        "createdAt": "2026-01-02T03:04:05.000Z",
        "langs": ["en", "de-AT"],
        "facets": [
            {
                "index": {"byteStart": 7, "byteEnd": 16},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
            }
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [
                {"image": copy.deepcopy(BLOB), "alt": "", "aspectRatio": {"width": 2, "height": 1}}
            ],
        },
    }


def test_the_validator_accepts_a_good_post() -> None:
    assert_valid_record("app.bsky.feed.post", good_post())
    card = {
        **good_post(),
        "embed": {
            "$type": "app.bsky.embed.external",
            "external": {
                "uri": "https://example.com",
                "title": "t",
                "description": "",
                "thumb": copy.deepcopy(BLOB),
            },
        },
    }
    assert_valid_record("app.bsky.feed.post", card)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.pop("createdAt"), "missing required key 'createdAt'"),
        (lambda p: p.update(text="é" * 301), "maxGraphemes 300, got 301"),
        (lambda p: p.update(text="🌍" * 200 + "x" * 2300), "maxLength 3000, got 3100"),
        (lambda p: p.update(createdAt="2026-01-02 03:04"), "is not a valid datetime"),
        (lambda p: p.update(langs=["en", "de", "fr", "it"]), "at most 3 items"),
        (lambda p: p.update(langs=["english!"]), "is not a valid language"),
        (lambda p: p["facets"][0]["features"][0].update(did="bob"), "is not a valid did"),
        (lambda p: p["facets"][0]["index"].update(byteStart=-1), "minimum 0, got -1"),
        (lambda p: p["facets"][0]["features"][0].update({"$type": "x.y.z#w"}), "is not one of"),
        (lambda p: p["embed"]["images"][0].pop("alt"), "missing required key 'alt'"),
        (lambda p: p["embed"]["images"][0].update(aspectratio={}), "not a property"),
        (lambda p: p["embed"]["images"].extend([p["embed"]["images"][0]] * 4), "at most 4 items"),
        (lambda p: p["embed"]["images"][0]["image"].update(mimeType="text/plain"), "not accepted"),
        (lambda p: p["embed"]["images"][0]["image"].update(size=2_000_001), "maxSize 2000000"),
        (lambda p: p["embed"]["images"][0]["aspectRatio"].update(width=True), "must be an integer"),
        (lambda p: p.update({"$type": "app.bsky.feed.like"}), "$.$type"),
    ],
)
def test_the_validator_finds_what_is_wrong(change: Any, problem: str) -> None:
    post = good_post()
    change(post)

    errors = lexicons().validate_record("app.bsky.feed.post", post)

    assert any(problem in error for error in errors), errors


def test_the_validator_checks_procedure_inputs() -> None:
    body = {
        "repo": "did:plc:bob",
        "collection": "app.bsky.feed.post",
        "rkey": "3kaaaaaaaaaa2",
        "record": {},
    }

    assert lexicons().validate_input("com.atproto.repo.createRecord", body) == []
    assert lexicons().validate_input("com.atproto.repo.createRecord", {**body, "rkey": 5}) != []


def test_unknown_keys_are_allowed_when_not_strict() -> None:
    post = {**good_post(), "via": "postwright"}

    assert lexicons().validate_record("app.bsky.feed.post", post) != []
    assert Lexicons(strict=False).validate_record("app.bsky.feed.post", post) == []
