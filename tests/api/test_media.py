"""Media: uploads sniffed from their bytes, URL fetches that cannot reach private addresses,
roles, tenant isolation, and deletion guarded by the posts that still need a file."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import struct
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from postwright.domain.roles import Role
from postwright.domain.states import DeliveryState
from postwright.runtime import Runtime
from postwright.services import media as media_service
from postwright.settings import Settings
from tests.support.factories import (
    Member,
    assert_problem,
    assert_violation,
    create_post,
    make_account,
    make_member,
    set_delivery_states,
)

MEDIA = "/api/v1/media"
MAX_BYTES = 256 * 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        public_url="http://testserver",
        media_max_bytes=MAX_BYTES,
        media_fetch_timeout_s=5.0,
    )


@pytest.fixture
async def owner(runtime: Runtime) -> Member:
    return await make_member(runtime, email="owner@example.com")


def configure(rt: Runtime, **values: Any) -> None:
    rt.settings = rt.settings.model_copy(update=values)


# -- files made in the test -----------------------------------------------------------------


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def gif_bytes(*, animated: bool) -> bytes:
    frames = [Image.new("RGB", (5, 6), (i * 80, 0, 0)) for i in range(3 if animated else 1)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=animated, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_bytes(brand: bytes = b"mp42", *, moov: bool = True) -> bytes:
    ftyp = box(b"ftyp", brand + b"\x00\x00\x00\x00" + brand + b"isom")
    if not moov:
        return ftyp + box(b"mdat", b"\x00" * 64)
    # mvhd v0: version/flags, created, modified, timescale 1000, duration 2500 (2.5 s)
    mvhd = box(b"mvhd", struct.pack(">IIIII", 0, 0, 0, 1000, 2500) + b"\x00" * 80)
    # tkhd v0: width and height (16.16 fixed point) come after 76 bytes
    tkhd = box(b"tkhd", b"\x00" * 76 + struct.pack(">II", 640 << 16, 360 << 16))
    return ftyp + box(b"mdat", b"\x00" * 64) + box(b"moov", mvhd + box(b"trak", tkhd))


async def upload(
    client: httpx.AsyncClient,
    member: Member,
    content: bytes,
    filename: str = "file.bin",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        MEDIA,
        files={"file": (filename, content, "application/octet-stream")},
        data=fields,
        headers=member.headers,
    )


def stored_files(rt: Runtime) -> list[Path]:
    root = rt.settings.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- uploads --------------------------------------------------------------------------------


async def test_upload_png(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    content = png_bytes(4, 3)
    r = await upload(client, owner, content, "red.png", alt_text="A red square")
    assert r.status_code == 201, r.text
    body = r.json()
    checksum = hashlib.sha256(content).hexdigest()
    assert body["type"] == "image"
    assert body["mime_type"] == "image/png"
    assert (body["width"], body["height"]) == (4, 3)
    assert body["size"] == len(content)
    assert body["checksum"] == checksum
    assert body["alt_text"] == "A red square"
    assert body["filename"] == "red.png"
    assert body["duration_s"] is None
    assert stored_files(runtime) == [
        runtime.settings.media_dir / owner.workspace_id / f"{checksum}.png"
    ]

    r = await client.get(f"{MEDIA}/{body['id']}", headers=owner.headers)
    assert r.status_code == 200
    assert r.json() == body
    r = await client.get(f"{MEDIA}/{body['id']}/content", headers=owner.headers)
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("inline")
    r = await client.get(MEDIA, headers=owner.headers)
    assert r.status_code == 200
    assert r.json()["count"] == 1
    assert [m["id"] for m in r.json()["data"]] == [body["id"]]


async def test_the_name_does_not_decide_the_type(client: httpx.AsyncClient, owner: Member) -> None:
    r = await upload(client, owner, png_bytes(), "../../etc/movie.mp4")
    assert r.status_code == 201, r.text
    assert r.json()["mime_type"] == "image/png"
    assert r.json()["filename"] == "movie.mp4"  # no directories survive


async def test_upload_gifs(client: httpx.AsyncClient, owner: Member) -> None:
    r = await upload(client, owner, gif_bytes(animated=True), "spin.gif")
    assert r.status_code == 201, r.text
    assert (r.json()["type"], r.json()["mime_type"]) == ("gif", "image/gif")
    assert (r.json()["width"], r.json()["height"]) == (5, 6)
    r = await upload(client, owner, gif_bytes(animated=False), "still.gif")
    assert r.status_code == 201, r.text
    assert (r.json()["type"], r.json()["mime_type"]) == ("image", "image/gif")


async def test_upload_webp_and_jpeg(client: httpx.AsyncClient, owner: Member) -> None:
    for fmt, mime in (("WEBP", "image/webp"), ("JPEG", "image/jpeg")):
        out = io.BytesIO()
        Image.new("RGB", (8, 2)).save(out, fmt)
        r = await upload(client, owner, out.getvalue(), f"x.{fmt.lower()}")
        assert r.status_code == 201, r.text
        assert (r.json()["type"], r.json()["mime_type"]) == ("image", mime)
        assert (r.json()["width"], r.json()["height"]) == (8, 2)


async def test_upload_videos(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    r = await upload(client, owner, mp4_bytes(), "clip.mp4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["type"], body["mime_type"]) == ("video", "video/mp4")
    assert (body["width"], body["height"], body["duration_s"]) == (640, 360, 2.5)
    assert (runtime.settings.media_dir / owner.workspace_id / f"{body['checksum']}.mp4").exists()

    # a bare ftyp header is enough to know it is a video; the details stay unknown
    r = await upload(client, owner, mp4_bytes(b"isom", moov=False), "bare.mp4")
    assert r.status_code == 201, r.text
    assert (r.json()["type"], r.json()["width"], r.json()["duration_s"]) == ("video", None, None)

    r = await upload(client, owner, mp4_bytes(b"qt  "), "clip.mov")
    assert r.status_code == 201, r.text
    assert r.json()["mime_type"] == "video/quicktime"


async def test_unsupported_files_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    r = await upload(client, owner, b"just some text\n", "notes.png")
    message = assert_violation(r, "file", "unsupported_type")
    assert "JPEG" in message
    # HEIC shares the ftyp box with MP4 but is an image format we do not take
    r = await upload(client, owner, mp4_bytes(b"heic"), "photo.heic")
    assert "heic" in assert_violation(r, "file", "unsupported_type")
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "BMP")
    r = await upload(client, owner, out.getvalue(), "old.bmp")
    assert_violation(r, "file", "unsupported_type")
    r = await upload(client, owner, b"", "empty.png")
    assert_violation(r, "file", "empty")
    assert stored_files(runtime) == []  # nothing kept, no temp file left


async def test_too_large(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    # just over the limit: refused while streaming
    big = png_bytes() + b"\x00" * MAX_BYTES
    detail = assert_problem(await upload(client, owner, big, "big.png"), 413)
    assert "256 KiB" in detail
    # far over it: refused from the declared Content-Length before reading
    huge = b"\x00" * (4 * MAX_BYTES)
    assert_problem(await upload(client, owner, huge, "huge.png"), 413)

    # no Content-Length at all (chunked): the stream is cut at the limit
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        for _ in range(8):
            yield b"\x00" * (MAX_BYTES // 4)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await client.post(
        MEDIA,
        content=chunks(),
        headers={**owner.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(r, 413)
    assert stored_files(runtime) == []

    # exactly at the limit is fine
    exact = png_bytes()
    exact += b"\x00" * (MAX_BYTES - len(exact))
    r = await upload(client, owner, exact, "exact.png")
    assert r.status_code == 201, r.text
    assert r.json()["size"] == MAX_BYTES


async def test_bad_requests(client: httpx.AsyncClient, owner: Member) -> None:
    r = await client.post(MEDIA, data={"alt_text": "no file"}, files={}, headers=owner.headers)
    assert_problem(r, 415)  # without files httpx sends a urlencoded form
    r = await client.post(
        MEDIA,
        files={"other": ("a.txt", b"x")},
        headers=owner.headers,
    )
    assert_violation(r, "other", "extra_forbidden")
    r = await client.post(
        MEDIA,
        files=[("file", ("a.png", png_bytes())), ("file", ("b.png", png_bytes()))],
        headers=owner.headers,
    )
    assert_violation(r, "file", "multiple")
    r = await upload(client, owner, png_bytes(), "a.png", alt_text="x" * 1501)
    assert_violation(r, "alt_text", "max_length")
    r = await upload(client, owner, png_bytes(), "a.png", alt_text="x" * 1500)
    assert r.status_code == 201, r.text
    r = await upload(client, owner, png_bytes(), "a.png", alt_text="nul \x00 here")
    assert_violation(r, "alt_text", "invalid_character")
    r = await client.post(
        MEDIA,
        content=b'{"url": "https://example.com/a.png", "alt_text": "\\ud800"}',
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_violation(r, "body", "json_invalid")  # pydantic refuses lone surrogates itself
    for url in ("http://example.com:99999/a.png", "http://a\x00b/", "http://[zz]/"):
        assert_violation(await fetch(client, owner, url), "url", "invalid")
    r = await fetch(client, owner, "http://" + "a" * 300 + ".example/a.png")
    assert_violation(r, "url", "unresolvable")
    r = await client.post(
        MEDIA,
        content=b'--b\r\nContent-Disposition: form-data; name="alt_text"\r\n\r\nhi\r\n--b--\r\n',
        headers={**owner.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_violation(r, "file", "missing")
    r = await client.post(
        MEDIA,
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab',
        headers={**owner.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_violation(r, "body", "multipart")
    r = await client.post(
        MEDIA,
        content=b"abc",
        headers={**owner.headers, "Content-Type": "multipart/form-data"},
    )
    assert_violation(r, "body", "multipart")
    r = await client.post(
        MEDIA, content=b"hello", headers={**owner.headers, "Content-Type": "text/plain"}
    )
    assert "multipart/form-data" in assert_problem(r, 415)
    r = await client.post(MEDIA, content=png_bytes(), headers=owner.headers)
    assert_problem(r, 415)
    # JSON bodies are validated like any other
    r = await client.post(
        MEDIA,
        content=b"{not json",
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 422)
    r = await client.post(
        MEDIA, json={"url": "https://example.com/a.png", "x": 1}, headers=owner.headers
    )
    assert_violation(r, "x", "extra_forbidden")
    r = await client.post(MEDIA, json={"alt_text": "no url"}, headers=owner.headers)
    assert_violation(r, "url", "missing")
    r = await client.post(
        MEDIA, json={"url": "https://example.com/" + "a" * 2100}, headers=owner.headers
    )
    assert_violation(r, "url", "string_too_long")


async def test_openapi_documents_both_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][MEDIA]["post"]
    content = operation["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert content["application/json"]["schema"]["required"] == ["url"]
    assert {"201", "413", "415", "422"} <= set(operation["responses"])


# -- roles and tenants ----------------------------------------------------------------------


async def test_roles(client: httpx.AsyncClient, runtime: Runtime, owner: Member) -> None:
    viewer = await make_member(runtime, email="viewer@example.com", role=Role.VIEWER)
    editor = await make_member(runtime, email="editor@example.com", role=Role.EDITOR)
    assert_problem(await upload(client, viewer, png_bytes(), "a.png"), 403)
    r = await client.post(MEDIA, json={"url": "https://example.com/a.png"}, headers=viewer.headers)
    assert_problem(r, 403)
    assert stored_files(runtime) == []

    r = await upload(client, editor, png_bytes(), "a.png")
    assert r.status_code == 201, r.text
    media_id = r.json()["id"]
    for path in (MEDIA, f"{MEDIA}/{media_id}", f"{MEDIA}/{media_id}/content"):
        assert (await client.get(path, headers=viewer.headers)).status_code == 200, path
    assert_problem(await client.delete(f"{MEDIA}/{media_id}", headers=viewer.headers), 403)
    assert (await client.delete(f"{MEDIA}/{media_id}", headers=editor.headers)).status_code == 204
    r = await client.get(MEDIA)
    assert_problem(r, 401)


async def test_other_workspaces_get_404(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    r = await upload(client, owner, png_bytes(), "a.png")
    media_id = r.json()["id"]
    stranger = await make_member(runtime, email="stranger@example.com", workspace="other")
    for method, path in (
        ("GET", f"{MEDIA}/{media_id}"),
        ("GET", f"{MEDIA}/{media_id}/content"),
        ("DELETE", f"{MEDIA}/{media_id}"),
    ):
        r = await client.request(method, path, headers=stranger.headers)
        assert_problem(r, 404)
    r = await client.get(MEDIA, headers=stranger.headers)
    assert r.json() == {"data": [], "count": 0, "limit": 50, "offset": 0}
    # and it is still there for its owner
    assert (
        await client.get(f"{MEDIA}/{media_id}/content", headers=owner.headers)
    ).status_code == 200
    assert_problem(await client.get(f"{MEDIA}/{uuid.uuid4()}", headers=owner.headers), 404)


# -- deleting -------------------------------------------------------------------------------


async def test_delete_is_refused_while_an_unpublished_post_uses_it(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    account = await make_account(client, owner)
    media_id = (await upload(client, owner, png_bytes(), "a.png")).json()["id"]
    post = await create_post(client, owner, [account["id"]], media_ids=[media_id])
    detail = assert_problem(await client.delete(f"{MEDIA}/{media_id}", headers=owner.headers), 409)
    assert post["id"] in detail

    # once the post is published the file is no longer needed
    await set_delivery_states(runtime, owner, post["id"], DeliveryState.PUBLISHED)
    r = await client.delete(f"{MEDIA}/{media_id}", headers=owner.headers)
    assert r.status_code == 204, r.text
    assert stored_files(runtime) == []
    assert_problem(await client.get(f"{MEDIA}/{media_id}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{MEDIA}/{media_id}", headers=owner.headers), 404)


async def test_same_bytes_share_one_file(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member
) -> None:
    content = png_bytes()
    first = (await upload(client, owner, content, "a.png")).json()
    second = (await upload(client, owner, content, "b.png")).json()
    assert first["id"] != second["id"]
    assert first["checksum"] == second["checksum"]
    assert len(stored_files(runtime)) == 1
    assert (await client.delete(f"{MEDIA}/{first['id']}", headers=owner.headers)).status_code == 204
    r = await client.get(f"{MEDIA}/{second['id']}/content", headers=owner.headers)
    assert r.content == content
    assert (
        await client.delete(f"{MEDIA}/{second['id']}", headers=owner.headers)
    ).status_code == 204
    assert stored_files(runtime) == []


# -- fetching URLs --------------------------------------------------------------------------

PNG = png_bytes(7, 5)


@dataclass
class WebServer:
    base: str
    port: int
    hosts: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, *, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.hosts.append(self.headers.get("Host", ""))
        path = self.path.split("?")[0]
        big = PNG + b"\x00" * MAX_BYTES
        if path == "/pixel.png":
            self._send(200, PNG, "image/png")
        elif path == "/notes.txt":
            self._send(200, b"hello", "text/plain")
        elif path == "/hop":
            self._redirect("/pixel.png")
        elif path == "/metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/mapped":
            self._redirect("http://[::ffff:10.0.0.1]/secret")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path.startswith("/loop"):
            self._redirect(f"/loop{len(path)}")
        elif path == "/big":
            self._send(200, big, "image/png")
        elif path == "/big-unsized":
            self._send(200, big, "image/png", length=False)
        elif path == "/slow":
            self.server.release.wait(5)
            self._send(200, PNG, "image/png")
        else:
            self._send(404, b"nothing here", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hosts: list[str]
    release: threading.Event


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.hosts = []
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield WebServer(base=f"http://127.0.0.1:{port}", port=port, hosts=server.hosts)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


async def fetch(
    client: httpx.AsyncClient, member: Member, url: str, **extra: Any
) -> httpx.Response:
    return await client.post(MEDIA, json={"url": url, **extra}, headers=member.headers)


async def test_fetch_from_a_private_address_when_allowed(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, web: WebServer
) -> None:
    configure(runtime, media_allow_private_urls=True)
    r = await fetch(client, owner, f"{web.base}/pixel.png?sig=secret", alt_text="dot")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["type"], body["width"], body["height"]) == ("image", 7, 5)
    assert (body["filename"], body["alt_text"]) == ("pixel.png", "dot")
    assert body["checksum"] == hashlib.sha256(PNG).hexdigest()
    r = await client.get(f"{MEDIA}/{body['id']}/content", headers=owner.headers)
    assert r.content == PNG

    r = await fetch(client, owner, f"{web.base}/hop")  # a redirect is followed
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "pixel.png"


async def test_fetch_refuses_loopback_by_default(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, web: WebServer
) -> None:
    message = assert_violation(
        await fetch(client, owner, f"{web.base}/pixel.png"), "url", "blocked_address"
    )
    assert "loopback" in message
    for url in (
        f"http://[::1]:{web.port}/pixel.png",
        f"http://[::ffff:127.0.0.1]:{web.port}/pixel.png",  # IPv4-mapped IPv6
        f"http://2130706433:{web.port}/pixel.png",  # 127.0.0.1 written as one number
        f"http://0.0.0.0:{web.port}/pixel.png",
        "http://169.254.169.254/latest/meta-data/",
    ):
        assert_violation(await fetch(client, owner, url), "url", "blocked_address")
    assert web.hosts == []  # nothing ever reached the server
    assert stored_files(runtime) == []


@pytest.fixture
def trust_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat 127.0.0.1 (the test server) as public, and every other address as usual."""
    real = media_service.blocked_reason

    def reason(ip: media_service.IPAddress) -> str | None:
        return None if str(ip) == "127.0.0.1" else real(ip)

    monkeypatch.setattr(media_service, "blocked_reason", reason)


