"""Authenticated encryption of account credentials at rest (AES-256-GCM), with key rotation.

A sealed value is `v1.<key id>.<base64url(nonce | ciphertext+tag)>`. The key id lets old values
be opened after a rotation until `postwright keys rotate` re-encrypts them under the new key.
Keys are derived from secret strings with HKDF, so any long random string works as a key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretBox", "SecretBoxError"]

_VERSION = "v1"


class SecretBoxError(Exception):
    """A sealed value could not be opened: wrong key, unknown key id or tampering."""


def _derive(secret: str) -> tuple[str, bytes]:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"postwright credentials v1"
    ).derive(secret.encode())
    key_id = hashlib.sha256(key).hexdigest()[:8]
    return key_id, key


class SecretBox:
    """Seal with the first key; open with any key of the ring."""

    def __init__(self, secrets_newest_first: Sequence[str]) -> None:
        if not secrets_newest_first:
            raise ValueError("SecretBox needs at least one key")
        derived = [_derive(s) for s in secrets_newest_first]
        self._current_id, current = derived[0]
        self._current = AESGCM(current)
        self._ring: Mapping[str, AESGCM] = {kid: AESGCM(key) for kid, key in derived}

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def seal(self, payload: Mapping[str, Any]) -> str:
        nonce = os.urandom(12)
        data = json.dumps(dict(payload), separators=(",", ":")).encode()
        sealed = self._current.encrypt(nonce, data, self._current_id.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}.{self._current_id}.{blob}"

    def open(self, value: str) -> dict[str, Any]:
        try:
            version, key_id, blob = value.split(".", 2)
        except ValueError as exc:
            raise SecretBoxError("not a sealed value") from exc
        cipher = self._ring.get(key_id)
        if version != _VERSION or cipher is None:
            raise SecretBoxError(f"sealed with unknown key {key_id!r}")
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            data = cipher.decrypt(raw[:12], raw[12:], key_id.encode())
        except InvalidTag as exc:
            raise SecretBoxError("sealed value failed authentication") from exc
        result = json.loads(data)
        if not isinstance(result, dict):
            raise SecretBoxError("sealed value is not an object")
        return result

    def key_id_of(self, value: str) -> str | None:
        parts = value.split(".", 2)
        return parts[1] if len(parts) == 3 else None
