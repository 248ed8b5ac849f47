"""What the Meta adapter tests (Facebook, Instagram, Threads) share against the emulator.

For all three: accounts, files and requests, injected faults and Graph error bodies. For the two
container platforms, Instagram and Threads, a `MetaAccount` that makes the platform's adapter,
and the scenarios of the container flow they both go through. A scenario asserts what the two
platforms have in common and returns what the test needs to assert its platform's own answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.platforms.base import AccountRef, Adapter, MediaFile, PublishRequest
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.testing import BackgroundEmulator
from postwright.platforms.graph import Polling, PublishingQuotaExceeded
from postwright.platforms.http import make_client
from postwright.platforms.instagram import InstagramAdapter
from postwright.platforms.media_urls import verify_media_signature
from postwright.platforms.threads import ThreadsAdapter
from postwright.settings import Settings

SECRET = "test-secret-for-media-urls"
PUBLIC = "https://pw.example.com"
FAST = Polling(first_s=0.01, factor=1.0, max_interval_s=0.01)

_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
}


# Fixtures: a test module takes them by assigning them to its own names (`emulator =
# meta.emulator`), so that each module still gets its own emulator.


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=7)) as emu:
        yield emu


@pytest.fixture(autouse=True)
def clean_emulator(emulator: BackgroundEmulator) -> None:
    """Forget the previous test's posts, faults and processing times."""
    emulator.app.ledger.clear()
    emulator.app.faults.clear()
    emulator.app.processing.clear()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    client = make_client(timeout_s=2.0)
    try:
        yield client
    finally:
        await client.aclose()


def emulated_account(external_id: str | None, token: str) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        handle="brand",
        external_id=external_id,
        options={},
        credentials={"access_token": token},
    )


def media_file(
    tmp_path: Path,
    name: str,
    *,
    kind: str = "image",
    image_type: str = "image/jpeg",
    video_alt: bool = False,
    data: bytes | None = None,
) -> MediaFile:
    """A file on disk; images have alt text, and videos too with `video_alt`."""
    mime = image_type if kind == "image" else "video/mp4"
    if data is None:
        data = _MAGIC[mime] + name.encode() * 32
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=name,
        mime_type=mime,
        kind=kind,
        size_bytes=len(data),
        checksum_sha256=hashlib.sha256(data).hexdigest(),
        alt_text=f"alt for {name}" if kind == "image" or video_alt else None,
    )