@pytest.mark.usefixtures("trust_loopback")
async def test_every_redirect_is_checked(
    client: httpx.AsyncClient, owner: Member, web: WebServer
) -> None:
    r = await fetch(client, owner, f"{web.base}/pixel.png")
    assert r.status_code == 201, r.text  # the first hop is allowed...
    message = assert_violation(
        await fetch(client, owner, f"{web.base}/metadata"), "url", "blocked_address"
    )
    assert "169.254.169.254" in message  # ...a redirect to the metadata service is not
    assert "link-local" in message
    assert "redirect 1" in message
    message = assert_violation(
        await fetch(client, owner, f"{web.base}/mapped"), "url", "blocked_address"
    )
    assert "private" in message
    assert_violation(await fetch(client, owner, f"{web.base}/to-file"), "url", "scheme")
    message = assert_violation(
        await fetch(client, owner, f"{web.base}/loop"), "url", "too_many_redirects"
    )
    assert "5" in message


async def test_the_checked_address_is_the_one_connected_to(
    client: httpx.AsyncClient,
    runtime: Runtime,
    owner: Member,
    web: WebServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: dict[str, list[str]] = {"media.example": ["127.0.0.1"]}
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[host]

    monkeypatch.setattr(media_service, "resolve_host", resolve)
    url = f"http://media.example:{web.port}/pixel.png"
    # a public-looking name that points at a private address is refused
    assert_violation(await fetch(client, owner, url), "url", "blocked_address")
    # so is a name with one public and one private answer
    answers["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    r = await fetch(client, owner, f"http://mixed.example:{web.port}/pixel.png")
    assert "10.0.0.7" in assert_violation(r, "url", "blocked_address")
    assert web.hosts == []

    # allowed: the name is resolved once, by us, and the request goes to that address with
    # the name in the Host header (httpx itself cannot resolve `media.example`)
    configure(runtime, media_allow_private_urls=True)
    asked.clear()
    r = await fetch(client, owner, url)
    assert r.status_code == 201, r.text
    assert asked == ["media.example"]
    assert web.hosts == [f"media.example:{web.port}"]


@pytest.mark.usefixtures("trust_loopback")
async def test_fetch_failures_say_what_happened(
    client: httpx.AsyncClient, runtime: Runtime, owner: Member, web: WebServer
) -> None:
    message = assert_violation(
        await fetch(client, owner, f"{web.base}/missing"), "url", "http_status"
    )
    assert "404" in message
    assert_violation(await fetch(client, owner, f"{web.base}/notes.txt"), "url", "unsupported_type")
    assert_problem(await fetch(client, owner, f"{web.base}/big"), 413)
    assert_problem(await fetch(client, owner, f"{web.base}/big-unsized"), 413)
    assert_violation(await fetch(client, owner, "ftp://example.com/a.png"), "url", "scheme")
    assert_violation(await fetch(client, owner, "file:///etc/passwd"), "url", "scheme")
    assert_violation(await fetch(client, owner, "example.com/a.png"), "url", "scheme")
    assert_violation(
        await fetch(client, owner, "http://user:pw@example.com/a.png"), "url", "credentials"
    )
    assert_violation(
        await fetch(client, owner, "http://no-such-host.invalid/a.png"), "url", "unresolvable"
    )
    # nothing listens on port 1
    r = await fetch(client, owner, "http://127.0.0.1:1/a.png")
    assert "connect" in assert_violation(r, "url", "fetch_failed")
    configure(runtime, media_fetch_timeout_s=0.3)
    message = assert_violation(await fetch(client, owner, f"{web.base}/slow"), "url", "timeout")
    assert "0.3 seconds" in message
    assert stored_files(runtime) == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:93.184.216.34", None),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert media_service.blocked_reason(ipaddress.ip_address(address)) == reason
