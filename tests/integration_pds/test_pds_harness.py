"""Proves the reference-PDS harness: real @atproto/pds + in-memory PLC on 127.0.0.1.

Walks the path the Bluesky adapter will take (app-password session, blob
upload, post with facet + images embed at a caller-chosen rkey) and pins down
how the PDS answers a second create at the same rkey.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.pds import PdsAccount, PdsServer
from tests.support.pds_fixtures import pds

__all__ = ["pds"]  # re-exported fixture (keeps linters from flagging the import)

# A TID: 13 chars of base32-sortable ("234567abcdefghijklmnopqrstuvwxyz"),
# first char in "234567abcdefghij" (high bit clear). Fixed, chosen by the client.
RKEY = "3jzfcijpj2z2a"
COLLECTION = "app.bsky.feed.post"
LINK = "https://example.com/caf\u00e9?q=1"
TEXT = f"H\u00e9llo \U0001f30d from postwright \u2014 read {LINK} now"
CREATED_AT = "2026-01-02T03:04:05.000Z"


def _png_2x2() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00\x00\x00\xff" for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _byte_span(text: str, part: str) -> tuple[int, int]:
    """UTF-8 byte offsets of ``part`` in ``text`` (what facets index by)."""
    start = len(text[: text.index(part)].encode("utf-8"))
    return start, start + len(part.encode("utf-8"))


@pytest.fixture(scope="module")
def account(pds: PdsServer) -> PdsAccount:
    return pds.create_account("harness")


@pytest.fixture
def client(pds: PdsServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{pds.url}/xrpc/", timeout=30.0) as c:
        yield c


def _session(client: httpx.Client, account: PdsAccount) -> dict[str, Any]:
    resp = client.post(
        "com.atproto.server.createSession",
        json={"identifier": account.handle, "password": account.app_password},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_account_and_app_password_session(client: httpx.Client, account: PdsAccount) -> None:
    assert account.did.startswith("did:plc:")
    assert account.handle.endswith(".test")
    assert account.app_password != account.password
    session = _session(client, account)
    assert session["did"] == account.did
    assert session["handle"] == account.handle
    # The handle resolves through the PDS (PLC directory is the local one).
    resp = client.get("com.atproto.identity.resolveHandle", params={"handle": account.handle})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"did": account.did}


def test_post_with_facet_and_image_at_fixed_rkey(client: httpx.Client, account: PdsAccount) -> None:
    auth = {"Authorization": f"Bearer {_session(client, account)['accessJwt']}"}

    png = _png_2x2()
    resp = client.post(
        "com.atproto.repo.uploadBlob",
        content=png,
        headers={**auth, "Content-Type": "image/png"},
    )
    assert resp.status_code == 200, resp.text
    blob = resp.json()["blob"]
    assert blob["$type"] == "blob"
    assert blob["mimeType"] == "image/png"
    assert blob["size"] == len(png)
    assert blob["ref"]["$link"].startswith("bafkrei")

    byte_start, byte_end = _byte_span(TEXT, LINK)
    assert (byte_start, byte_end) != (TEXT.index(LINK), TEXT.index(LINK) + len(LINK))
    assert TEXT.encode()[byte_start:byte_end].decode() == LINK
    record: dict[str, Any] = {
        "$type": COLLECTION,
        "text": TEXT,
        "createdAt": CREATED_AT,
        "langs": ["en"],
        "facets": [
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}],
            }
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": "a 2x2 test image", "image": blob, "aspectRatio": {"width": 2, "height": 2}}
            ],
        },
    }
    create = {
        "repo": account.did,
        "collection": COLLECTION,
        "rkey": RKEY,
        "validate": True,
        "record": record,
    }
    resp = client.post("com.atproto.repo.createRecord", json=create, headers=auth)
    assert resp.status_code == 200, resp.text
    created = resp.json()
    uri = f"at://{account.did}/{COLLECTION}/{RKEY}"
    assert created["uri"] == uri
    assert created["validationStatus"] == "valid"

    resp = client.get(
        "com.atproto.repo.getRecord",
        params={"repo": account.did, "collection": COLLECTION, "rkey": RKEY},
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["uri"] == uri
    assert got["cid"] == created["cid"]
    assert got["value"] == record

    # The uploaded blob is now held by the repo and served back byte for byte.
    resp = client.get(
        "com.atproto.sync.getBlob", params={"did": account.did, "cid": blob["ref"]["$link"]}
    )
    assert resp.status_code == 200, resp.text
    assert resp.content == png

    # Same rkey again (e.g. a publish retried after a lost response): refused.
    # @atproto/pds 0.5.35 answers HTTP 500 {"error": "InternalServerError",
    # "message": "Internal Server Error"}; its log says "There is already a value
    # at key: app.bsky.feed.post/3jzfcijpj2z2a" (the repo MST refuses the
    # insert). Not a 4xx, and no distinct error name: a client must treat 500 on
    # a create with its own rkey as "maybe already there" and check getRecord.
    again = {**create, "record": {**record, "text": "a second, different post"}}
    resp = client.post("com.atproto.repo.createRecord", json=again, headers=auth)
    assert resp.status_code == 500, resp.text
    assert resp.json() == {"error": "InternalServerError", "message": "Internal Server Error"}

    resp = client.get(
        "com.atproto.repo.listRecords", params={"repo": account.did, "collection": COLLECTION}
    )
    assert resp.status_code == 200, resp.text
    records = resp.json()["records"]
    assert [r["uri"] for r in records] == [uri]
    assert records[0]["cid"] == created["cid"]
    assert records[0]["value"]["text"] == TEXT


def test_create_account_handles_are_unique(pds: PdsServer) -> None:
    first = pds.create_account("Same Prefix!")
    second = pds.create_account("Same Prefix!")
    assert first.handle != second.handle
    assert first.did != second.did
    assert first.handle.startswith("same-prefix-")
