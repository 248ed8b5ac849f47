"""`GET`/`HEAD /media/{id}?exp=&sig=`: stored files for whoever holds a signed URL (Instagram and
Threads fetch media this way), with no other authorisation; and the URLs the Instagram and
Threads adapters sign are the ones this route serves."""

from __future__ import annotations

import io
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from postwright.domain.models import Media
from postwright.platforms import instagram, threads
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.emulator.app import create_app as create_emulator
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.graph import Polling
from postwright.platforms.http import make_client
from postwright.platforms.media_urls import MEDIA_URL_TTL, media_signature, signed_media_url
from postwright.runtime import Runtime
from postwright.services import identity
from postwright.services import media as media_service
from postwright.settings import Settings
from tests.support.factories import Member, assert_problem, make_member

MEDIA = "/api/v1/media"
FAST = Polling(first_s=0.01, factor=1.0, max_interval_s=0.01)


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 9), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_bytes() -> bytes:
    """A minimal MP4 the upload sniffer accepts, with 4 KiB of distinct bytes to range over."""
    ftyp = _box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom")
    return ftyp + _box(b"mdat", bytes(i % 251 for i in range(4096)))


async def upload(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, name: str, data: bytes
) -> Stored:
    """Upload through the API; the media row and where its bytes are."""
    response = await client.post(
        MEDIA,
        files={"file": (name, data, "application/octet-stream")},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    principal = await identity.authenticate_bearer(runtime, owner.token)
    media, path = await media_service.open_media(
        runtime, principal, uuid.UUID(response.json()["id"])
    )
    return Stored(media.id, media, path)


@dataclass(frozen=True)
class Stored:
    id: uuid.UUID
    media: Media
    path: Path


def signed(rt: Runtime, media_id: uuid.UUID | str, *, valid_for: timedelta) -> str:
    """The path and query of a signed URL, as a platform would request it from us."""
    url = signed_media_url(rt.settings, media_id, rt.now() + valid_for, secret_key=rt.secret_key)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# -- serving -------------------------------------------------------------------------------


async def test_a_signed_url_serves_the_file_without_credentials(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    data = png_bytes()
    media = await upload(client, runtime, owner, "photo.png", data)

    response = await client.get(signed(runtime, media.id, valid_for=timedelta(hours=1)))

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert "set-cookie" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    directives = [d.strip() for d in response.headers["cache-control"].split(",")]
    assert directives[0] == "private"
    max_age = int(directives[1].removeprefix("max-age="))
    assert 3590 <= max_age <= 3600  # never cached past the link's expiry


async def test_head_answers_the_headers_only(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    data = mp4_bytes()
    media = await upload(client, runtime, owner, "clip.mp4", data)

    response = await client.head(signed(runtime, media.id, valid_for=timedelta(minutes=5)))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"


async def test_byte_ranges_for_video_fetchers(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    data = mp4_bytes()
    media = await upload(client, runtime, owner, "clip.mp4", data)
    url = signed(runtime, media.id, valid_for=timedelta(hours=1))

    first = await client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == data[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert first.headers["content-length"] == "100"
    assert first.headers["content-type"] == "video/mp4"

    tail = await client.get(url, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206
    assert tail.content == data[-16:]

    rest = await client.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
    assert rest.status_code == 206
    assert rest.content == data[-10:]

    outside = await client.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"


# -- refusals ------------------------------------------------------------------------------


async def test_a_bad_or_expired_signature_is_403_and_says_nothing_more(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    media = await upload(client, runtime, owner, "photo.png", png_bytes())
    good = signed(runtime, media.id, valid_for=timedelta(hours=1))
    path, query = good.split("?")
    exp = int(runtime.now().timestamp()) + 3600
    past = int(runtime.now().timestamp()) - 1
    other_key = media_signature("not-our-secret-key", media.id, exp)
    refused = [
        path,  # no exp, no sig
        f"{path}?exp={exp}",
        f"{path}?sig={'0' * 64}",
        f"{path}?exp={exp}&sig={'0' * 64}",
        f"{path}?exp={exp}&sig={other_key}",
        f"{path}?exp={exp + 1}&{query.split('&')[1]}",  # a later expiry than was signed
        f"{path}?exp=soon&sig={media_signature(runtime.secret_key, media.id, exp)}",
        f"{path}?exp={past}&sig={media_signature(runtime.secret_key, media.id, past)}",
        f"/media/{uuid.uuid4()}?{query}",  # the signature of another media
        f"/media/not-a-uuid?{query}",
    ]
    details = set()
    for url in refused:
        response = await client.get(url)
        details.add(assert_problem(response, 403))
        head = await client.head(url)
        assert head.status_code == 403, url
    assert len(details) == 1  # the same answer whatever was wrong


async def test_expired_a_moment_ago_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    media = await upload(client, runtime, owner, "photo.png", png_bytes())
    url = signed(runtime, media.id, valid_for=timedelta(seconds=30))
    assert (await client.get(url)).status_code == 200

    now = runtime.now()
    runtime.clock = lambda: now + timedelta(seconds=31)
    assert_problem(await client.get(url), 403)


async def test_a_valid_signature_for_unknown_or_deleted_media_is_404(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    assert_problem(
        await client.get(signed(runtime, uuid.uuid4(), valid_for=timedelta(hours=1))), 404
    )

    media = await upload(client, runtime, owner, "photo.png", png_bytes())
    url = signed(runtime, media.id, valid_for=timedelta(hours=1))
    deleted = await client.delete(f"{MEDIA}/{media.id}", headers=owner.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(url), 404)


async def test_a_missing_file_is_404_not_a_server_error(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    media = await upload(client, runtime, owner, "photo.png", png_bytes())
    media.path.unlink()

    assert_problem(await client.get(signed(runtime, media.id, valid_for=timedelta(hours=1))), 404)


async def test_media_of_any_workspace_is_served_to_its_signature(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    other = await make_member(runtime, email="someone@globex.example", workspace="globex")
    data = png_bytes()
    media = await upload(client, runtime, other, "theirs.png", data)

    # no principal at all: the signature alone names the file
    response = await client.get(signed(runtime, media.id, valid_for=timedelta(hours=1)))
    assert response.status_code == 200
    assert response.content == data


async def test_the_route_is_documented_without_security(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = schema["paths"]["/media/{media_id}"]
    assert set(operations) == {"get", "head"}
    for operation in operations.values():
        assert not operation.get("security")
        assert {"200", "206", "403", "404", "416"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} == {"media_id", "exp", "sig"}


# -- the adapters sign URLs this route serves ---------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_emulator(seed=7)) as emu:
        yield emu


def _media_file(stored: Stored) -> MediaFile:
    m = stored.media
    return MediaFile(
        id=m.id,
        path=stored.path,
        filename=m.filename,
        mime_type=m.mime_type,
        kind=m.kind,
        size_bytes=m.size_bytes,
        checksum_sha256=m.checksum_sha256,
        alt_text=m.alt_text,
    )


def _request(user: str, media: list[MediaFile]) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=uuid.uuid4().hex,
        text="fetched by the platform",
        media=media,
        options={},
        account=AccountRef(
            id=uuid.uuid4(),
            handle="brand",
            external_id=user,
            options={},
            credentials={"access_token": f"token-{user}"},
        ),
        fingerprint="",
        scheduled_at=None,
    )


@pytest.mark.parametrize("platform", ["instagram", "threads"])
async def test_the_adapters_sign_urls_this_route_serves(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    emulator: BackgroundEmulator,
    platform: str,
) -> None:
    image = png_bytes()
    video = mp4_bytes()
    photo = await upload(client, runtime, owner, "photo.png", image)
    clip = await upload(client, runtime, owner, "clip.mp4", video)
    files = [_media_file(photo), _media_file(clip)]
    base = {"instagram": "instagram/v26.0", "threads": "threads/v1.0"}[platform]
    # the settings the engine builds adapters from: the runtime's own, with the emulator's URL
    settings: Settings = runtime.settings.model_copy(
        update={"platform_urls": {platform: f"{emulator.url}/{base}"}}
    )
    user = f"17841400{uuid.uuid4().int % 10**8:08d}"
    http = make_client(timeout_s=5.0)
    try:
        adapter: instagram.InstagramAdapter | threads.ThreadsAdapter = (
            instagram.InstagramAdapter(http, settings=settings, polling=FAST)
            if platform == "instagram"
            else threads.ThreadsAdapter(http, settings=settings, polling=FAST)
        )
        await adapter.publish(_request(user, files))
    finally:
        await http.aclose()

    [post] = emulator.app.ledger.entries(platform=platform, account=user)
    children = post.attributes["children"]
    assert isinstance(children, list)
    urls = [
        str(child.get("image_url") or child.get("video_url"))
        for child in children
        if isinstance(child, dict)
    ]
    assert len(urls) == 2
    for url, data, mime in zip(urls, (image, video), ("image/png", "video/mp4"), strict=True):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == runtime.settings.public_url
        response = await client.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200, (url, response.text)
        assert response.content == data
        assert response.headers["content-type"] == mime
        max_age = int(response.headers["cache-control"].split("max-age=")[1])
        assert MEDIA_URL_TTL.total_seconds() - 60 < max_age < MEDIA_URL_TTL.total_seconds()
