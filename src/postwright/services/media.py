"""Media: upload a file or fetch one from a URL, find out what it really is, keep it on disk.

Bytes are streamed into a temp file beside their final place, hashed and counted as they arrive
and refused past `media_max_bytes` (413). Their type is read from the bytes themselves, never from
a file name or a Content-Type: JPEG, PNG, GIF and WebP through Pillow, MP4 and MOV by their
`ftyp` box; anything else is refused (422). The file is then renamed to
`<media_dir>/<workspace_id>/<sha256><ext>`, so the same bytes are stored once per workspace and a
file is removed only with the last media row that uses it.

Fetching a URL on a user's behalf is a server-side request forgery risk. The defence:

- only `http` and `https`, no credentials in the URL;
- the host is resolved by us, and every address it resolves to is checked (`blocked_reason`):
  private, loopback, link-local, multicast, reserved, unspecified and other non-global addresses
  are refused, including IPv4 addresses embedded in IPv6 ones (IPv4-mapped, 6to4, Teredo, NAT64);
- the connection goes to the address we checked, never to the name: the request URL carries the
  IP literal, the `Host` header and the TLS SNI/certificate check carry the name. httpx never
  resolves the name again, so a DNS answer that changes between the check and the connection
  (DNS rebinding) cannot redirect us. Checking `server_addr` after connecting would come too late:
  the request would already have been sent;
- redirects are followed by hand, at most `MAX_REDIRECTS`, and every hop is checked the same way;
- no proxy from the environment, a size cap while streaming, and one deadline for the whole fetch.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import struct
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote

import anyio
import anyio.to_thread
import httpx
from anyio import AsyncFile
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from postwright import __version__
from postwright.auth.principal import Principal
from postwright.domain.errors import Conflict, InvalidInput, NotFound, TooLarge
from postwright.domain.models import Media, new_id
from postwright.domain.roles import Action
from postwright.runtime import Runtime
from postwright.store import audit, media_usage
from postwright.store import media as media_store

__all__ = [
    "MAX_ALT_TEXT",
    "MAX_REDIRECTS",
    "Incoming",
    "MediaFromUrl",
    "Sniffed",
    "blocked_reason",
    "delete_media",
    "fetch_media",
    "get_media",
    "list_media",
    "open_media",
    "receiving",
    "resolve_host",
    "save_upload",
    "sniff",
]

MAX_ALT_TEXT = 1500
MAX_URL = 2048
MAX_FILENAME = 300
MAX_REDIRECTS = 5
# Room for multipart boundaries and small fields on top of the file when a Content-Length is
# checked before reading the body.
_ENVELOPE_BYTES = 64 * 1024
_HEAD_BYTES = 64
_MOOV_MAX_BYTES = 16 * 1024 * 1024
_UNSUPPORTED = (
    "is not a supported file type: send a JPEG, PNG, GIF or WebP image, or an MP4 or MOV video"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class MediaFromUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        description="An http(s) URL on a public address; postwright downloads it now.",
    )
    alt_text: str | None = Field(
        default=None, max_length=MAX_ALT_TEXT, description="Description for screen readers."
    )


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the bytes are, read from the bytes."""

    kind: str  # image | gif | video
    mime_type: str
    ext: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


# -- receiving bytes -------------------------------------------------------------------------


