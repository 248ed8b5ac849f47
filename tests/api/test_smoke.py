from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from postwright.runtime import Runtime
from tests.support.factories import make_account, make_member


async def test_create_and_cancel_post(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime, email="owner@example.com")
    account = await make_account(client, owner)
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await client.post(
        "/api/v1/posts",
        json={"text": "hello", "targets": [{"account_id": account["id"]}], "scheduled_at": when},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["status"] == "scheduled"
    assert post["deliveries"][0]["state"] == "scheduled"
    r = await client.post(f"/api/v1/posts/{post['id']}/cancel", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
