"""Media: images and videos to attach to posts, uploaded or fetched from a URL."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from postwright.api.deps import PrincipalDep, RuntimeDep
from postwright.api.problems import PROBLEM_RESPONSES
from postwright.api.schemas import MediaPage, MediaPublic
from postwright.auth.principal import Principal
from postwright.domain.errors import InvalidInput, TooLarge
from postwright.domain.models import Media
from postwright.runtime import Runtime
from postwright.services import media as service

if TYPE_CHECKING:  # a TypedDict the library only defines for type checkers
    from python_multipart.multipart import MultipartCallbacks

# No `storable_input` here: it would buffer the whole body of any JSON or untyped request, and
# this endpoint streams files. The service refuses unstorable alt text itself; the URL never
# reaches the database unchecked (httpx refuses control characters in it).
router = APIRouter(responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 409, 422)})

_MAX_JSON_BYTES = 16 * 1024
_MAX_PARTS = 8
_MAX_FIELD_BYTES = 4 * service.MAX_ALT_TEXT + 64  # UTF-8 takes up to 4 bytes a character
_TAKES = "send multipart/form-data with a `file` part, or application/json with a `url`"

_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Either upload the file (multipart) or give a URL to fetch it from (JSON).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG, GIF, WebP, MP4 or MOV; the type is read "
                            "from the bytes, not from the name.",
                        },
                        "alt_text": {
                            "type": "string",
                            "maxLength": service.MAX_ALT_TEXT,
                            "description": "Description for screen readers.",
                        },
                    },
                    "additionalProperties": False,
                }
            },
            "application/json": {"schema": service.MediaFromUrl.model_json_schema()},
        },
    }
}
_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {**PROBLEM_RESPONSES[422], "description": "The file is larger than the limit"},
    415: {
        **PROBLEM_RESPONSES[422],
        "description": "The request body is neither multipart nor JSON",
    },
}


class _FormReader:
    """Streams a multipart body: the `file` part goes straight into `incoming`, the small
    `alt_text` field is kept, anything else is refused."""

    def __init__(self, incoming: service.Incoming) -> None:
        self.incoming = incoming
        self.filename: str | None = None
        self.alt_text: str | None = None
        self.has_file = False
        self.ended = False
        self.pending: list[bytes] = []  # file bytes parsed but not yet written
        self._parts = 0
        self._name = ""
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > _MAX_PARTS:
            raise InvalidInput.one(
                "body", "too_many_parts", "too many parts: send `file` and `alt_text`"
            )
        self._name, self._disposition, self._value = "", b"", bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = _decode(options.get(b"name", b""))
        if not name:
            raise InvalidInput.one("body", "multipart", "a part has no Content-Disposition name")
        if name == "file":
            if self.has_file:
                raise InvalidInput.one("file", "multiple", "send one file per request")
            self.has_file = True
            self.filename = _decode(options.get(b"filename", b"")) or None
        elif name == "alt_text":
            if self.alt_text is not None:
                raise InvalidInput.one("alt_text", "multiple", "send alt_text once")
        else:
            raise InvalidInput.one(
                name[:100],
                "extra_forbidden",
                "unknown field; this endpoint takes `file` and `alt_text`",
            )
        self._name = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == "file":
            self.pending.append(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > _MAX_FIELD_BYTES:
            raise InvalidInput.one(
                self._name, "max_length", f"at most {service.MAX_ALT_TEXT} characters"
            )

    def _part_end(self) -> None:
        if self._name == "alt_text":
            try:
                self.alt_text = bytes(self._value).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput.one("alt_text", "encoding", "alt_text must be UTF-8") from None

    def _end(self) -> None:
        self.ended = True

    async def flush(self) -> None:
        for chunk in self.pending:
            await self.incoming.write(chunk)
        self.pending.clear()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _declared_size(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def _from_multipart(
    request: Request, rt: Runtime, principal: Principal, boundary: bytes | None
) -> Media:
    if not boundary:
        raise InvalidInput.one("body", "multipart", "the multipart Content-Type has no boundary")
    async with service.receiving(rt, principal, declared_size=_declared_size(request)) as incoming:
        reader = _FormReader(incoming)
        try:
            parser = MultipartParser(boundary, reader.callbacks())
            async for chunk in request.stream():
                parser.write(chunk)
                await reader.flush()
            parser.finalize()
        except FormParserError:
            raise InvalidInput.one("body", "multipart", "the multipart body is malformed") from None
        if not reader.ended:
            raise InvalidInput.one(
                "body", "multipart", "the multipart body ended before its closing boundary"
            )
        if not reader.has_file:
            raise InvalidInput.one("file", "missing", "this field is required: the file to upload")
        return await service.save_upload(
            rt, principal, incoming, filename=reader.filename, alt_text=reader.alt_text
        )


async def _json_body(request: Request) -> service.MediaFromUrl:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > _MAX_JSON_BYTES:
            raise TooLarge(
                f"the JSON body is larger than {_MAX_JSON_BYTES // 1024} KiB; "
                "it only carries a URL and alt text"
            )
    try:
        return service.MediaFromUrl.model_validate_json(bytes(raw))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


@router.post(
    "",
    status_code=201,
    response_model=MediaPublic,
    summary="Upload a file, or fetch one from a URL",
    openapi_extra=_CREATE_BODY,
    responses=_CREATE_RESPONSES,
)
async def create_media(request: Request, rt: RuntimeDep, principal: PrincipalDep) -> MediaPublic:
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type == b"multipart/form-data":
        media = await _from_multipart(request, rt, principal, params.get(b"boundary"))
    elif content_type == b"application/json":
        media = await service.fetch_media(rt, principal, await _json_body(request))
    else:
        raise HTTPException(415, f"unsupported Content-Type; {_TAKES}")
    return MediaPublic.of(media)


@router.get("", response_model=MediaPage, summary="List media, newest first")
async def list_media(
    rt: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MediaPage:
    found, total = await service.list_media(rt, principal, limit=limit, offset=offset)
    return MediaPage(
        data=[MediaPublic.of(m) for m in found], count=total, limit=limit, offset=offset
    )


@router.get("/{media_id}", response_model=MediaPublic, summary="Get a media's details")
async def get_media(media_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> MediaPublic:
    return MediaPublic.of(await service.get_media(rt, principal, media_id))


@router.get(
    "/{media_id}/content",
    response_class=FileResponse,
    summary="Download the bytes",
    responses={
        200: {
            "description": "The file, with its real content type",
            "content": {"image/*": {}, "video/*": {}},
        }
    },
)
async def get_media_content(
    media_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep
) -> FileResponse:
    media, path = await service.open_media(rt, principal, media_id)
    return FileResponse(
        path,
        media_type=media.mime_type,
        filename=media.filename,
        content_disposition_type="inline",
        headers={
            # a media id's bytes never change; the answer is per user, so only private caches
            "Cache-Control": "private, max-age=31536000, immutable",
            # uploaded bytes never run as a page on our origin
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete("/{media_id}", status_code=204, summary="Delete media no unpublished post uses")
async def delete_media(media_id: uuid.UUID, rt: RuntimeDep, principal: PrincipalDep) -> Response:
    await service.delete_media(rt, principal, media_id)
    return Response(status_code=204)