class Incoming:
    """Bytes on their way in: written to a temp file, hashed and counted as they arrive."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.path = directory / f".incoming-{uuid.uuid4().hex}"
        self.size = 0
        self.head = b""  # the first bytes, for sniffing
        self._hash = hashlib.sha256()
        self._file: AsyncFile[bytes] | None = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def open(self) -> None:
        self._file = await anyio.open_file(self.path, "xb")

    async def write(self, chunk: bytes) -> None:
        """Append `chunk`; 413 as soon as the total would pass the limit."""
        if not chunk:
            return
        if self._file is None:
            raise RuntimeError("Incoming.write() before open() or after close()")
        if self.size + len(chunk) > self.max_bytes:
            raise _too_large(self.max_bytes)
        if len(self.head) < _HEAD_BYTES:
            self.head += chunk[: _HEAD_BYTES - len(self.head)]
        self._hash.update(chunk)
        self.size += len(chunk)
        await self._file.write(chunk)

    async def close(self) -> None:
        if self._file is not None:
            await self._file.aclose()
            self._file = None

    async def discard(self) -> None:
        """Close and remove the temp file (a no-op once it was renamed into place)."""
        await self.close()
        await anyio.to_thread.run_sync(partial(self.path.unlink, missing_ok=True))


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the {_format_bytes(limit)} limit")


def _format_bytes(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _workspace_dir(rt: Runtime, workspace_id: uuid.UUID) -> Path:
    return rt.settings.media_dir / str(workspace_id)


@asynccontextmanager
async def receiving(
    rt: Runtime, principal: Principal, *, declared_size: int | None = None
) -> AsyncIterator[Incoming]:
    """A temp file to stream a new media file into; removed on exit unless it was saved.

    Checks the role first, and a declared body size, so nothing is read that would be refused.
    """
    principal.require(Action.WRITE)
    limit = rt.settings.media_max_bytes
    if declared_size is not None and declared_size > limit + _ENVELOPE_BYTES:
        raise _too_large(limit)
    directory = _workspace_dir(rt, principal.workspace_id)
    await anyio.to_thread.run_sync(partial(directory.mkdir, parents=True, exist_ok=True))
    incoming = Incoming(directory, limit)
    await incoming.open()
    try:
        yield incoming
    finally:
        await incoming.discard()


# -- identifying bytes -----------------------------------------------------------------------

_IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "GIF": ("image/gif", ".gif"),
    "WEBP": ("image/webp", ".webp"),
}
# Major brands of the ISO base media files we take. HEIC/AVIF (images), M4A (audio) and 3GP
# share the `ftyp` box but are not what the platforms accept as video.
_MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"iso7",
        b"iso8",
        b"iso9",
        b"mp41",
        b"mp42",
        b"mp71",
        b"avc1",
        b"M4V ",
        b"M4VH",
        b"M4VP",
        b"dash",
        b"mmp4",
        b"f4v ",
        b"MSNV",
    }
)
_QUICKTIME_BRAND = b"qt  "


class _Unsupported(Exception):
    """The bytes are not a type we take; the message says what they are when we know."""


def sniff(path: Path, head: bytes) -> Sniffed:
    """Identify the file at `path` (whose first bytes are `head`); `_Unsupported` if refused."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_iso_media(path, head[8:12])
    return _sniff_image(path)


def _sniff_image(path: Path) -> Sniffed:
    try:
        with Image.open(path, formats=list(_IMAGE_FORMATS)) as image:
            fmt = image.format or ""
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
    except Image.DecompressionBombError:
        raise _Unsupported("has too many pixels to be processed safely") from None
    except Exception:  # Pillow raises many kinds of errors for bytes that are not an image
        raise _Unsupported(_UNSUPPORTED) from None
    if fmt not in _IMAGE_FORMATS:
        raise _Unsupported(_UNSUPPORTED)
    mime_type, ext = _IMAGE_FORMATS[fmt]
    kind = "gif" if fmt == "GIF" and animated else "image"
    return Sniffed(kind, mime_type, ext, width=width, height=height)


def _sniff_iso_media(path: Path, brand: bytes) -> Sniffed:
    if brand == _QUICKTIME_BRAND:
        mime_type, ext = "video/quicktime", ".mov"
    elif brand in _MP4_BRANDS:
        mime_type, ext = "video/mp4", ".mp4"
    else:
        shown = brand.decode("latin-1").strip() or "?"
        raise _Unsupported(
            f"is an ISO media file of brand {shown!r} (HEIC/AVIF images, audio and 3GP are not "
            "supported): send a JPEG, PNG, GIF or WebP image, or an MP4 or MOV video"
        )
    duration, width, height = _iso_media_info(path)
    return Sniffed("video", mime_type, ext, width=width, height=height, duration_s=duration)


def _iso_boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, content start, content end) of each box in `data[start:end]`, while well formed."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _iso_media_info(path: Path) -> tuple[float | None, int | None, int | None]:
    """(duration in seconds, width, height) from the `moov` box, when the file has a sane one."""
    with path.open("rb") as f:
        moov = _read_top_level_box(f, b"moov")
    if moov is None:
        return None, None, None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    for kind, start, end in _iso_boxes(moov, 0, len(moov)):
        if kind == b"mvhd":
            duration = _mvhd_duration(moov[start:end])
        elif kind == b"trak" and width is None:
            for inner, s, e in _iso_boxes(moov, start, end):
                if inner == b"tkhd":
                    size = _tkhd_size(moov[s:e])
                    if size is not None:
                        width, height = size
    return duration, width, height


