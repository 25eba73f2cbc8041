"""Passwords (argon2) and opaque tokens (random, stored only as a keyed digest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified when an email is unknown, so a failed login takes as long whether or not it exists.
_DUMMY_HASH = _hasher.hash("halaqa-no-such-user")


class TokenKind(StrEnum):
    LOGIN = "hqt"
    API_KEY = "hqk"
    INVITATION = "hqi"
    CALENDAR = "hqc"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def new_token(kind: TokenKind) -> str:
    return f"{kind.value}_{secrets.token_urlsafe(32)}"


def token_kind(token: str) -> TokenKind | None:
    prefix, _, rest = token.partition("_")
    if not rest:
        return None
    try:
        return TokenKind(prefix)
    except ValueError:
        return None


def token_digest(token: str, server_secret: bytes) -> str:
    """HMAC, not a bare hash: a copy of the database alone cannot confirm a guessed token."""
    key = hashlib.sha256(b"halaqa-token-digest:" + server_secret).digest()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def csrf_token(session_value: str, server_secret: bytes) -> str:
    """The token a page's forms and scripts send back: bound to the browser's session cookie (a
    login token, or a random value before signing in), so it is useless to anyone without it."""
    key = hashlib.sha256(b"halaqa-csrf:" + server_secret).digest()
    return hmac.new(key, session_value.encode(), hashlib.sha256).hexdigest()