def publish_request(
    account: AccountRef, text: str, media: list[MediaFile], options: dict[str, Any]
) -> PublishRequest:
    return PublishRequest(
        delivery_id=uuid.uuid4(),
        idempotency_key=uuid.uuid4().hex,
        text=text,
        media=media,
        options=options,
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


def add_fault(emulator: BackgroundEmulator, rule: dict[str, Any]) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


def graph_body(
    code: int, message: str, subcode: int | None = None, *, fbtrace_id: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if fbtrace_id is not None:
        error["fbtrace_id"] = fbtrace_id
    return {"error": error}


def closed_port_url() -> str:
    """An address on this machine where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_signed_for(url: str, media: MediaFile) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC}/media/{media.id}"
    query = parse_qs(parts.query)
    assert verify_media_signature(
        SECRET, str(media.id), query["exp"][0], query["sig"][0], now=datetime.now(UTC)
    )


def dict_attribute(post: StoredPost, key: str) -> dict[str, Any]:
    value = post.attributes[key]
    assert isinstance(value, dict)
    return cast(dict[str, Any], value)


def children(post: StoredPost) -> list[dict[str, Any]]:
    value = post.attributes["children"]
    assert isinstance(value, list)
    return [cast(dict[str, Any], item) for item in value]


# -- the container platforms ----------------------------------------------------------------------

A = TypeVar("A", InstagramAdapter, ThreadsAdapter)


@dataclass(frozen=True)
class MetaAccount(Generic[A]):
    """One emulated account of Instagram or Threads, and how to make its adapter."""

    platform: str
    version: str
    user: str
    token: str
    create_edge: str
    publish_edge: str
    make: Callable[..., A]

    @property
    def publish_path(self) -> str:
        return f"/{self.platform}/*/{self.user}/{self.publish_edge}"

    @property
    def create_path(self) -> str:
        return f"/{self.platform}/*/{self.user}/{self.create_edge}"

    def settings(self, url: str | None, tmp_path: Path, *, timeout_s: float = 2.0) -> Settings:
        return Settings(
            data_dir=tmp_path,
            secret_key=SECRET,
            public_url=PUBLIC,
            platform_urls={self.platform: f"{url}/{self.platform}/{self.version}"} if url else {},
            publish_timeout_s=timeout_s,
        )

    def adapter(
        self,
        client: httpx.AsyncClient,
        url: str | None,
        tmp_path: Path,
        *,
        timeout_s: float = 2.0,
        media_url: Callable[[MediaFile], str] | None = None,
    ) -> A:
        settings = self.settings(url, tmp_path, timeout_s=timeout_s)
        return self.make(client, settings=settings, polling=FAST, media_url=media_url)

    def account(self, token: str | None = None) -> AccountRef:
        return emulated_account(self.user, token or self.token)

    def request(self, text: str, media: list[MediaFile], **options: Any) -> PublishRequest:
        return publish_request(self.account(), text, media, options)

    def posts(self, emulator: BackgroundEmulator) -> list[StoredPost]:
        return emulator.app.ledger.entries(platform=self.platform, account=self.user)

    def fault(self, emulator: BackgroundEmulator, effect: dict[str, Any], **rule: Any) -> None:
        """Inject `effect` on the platform's calls (all of them unless `match` narrows it)."""
        add_fault(emulator, {"match": {"platform": self.platform}, "effect": effect, **rule})


# -- scenarios of the container flow ------------------------------------------------------------


async def expired_token_needs_auth(meta: MetaAccount[A], adapter: A, req: PublishRequest) -> None:
    with pytest.raises(AuthNeeded, match="code 190/463"):
        await adapter.publish(replace(req, account=meta.account("expired-token")))


async def code_190_on_publish_needs_auth(
    meta: MetaAccount[A], adapter: A, emulator: BackgroundEmulator, req: PublishRequest
) -> None:
    meta.fault(emulator, {"status": 400, "body": graph_body(190, "bad")})
    with pytest.raises(AuthNeeded):
        await adapter.publish(req)
    assert meta.posts(emulator) == []


async def injected_throttle(
    meta: MetaAccount[A],
    adapter: A,
    emulator: BackgroundEmulator,
    req: PublishRequest,
    *,
    retry_after: int,
) -> RateLimited:
    """A throttle fault with `Retry-After`: RateLimited until then, within a few seconds."""
    meta.fault(emulator, {"rate_limit": {"retry_after": retry_after}})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        await adapter.publish(req)
    reset = caught.value.reset_at
    assert reset is not None
    wait = timedelta(seconds=retry_after)
    assert before + wait - timedelta(seconds=1) <= reset <= before + wait + timedelta(seconds=5)
    return caught.value


async def publishing_quota(
    meta: MetaAccount[A], client: httpx.AsyncClient, tmp_path: Path, reqs: list[PublishRequest]
) -> PublishingQuotaExceeded:
    """With a quota of all but the last request, the last one is refused before any container,
    with the reset when the first post leaves the 24 h window."""
    quota = RateLimit(limit=len(reqs) - 1, window_seconds=86_400)
    app = create_app(rate_limits={f"{meta.platform}.publishing": quota})
    with BackgroundEmulator(app) as emu:
        adapter = meta.adapter(client, emu.url, tmp_path)
        for req in reqs[:-1]:
            await adapter.publish(req)
        with pytest.raises(PublishingQuotaExceeded) as caught:
            await adapter.publish(reqs[-1])
        first = emu.app.ledger.entries(platform=meta.platform)[0]
    reset = caught.value.reset_at
    assert reset is not None
    expected = datetime.fromtimestamp(first.created_at, UTC) + timedelta(days=1)
    assert abs((reset - expected).total_seconds()) <= 1
    return caught.value


async def a_failed_container_is_permanent(
    meta: MetaAccount[A],
    client: httpx.AsyncClient,
    emulator: BackgroundEmulator,
    tmp_path: Path,
    req: PublishRequest,
    *,
    fails: Callable[[MediaFile], bool],
) -> Permanent:
    """The media `fails` picks get a URL the emulator fails to download: nothing is posted."""
    adapter = meta.adapter(
        client,
        emulator.url,
        tmp_path,
        media_url=lambda m: f"{PUBLIC}/media/{m.id}" + ("/fail" if fails(m) else ""),
    )
    with pytest.raises(Permanent) as caught:
        await adapter.publish(req)
    assert meta.posts(emulator) == []
    return caught.value


async def code_100_on_a_container_is_permanent(
    meta: MetaAccount[A],
    adapter: A,
    emulator: BackgroundEmulator,
    req: PublishRequest,
    body: dict[str, Any],
) -> Permanent:
    add_fault(
        emulator,
        {
            "match": {"path": meta.create_path, "method": "POST"},
            "effect": {"status": 400, "body": body},
        },
    )
    with pytest.raises(Permanent) as caught:
        await adapter.publish(req)
    return caught.value


async def server_error_on_publish_is_settled(
    meta: MetaAccount[A],
    adapter: A,
    emulator: BackgroundEmulator,
    req: PublishRequest,
    *,
    status: int,
) -> None:
    """One 5xx: the container is published again, and there is one post."""
    meta.fault(emulator, {"status": status}, count=1)

    published = await adapter.publish(req)

    [post] = meta.posts(emulator)
    assert published.external_id == post.post_id


async def lost_publish_answer_is_settled(
    meta: MetaAccount[A],
    client: httpx.AsyncClient,
    emulator: BackgroundEmulator,
    tmp_path: Path,
    req: PublishRequest,
    *,
    effect: str,
) -> StoredPost:
    """The answer to a stored post is lost once; the container's status settles it."""
    meta.fault(emulator, {effect: True}, count=1)
    adapter = meta.adapter(client, emulator.url, tmp_path, timeout_s=0.5)

    published = await adapter.publish(req)

    [post] = meta.posts(emulator)
    assert published.external_id == post.post_id
    return post


async def uncertain_then_find_settles_it(
    meta: MetaAccount[A],
    client: httpx.AsyncClient,
    emulator: BackgroundEmulator,
    tmp_path: Path,
    req: PublishRequest,
    *,
    effect: str,
    timeout_s: float = 2.0,
) -> None:
    """The publish answer is lost and the listing that would settle it fails once: Uncertain;
    a later `find` finds the post."""
    add_fault(
        emulator, {"match": {"path": meta.publish_path}, "effect": {effect: True}, "count": 1}
    )
    add_fault(
        emulator,
        {
            "match": {"path": meta.create_path, "method": "GET"},
            "effect": {"status": 500},
            "count": 1,
        },
    )
    adapter = meta.adapter(client, emulator.url, tmp_path, timeout_s=timeout_s)
    since = datetime.now(UTC) - timedelta(seconds=1)

    with pytest.raises(Uncertain):
        await adapter.publish(req)
    found = await adapter.find(req, since=since)

    [post] = meta.posts(emulator)
    assert found is not None
    assert found.external_id == post.post_id


async def connection_refused_is_retryable(
    meta: MetaAccount[A], client: httpx.AsyncClient, tmp_path: Path, req: PublishRequest
) -> None:
    adapter = meta.adapter(client, closed_port_url(), tmp_path)
    with pytest.raises(Retryable, match="could not connect"):
        await adapter.publish(req)


async def media_needs_a_public_address(
    meta: MetaAccount[A],
    client: httpx.AsyncClient,
    tmp_path: Path,
    req: PublishRequest,
    *,
    public_url: str,
) -> None:
    """Without a platform URL override, a private `public_url` is refused before any call."""
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, public_url=public_url)
    adapter = meta.make(client, settings=settings, polling=FAST)
    with pytest.raises(Permanent, match="POSTWRIGHT_PUBLIC_URL"):
        await adapter.publish(req)


async def deleted_twice(
    adapter: Adapter,
    req: PublishRequest,
    remaining: Callable[[], list[StoredPost]],
) -> None:
    """Publish, delete, delete again: the second delete is no error (Graph's 100/33, already
    gone), and no post remains."""
    published = await adapter.publish(req)

    await adapter.delete(req.account, published.external_id)
    await adapter.delete(req.account, published.external_id)

    assert remaining() == []


async def a_slow_video_is_published_once_after_resuming(
    meta: MetaAccount[A], adapter: A, emulator: BackgroundEmulator, req: PublishRequest
) -> list[StillProcessing]:
    """A video that processes for longer than a publish may wait (3/4 of 2 s): each try says
    StillProcessing with the container made, the next one continues with it, and the last one
    publishes it: one container, one post."""
    emulator.app.processing.seconds[meta.platform] = 2.5
    late: list[StillProcessing] = []
    resume = None
    for _ in range(5):
        try:
            published = await adapter.publish(replace(req, resume=resume))
            break
        except StillProcessing as exc:
            late.append(exc)
            resume = exc.resume
            await asyncio.sleep(exc.check_after.total_seconds())
    else:
        raise AssertionError("the video was never published")

    [container] = emulator.app.processing.made(meta.platform)
    [post] = meta.posts(emulator)
    assert published.external_id == post.post_id
    assert post.attributes["container_id"] == container
    assert late, "the first try should have met the processing"
    assert all(exc.resume["container"] == container for exc in late)
    assert "still processing" in late[0].message
    return late


async def a_stale_resume_state_makes_a_new_container(
    meta: MetaAccount[A], adapter: A, emulator: BackgroundEmulator, req: PublishRequest
) -> None:
    """Containers older than their 24 h lifetime are not asked about: new ones are made."""
    old = {
        "made_at": (datetime.now(UTC) - timedelta(hours=25)).isoformat(),
        "children": [],
        "container": "999",
    }

    published = await adapter.publish(replace(req, resume=old))

    [container] = emulator.app.processing.made(meta.platform)
    [post] = meta.posts(emulator)
    assert published.external_id == post.post_id
    assert post.attributes["container_id"] == container != "999"


async def a_published_container_is_found_not_published_again(
    meta: MetaAccount[A], adapter: A, emulator: BackgroundEmulator, req: PublishRequest
) -> None:
    """Resumed with a container an earlier try published (its answer lost, the post not seen by
    reconciliation): the post is looked up, and the container is not published twice."""
    first = await adapter.publish(req)
    [container] = emulator.app.processing.made(meta.platform)
    made = {"made_at": datetime.now(UTC).isoformat(), "children": [], "container": container}

    again = await adapter.publish(replace(req, resume=made))

    assert again.external_id == first.external_id
    assert len(meta.posts(emulator)) == 1
    assert emulator.app.processing.made(meta.platform) == [container]
