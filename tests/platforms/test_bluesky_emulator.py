"""The Bluesky adapter against the emulated PDS, over a real socket; every record is checked
against the AT Protocol lexicons."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from postwright.domain.content_rules import ContentDraft, MediaInfo
from postwright.domain.errors import AuthNeeded, Permanent, RateLimited, Retryable, Uncertain
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.bluesky import BlueskyAdapter, LinkPreview, rkey_for
from postwright.platforms.emulator import RateLimit, create_app
from postwright.platforms.emulator.bluesky import metrics_of
from postwright.platforms.emulator.testing import BackgroundEmulator
from tests.platforms.lexicon import assert_valid_record, lexicons

POST = "app.bsky.feed.post"
# Every httpx client loads the CA bundle on creation (~0.1 s); the tests share one context.
TLS = ssl.create_default_context()


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(create_app(seed=7)) as emu:
        yield emu


@pytest.fixture(scope="module")
def control(emulator: BackgroundEmulator) -> Iterator[httpx.Client]:
    """A plain client of the emulator, for what tests set up and look at."""
    with httpx.Client(base_url=emulator.url, timeout=5, verify=TLS) as client:
        yield client


@pytest.fixture(autouse=True)
def _no_faults_left(control: httpx.Client) -> Iterator[None]:
    yield
    control.delete("/_emulator/faults")


@dataclass
class Wire:
    """Every XRPC call the adapter made: (method name, JSON body or None, status)."""

    calls: list[tuple[str, Any, int]] = field(default_factory=list)

    async def on_response(self, response: httpx.Response) -> None:
        request = response.request
        body: Any = None
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(request.content)
        self.calls.append((request.url.path.rsplit("/", 1)[-1], body, response.status_code))

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.calls]

    def bodies(self, method: str) -> list[Any]:
        return [body for name, body, _ in self.calls if name == method]


@pytest.fixture
async def wire() -> Wire:
    return Wire()


@pytest.fixture
async def client(wire: Wire) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        timeout=5.0, verify=TLS, event_hooks={"response": [wire.on_response]}
    ) as client:
        yield client


@pytest.fixture
def adapter(client: httpx.AsyncClient, emulator: BackgroundEmulator) -> BlueskyAdapter:
    # The PDS comes from each account's `service` option; the default must not be used.
    return BlueskyAdapter(
        client,
        default_service="http://default-service.invalid",
        appview=emulator.url,
        call_timeout_s=1.0,
    )


def sign_in(control: httpx.Client, prefix: str) -> AccountRef:
    """A fresh emulated account, connected the way the accounts module will connect it."""
    handle = f"{prefix}-{secrets.token_hex(3)}.test"
    response = control.post(
        "/xrpc/com.atproto.server.createSession",
        json={"identifier": handle, "password": "app-password"},
    )
    assert response.status_code == 200, response.text
    session = response.json()
    return AccountRef(
        id=uuid.uuid4(),
        handle=session["handle"],
        external_id=session["did"],
        options={"service": str(control.base_url).rstrip("/")},
        credentials={
            "access_jwt": session["accessJwt"],
            "refresh_jwt": session["refreshJwt"],
            "did": session["did"],
        },
    )


@pytest.fixture
def alice(control: httpx.Client) -> AccountRef:
    return sign_in(control, "alice")


def publish_request(
    account: AccountRef,
    text: str,
    *,
    media: Sequence[MediaFile] = (),
    options: dict[str, Any] | None = None,
    delivery_id: uuid.UUID | None = None,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=delivery_id or uuid.uuid4(),
        idempotency_key=secrets.token_hex(8),
        text=text,
        media=list(media),
        options=options or {},
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


def png(path: Path, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def media_file(
    path: Path, data: bytes, *, alt: str | None, width: int | None = None, height: int | None = None
) -> MediaFile:
    return MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=path.name,
        mime_type="image/png",
        kind="image",
        size_bytes=len(data),
        checksum_sha256=hashlib.sha256(data).hexdigest(),
        alt_text=alt,
        width=width,
        height=height,
    )


def read_back(control: httpx.Client, uri: str) -> dict[str, Any]:
    """The record as getRecord serves it, checked against the lexicon."""
    did, collection, rkey = uri.removeprefix("at://").split("/")
    response = control.get(
        "/xrpc/com.atproto.repo.getRecord",
        params={"repo": did, "collection": collection, "rkey": rkey},
    )
    assert response.status_code == 200, response.text
    assert response.json()["uri"] == uri
    value: dict[str, Any] = response.json()["value"]
    assert_valid_record(POST, value)
    return value


def covered(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


def add_fault(control: httpx.Client, rule: dict[str, Any]) -> None:
    response = control.post("/_emulator/faults", json={"count": 1, **rule})
    assert response.status_code == 201, response.text


def expire_tokens(control: httpx.Client, account: AccountRef) -> int:
    """Expire the account's tokens on the emulator; how many there were."""
    response = control.post("/_emulator/bluesky/expire", json={"did": account.external_id})
    assert response.status_code == 200, response.text
    expired: int = response.json()["expired"]
    return expired