def _read_top_level_box(f: BinaryIO, wanted: bytes) -> bytes | None:
    file_size = os.fstat(f.fileno()).st_size
    pos = 0
    for _ in range(10_000):  # a real file has a handful of top-level boxes
        if pos + 8 > file_size:
            return None
        f.seek(pos)
        header = f.read(16)
        size, kind = struct.unpack_from(">I4s", header)
        header_len = 8
        if size == 1:
            if len(header) < 16:
                return None
            size = struct.unpack_from(">Q", header, 8)[0]
            header_len = 16
        elif size == 0:
            size = file_size - pos
        if size < header_len or pos + size > file_size:
            return None
        if kind == wanted:
            if size > _MOOV_MAX_BYTES:
                return None
            f.seek(pos + header_len)
            return f.read(size - header_len)
        pos += size
    return None


def _mvhd_duration(body: bytes) -> float | None:
    if not body:
        return None
    if body[0] == 1:
        if len(body) < 32:
            return None
        timescale = struct.unpack_from(">I", body, 20)[0]
        duration = struct.unpack_from(">Q", body, 24)[0]
        unknown = 0xFFFFFFFFFFFFFFFF
    else:
        if len(body) < 20:
            return None
        timescale, duration = struct.unpack_from(">II", body, 12)
        unknown = 0xFFFFFFFF
    if timescale == 0 or duration in (0, unknown):
        return None
    return round(float(duration) / float(timescale), 3)


def _tkhd_size(body: bytes) -> tuple[int, int] | None:
    if not body:
        return None
    offset = 88 if body[0] == 1 else 76
    if len(body) < offset + 8:
        return None
    width, height = struct.unpack_from(">II", body, offset)
    width, height = width >> 16, height >> 16  # 16.16 fixed point
    return (width, height) if width and height else None


async def _identify(incoming: Incoming, *, field: str) -> Sniffed:
    await incoming.close()
    if incoming.size == 0:
        raise InvalidInput.one(field, "empty", "the file is empty")
    try:
        return await anyio.to_thread.run_sync(sniff, incoming.path, incoming.head)
    except _Unsupported as exc:
        what = "the file" if field == "file" else "the file at this URL"
        raise InvalidInput.one(field, "unsupported_type", f"{what} {exc}") from None


# -- storing ---------------------------------------------------------------------------------


