"""The emulated Bluesky: a PDS's publishing subset and the AppView call postwright reads.

    POST /xrpc/com.atproto.server.createSession     {identifier, password} -> session
    POST /xrpc/com.atproto.server.refreshSession    Bearer refresh JWT -> session, both rotated
    GET  /xrpc/com.atproto.server.getSession        Bearer access JWT -> the session's account
    POST /xrpc/com.atproto.server.deleteSession     Bearer refresh JWT: the refresh JWT revoked
    POST /xrpc/com.atproto.repo.uploadBlob          raw bytes + Content-Type -> {"blob"}
    POST /xrpc/com.atproto.repo.createRecord        a post at the caller's rkey (or a new TID)
    GET  /xrpc/com.atproto.repo.getRecord           ?repo&collection&rkey
    POST /xrpc/com.atproto.repo.deleteRecord        {repo, collection, rkey}
    GET  /xrpc/com.atproto.repo.listRecords         ?repo&collection&limit&cursor&reverse
    GET  /xrpc/com.atproto.identity.resolveHandle   ?handle
    GET  /xrpc/app.bsky.feed.getPosts               ?uris=... (up to 25), synthetic counts
    POST /_emulator/bluesky/expire                  {"did"}: the account's current tokens expire

Bodies, status codes and errors are those of the reference PDS (`@atproto/pds` 0.5.35, which the
test suite also runs), including its quirks:

- errors are `{"error": Name, "message"}`; a bad or expired token is **400** `InvalidToken` /
  `ExpiredToken`, a missing one 401 `AuthMissing`, another account's repo 401
  `AuthenticationRequired`, an unknown repo 403 `AccountNotFound`; an access JWT where a
  refresh JWT is wanted (or the other way round) is 400 `InvalidToken`;
- refreshSession rotates the refresh JWT, but the old one keeps working for a grace period of
  `REFRESH_GRACE_S` (2 hours) and each reuse answers a refresh JWT with the same id as the first
  rotation's; past the grace period, or after deleteSession, it is 400 `ExpiredToken` "Token
  has been revoked". deleteSession answers 200 with an empty body, also for a token already
  revoked, and accepts an expired refresh JWT. Access JWTs are not revoked by either: they live
  out their 2 hours;
- a second createRecord at an existing rkey is **500** `InternalServerError` (the repo refuses
  the write: "There is already a value at key");
- getRecord of a missing record is 400 `RecordNotFound`; deleteRecord of one is 200 `{}`;
- records are checked like the PDS checks `app.bsky.feed.post` (text at most 300 graphemes and
  3,000 bytes, DIDs in mentions, images at most 4 and 2,000,000 bytes, blobs uploaded first:
  400 `BlobNotFound`); uploads over 5 MiB are 413 `PayloadTooLarge`.

Accounts appear on their first createSession: any handle with any non-empty password (the first
password used is the account's from then on). The DID is derived from the handle. Tokens are
HS256 JWTs like the PDS's, each with its `exp` (access: 2 hours; refresh: 90 days); a test can
expire all of an account's tokens, refresh JWTs included, with `POST /_emulator/bluesky/expire`
(for that, unlike the PDS's, the access JWTs carry a `jti` too). Posts go to the shared ledger
under platform `bluesky` and the account's DID, with the AT URI as post id.

Every request counts against a fixed window per account (the token's DID, else the `repo`
asked about), and every answer carries `RateLimit-Limit`, `-Remaining`, `-Reset` (unix seconds)
and `-Policy`; over the limit it is 429 `RateLimitExceeded` with `Retry-After`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postwright.domain.platforms import Platform
from postwright.domain.text import grapheme_length
from postwright.platforms.emulator.clock import rfc3339
from postwright.platforms.emulator.gate import Endpoint
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import Quota, RateLimit

__all__ = ["DEFAULT_RATE_LIMIT", "MAX_UPLOAD_BYTES", "BlueskyPlatform", "metrics_of"]

NAME = Platform.BLUESKY.value
POST = "app.bsky.feed.post"
DEFAULT_RATE_LIMIT = RateLimit(limit=3000, window_seconds=5 * 60)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the PDS's default blob upload limit
MAX_IMAGE_BYTES = 2_000_000  # app.bsky.embed.images#image maxSize
MAX_THUMB_BYTES = 1_000_000  # app.bsky.embed.external#external thumb maxSize
MAX_TEXT_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
ACCESS_TTL = 2 * 3600
REFRESH_TTL = 90 * 24 * 3600
REFRESH_GRACE_S = 2 * 3600  # how long a rotated refresh JWT still works (the PDS's)
_ACCESS_SCOPE = "com.atproto.appPass"
_REFRESH_SCOPE = "com.atproto.refresh"
_AUDIENCE = "did:web:localhost"
_MAX_GET_POSTS = 25

_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_HANDLE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(slots=True)
class _Session:
    """A refresh JWT not revoked (the PDS's `refresh_token` row)."""

    expires_at: float
    next_id: str | None = None
    """Once rotated, the id of the refresh JWTs its reuses answer (the PDS's `nextId`)."""


@dataclass(slots=True)
class _Account:
    did: str
    handle: str
    password: str
    tokens: set[str] = field(default_factory=set)
    """Ids (`jti`) of the tokens issued and not yet expired by a test."""
    sessions: dict[str, _Session] = field(default_factory=dict)
    """The refresh JWTs not revoked, by id."""


@dataclass(frozen=True, slots=True)
class _Blob:
    did: str
    mime_type: str
    size: int


class _Refusal(Exception):
    """An XRPC error answer, raised from deep inside a handler."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class BlueskyPlatform:
    """A PDS's repo, blob and identity calls over the shared ledger, plus AppView's getPosts."""

    name = NAME

    def __init__(self, toolkit: Toolkit) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._limiter = toolkit.limiter(NAME, DEFAULT_RATE_LIMIT)
        self._secret = secrets.token_bytes(32)
        self._accounts: dict[str, _Account] = {}  # by DID
        self._dids: dict[str, str] = {}  # handle (lower case) -> DID
        self._blobs: dict[str, _Blob] = {}  # by CID
        self._last_tid = 0

    def routes(self) -> Sequence[BaseRoute]:
        """The XRPC endpoints behind the fault gate (only createRecord makes posts)."""

        def xrpc(method: str, handler: Handler, verb: str, *, creates: bool = False) -> Route:
            return self._toolkit.route(
                self,
                f"/xrpc/{method}",
                self._api(handler),
                methods=[verb],
                creates=creates,
                account_of=self._account_of,
            )

        return [
            xrpc("com.atproto.server.createSession", self._create_session, "POST"),
            xrpc("com.atproto.server.refreshSession", self._refresh_session, "POST"),
            xrpc("com.atproto.server.getSession", self._get_session, "GET"),
            xrpc("com.atproto.server.deleteSession", self._delete_session, "POST"),
            xrpc("com.atproto.repo.uploadBlob", self._upload_blob, "POST"),
            xrpc("com.atproto.repo.createRecord", self._create_record, "POST", creates=True),
            xrpc("com.atproto.repo.getRecord", self._get_record, "GET"),
            xrpc("com.atproto.repo.deleteRecord", self._delete_record, "POST"),
            xrpc("com.atproto.repo.listRecords", self._list_records, "GET"),
            xrpc("com.atproto.identity.resolveHandle", self._resolve_handle, "GET"),
            xrpc("app.bsky.feed.getPosts", self._get_posts, "GET"),
            Route("/_emulator/bluesky/expire", self._expire, methods=["POST"]),
        ]

    # the fault gate's hooks ------------------------------------------------------------

    def error_response(self, account: str, status: int, body: JsonValue) -> Response:
        """An injected error in XRPC's shape, with the account's rate-limit headers."""
        if body is None:
            error, message = _STATUS_ERRORS.get(status, ("InvalidRequest", f"HTTP {status}"))
            body = {"error": error, "message": message}
        return JSONResponse(body, status, headers=self._quota_headers(self._limiter.peek(account)))

    def rate_limited_response(self, account: str, retry_after: int) -> Response:
        """An injected 429: the window is reported exhausted until `retry_after` from now."""
        reset = int(time.time()) + retry_after
        policy = self._limiter.policy
        headers = {
            "Retry-After": str(retry_after),
            "RateLimit-Limit": str(policy.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{policy.limit};w={int(policy.window_seconds)}",
        }
        return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers=headers)

    def _account_of(self, request: Request) -> str:
        """Whose window a request counts against: the token's DID, else the repo asked about."""
        claims = self._claims(request, verify_exp=False)
        if claims is not None:
            return str(claims.get("sub", ""))
        repo = request.query_params.get("repo")
        if repo:
            return self._dids.get(repo.lower(), repo)
        return "anonymous"

    def _api(self, handler: Handler) -> Endpoint:
        """Count the request against its account's window, then handle it."""

        async def endpoint(request: Request) -> Response:
            quota = self._limiter.hit(self._account_of(request))
            response: Response
            if not quota.allowed:
                retry_after = str(quota.retry_after(time.time()))
                response = _error(
                    429,
                    "RateLimitExceeded",
                    "Rate Limit Exceeded",
                    headers={"Retry-After": retry_after},
                )
            else:
                try:
                    response = await handler(request)
                except _Refusal as refusal:
                    response = _error(refusal.status, refusal.error, refusal.message)
            response.headers.update(self._quota_headers(quota))
            return response

        return endpoint

    def _quota_headers(self, quota: Quota) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(quota.limit),
            "RateLimit-Remaining": str(quota.remaining),
            "RateLimit-Reset": str(quota.reset_epoch),
            "RateLimit-Policy": f"{quota.limit};w={int(self._limiter.policy.window_seconds)}",
        }

    # sessions --------------------------------------------------------------------------

    async def _create_session(self, request: Request) -> Response:
        body = await _json_object(request)
        identifier = body.get("identifier")
        password = body.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            raise _Refusal(
                400, "InvalidRequest", "Input must have the properties identifier, password"
            )
        account = self._account_for_login(identifier.strip().lower(), password)
        if account is None or account.password != password:
            raise _Refusal(401, "AuthenticationRequired", "Invalid identifier or password")
        return JSONResponse(
            {
                "accessJwt": self._token(account, _ACCESS_SCOPE, ACCESS_TTL),
                "refreshJwt": self._refresh_token(account, secrets.token_urlsafe(32)),
                **self._session_view(account, request),
            }
        )

    async def _refresh_session(self, request: Request) -> Response:
        account, jti = self._authenticate_refresh(request, allow_expired=False)
        now = time.time()
        # Like the PDS's rotateRefreshToken: tidy the expired rows, shorten the used token's
        # life to the grace period (clients that lost the answer may retry with it), and give
        # every use of it the same successor id so that retries do not fork the session.
        for expired in [k for k, v in account.sessions.items() if v.expires_at <= now]:
            del account.sessions[expired]
        session = account.sessions.get(jti)
        if session is None:
            raise _Refusal(400, "ExpiredToken", "Token has been revoked")
        session.expires_at = min(session.expires_at, now + REFRESH_GRACE_S)
        session.next_id = session.next_id or secrets.token_urlsafe(32)
        return JSONResponse(
            {
                "accessJwt": self._token(account, _ACCESS_SCOPE, ACCESS_TTL),
                "refreshJwt": self._refresh_token(account, session.next_id),
                **self._session_view(account, request),
            }
        )

    async def _get_session(self, request: Request) -> Response:
        return JSONResponse(self._session_view(self._authenticate(request), request))

    async def _delete_session(self, request: Request) -> Response:
        account, jti = self._authenticate_refresh(request, allow_expired=True)
        account.sessions.pop(jti, None)
        return Response(status_code=200)  # the PDS answers no body, not even `{}`

    def _session_view(self, account: _Account, request: Request) -> dict[str, JsonValue]:
        """What createSession, refreshSession and getSession say about the account."""
        service = str(request.base_url).rstrip("/")
        return {
            "handle": account.handle,
            "did": account.did,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": account.did,
                "alsoKnownAs": [f"at://{account.handle}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": service,
                    }
                ],
            },
            "email": f"{account.handle.split('.')[0]}@example.com",
            "emailConfirmed": False,
            "active": True,
        }

    def _account_for_login(self, identifier: str, password: str) -> _Account | None:
        if identifier.startswith("did:"):
            return self._accounts.get(identifier)
        if identifier in self._dids:
            return self._accounts[self._dids[identifier]]
        if not password or not _HANDLE.fullmatch(identifier):
            return None
        did = "did:plc:" + _b32(hashlib.sha256(identifier.encode()).digest())[:24]
        account = _Account(did=did, handle=identifier, password=password)
        self._accounts[did] = account
        self._dids[identifier] = did
        return account

    def _refresh_token(self, account: _Account, jti: str) -> str:
        """A refresh JWT with id `jti`, its session row kept (a reused id keeps its row)."""
        token = self._token(account, _REFRESH_SCOPE, REFRESH_TTL, jti=jti)
        account.sessions.setdefault(jti, _Session(expires_at=time.time() + REFRESH_TTL))
        return token

    def _token(self, account: _Account, scope: str, ttl: int, *, jti: str | None = None) -> str:
        now = int(time.time())
        jti = jti or secrets.token_urlsafe(12)
        account.tokens.add(jti)
        claims = {
            "scope": scope,
            "aud": _AUDIENCE,
            "sub": account.did,
            "iat": now,
            "exp": now + ttl,
            "jti": jti,
        }
        kind = "at+jwt" if scope == _ACCESS_SCOPE else "refresh+jwt"
        return jwt.encode(claims, self._secret, algorithm="HS256", headers={"typ": kind})

    def _claims(self, request: Request, *, verify_exp: bool) -> dict[str, Any] | None:
        """The verified claims of the bearer token, or None (no token, or a forged one)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"verify_exp": verify_exp},
            )
        except jwt.InvalidTokenError:
            return None
        return claims

    def _authenticate(self, request: Request) -> _Account:
        """The account whose access token came with the request; refuses like the PDS."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(401, "AuthMissing", "Authentication Required")
        claims = self._claims(request, verify_exp=True)
        if claims is None:
            if self._claims(request, verify_exp=False) is not None:
                raise _Refusal(400, "ExpiredToken", "Token has expired")
            raise _Refusal(400, "InvalidToken", "Token could not be verified")
        account = self._accounts.get(str(claims.get("sub")))
        if claims.get("scope") != _ACCESS_SCOPE or account is None:
            raise _Refusal(400, "InvalidToken", "Token could not be verified")
        if claims.get("jti") not in account.tokens:
            raise _Refusal(400, "ExpiredToken", "Token has expired")
        return account

    def _authenticate_refresh(
        self, request: Request, *, allow_expired: bool
    ) -> tuple[_Account, str]:
        """The account and id of the refresh JWT that came with the request; refuses like the
        PDS (an expired one is refused unless `allow_expired`, as deleteSession allows it)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(401, "AuthMissing", "Authentication Required")
        claims = self._claims(request, verify_exp=not allow_expired)
        if claims is None:
            if self._claims(request, verify_exp=False) is not None:
                raise _Refusal(400, "ExpiredToken", "Token has expired")
            raise _Refusal(400, "InvalidToken", "Token could not be verified")
        account = self._accounts.get(str(claims.get("sub")))
        jti = claims.get("jti")
        if claims.get("scope") != _REFRESH_SCOPE or account is None or not isinstance(jti, str):
            raise _Refusal(400, "InvalidToken", "Token could not be verified")
        if jti not in account.tokens and not allow_expired:
            raise _Refusal(400, "ExpiredToken", "Token has expired")
        return account, jti

    def _writable_repo(self, account: _Account, repo: object) -> None:
        if not isinstance(repo, str) or not repo:
            raise _Refusal(400, "InvalidRequest", 'Input must have the property "repo"')
        did = self._dids.get(repo.lower(), repo)
        if did not in self._accounts:
            raise _Refusal(403, "AccountNotFound", "Account not found")
        if did != account.did:
            raise _Refusal(401, "AuthenticationRequired", "Authentication Required")

    async def _expire(self, request: Request) -> Response:
        body = await _json_object(request)
        account = self._accounts.get(str(body.get("did", "")))
        if account is None:
            return JSONResponse({"error": "no such account"}, 404)
        expired = len(account.tokens)
        account.tokens.clear()
        return JSONResponse({"did": account.did, "expired": expired})

    # blobs and records -----------------------------------------------------------------

    async def _upload_blob(self, request: Request) -> Response:
        account = self._authenticate(request)
        mime_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not mime_type:
            raise _Refusal(
                400, "InvalidRequest", "Request encoding (Content-Type) required but not provided"
            )
        data = await request.body()
        if len(data) > MAX_UPLOAD_BYTES:
            raise _Refusal(413, "PayloadTooLarge", "request entity too large")
        cid = _cid(data, codec=0x55)
        self._blobs[cid] = _Blob(did=account.did, mime_type=mime_type, size=len(data))
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime_type, "size": len(data)}
        return JSONResponse({"blob": blob})

    async def _create_record(self, request: Request) -> Response:
        account = self._authenticate(request)
        body = await _json_object(request)
        self._writable_repo(account, body.get("repo"))
        collection = body.get("collection")
        if collection != POST:
            raise _Refusal(
                400,
                "InvalidRequest",
                f"Unsupported collection {collection!r}: the emulator stores {POST} records only",
            )
        rkey = body.get("rkey")
        if rkey is None:
            rkey = self._next_tid()
        elif not isinstance(rkey, str) or not _TID.fullmatch(rkey):
            raise _Refusal(
                400,
                "InvalidRequest",
                f'Invalid record key for {POST}: Invalid TID string (got "{rkey}") at $',
            )
        record = body.get("record")
        if not isinstance(record, dict):
            raise _Refusal(400, "InvalidRequest", 'Input must have the property "record"')
        self._check_post(record)
        uri = f"at://{account.did}/{POST}/{rkey}"
        if self._ledger.get(NAME, account.did, uri) is not None:
            # The repo's MST refuses: "There is already a value at key: app.bsky.feed.post/…".
            raise _Refusal(500, "InternalServerError", "Internal Server Error")
        cid = _cid(json.dumps(record, sort_keys=True).encode(), codec=0x71)
        self._ledger.record(
            platform=NAME,
            account=account.did,
            text=str(record["text"]),
            received_at=self._toolkit.received_at(request),
            post_id=uri,
            attributes={"rkey": rkey, "cid": cid, "handle": account.handle, "record": record},
        )
        return JSONResponse(
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": _cid(uri.encode(), codec=0x71), "rev": self._next_tid()},
                "validationStatus": "valid",
            }
        )

    def _check_post(self, record: dict[str, Any]) -> None:
        """Refuse what the PDS's lexicon validation refuses in a post (the common cases)."""

        def invalid(message: str, where: str) -> _Refusal:
            return _Refusal(400, "InvalidRequest", f"Invalid {POST} record: {message} at {where}")

        if record.get("$type") != POST:
            raise _Refusal(400, "InvalidRequest", f"Invalid $type: expected {POST}")
        for key in ("text", "createdAt"):
            if key not in record:
                raise invalid(f'Missing required key "{key}"', "$.record")
            if not isinstance(record[key], str):
                raise invalid("must be a string", f"$.record.{key}")
        text: str = record["text"]
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise invalid(
                f"string too long (maximum {MAX_TEXT_BYTES}, got {size})", "$.record.text"
            )
        graphemes = grapheme_length(text)
        if graphemes > MAX_TEXT_GRAPHEMES:
            raise invalid(
                f"grapheme too big (maximum {MAX_TEXT_GRAPHEMES}, got {graphemes})",
                "$.record.text",
            )
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            raise invalid("must not have more than 3 elements", "$.record.langs")
        facets = record.get("facets", [])
        if not isinstance(facets, list):
            raise invalid("must be an array", "$.record.facets")
        for i, facet in enumerate(facets):
            features = facet.get("features") if isinstance(facet, dict) else None
            if not isinstance(features, list) or not isinstance(facet.get("index"), dict):
                raise invalid('Missing required key "index" or "features"', f"$.record.facets[{i}]")
            for j, feature in enumerate(features):
                did = feature.get("did") if isinstance(feature, dict) else None
                if did is not None and not (isinstance(did, str) and _DID.fullmatch(did)):
                    where = f"$.record.facets[{i}].features[{j}].did"
                    raise invalid(f'Invalid DID (got "{did}")', where)
        embed = record.get("embed")
        if embed is not None:
            self._check_embed(embed, invalid)

    def _check_embed(self, embed: Any, invalid: Callable[[str, str], _Refusal]) -> None:
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or len(images) > 4:
                raise invalid("must not have more than 4 elements", "$.record.embed.images")
            for i, image in enumerate(images):
                where = f"$.record.embed.images[{i}]"
                if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                    raise invalid('Missing required key "alt"', where)
                self._check_blob(image.get("image"), MAX_IMAGE_BYTES, f"{where}.image", invalid)
        elif kind == "app.bsky.embed.external":
            external = embed.get("external")
            where = "$.record.embed.external"
            if not isinstance(external, dict):
                raise invalid('Missing required key "external"', "$.record.embed")
            for key in ("uri", "title", "description"):
                if not isinstance(external.get(key), str):
                    raise invalid(f'Missing required key "{key}"', where)
            if "thumb" in external:
                self._check_blob(external["thumb"], MAX_THUMB_BYTES, f"{where}.thumb", invalid)
        else:
            raise invalid(f"unsupported embed type {kind!r} in the emulator", "$.record.embed")

    def _check_blob(
        self, blob: Any, max_size: int, where: str, invalid: Callable[[str, str], _Refusal]
    ) -> None:
        ref = blob.get("ref") if isinstance(blob, dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        if not isinstance(cid, str):
            raise invalid("should be a blob ref", where)
        stored = self._blobs.get(cid)
        if stored is None:
            raise _Refusal(400, "BlobNotFound", f"Could not find blob: {cid}")
        if stored.size > max_size:
            raise invalid(f"blob too big (maximum {max_size}, got {stored.size})", where)

    async def _get_record(self, request: Request) -> Response:
        repo, collection, rkey = _params(request, "repo", "collection", "rkey")
        did = self._dids.get(repo.lower(), repo)
        if did not in self._accounts:
            raise _Refusal(400, "InvalidRequest", "Could not locate record")
        uri = f"at://{did}/{collection}/{rkey}"
        post = self._ledger.get(NAME, did, uri)
        if post is None:
            raise _Refusal(400, "RecordNotFound", f"Could not locate record: {uri}")
        return JSONResponse(_record_view(post))

    async def _delete_record(self, request: Request) -> Response:
        account = self._authenticate(request)
        body = await _json_object(request)
        self._writable_repo(account, body.get("repo"))
        uri = f"at://{account.did}/{body.get('collection')}/{body.get('rkey')}"
        if not self._ledger.delete(NAME, account.did, uri):
            return JSONResponse({})
        commit = {"cid": _cid(f"delete {uri}".encode(), codec=0x71), "rev": self._next_tid()}
        return JSONResponse({"commit": commit})

    async def _list_records(self, request: Request) -> Response:
        repo, collection = _params(request, "repo", "collection")
        did = self._dids.get(repo.lower(), repo)
        if did not in self._accounts:
            raise _Refusal(400, "InvalidRequest", f"Could not find repo: {repo}")
        limit_text = request.query_params.get("limit", "50")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise _Refusal(400, "InvalidRequest", "limit must be an integer from 1 to 100")
        reverse = request.query_params.get("reverse", "false") == "true"
        cursor = request.query_params.get("cursor")
        posts = [
            post
            for post in self._ledger.recent(NAME, did, limit=1_000_000)
            if post.post_id.startswith(f"at://{did}/{collection}/")
        ]

        def rkey(post: StoredPost) -> str:
            return str(post.attributes["rkey"])

        posts.sort(key=rkey, reverse=not reverse)
        if cursor:
            posts = [p for p in posts if (rkey(p) > cursor if reverse else rkey(p) < cursor)]
        page = posts[: int(limit_text)]
        body: dict[str, JsonValue] = {"records": [_record_view(post) for post in page]}
        if len(posts) > len(page):
            body["cursor"] = rkey(page[-1])
        return JSONResponse(body)

    async def _resolve_handle(self, request: Request) -> Response:
        (handle,) = _params(request, "handle")
        handle = handle.strip().lower()
        if not _HANDLE.fullmatch(handle):
            raise _Refusal(
                400,
                "InvalidRequest",
                "Invalid com.atproto.identity.resolveHandle params: "
                f'Invalid handle (got "{handle}")',
            )
        did = self._dids.get(handle)
        if did is None:
            raise _Refusal(400, "HandleNotFound", "Unable to resolve handle")
        return JSONResponse({"did": did})

    async def _get_posts(self, request: Request) -> Response:
        uris = request.query_params.getlist("uris")
        if not uris:
            raise _Refusal(400, "InvalidRequest", 'Error: Params must have the property "uris"')
        if len(uris) > _MAX_GET_POSTS:
            raise _Refusal(
                400,
                "InvalidRequest",
                f"Error: uris must not have more than {_MAX_GET_POSTS} elements",
            )
        views: list[JsonValue] = []
        for uri in uris:
            did = uri.removeprefix("at://").split("/")[0]
            post = self._ledger.get(NAME, did, uri)
            if post is not None:
                views.append(self._post_view(post))
        return JSONResponse({"posts": views})

    def _post_view(self, post: StoredPost) -> dict[str, JsonValue]:
        account = self._accounts.get(post.account)
        handle = account.handle if account else str(post.attributes.get("handle", ""))
        return {
            "uri": post.post_id,
            "cid": post.attributes["cid"],
            "author": {"did": post.account, "handle": handle},
            "record": post.attributes["record"],
            "indexedAt": rfc3339(post.created_at),
            **metrics_of(post.post_id),
        }

    def _next_tid(self) -> str:
        """A fresh TID, strictly increasing (the PDS's own keys when the client gives none)."""
        micros = max(time.time_ns() // 1000, self._last_tid + 1)
        self._last_tid = micros
        value = (micros << 10) | 0x1F
        return "".join(_B32_SORTABLE[(value >> (5 * (12 - i))) & 31] for i in range(13))


_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidRequest", "Invalid request"),
    401: ("AuthMissing", "Authentication Required"),
    403: ("Forbidden", "Forbidden"),
    404: ("NotFound", "Not Found"),
    413: ("PayloadTooLarge", "request entity too large"),
    500: ("InternalServerError", "Internal Server Error"),
    501: ("MethodNotImplemented", "Method Not Implemented"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}


def metrics_of(uri: str) -> dict[str, JsonValue]:
    """Plausible engagement counts that depend on the post's URI alone (tests can pin them)."""
    seed = int.from_bytes(hashlib.blake2b(f"{NAME}:{uri}".encode(), digest_size=16).digest())
    likes = seed % 5_000
    return {
        "likeCount": likes,
        "repostCount": likes * ((seed >> 20) % 30) // 100,
        "replyCount": likes * ((seed >> 40) % 20) // 100,
        "quoteCount": likes * ((seed >> 60) % 10) // 100,
        "bookmarkCount": likes * ((seed >> 80) % 15) // 100,
    }


def _record_view(post: StoredPost) -> dict[str, JsonValue]:
    return {"uri": post.post_id, "cid": post.attributes["cid"], "value": post.attributes["record"]}


def _params(request: Request, *names: str) -> tuple[str, ...]:
    values = []
    for name in names:
        value = request.query_params.get(name)
        if not value:
            raise _Refusal(400, "InvalidRequest", f'Error: Params must have the property "{name}"')
        values.append(value)
    return tuple(values)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise _Refusal(400, "InvalidRequest", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "InvalidRequest", "Input must be an object")
    return body


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def _cid(data: bytes, *, codec: int) -> str:
    """A CIDv1 (sha2-256) in base32: codec 0x55 (raw) for blobs, 0x71 (dag-cbor) for records."""
    return "b" + _b32(bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest())


def _error(
    status: int, error: str, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status, headers=headers)