def create_record_inputs_are_valid(wire: Wire) -> None:
    for body in wire.bodies("com.atproto.repo.createRecord"):
        assert lexicons().validate_input("com.atproto.repo.createRecord", body) == []
        assert_valid_record(POST, body["record"])


# -- publishing -------------------------------------------------------------------------------


async def test_publishes_text_at_the_delivery_rkey(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    wire: Wire,
    control: httpx.Client,
) -> None:
    request = publish_request(alice, "Hello from postwright", options={"langs": ["en"]})
    before = datetime.now(UTC)

    published = await adapter.publish(request)

    rkey = rkey_for(request.delivery_id)
    assert published.external_id == f"at://{alice.external_id}/{POST}/{rkey}"
    assert published.permalink == f"https://bsky.app/profile/{alice.handle}/post/{rkey}"
    assert published.rate is not None
    assert published.rate.limit == 3000
    assert published.rate.remaining is not None
    assert published.rate.remaining < 3000
    assert published.rate.reset_at is not None
    assert published.rate.reset_at > before
    record = read_back(control, published.external_id)
    assert record["text"] == "Hello from postwright"
    assert record["langs"] == ["en"]
    assert "facets" not in record
    assert "embed" not in record
    assert wire.methods() == ["com.atproto.repo.createRecord"]
    assert wire.bodies("com.atproto.repo.createRecord")[0]["repo"] == alice.external_id
    create_record_inputs_are_valid(wire)
    [entry] = emulator.app.ledger.entries(platform="bluesky", account=alice.external_id)
    assert (entry.post_id, entry.text) == (published.external_id, "Hello from postwright")


async def test_a_link_gets_a_facet_and_a_card(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    wire: Wire,
    control: httpx.Client,
) -> None:
    link = "https://example.com/café?q=1"
    text = f"Héllo 🌍 — read {link} now"

    published = await adapter.publish(publish_request(alice, text))

    record = read_back(control, published.external_id)
    [facet] = record["facets"]
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": link}]
    assert covered(text, facet) == link
    assert facet["index"]["byteStart"] != text.index(link)  # bytes, not characters
    assert record["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {"uri": link, "title": link, "description": ""},
    }
    create_record_inputs_are_valid(wire)


async def test_card_text_from_options_and_a_bare_domain_link(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, control: httpx.Client
) -> None:
    text = "Our launch notes: example.org/launch."
    options = {"link_title": "Launch notes", "link_description": "What is new"}

    published = await adapter.publish(publish_request(alice, text, options=options))

    record = read_back(control, published.external_id)
    [facet] = record["facets"]
    assert covered(text, facet) == "example.org/launch"
    assert facet["features"][0]["uri"] == "https://example.org/launch"
    assert record["embed"]["external"] == {
        "uri": "https://example.org/launch",
        "title": "Launch notes",
        "description": "What is new",
    }


