"""The adapters' shared HTTP client: many small pools, one TLS context between them."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from postwright.platforms import http


async def test_every_shard_shares_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = create(*args, **kwargs)
        made.append(context)
        return context

    # loading the CA bundle takes tens of milliseconds: once per client, not once per shard
    monkeypatch.setattr(ssl, "create_default_context", counting)
    client = http.make_client(timeout_s=5.0, max_connections=128)
    try:
        assert len(made) == 1
    finally:
        await client.aclose()
