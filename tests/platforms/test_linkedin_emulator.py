"""The emulated LinkedIn API answers as LinkedIn does: versions, bodies, errors, uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from postwright.platforms.emulator import EmulatorApp, create_app

HEADERS = {
    "Authorization": "Bearer li-person-ada",
    "LinkedIn-Version": "202601",
    "X-Restli-Protocol-Version": "2.0.0",
}
ADA = "urn:li:person:ada"


def post(commentary: str, **extra: Any) -> dict[str, Any]:
    return {
        "author": ADA,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        **extra,
    }


@pytest.fixture
def app() -> EmulatorApp:
    return create_app(seed=2)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=HEADERS
    ) as client:
        yield client


async def test_the_version_header_is_required_and_must_be_active(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.post("/rest/posts", json=post("x"), headers={"LinkedIn-Version": ""})
    retired = await client.post(
        "/rest/posts", json=post("x"), headers={"LinkedIn-Version": "202401"}
    )

    assert missing.status_code == 400
    assert missing.json()["code"] == "VERSION_MISSING"
    assert retired.status_code == 426
    assert retired.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 202401 is not active",
    }


async def test_a_create_answers_201_with_the_urn_in_a_header_only(
    client: httpx.AsyncClient, app: EmulatorApp
) -> None:
    response = await client.post("/rest/posts", json=post("Hello \\(world\\)"))

    assert response.status_code == 201
    assert response.content == b""
    urn = response.headers["x-restli-id"]
    [entry] = app.ledger.entries(platform="linkedin")
    assert (entry.post_id, entry.account, entry.text) == (urn, ADA, "Hello (world)")


async def test_an_unescaped_reserved_character_silently_cuts_the_post(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/rest/posts", json=post("Launch (at last) today"))
    urn = response.headers["x-restli-id"]

    stored = (await client.get(f"/rest/posts/{urn}")).json()

    assert response.status_code == 201  # no error: the post is just shorter
    assert stored["commentary"] == "Launch "


async def test_unknown_fields_and_bad_values_are_refused(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/rest/posts", json=post("x", colour="red"))
    invalid = await client.post("/rest/posts", json=post("x", visibility="EVERYONE"))
    missing_media = await client.post(
        "/rest/posts", json=post("x", content={"media": {"id": "urn:li:image:nope"}})
    )

    assert unknown.status_code == 400
    assert "Unpermitted fields present in REQUEST_BODY" in unknown.json()["message"]
    assert "[/colour]" in unknown.json()["message"]
    assert invalid.status_code == 422
    assert invalid.json()["errorDetails"]["inputErrors"][0]["input"] == {
        "inputPath": {"fieldPath": "/visibility"}
    }
    assert missing_media.status_code == 422


async def test_reading_posts_needs_the_read_permission(client: httpx.AsyncClient) -> None:
    await client.post("/rest/posts", json=post("one"))
    await client.post("/rest/posts", json=post("two"))
    query = "author=urn%3Ali%3Aperson%3Aada&q=author&count=1"

    page = await client.get(f"/rest/posts?{query}")
    second = await client.get(f"/rest/posts?{query}&start=1")
    refused = await client.get(
        f"/rest/posts?{query}", headers={"Authorization": "Bearer li-person-ada+noread"}
    )

    assert [e["commentary"] for e in page.json()["elements"]] == ["two"]
    assert page.json()["paging"] == {"start": 0, "count": 1, "links": [], "total": 2}
    assert [e["commentary"] for e in second.json()["elements"]] == ["one"]
    assert refused.status_code == 403
    assert refused.json()["code"] == "ACCESS_DENIED"


async def test_a_video_is_finalized_only_with_every_part_s_etag(
    client: httpx.AsyncClient,
) -> None:
    size = 5 * 1024 * 1024  # two parts of at most 4 MiB
    init = await client.post(
        "/rest/videos?action=initializeUpload",
        json={"initializeUploadRequest": {"owner": ADA, "fileSizeBytes": size}},
    )
    value = init.json()["value"]
    parts = value["uploadInstructions"]
    assert [(p["firstByte"], p["lastByte"]) for p in parts] == [
        (0, 4 * 1024 * 1024 - 1),
        (4 * 1024 * 1024, size - 1),
    ]
    first = await client.put(
        parts[0]["uploadUrl"], content=b"\0\0\0\x18ftypisom".ljust(4 * 1024 * 1024, b"\0")
    )
    second = await client.put(parts[1]["uploadUrl"], content=b"\0" * (1024 * 1024))
    finalize = {
        "finalizeUploadRequest": {
            "video": value["video"],
            "uploadToken": value["uploadToken"],
            "uploadedPartIds": [first.headers["etag"]],
        }
    }

    short = await client.post("/rest/videos?action=finalizeUpload", json=finalize)
    finalize["finalizeUploadRequest"]["uploadedPartIds"].append(second.headers["etag"])
    done = await client.post("/rest/videos?action=finalizeUpload", json=finalize)

    assert short.status_code == 422
    assert done.status_code == 200
    status = await client.get(f"/rest/videos/{value['video']}")
    assert status.json()["status"] in ("PROCESSING", "AVAILABLE")


async def test_delete_and_social_actions(client: httpx.AsyncClient) -> None:
    urn = (await client.post("/rest/posts", json=post("bye"))).headers["x-restli-id"]

    actions = await client.get(f"/rest/socialActions/{urn}")
    deleted = await client.delete(f"/rest/posts/{urn}")
    again = await client.delete(f"/rest/posts/{urn}")

    assert set(actions.json()) == {"target", "likesSummary", "commentsSummary"}
    assert deleted.status_code == 204
    assert again.status_code == 404