async def test_an_injected_previewer_builds_the_card_with_a_thumbnail(
    client: httpx.AsyncClient,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    tmp_path: Path,
    control: httpx.Client,
) -> None:
    thumb = png(tmp_path / "thumb.png", (8, 4))

    class Previewer:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def preview(self, url: str) -> LinkPreview | None:
            self.asked.append(url)
            return LinkPreview("A title", "A description", thumb=thumb, thumb_mime="image/png")

    previewer = Previewer()
    adapter = BlueskyAdapter(client, appview=emulator.url, previewer=previewer)

    published = await adapter.publish(publish_request(alice, "see https://blog.example.com/post"))

    record = read_back(control, published.external_id)
    external = record["embed"]["external"]
    assert previewer.asked == ["https://blog.example.com/post"]
    assert (external["title"], external["description"]) == ("A title", "A description")
    assert external["thumb"]["mimeType"] == "image/png"
    assert external["thumb"]["size"] == len(thumb)


async def test_no_card_when_asked_not_to(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, control: httpx.Client
) -> None:
    request = publish_request(alice, "https://example.com", options={"link_card": False})

    published = await adapter.publish(request)

    record = read_back(control, published.external_id)
    assert "embed" not in record
    assert len(record["facets"]) == 1


async def test_mentions_and_hashtags_after_non_ascii_text(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    wire: Wire,
    control: httpx.Client,
) -> None:
    bob = sign_in(control, "bob")
    text = f"Grüße 🌍🇩🇪 an @{bob.handle} und #Straße! cc @nobody-x9.test #2026"

    published = await adapter.publish(publish_request(alice, text))

    record = read_back(control, published.external_id)
    mention, tag = record["facets"]
    assert mention["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": bob.external_id}
    ]
    assert covered(text, mention) == f"@{bob.handle}"
    assert tag["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "Straße"}]
    assert covered(text, tag) == "#Straße"
    # Both handles were looked up; the unknown one stays plain text, "#2026" is no tag.
    assert wire.methods().count("com.atproto.identity.resolveHandle") == 2
    create_record_inputs_are_valid(wire)


async def test_images_with_alt_text_and_aspect_ratio(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    wire: Wire,
    tmp_path: Path,
    control: httpx.Client,
) -> None:
    wide = png(tmp_path / "wide.png", (40, 20))
    tall = png(tmp_path / "tall.png", (10, 30))
    media = [
        media_file(tmp_path / "wide.png", wide, alt="A red banner", width=40, height=20),
        media_file(tmp_path / "tall.png", tall, alt=None),  # size read from the file
    ]

    published = await adapter.publish(
        publish_request(alice, "Two pictures https://example.com", media=media)
    )

    record = read_back(control, published.external_id)
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.images"  # images win over a link card
    first, second = embed["images"]
    assert (first["alt"], first["aspectRatio"]) == ("A red banner", {"width": 40, "height": 20})
    assert (second["alt"], second["aspectRatio"]) == ("", {"width": 10, "height": 30})
    assert [first["image"]["size"], second["image"]["size"]] == [len(wide), len(tall)]
    assert first["image"]["mimeType"] == "image/png"
    assert wire.methods() == [
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord",
    ]
    create_record_inputs_are_valid(wire)


async def test_an_image_over_1mb_is_refused_by_name_before_any_upload(
    adapter: BlueskyAdapter, alice: AccountRef, wire: Wire, tmp_path: Path
) -> None:
    small = png(tmp_path / "small.png", (4, 4))
    big_path = tmp_path / "holiday.png"
    big_path.write_bytes(b"\x89PNG" + b"\0" * 1_000_000)
    media = [
        media_file(tmp_path / "small.png", small, alt="ok"),
        media_file(big_path, big_path.read_bytes(), alt="too big"),
    ]

    with pytest.raises(Permanent) as refused:
        await adapter.publish(publish_request(alice, "pics", media=media))

    assert refused.value.media_file == "holiday.png"
    assert "holiday.png" in refused.value.message
    assert "1,000,004 bytes" in refused.value.message
    assert wire.calls == []


async def test_video_is_refused_at_validation_and_at_publish(
    adapter: BlueskyAdapter, alice: AccountRef, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 100)
    video = MediaFile(
        id=uuid.uuid4(),
        path=clip,
        filename="clip.mp4",
        mime_type="video/mp4",
        kind="video",
        size_bytes=100,
        checksum_sha256="0" * 64,
        alt_text=None,
    )
    draft = ContentDraft(text="a clip", media=[MediaInfo("clip.mp4", "video", "video/mp4", 100)])

    violations = adapter.validate(draft, prefix="targets.0")
    with pytest.raises(Permanent) as refused:
        await adapter.publish(publish_request(alice, "a clip", media=[video]))

    assert [(v.field, v.rule) for v in violations] == [("targets.0.media", "media_kind")]
    assert refused.value.media_file == "clip.mp4"


# -- retries and find ---------------------------------------------------------------------------


async def test_a_retried_delivery_returns_the_first_post(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, wire: Wire
) -> None:
    request = publish_request(alice, "only once")

    first = await adapter.publish(request)
    again = await adapter.publish(request)

    assert again.external_id == first.external_id
    # The second create was refused like the real PDS refuses it, then found at its key.
    assert [(m, s) for m, _, s in wire.calls] == [
        ("com.atproto.repo.createRecord", 200),
        ("com.atproto.repo.createRecord", 500),
        ("com.atproto.repo.getRecord", 200),
    ]
    assert len(emulator.app.ledger.entries(platform="bluesky", account=alice.external_id)) == 1


async def test_find_finds_the_delivery_and_not_another(
    adapter: BlueskyAdapter, alice: AccountRef
) -> None:
    request = publish_request(alice, "find me")
    published = await adapter.publish(request)
    since = datetime.now(UTC) - timedelta(minutes=1)

    found = await adapter.find(request, since=since)
    other = await adapter.find(publish_request(alice, "find me"), since=since)

    assert found is not None
    assert (found.external_id, found.permalink) == (published.external_id, published.permalink)
    assert other is None


@pytest.mark.parametrize("effect", [{"timeout_after_store": True}, {"reset_after_store": True}])
async def test_a_lost_answer_is_uncertain_and_find_then_finds_the_post(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    effect: dict[str, Any],
    control: httpx.Client,
) -> None:
    add_fault(control, {"match": {"platform": "bluesky"}, "effect": effect})
    request = publish_request(alice, "did it land?")

    with pytest.raises(Uncertain):
        await adapter.publish(request)
    found = await adapter.find(request, since=datetime.now(UTC))
    again = await adapter.publish(request)

    assert found is not None
    assert found.external_id == again.external_id
    assert len(emulator.app.ledger.entries(platform="bluesky", account=alice.external_id)) == 1


async def test_a_500_before_storing_is_uncertain_and_a_retry_then_publishes(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, control: httpx.Client
) -> None:
    add_fault(control, {"match": {"platform": "bluesky"}, "effect": {"status": 500}})
    request = publish_request(alice, "second time lucky")

    with pytest.raises(Uncertain) as uncertain:
        await adapter.publish(request)
    found = await adapter.find(request, since=datetime.now(UTC))
    published = await adapter.publish(request)

    assert uncertain.value.status == 500
    assert found is None
    assert published.external_id.endswith(rkey_for(request.delivery_id))


# -- error classes ------------------------------------------------------------------------------


async def test_an_expired_token_needs_auth(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    wire: Wire,
    control: httpx.Client,
) -> None:
    assert expire_tokens(control, alice) == 2

    with pytest.raises(AuthNeeded) as refused:
        await adapter.publish(publish_request(alice, "too late"))

    assert refused.value.status == 400  # Bluesky's answer to an expired token
    assert "ExpiredToken" in refused.value.message
    assert wire.methods() == ["com.atproto.repo.createRecord"]  # no getRecord after auth errors


async def test_a_forged_or_missing_token_needs_auth(
    adapter: BlueskyAdapter, alice: AccountRef, wire: Wire
) -> None:
    forged = AccountRef(
        id=alice.id,
        handle=alice.handle,
        external_id=alice.external_id,
        options=alice.options,
        credentials={"access_jwt": "not-a-jwt", "did": alice.external_id},
    )
    missing = AccountRef(
        id=alice.id,
        handle=alice.handle,
        external_id=alice.external_id,
        options=alice.options,
        credentials={},
    )

    with pytest.raises(AuthNeeded) as invalid:
        await adapter.publish(publish_request(forged, "x"))
    with pytest.raises(AuthNeeded):
        await adapter.publish(publish_request(missing, "x"))

    assert "InvalidToken" in invalid.value.message
    assert wire.methods() == ["com.atproto.repo.createRecord"]


async def test_a_rate_limit_waits_for_the_reset(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, control: httpx.Client
) -> None:
    add_fault(
        control, {"match": {"platform": "bluesky"}, "effect": {"rate_limit": {"retry_after": 90}}}
    )
    before = datetime.now(UTC)

    with pytest.raises(RateLimited) as limited:
        await adapter.publish(publish_request(alice, "slow down"))

    reset_at = limited.value.reset_at
    assert reset_at is not None
    assert before + timedelta(seconds=88) <= reset_at <= before + timedelta(seconds=92)


async def test_the_emulator_window_runs_out(client: httpx.AsyncClient) -> None:
    app = create_app(rate_limits={"bluesky": RateLimit(limit=2, window_seconds=60)})
    with (
        BackgroundEmulator(app) as emulator,
        httpx.Client(base_url=emulator.url, verify=TLS) as control,
    ):
        account = sign_in(control, "busy")
        adapter = BlueskyAdapter(client, appview=emulator.url)
        first = await adapter.publish(publish_request(account, "one"))
        await adapter.publish(publish_request(account, "two"))
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as limited:
            await adapter.publish(publish_request(account, "three"))

    assert first.rate is not None
    assert (first.rate.limit, first.rate.remaining) == (2, 1)
    assert limited.value.reset_at is not None
    assert before < limited.value.reset_at <= before + timedelta(seconds=61)


async def test_text_the_pds_refuses_is_permanent_with_its_message(
    adapter: BlueskyAdapter, alice: AccountRef
) -> None:
    with pytest.raises(Permanent) as refused:
        await adapter.publish(publish_request(alice, "é" * 301))

    assert "grapheme too big (maximum 300, got 301)" in refused.value.message
    assert refused.value.platform_code == "InvalidRequest"


async def test_a_failed_upload_is_retryable_and_posts_nothing(
    adapter: BlueskyAdapter,
    alice: AccountRef,
    emulator: BackgroundEmulator,
    tmp_path: Path,
    control: httpx.Client,
) -> None:
    data = png(tmp_path / "a.png", (4, 4))
    rule = {"path": "/xrpc/com.atproto.repo.uploadBlob"}
    add_fault(control, {"match": {"platform": "bluesky", **rule}, "effect": {"status": 503}})

    with pytest.raises(Retryable) as failed:
        await adapter.publish(
            publish_request(alice, "pic", media=[media_file(tmp_path / "a.png", data, alt="a")])
        )

    assert failed.value.status == 503
    assert emulator.app.ledger.entries(platform="bluesky", account=alice.external_id) == []


async def test_a_failed_handle_lookup_is_retryable(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator, control: httpx.Client
) -> None:
    rule = {"path": "/xrpc/com.atproto.identity.resolveHandle"}
    add_fault(control, {"match": {"platform": "bluesky", **rule}, "effect": {"status": 502}})

    with pytest.raises(Retryable):
        await adapter.publish(publish_request(alice, "hi @someone.test"))


async def test_an_unreachable_pds_is_retryable(
    client: httpx.AsyncClient, alice: AccountRef
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        nowhere = AccountRef(
            id=alice.id,
            handle=alice.handle,
            external_id=alice.external_id,
            options={"service": f"http://127.0.0.1:{port}"},
            credentials=alice.credentials,
        )
        with pytest.raises(Retryable):
            await BlueskyAdapter(client).publish(publish_request(nowhere, "x"))


# -- delete and metrics -------------------------------------------------------------------------


async def test_delete_removes_the_record(
    adapter: BlueskyAdapter, alice: AccountRef, emulator: BackgroundEmulator
) -> None:
    request = publish_request(alice, "short-lived")
    published = await adapter.publish(request)

    await adapter.delete(alice, published.external_id)
    await adapter.delete(alice, published.external_id)  # already gone: still fine

    assert await adapter.find(request, since=datetime.now(UTC)) is None
    assert emulator.app.ledger.entries(platform="bluesky", account=alice.external_id) == []


async def test_metrics_come_from_get_posts(adapter: BlueskyAdapter, alice: AccountRef) -> None:
    published = await adapter.publish(publish_request(alice, "count me"))

    metrics = await adapter.metrics(alice, published.external_id)
    gone = await adapter.metrics(alice, f"at://{alice.external_id}/{POST}/3kaaaaaaaaaa2")

    counts = metrics_of(published.external_id)
    assert metrics == {
        "likes": counts["likeCount"],
        "comments": counts["replyCount"],
        "shares": counts["repostCount"],
        "quotes": counts["quoteCount"],
        "bookmarks": counts["bookmarkCount"],
    }
    assert gone == {}


# -- the emulator answers like the reference PDS --------------------------------------------------


def test_sessions_need_the_same_password_and_a_valid_handle(control: httpx.Client) -> None:
    account = sign_in(control, "carol")
    url = "/xrpc/com.atproto.server.createSession"

    again = control.post(url, json={"identifier": account.handle, "password": "app-password"})
    by_did = control.post(url, json={"identifier": account.external_id, "password": "app-password"})
    wrong = control.post(url, json={"identifier": account.handle, "password": "guess"})
    not_a_handle = control.post(url, json={"identifier": "not a handle", "password": "x"})

    assert again.json()["did"] == by_did.json()["did"] == account.external_id
    endpoint = again.json()["didDoc"]["service"][0]["serviceEndpoint"]
    assert endpoint == str(control.base_url).rstrip("/")
    for refused in (wrong, not_a_handle):
        assert refused.status_code == 401
        assert refused.json() == {
            "error": "AuthenticationRequired",
            "message": "Invalid identifier or password",
        }


def test_records_blobs_and_handles_answer_like_the_pds(control: httpx.Client) -> None:
    account = sign_in(control, "dave")
    other = sign_in(control, "erin")
    did = account.external_id
    auth = {"Authorization": f"Bearer {account.credentials['access_jwt']}"}
    record = {"$type": POST, "text": "x", "createdAt": "2026-01-01T00:00:00.000Z"}
    create = {"repo": did, "collection": POST, "rkey": "3kaaaaaaaaaa2", "record": record}

    def call(method: str, **kwargs: Any) -> tuple[int, Any]:
        verb = "GET" if "params" in kwargs else "POST"
        response = control.request(verb, f"/xrpc/{method}", **kwargs)
        assert response.headers["RateLimit-Limit"] == "3000"
        assert response.headers["RateLimit-Policy"] == "3000;w=300"
        return response.status_code, response.json()

    created = call("com.atproto.repo.createRecord", json=create, headers=auth)
    duplicate = call("com.atproto.repo.createRecord", json=create, headers=auth)
    not_a_tid = call(
        "com.atproto.repo.createRecord", json={**create, "rkey": "not-a-tid"}, headers=auth
    )
    no_auth = call("com.atproto.repo.createRecord", json=create)
    others_repo = call(
        "com.atproto.repo.createRecord",
        json={**create, "repo": other.external_id, "rkey": "3kaaaaaaaaaa3"},
        headers=auth,
    )
    listed = call("com.atproto.repo.listRecords", params={"repo": did, "collection": POST})
    missing = call(
        "com.atproto.repo.getRecord",
        params={"repo": did, "collection": POST, "rkey": "3kaaaaaaaaaa4"},
    )
    blob_without_type = call("com.atproto.repo.uploadBlob", content=b"abc", headers=auth)
    unknown_blob = call(
        "com.atproto.repo.createRecord",
        json={
            "repo": did,
            "collection": POST,
            "record": {
                **record,
                "embed": {
                    "$type": "app.bsky.embed.images",
                    "images": [
                        {
                            "alt": "",
                            "image": {
                                "$type": "blob",
                                "ref": {"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b"},
                                "mimeType": "image/png",
                                "size": 10,
                            },
                        }
                    ],
                },
            },
        },
        headers=auth,
    )
    resolved = call("com.atproto.identity.resolveHandle", params={"handle": account.handle})
    unknown = call("com.atproto.identity.resolveHandle", params={"handle": "nobody-q1.test"})
    deleted = call(
        "com.atproto.repo.deleteRecord",
        json={"repo": did, "collection": POST, "rkey": "3kaaaaaaaaaa4"},
        headers=auth,
    )

    uri = f"at://{did}/{POST}/3kaaaaaaaaaa2"
    assert created[0] == 200
    assert created[1]["uri"] == uri
    assert created[1]["cid"].startswith("bafyrei")
    assert duplicate == (500, {"error": "InternalServerError", "message": "Internal Server Error"})
    assert not_a_tid[0] == 400
    assert "Invalid TID string" in not_a_tid[1]["message"]
    assert no_auth == (401, {"error": "AuthMissing", "message": "Authentication Required"})
    assert others_repo[0] == 401
    assert listed == (200, {"records": [{"uri": uri, "cid": created[1]["cid"], "value": record}]})
    assert missing == (
        400,
        {
            "error": "RecordNotFound",
            "message": f"Could not locate record: at://{did}/{POST}/3kaaaaaaaaaa4",
        },
    )
    assert blob_without_type[0] == 400
    assert unknown_blob[0] == 400
    assert unknown_blob[1]["error"] == "BlobNotFound"
    assert resolved == (200, {"did": did})
    assert unknown == (400, {"error": "HandleNotFound", "message": "Unable to resolve handle"})
    assert deleted == (200, {})


def test_list_records_pages_newest_key_first(control: httpx.Client) -> None:
    account = sign_in(control, "frank")
    auth = {"Authorization": f"Bearer {account.credentials['access_jwt']}"}
    record = {"$type": POST, "text": "x", "createdAt": "2026-01-01T00:00:00.000Z"}
    for _ in range(3):
        body = {"repo": account.external_id, "collection": POST, "record": record}
        response = control.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=auth)
        assert response.status_code == 200

    params = {"repo": account.external_id, "collection": POST, "limit": "2"}
    first = control.get("/xrpc/com.atproto.repo.listRecords", params=params).json()
    rest = control.get(
        "/xrpc/com.atproto.repo.listRecords", params={**params, "cursor": first["cursor"]}
    ).json()

    keys = [r["uri"].rsplit("/", 1)[1] for r in first["records"] + rest["records"]]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == 3
    assert "cursor" not in rest
