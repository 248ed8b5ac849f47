"""LinkedIn's pure rules: the "little" text format, the post body, validation, error classes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms.base import AccountRef, PublishRequest
from postwright.platforms.emulator.linkedin import read_little
from postwright.platforms.linkedin import (
    LinkedInAdapter,
    author_urn,
    classify_response,
    escape_commentary,
    next_midnight_utc,
    post_body,
    unescape_commentary,
)

NOW = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
TEXTS = [
    "plain words",
    "All the reserved ones: \\ | { } @ [ ] ( ) < > # * _ ~",
    "#hashtag at the start, a #second_one and C# or a&#38; entity",
    "A link https://example.com/a_b(c)#frag~x and an email a_b@example.com",
    "emoji 🎉 and ünïcödé (still) fine",
    "{hashtag|\\#|looks_like_a_template} typed by hand",
    "@[Not a mention](urn:li:person:1) typed by hand",
    "trailing backslash \\",
]


@pytest.mark.parametrize("text", TEXTS)
def test_escaping_round_trips_and_linkedin_shows_the_whole_text(text: str) -> None:
    escaped = escape_commentary(text)

    assert unescape_commentary(escaped) == text
    shown, kept = read_little(escaped)  # as the emulator reads it, LinkedIn's way
    assert (shown, kept) == (text, escaped)


def test_an_unescaped_commentary_is_cut_at_the_first_reserved_character() -> None:
    shown, kept = read_little("Launch day (finally) is here")

    assert (shown, kept) == ("Launch day ", "Launch day ")


def test_hashtags_become_templates_but_not_inside_words_or_links() -> None:
    assert escape_commentary("#go C#x https://a.b/#top") == (
        "{hashtag|\\#|go} C\\#x https://a.b/\\#top"
    )


def test_unescape_reads_linkedin_mentions_and_hashtags() -> None:
    commentary = "Hi @[Acme \\(EU\\)](urn:li:organization:7) {hashtag|\\#|news} \\*"

    assert unescape_commentary(commentary) == "Hi Acme (EU) #news *"


def request(text: str, **options: Any) -> PublishRequest:
    account = AccountRef(uuid.uuid4(), "a", "abc", {}, {"access_token": "t"})
    return PublishRequest(uuid.uuid4(), "k", text, [], options, account, "", None)


def test_a_bare_id_is_a_person_urn() -> None:
    account = AccountRef(uuid.uuid4(), "a", "abc", {}, {})

    assert author_urn(account) == "urn:li:person:abc"
    with pytest.raises(AuthNeeded):
        author_urn(AccountRef(uuid.uuid4(), "a", None, {}, {}))


def test_post_body_shapes() -> None:
    body = post_body(request("Hi #there", link_card=False), author="urn:li:person:a", media=[])
    assert body == {
        "author": "urn:li:person:a",
        "commentary": "Hi {hashtag|\\#|there}",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    one = post_body(request("x"), author="u", media=[("urn:li:image:1", "alt")])
    assert one["content"] == {"media": {"id": "urn:li:image:1", "altText": "alt"}}
    two = post_body(
        request("x"), author="u", media=[("urn:li:image:1", None), ("urn:li:image:2", "b")]
    )
    assert two["content"] == {
        "multiImage": {
            "images": [{"id": "urn:li:image:1"}, {"id": "urn:li:image:2", "altText": "b"}]
        }
    }
    link = post_body(request("See https://example.com/x."), author="u", media=[])
    assert link["content"]["article"]["source"] == "https://example.com/x"


def test_next_midnight_utc() -> None:
    assert next_midnight_utc(NOW) == datetime(2026, 11, 24, tzinfo=UTC)
    assert next_midnight_utc(datetime(2026, 12, 31, 0, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (
            401,
            {"status": 401, "serviceErrorCode": 65600, "message": "Invalid access token"},
            {},
            AuthNeeded,
        ),
        (403, {"status": 403, "code": "ACCESS_DENIED", "message": "no"}, {}, AuthNeeded),
        (426, {"status": 426, "code": "NONEXISTENT_VERSION", "message": "gone"}, {}, Permanent),
        (
            422,
            {"status": 422, "message": "Content is a duplicate of urn:li:share:9"},
            {},
            Uncertain,
        ),
        (400, {"status": 400, "message": "Unpermitted fields present"}, {}, Permanent),
        (500, {"status": 500, "message": "oops"}, {}, Uncertain),
    ],
)
def test_classify_response_on_create(
    status: int, body: dict[str, Any], headers: dict[str, str], kind: type[Exception]
) -> None:
    response = httpx.Response(status, json=body, headers=headers)

    assert isinstance(classify_response(response, creating=True, now=NOW), kind)


def test_a_5xx_before_the_post_is_retryable() -> None:
    response = httpx.Response(502, json={"status": 502, "message": "bad gateway"})

    assert isinstance(classify_response(response, creating=False, now=NOW), Retryable)


def test_a_429_honours_retry_after_when_linkedin_sends_one() -> None:
    with_header = httpx.Response(429, headers={"Retry-After": "120"})
    without = httpx.Response(429, json={"status": 429, "message": "DAY limit"})

    first = classify_response(with_header, creating=True, now=NOW)
    second = classify_response(without, creating=True, now=NOW)

    assert isinstance(first, RateLimited)
    assert isinstance(second, RateLimited)
    assert first.reset_at == NOW + timedelta(seconds=120)
    assert second.reset_at == datetime(2026, 11, 24, tzinfo=UTC)


def test_input_errors_are_part_of_the_message() -> None:
    body = {
        "message": "ERROR :: /content/media/id :: bad",
        "errorDetails": {"inputErrors": [{"description": "urn:li:image:1 is not available"}]},
        "status": 422,
    }

    error = classify_response(httpx.Response(422, json=body), creating=True, now=NOW)

    assert isinstance(error, Permanent)
    assert "urn:li:image:1 is not available" in error.message


def violations(text: str, media: list[MediaInfo] | None = None, **options: Any) -> list[str]:
    adapter = LinkedInAdapter(httpx.AsyncClient())
    draft = ContentDraft(text=text, media=media or [], options=options)
    return [f"{v.field} {v.rule}" for v in adapter.validate(draft, prefix="t")]


def test_validate_counts_the_escaped_length_too() -> None:
    assert violations("a" * 3000) == []
    assert violations("(" * 1600) == ["t.text max_length"]


def test_validate_refuses_what_linkedin_would_refuse() -> None:
    tiff = MediaInfo(filename="a.tiff", kind="image", mime_type="image/tiff", size_bytes=10)
    huge = MediaInfo(filename="b.png", kind="image", mime_type="image/png", size_bytes=6_000_000)

    assert violations("x", [tiff, huge], visibility="CONTAINER") == [
        "t.options.visibility invalid",
        "t.media media_kind",
        "t.media media_size",
    ]
