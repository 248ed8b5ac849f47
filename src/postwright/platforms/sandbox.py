"""The built-in `sandbox` platform: publishes to the local emulator like any real platform.

Per-account options: `emulator_url` (default: the `sandbox_url` setting) and `idempotency`
(send an Idempotency-Key, as Mastodon allows, or not, as X does not). Without a key, a post
whose answer was lost is found again by its content in the account's recent posts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from postwright.domain.content_rules import ContentDraft, validate_content
from postwright.domain.errors import Violation
from postwright.domain.platforms import Platform
from postwright.domain.posting_rules import content_fingerprint
from postwright.platforms.base import AccountRef, Published, PublishRequest
from postwright.platforms.http import (
    classify_status,
    rate_info_from_headers,
    translate_transport_errors,
)
from postwright.settings import Settings

__all__ = ["SandboxAdapter", "build"]


class SandboxAdapter:
    platform: ClassVar[Platform] = Platform.SANDBOX

    def __init__(self, client: httpx.AsyncClient, *, default_url: str) -> None:
        self._client = client
        self._default_url = default_url.rstrip("/")

    def validate(self, draft: ContentDraft, *, prefix: str) -> list[Violation]:
        return validate_content(self.platform, draft, prefix=prefix)

    def _base(self, account: AccountRef) -> str:
        url = account.options.get("emulator_url") or self._default_url
        return f"{str(url).rstrip('/')}/sandbox/{quote(account.handle, safe='')}"

    @staticmethod
    def _headers(account: AccountRef) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.credentials.get('access_token', '')}"}

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            body: Any = response.json()
        except ValueError:
            return response.text[:300] or response.reason_phrase
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return str(body["error"])
        return response.reason_phrase

    async def publish(self, request: PublishRequest) -> Published:
        headers = self._headers(request.account)
        if request.account.options.get("idempotency", True):
            headers["Idempotency-Key"] = request.idempotency_key
        body: dict[str, Any] = {"text": request.text}
        if request.media:
            body["media"] = [
                {"id": str(m.id), **({"alt": m.alt_text} if m.alt_text else {})}
                for m in request.media
            ]
        async with translate_transport_errors("sandbox"):
            response = await self._client.post(
                f"{self._base(request.account)}/posts", json=body, headers=headers
            )
        now = datetime.now(UTC)
        if response.status_code not in (200, 201):
            raise classify_status("sandbox", response, message=self._message(response), now=now)
        data = response.json()
        return Published(
            external_id=str(data["id"]),
            permalink=data.get("url"),
            rate=rate_info_from_headers(response.headers, now=now),
        )

    async def find(self, request: PublishRequest, *, since: datetime) -> Published | None:
        params = {"since": since.astimezone(UTC).isoformat(), "limit": "100"}
        async with translate_transport_errors("sandbox"):
            response = await self._client.get(
                f"{self._base(request.account)}/posts",
                params=params,
                headers=self._headers(request.account),
            )
        if response.status_code != 200:
            raise classify_status(
                "sandbox", response, message=self._message(response), now=datetime.now(UTC)
            )
        for post in response.json().get("data", []):
            if str(post.get("id")) in request.taken:
                continue
            if content_fingerprint(str(post.get("text", ""))) == content_fingerprint(request.text):
                return Published(external_id=str(post["id"]), permalink=post.get("url"))
        return None

    async def delete(self, account: AccountRef, external_id: str) -> None:
        async with translate_transport_errors("sandbox"):
            response = await self._client.delete(
                f"{self._base(account)}/posts/{quote(external_id, safe='')}",
                headers=self._headers(account),
            )
        if response.status_code not in (204, 404):
            raise classify_status(
                "sandbox", response, message=self._message(response), now=datetime.now(UTC)
            )

    async def metrics(self, account: AccountRef, external_id: str) -> dict[str, int]:
        async with translate_transport_errors("sandbox"):
            response = await self._client.get(
                f"{self._base(account)}/posts/{quote(external_id, safe='')}/metrics",
                headers=self._headers(account),
            )
        if response.status_code != 200:
            raise classify_status(
                "sandbox", response, message=self._message(response), now=datetime.now(UTC)
            )
        data = response.json()
        return {k: int(v) for k, v in data.items() if isinstance(v, int)}

    async def aclose(self) -> None:
        return None


def build(client: httpx.AsyncClient, settings: Settings) -> SandboxAdapter:
    return SandboxAdapter(client, default_url=settings.sandbox_url)
