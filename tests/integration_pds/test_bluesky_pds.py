"""The Bluesky adapter against the reference PDS (`@atproto/pds`, started by the test suite).

Publishes text with an image, a link, a mention and a hashtag through the real adapter, reads the
record back from the PDS and checks it against the lexicons, and proves that publishing the same
delivery again does not make a second record.
"""

from __future__ import annotations

import io
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from postwright.domain.errors import AuthNeeded, Permanent
from postwright.platforms.base import AccountRef, MediaFile, PublishRequest
from postwright.platforms.bluesky import BlueskyAdapter, rkey_for
from tests.platforms.lexicon import assert_valid_record, lexicons
from tests.support.pds import PdsAccount, PdsServer
from tests.support.pds_fixtures import pds

__all__ = ["pds"]  # re-exported fixture

POST = "app.bsky.feed.post"


@dataclass
class Wire:
    """The adapter's XRPC calls: (method, JSON body or None, status, JSON answer or None)."""

    calls: list[tuple[str, Any, int, Any]] = field(default_factory=list)

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        sent = None
        if request.headers.get("content-type", "").startswith("application/json"):
            sent = json.loads(request.content)
        answer = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((method, sent, response.status_code, answer))

    def statuses(self) -> list[tuple[str, int]]:
        return [(method, status) for method, _, status, _ in self.calls]


@pytest.fixture
async def wired() -> AsyncIterator[tuple[httpx.AsyncClient, Wire]]:
    wire = Wire()
    async with httpx.AsyncClient(
        timeout=30.0, event_hooks={"response": [wire.on_response]}
    ) as client:
        yield client, wire


