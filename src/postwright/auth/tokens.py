"""Opaque tokens (API and refresh: random, stored as SHA-256) and signed access tokens (JWT).

API tokens carry 256 bits of randomness, so a fast hash is enough to store them: nobody can
brute-force the preimage, and lookups stay a single indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from postwright.domain.errors import Unauthenticated

__all__ = [
    "API_TOKEN_PREFIX",
    "AccessClaims",
    "decode_access_token",
    "encode_access_token",
    "hash_token",
    "new_api_token",
    "new_refresh_token",
]

API_TOKEN_PREFIX = "pw_"
_REFRESH_PREFIX = "pwr_"
_ALGORITHM = "HS256"
_AUDIENCE = "postwright"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> tuple[str, str, str]:
    """A fresh API token: (the token, its hash to store, a short prefix to display)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:10]


def new_refresh_token() -> tuple[str, str]:
    token = _REFRESH_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    kind: str  # "access" (Bearer) or "session" (browser cookie, needs CSRF)
    csrf: str | None


def encode_access_token(
    *,
    secret: str,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    now: datetime,
    ttl: timedelta,
    kind: str = "access",
    csrf: str | None = None,
) -> str:
    claims: dict[str, object] = {
        "sub": str(user_id),
        "ws": str(workspace_id),
        "typ": kind,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": secrets.token_hex(8),
    }
    if csrf is not None:
        claims["csrf"] = csrf
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime, kind: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "sub", "ws", "typ"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("the access token is malformed or its signature is wrong") from exc
    if int(claims["exp"]) <= now.timestamp():
        raise Unauthenticated("the access token has expired; use the refresh token for a new one")
    if claims["typ"] != kind:
        raise Unauthenticated(f"expected a {kind} token")
    try:
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            workspace_id=uuid.UUID(claims["ws"]),
            kind=claims["typ"],
            csrf=claims.get("csrf"),
        )
    except (ValueError, TypeError) as exc:
        raise Unauthenticated("the access token's claims are malformed") from exc
