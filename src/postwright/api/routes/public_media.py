"""`GET` and `HEAD /media/{media_id}?exp=&sig=`: a stored file, for whoever holds its signed URL.

Instagram and Threads download the images and videos of a post themselves, from the URLs the
adapters sign (`platforms.media_urls`, whose docstring is this route's contract). No cookie, no
token, no workspace: the signature is the whole authorisation and names one file until `exp`.

    403  bad, malformed or expired signature (one answer for all: it says nothing more)
    404  a valid signature for media that does not exist (deleted since) or has no file
    200  the bytes, with the stored MIME type, Content-Length, ETag, Accept-Ranges
    206  one or more byte ranges (video fetchers ask for them); 416 when none is satisfiable

`Cache-Control: private, max-age=N` lets the fetcher keep the file no longer than the link works.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from postwright.api.deps import RuntimeDep
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.services import public_media as service

__all__ = ["router"]

router = APIRouter()

_FILE: dict[str, Any] = {"image/*": {}, "video/*": {}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, with its stored content type", "content": _FILE},
    206: {"description": "The requested byte range(s) of the file", "content": _FILE},
    403: {**PROBLEM_RESPONSES[403], "description": "The signature is wrong or has expired"},
    404: {**PROBLEM_RESPONSES[404], "description": "No such media, or its file is gone"},
    416: {
        "description": "No requested range is inside the file",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


_ROUTE: dict[str, Any] = {
    "response_class": FileResponse,
    "summary": "Download a file by its signed public URL (for platforms that fetch media)",
    "responses": _RESPONSES,
}


# two routes, not one `api_route` with two methods: each gets its own OpenAPI operation id
@router.get("/media/{media_id}", **_ROUTE)
@router.head("/media/{media_id}", **_ROUTE)
async def get_signed_media(
    media_id: str,
    rt: RuntimeDep,
    exp: Annotated[str, Query(description="Expiry, unix seconds (from the signed URL).")] = "",
    sig: Annotated[str, Query(description="HMAC-SHA256, 64 hex digits (from the URL).")] = "",
) -> FileResponse:
    found = await service.open_signed_media(rt, media_id=media_id, exp=exp, sig=sig)
    max_age = max(0, int(found.expires_at - rt.now().timestamp()))  # whole seconds, down
    return FileResponse(
        found.path,
        media_type=found.media.mime_type,
        stat_result=found.stat,
        content_disposition_type="inline",
        headers={
            # shared caches must not keep it; the fetcher no longer than the link works
            "Cache-Control": f"private, max-age={max_age}",
            # uploaded bytes never run as a page on our origin
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