def _clean_filename(name: str | None, sniffed: Sniffed) -> str:
    """A display name without directories or control characters; a default when none is left."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if not base or base in {".", ".."}:
        base = f"{sniffed.kind}{sniffed.ext}"
    if len(base) > MAX_FILENAME:
        _stem, dot, ext = base.rpartition(".")
        keep = f".{ext}" if dot and len(ext) <= 10 else ""
        base = base[: MAX_FILENAME - len(keep)] + keep
    return base


def _check_alt_text(alt_text: str | None) -> str | None:
    if alt_text is None:
        return None
    alt_text = alt_text.strip()
    if len(alt_text) > MAX_ALT_TEXT:
        raise InvalidInput.one(
            "alt_text", "max_length", f"alt text is at most {MAX_ALT_TEXT} characters"
        )
    # neither database stores NUL or a lone surrogate (JSON's "\ud800" decodes to one)
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in alt_text):
        raise InvalidInput.one(
            "alt_text", "invalid_character", "contains NUL or a lone UTF-16 surrogate"
        )
    return alt_text or None


async def _store(
    rt: Runtime,
    principal: Principal,
    incoming: Incoming,
    sniffed: Sniffed,
    *,
    filename: str,
    alt_text: str | None,
    source: dict[str, str],
    source_url: str | None,
) -> Media:
    final = incoming.directory / f"{incoming.sha256}{sniffed.ext}"
    now = rt.now()
    async with rt.db.write() as conn:
        media = await media_store.create_media(
            conn,
            media_id=new_id(),
            workspace_id=principal.workspace_id,
            values={
                "kind": sniffed.kind,
                "mime_type": sniffed.mime_type,
                "size_bytes": incoming.size,
                "width": sniffed.width,
                "height": sniffed.height,
                "duration_s": sniffed.duration_s,
                "checksum_sha256": incoming.sha256,
                "alt_text": alt_text,
                "filename": filename,
                "storage_path": f"{principal.workspace_id}/{final.name}",
                "source_url": source_url,
            },
            now=now,
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="media.created",
            target_type="media",
            target_id=media.id,
            details={
                "type": sniffed.kind,
                "mime_type": sniffed.mime_type,
                "size": incoming.size,
                "checksum": incoming.sha256,
                **source,
            },
            now=now,
        )
        # Renamed inside the transaction: if it fails, no row points at a missing file. If the
        # commit fails after it, the file stays as an orphan that the same bytes will reuse.
        await anyio.to_thread.run_sync(os.replace, incoming.path, final)
    return media


async def save_upload(
    rt: Runtime,
    principal: Principal,
    incoming: Incoming,
    *,
    filename: str | None,
    alt_text: str | None,
) -> Media:
    """Identify and keep bytes received from an upload (`receiving`)."""
    principal.require(Action.WRITE)
    alt = _check_alt_text(alt_text)
    sniffed = await _identify(incoming, field="file")
    return await _store(
        rt,
        principal,
        incoming,
        sniffed,
        filename=_clean_filename(filename, sniffed),
        alt_text=alt,
        source={"source": "upload"},
        source_url=None,
    )


# -- fetching a URL --------------------------------------------------------------------------

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo client, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why postwright must not connect to `ip` for a user, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return blocked_reason(embedded)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-public"),
    )
    return next((reason for blocked, reason in checks if blocked), None)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (an IP literal is itself)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # link-local IPv6 answers may carry a zone (`fe80::1%eth0`); the address is what we check
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _url_error(rule: str, message: str) -> InvalidInput:
    return InvalidInput.one("url", rule, message)


async def _checked_address(url: httpx.URL, *, allow_private: bool, hop: int) -> str:
    """The one address to connect to for `url`, after checking every address its host has."""
    where = "the URL" if hop == 0 else f"redirect {hop} ({url})"
    if url.scheme not in ("http", "https"):
        raise _url_error(
            "scheme", f"{where} uses {url.scheme or 'no'} scheme; only http and https are fetched"
        )
    if not url.raw_host:
        raise _url_error("invalid", f"{where} has no host")
    if url.userinfo:
        raise _url_error("credentials", f"{where} contains credentials; they are not accepted")
    host = url.raw_host.decode("ascii")
    port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise _url_error("invalid", f"{where} has an invalid port {port}")
    try:
        addresses = await resolve_host(host, port)
    except (OSError, ValueError):  # no such name, or one that is not a valid host name at all
        addresses = []
    if not addresses:
        raise _url_error("unresolvable", f"{where}: the host {url.host} could not be resolved")
    if not allow_private:
        # one bad answer refuses the host: a name that mixes public and private answers is
        # either misconfigured or an attack
        for address in addresses:
            reason = blocked_reason(ipaddress.ip_address(address))
            if reason is not None:
                raise _url_error(
                    "blocked_address",
                    f"{where}: {url.host} is at {address}, a {reason} address; "
                    "only public addresses are fetched",
                )
    return addresses[0]


def _pinned_request(client: httpx.AsyncClient, url: httpx.URL, address: str) -> httpx.Request:
    """A GET to `address` that the server (and its TLS certificate) sees as a request for `url`."""
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={
            "Host": url.netloc.decode("ascii"),
            "Accept": "image/*, video/*;q=0.9, */*;q=0.1",
            "Accept-Encoding": "identity",
            "User-Agent": f"postwright/{__version__} (media fetch)",
        },
        extensions=extensions,
    )


def _check_response(response: httpx.Response, limit: int) -> None:
    if not 200 <= response.status_code < 300:
        phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
        raise _url_error(
            "http_status", f"the server answered {response.status_code}{phrase}, not the file"
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _download(rt: Runtime, url: httpx.URL, incoming: Incoming) -> httpx.URL:
    """Stream the file at `url` (following checked redirects) into `incoming`; the final URL."""
    allow_private = rt.settings.media_allow_private_urls
    timeout = rt.settings.media_fetch_timeout_s
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(
                trust_env=False, follow_redirects=False, timeout=timeout
            ) as client:
                for hop in range(MAX_REDIRECTS + 1):
                    address = await _checked_address(url, allow_private=allow_private, hop=hop)
                    request = _pinned_request(client, url, address)
                    response = await client.send(request, stream=True)
                    try:
                        if response.is_redirect:
                            url = _join(url, response.headers["location"])
                            continue
                        _check_response(response, incoming.max_bytes)
                        async for chunk in response.aiter_bytes():
                            await incoming.write(chunk)
                        return url
                    finally:
                        await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        raise _url_error("timeout", f"the file did not arrive within {timeout:g} seconds") from None
    except httpx.HTTPError as exc:
        raise _url_error("fetch_failed", f"could not fetch the URL: {_describe(exc)}") from None
    raise _url_error("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")


def _join(url: httpx.URL, location: str) -> httpx.URL:
    try:
        return url.join(location)
    except (httpx.InvalidURL, ValueError):
        raise _url_error("invalid", "the server redirected to an invalid URL") from None


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the server" + (f" ({exc})" if str(exc) else "")
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server broke the HTTP protocol" + (f" ({exc})" if str(exc) else "")
    return str(exc) or type(exc).__name__


def _filename_from_url(url: httpx.URL) -> str:
    return unquote(url.path.rsplit("/", 1)[-1])


def _public_form(url: httpx.URL) -> str:
    """The URL without its query and fragment: presigned URLs carry secrets there."""
    return str(url.copy_with(query=None, fragment=None))


async def fetch_media(rt: Runtime, principal: Principal, body: MediaFromUrl) -> Media:
    principal.require(Action.WRITE)
    alt = _check_alt_text(body.alt_text)
    try:
        url = httpx.URL(body.url.strip())
    except (httpx.InvalidURL, ValueError):  # surrogates raise UnicodeEncodeError
        raise _url_error("invalid", "this is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise _url_error("scheme", "give an absolute http:// or https:// URL")
    async with receiving(rt, principal) as incoming:
        final = await _download(rt, url, incoming)
        sniffed = await _identify(incoming, field="url")
        return await _store(
            rt,
            principal,
            incoming,
            sniffed,
            filename=_clean_filename(_filename_from_url(final), sniffed),
            alt_text=alt,
            source={"source": "url", "host": url.host},
            source_url=_public_form(url),
        )


# -- reading and deleting --------------------------------------------------------------------


async def list_media(
    rt: Runtime, principal: Principal, *, limit: int, offset: int
) -> tuple[list[Media], int]:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        found = await media_store.list_media(
            conn, workspace_id=principal.workspace_id, limit=limit, offset=offset
        )
        total = await media_usage.count_media(conn, workspace_id=principal.workspace_id)
    return found, total


async def get_media(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> Media:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        media = await media_store.get_media(
            conn, workspace_id=principal.workspace_id, media_id=media_id
        )
    if media is None:
        raise NotFound("no such media")
    return media


def _stored_path(rt: Runtime, media: Media) -> Path:
    root = rt.settings.media_dir.resolve()
    path = (root / media.storage_path).resolve()
    if root not in path.parents:  # a stored path never leaves the media directory
        raise NotFound("the file of this media is missing")
    return path


async def open_media(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> tuple[Media, Path]:
    """The media and the path of its bytes, for serving."""
    media = await get_media(rt, principal, media_id)
    path = _stored_path(rt, media)
    if not await anyio.to_thread.run_sync(path.is_file):
        raise NotFound("the file of this media is missing from storage")
    return media, path


async def delete_media(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> None:
    """Delete the media; 409 while a post that is not yet published attaches it."""
    principal.require(Action.WRITE)
    now = rt.now()
    async with rt.db.write() as conn:
        media = await media_store.get_media(
            conn, workspace_id=principal.workspace_id, media_id=media_id
        )
        if media is None:
            raise NotFound("no such media")
        users = await media_usage.unpublished_posts_using(
            conn, workspace_id=principal.workspace_id, media_id=media_id
        )
        if users:
            shown = ", ".join(str(p) for p in users[:3]) + (", ..." if len(users) > 3 else "")
            raise Conflict(
                f"this media is attached to {len(users)} post(s) not yet published ({shown}); "
                "remove it from them or delete them first"
            )
        await media_store.delete_media(conn, workspace_id=principal.workspace_id, media_id=media_id)
        remaining = await media_usage.count_media_with_file(
            conn, workspace_id=principal.workspace_id, storage_path=media.storage_path
        )
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="media.deleted",
            target_type="media",
            target_id=media_id,
            details={"filename": media.filename, "checksum": media.checksum_sha256},
            now=now,
        )
    if remaining == 0:
        # after the commit: a failed transaction never leaves a row without its file
        path = _stored_path(rt, media)
        await anyio.to_thread.run_sync(partial(path.unlink, missing_ok=True))
