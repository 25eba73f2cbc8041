"""Secrets kept at rest (a LiveKit API secret, an OAuth token): AES-GCM under a key derived from
the server secret, never stored or returned in the clear.

Each sealed value names the key that sealed it (a short id of the derived key), so after the
server secret changes, values sealed under a previous one still open (list it in
HALAQA_PREVIOUS_SECRET_KEYS) until `halaqa secrets rotate` seals them again under the current.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
_INFO = b"halaqa sealed secrets v1"


class SecretUnreadable(Exception):
    """Sealed under a server secret this process does not have, or tampered with."""


def _derive(server_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(server_secret)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


class SecretBox:
    """Seals with the current server secret; opens with it or any previous one."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _derive(current)
        self._keys = {_key_id(k): k for k in (_derive(s) for s in (*previous, current))}

    @property
    def key_id(self) -> str:
        return _key_id(self._current)

    def seal(self, plain: str, *, context: str) -> str:
        """`context` (e.g. "academy:7:livekit") is bound in: a value moved elsewhere won't open."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._current).encrypt(nonce, plain.encode(), context.encode())
        token = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{VERSION}:{self.key_id}:{token}"

    def open(self, sealed: str, *, context: str) -> str:
        try:
            version, key_id, token = sealed.split(":", 2)
        except ValueError:
            raise SecretUnreadable("not a sealed secret") from None
        key = self._keys.get(key_id)
        if version != VERSION or key is None:
            raise SecretUnreadable(f"sealed under an unknown key ({key_id})")
        raw = base64.urlsafe_b64decode(token.encode())
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretUnreadable("the sealed secret was altered or moved") from None

    def is_current(self, sealed: str) -> bool:
        return sealed.split(":", 2)[1:2] == [self.key_id]