def connect(pds: PdsServer, account: PdsAccount) -> AccountRef:
    """The account as the accounts module will hand it over: an app-password session."""
    response = httpx.post(
        pds.xrpc("com.atproto.server.createSession"),
        json={"identifier": account.handle, "password": account.app_password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    session = response.json()
    return AccountRef(
        id=uuid.uuid4(),
        handle=session["handle"],
        external_id=session["did"],
        options={"service": pds.url},
        credentials={
            "access_jwt": session["accessJwt"],
            "refresh_jwt": session["refreshJwt"],
            "did": session["did"],
        },
    )


def request_for(
    account: AccountRef,
    text: str,
    *,
    media: list[MediaFile] | None = None,
    delivery_id: uuid.UUID | None = None,
) -> PublishRequest:
    return PublishRequest(
        delivery_id=delivery_id or uuid.uuid4(),
        idempotency_key=secrets.token_hex(8),
        text=text,
        media=media or [],
        options={"langs": ["de", "en"]},
        account=account,
        fingerprint="",
        scheduled_at=None,
    )


def get_record(pds: PdsServer, uri: str) -> tuple[int, dict[str, Any]]:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    response = httpx.get(
        pds.xrpc("com.atproto.repo.getRecord"),
        params={"repo": did, "collection": collection, "rkey": rkey},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


def list_records(pds: PdsServer, did: str | None) -> list[dict[str, Any]]:
    assert did is not None
    response = httpx.get(
        pds.xrpc("com.atproto.repo.listRecords"),
        params={"repo": did, "collection": POST},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def covered(text: str, facet: dict[str, Any]) -> str:
    return text.encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()


def jpeg_file(tmp_path: Path) -> tuple[MediaFile, bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 200)).save(buffer, "JPEG")
    data = buffer.getvalue()
    path = tmp_path / "harbour.jpg"
    path.write_bytes(data)
    media = MediaFile(
        id=uuid.uuid4(),
        path=path,
        filename=path.name,
        mime_type="image/jpeg",
        kind="image",
        size_bytes=len(data),
        checksum_sha256="0" * 64,
        alt_text="A blue harbour at dawn",
    )
    return media, data


async def test_publishes_text_image_and_facets_to_the_real_pds(
    pds: PdsServer, wired: tuple[httpx.AsyncClient, Wire], tmp_path: Path
) -> None:
    client, wire = wired
    alice = connect(pds, pds.create_account("alice"))
    bob = pds.create_account("bob")
    link = "https://example.com/café?q=1"
    text = f"Grüße 🌍 an @{bob.handle}: lies {link} #Hafen"
    media, data = jpeg_file(tmp_path)
    request = request_for(alice, text, media=[media])
    adapter = BlueskyAdapter(client)

    published = await adapter.publish(request)

    rkey = rkey_for(request.delivery_id)
    uri = f"at://{alice.external_id}/{POST}/{rkey}"
    assert published.external_id == uri
    assert published.permalink == f"https://bsky.app/profile/{alice.handle}/post/{rkey}"
    assert [m for m, _ in wire.statuses()] == [
        "com.atproto.identity.resolveHandle",
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord",
    ]
    _, sent, _, answer = wire.calls[-1]
    assert answer["validationStatus"] == "valid"  # the PDS checked it against its lexicons
    assert lexicons().validate_input("com.atproto.repo.createRecord", sent) == []

    status, got = get_record(pds, uri)
    assert status == 200
    record = got["value"]
    assert got["cid"] == answer["cid"]
    assert record == sent["record"]
    assert_valid_record(POST, record)
    assert record["text"] == text
    assert record["langs"] == ["de", "en"]
    mention, facet_link, tag = record["facets"]
    assert mention["features"][0] == {
        "$type": "app.bsky.richtext.facet#mention",
        "did": bob.did,
    }
    assert covered(text, mention) == f"@{bob.handle}"
    assert facet_link["features"][0] == {"$type": "app.bsky.richtext.facet#link", "uri": link}
    assert covered(text, facet_link) == link
    assert tag["features"][0] == {"$type": "app.bsky.richtext.facet#tag", "tag": "Hafen"}
    assert covered(text, tag) == "#Hafen"
    [image] = record["embed"]["images"]
    assert image["alt"] == "A blue harbour at dawn"
    assert image["aspectRatio"] == {"width": 30, "height": 20}
    assert (image["image"]["mimeType"], image["image"]["size"]) == ("image/jpeg", len(data))
    blob = await client.get(
        pds.xrpc("com.atproto.sync.getBlob"),
        params={"did": alice.external_id, "cid": image["image"]["ref"]["$link"]},
    )
    assert blob.content == data


async def test_a_link_card_is_accepted_by_the_pds(
    pds: PdsServer, wired: tuple[httpx.AsyncClient, Wire]
) -> None:
    client, wire = wired
    carol = connect(pds, pds.create_account("carol"))

    published = await BlueskyAdapter(client).publish(
        request_for(carol, "Release notes: example.org/notes")
    )

    _, _, _, answer = wire.calls[-1]
    assert answer["validationStatus"] == "valid"
    _, got = get_record(pds, published.external_id)
    assert_valid_record(POST, got["value"])
    assert got["value"]["embed"]["external"]["uri"] == "https://example.org/notes"


async def test_a_retried_delivery_makes_no_second_record(
    pds: PdsServer, wired: tuple[httpx.AsyncClient, Wire]
) -> None:
    client, wire = wired
    dave = connect(pds, pds.create_account("dave"))
    adapter = BlueskyAdapter(client)
    request = request_for(dave, "exactly once, even when retried")

    first = await adapter.publish(request)
    retried = await adapter.publish(request)  # e.g. the worker died before saving the outcome
    found = await adapter.find(request, since=datetime.now(UTC))
    not_this = await adapter.find(request_for(dave, "never sent"), since=datetime.now(UTC))

    assert retried.external_id == first.external_id
    assert found is not None
    assert found.external_id == first.external_id
    assert not_this is None
    # The PDS refused the second write at the same key (HTTP 500), and getRecord found the first.
    assert wire.statuses() == [
        ("com.atproto.repo.createRecord", 200),
        ("com.atproto.repo.createRecord", 500),
        ("com.atproto.repo.getRecord", 200),
        ("com.atproto.repo.getRecord", 200),
        ("com.atproto.repo.getRecord", 400),
    ]
    records = list_records(pds, dave.external_id)
    assert [r["uri"] for r in records] == [first.external_id]
    assert records[0]["value"]["text"] == "exactly once, even when retried"


async def test_refusals_of_the_real_pds(
    pds: PdsServer, wired: tuple[httpx.AsyncClient, Wire]
) -> None:
    client, _ = wired
    erin = connect(pds, pds.create_account("erin"))
    adapter = BlueskyAdapter(client)
    forged = AccountRef(
        id=erin.id,
        handle=erin.handle,
        external_id=erin.external_id,
        options=erin.options,
        credentials={**erin.credentials, "access_jwt": erin.credentials["refresh_jwt"]},
    )

    with pytest.raises(AuthNeeded) as bad_token:
        await adapter.publish(request_for(forged, "with the wrong token"))
    with pytest.raises(Permanent) as too_long:
        await adapter.publish(request_for(erin, "é" * 301))

    assert bad_token.value.status == 400
    assert "InvalidToken" in bad_token.value.message
    assert "grapheme too big (maximum 300, got 301)" in too_long.value.message
    assert list_records(pds, erin.external_id) == []


async def test_delete_removes_the_post_from_the_pds(
    pds: PdsServer, wired: tuple[httpx.AsyncClient, Wire]
) -> None:
    client, _ = wired
    frank = connect(pds, pds.create_account("frank"))
    adapter = BlueskyAdapter(client)
    request = request_for(frank, "here, then gone")
    published = await adapter.publish(request)

    await adapter.delete(frank, published.external_id)

    status, body = get_record(pds, published.external_id)
    assert (status, body["error"]) == (400, "RecordNotFound")
    assert await adapter.find(request, since=datetime.now(UTC)) is None
