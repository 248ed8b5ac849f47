"""Every request the X adapter sends, checked against X's own OpenAPI documents.

Two snapshots of the live spec (`specs/SOURCES.md`): 2.167, the newest, which renamed the
`tweet.fields` parameter to `post.fields` (and `retweet_count` to `repost_count`, which only
matters for answers); and 2.159, which still has the names the prose docs use. The adapter sends
`tweet.fields`, as the docs and the 2026-06 changelog say; against 2.167 that is checked as the
alias of `post.fields` and reported as a note. Everything else must match both documents as is.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator import create_app
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.x import CHUNK_BYTES, XAdapter
from tests.platforms.conformance import OpenAPISpec, Recorder

LATEST = "x-api-v2-openapi.json"
OLDER = "x-api-v2-openapi.latest-openapi.v2.159.json"
RENAMED = {"tweet.fields": "post.fields"}


def media(path: Path, data: bytes, kind: str, mime: str, alt: str | None = None) -> MediaFile:
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=path.name,
        mime_type=mime,
        kind=kind,
        size_bytes=len(data),
        checksum_sha256="0" * 64,
        alt_text=alt,
    )


def request_for(account: AccountRef, text: str, files: list[MediaFile]) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=str(uuid.uuid4()),
        text=text,
        media=files,
        options={"reply_settings": "following"} if not files else {},
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


async def short_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.6))  # the emulator processes for 0.5 s, says "1 s"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[httpx.Request]:
    """Every request of one run through all the adapter does, against the emulator."""
    tmp = tmp_path_factory.mktemp("x-media")
    recorder = Recorder()
    with_id = AccountRef(uuid.uuid4(), "@alice", "42", {}, {"access_token": "x-user-42"})
    without_id = AccountRef(uuid.uuid4(), "bob", None, {}, {"access_token": "x-user-43"})
    png = b"\x89PNG\r\n\x1a\n"
    files = {
        "images": [
            media(tmp / "big.png", png + b"0" * (CHUNK_BYTES + 1), "image", "image/png", "Big"),
            media(tmp / "b.jpg", b"\xff\xd8\xff" + b"1" * 50, "image", "image/jpeg"),
        ],
        "gif": [media(tmp / "a.gif", b"GIF89a" + b"2" * 50, "gif", "image/gif", "Moving")],
        "video": [
            media(
                tmp / "v.mp4",
                struct.pack(">I", 24) + b"ftypisom" + b"\0" * 99,
                "video",
                "video/mp4",
            ),
        ],
    }

    async def run(url: str) -> None:
        async with httpx.AsyncClient(timeout=5, event_hooks={"request": [recorder]}) as client:
            adapter = XAdapter(client, base_url=url, sleep=short_sleep)
            since = datetime.now(UTC) - timedelta(minutes=1)
            text = request_for(with_id, "Just text", [])
            link = request_for(with_id, "A link https://example.com/x?y=1", [])
            published = [await adapter.publish(r) for r in (text, link)]
            for name, group in files.items():
                await adapter.publish(request_for(with_id, f"With {name}", group))
            await adapter.find(link, since=since)
            await adapter.find(request_for(without_id, "Not there", []), since=since)
            await adapter.metrics(with_id, published[0].external_id)
            await adapter.delete(with_id, published[0].external_id)

    with BackgroundEmulator(create_app()) as live:
        asyncio.run(run(live.url))
    return recorder.requests


@pytest.mark.parametrize("filename", [LATEST, OLDER])
def test_every_request_matches_the_spec(recorded: list[httpx.Request], filename: str) -> None:
    spec = OpenAPISpec.load(filename, aliases=RENAMED if filename == LATEST else {})

    assert spec.problems(recorded) == []


def test_the_run_covers_every_operation_the_adapter_uses(recorded: list[httpx.Request]) -> None:
    spec = OpenAPISpec.load(LATEST, aliases=RENAMED)

    operations = {
        str(op.spec["operationId"])
        for request in recorded
        if (op := spec.operation_of(request)) is not None
    }

    assert operations == {
        "createPosts",
        "initializeMediaUpload",
        "appendMediaUpload",
        "finalizeMediaUpload",
        "getMediaUploadStatus",
        "createMediaMetadata",
        "getUsersMe",
        "getUsersPosts",
        "getPostsById",
        "deletePosts",
    }


def test_the_rename_in_2_167_is_reported(recorded: list[httpx.Request]) -> None:
    latest = OpenAPISpec.load(LATEST, aliases=RENAMED)
    older = OpenAPISpec.load(OLDER)
    latest.problems(recorded)
    older.problems(recorded)

    assert latest.notes == {f"{LATEST}: sent `tweet.fields`, which this spec names `post.fields`"}
    assert older.notes == set()


def test_without_the_alias_2_167_refuses_tweet_fields(recorded: list[httpx.Request]) -> None:
    strict = OpenAPISpec.load(LATEST)

    problems = strict.problems(recorded)

    assert problems
    assert all("`tweet.fields` is not declared" in problem for problem in problems)


def test_the_checker_catches_what_the_spec_forbids() -> None:
    spec = OpenAPISpec.load(LATEST, aliases=RENAMED)
    auth = {"Authorization": "Bearer t"}
    bad = [
        httpx.Request("POST", "https://api.x.com/2/tweets", json={"status": "hi"}, headers=auth),
        httpx.Request(
            "POST",
            "https://api.x.com/2/tweets",
            json={"text": "hi", "media": {"media_ids": ["1", "2", "3", "4", "5"]}},
            headers=auth,
        ),
        httpx.Request(
            "POST",
            "https://api.x.com/2/media/upload/initialize",
            json={"media_type": "image/png", "total_bytes": 1, "media_category": "photo"},
            headers=auth,
        ),
        httpx.Request(
            "GET", "https://api.x.com/2/media/upload", params={"command": "STATUS"}, headers=auth
        ),
        httpx.Request(
            "GET",
            "https://api.x.com/2/users/abc/tweets",
            params={"max_results": "500"},
            headers=auth,
        ),
        httpx.Request("DELETE", "https://api.x.com/2/tweets/1"),
        httpx.Request("POST", "https://api.x.com/2/statuses/update.json", headers=auth),
    ]

    problems = [spec.check(request) for request in bad]

    assert all(problems), problems
    assert "status" in problems[0][0]
    assert "media_ids" in problems[1][0]
    assert "media_category" in problems[2][0]
    assert "media_id" in problems[3][0]
    assert len(problems[4]) == 2  # the user id's pattern and max_results' maximum
    assert "Authorization" in problems[5][0]
    assert "no operation" in problems[6][0]
