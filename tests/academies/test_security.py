"""Passwords and opaque tokens (pure)."""

from __future__ import annotations

import hashlib
import re

import pytest

from halaqa.academies import security
from halaqa.academies.security import (
    TokenKind,
    hash_password,
    new_token,
    token_digest,
    token_kind,
    verify_password,
)

SECRET = b"one-server-secret-that-is-long-enough!!"
OTHER_SECRET = b"another-server-secret-that-is-long-enough"


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [(TokenKind.LOGIN, "hqt_"), (TokenKind.API_KEY, "hqk_"), (TokenKind.INVITATION, "hqi_")],
)
def test_new_token_has_its_kinds_prefix(kind: TokenKind, prefix: str) -> None:
    tokens = {new_token(kind) for _ in range(20)}
    assert len(tokens) == 20  # random, never repeated
    for token in tokens:
        assert token.startswith(prefix)
        # 32 random bytes, URL-safe base64 without padding: 43 characters.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token.removeprefix(prefix))
        assert token_kind(token) is kind


@pytest.mark.parametrize(
    "token",
    [
        "",
        "_",
        "hqt",
        "hqt_",
        "_abc",
        "hqx_abc",
        "HQT_abc",
        "hqtabc",
        "hq_abc",
        "Bearer hqt_abc",
        " hqt_abc",
        "hqt-abc",
        "سر_abc",
    ],
)
def test_token_kind_of_junk_is_none(token: str) -> None:
    assert token_kind(token) is None


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("hqt_x", TokenKind.LOGIN),
        ("hqk_x_y", TokenKind.API_KEY),  # the random part may itself contain "_"
        ("hqi___", TokenKind.INVITATION),
    ],
)
def test_token_kind_reads_only_the_prefix(token: str, kind: TokenKind) -> None:
    assert token_kind(token) is kind


def test_digest_is_a_stable_keyed_hex_digest() -> None:
    token = new_token(TokenKind.LOGIN)
    digest = token_digest(token, SECRET)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token_digest(token, SECRET) == digest
    assert token not in digest


def test_digest_depends_on_the_secret() -> None:
    token = new_token(TokenKind.API_KEY)
    assert token_digest(token, SECRET) != token_digest(token, OTHER_SECRET)
    assert token_digest(token, SECRET) != token_digest(token, b"")


def test_digest_depends_on_the_token() -> None:
    digests = {token_digest(new_token(TokenKind.LOGIN), SECRET) for _ in range(20)}
    assert len(digests) == 20
    assert token_digest("hqt_a", SECRET) != token_digest("hqt_b", SECRET)


def test_digest_is_not_a_bare_hash() -> None:
    """A copy of the database alone must not let anyone confirm a guessed token."""
    token = "hqt_guess"
    digest = token_digest(token, SECRET)
    assert digest != hashlib.sha256(token.encode()).hexdigest()
    assert digest != hashlib.sha256(SECRET + token.encode()).hexdigest()


@pytest.mark.parametrize("password", ["correct-horse-battery", "كلمة-سر-طويلة-جدا", " spaces  "])
def test_password_hash_and_verify(password: str) -> None:
    hashed = hash_password(password)
    assert password not in hashed
    assert hashed.startswith("$argon2")
    assert verify_password(password, hashed)
    assert not verify_password(password + "x", hashed)
    assert not verify_password(password.upper() + "X", hashed)
    assert not verify_password("", hashed)


def test_password_hashes_are_salted() -> None:
    first, second = hash_password("same-password-1"), hash_password("same-password-1")
    assert first != second
    assert verify_password("same-password-1", first)
    assert verify_password("same-password-1", second)


def test_verify_with_no_hash_is_false_but_still_does_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An account without a password (or an unknown email) never signs in, and answers no
    faster than a real check, so timing does not reveal which emails exist."""
    checked: list[tuple[str, str]] = []
    real = security._hasher

    class Spy:
        def verify(self, password: str, hashed: str) -> bool:
            checked.append((password, hashed))
            return real.verify(password, hashed)

    monkeypatch.setattr(security, "_hasher", Spy())
    # The dummy hash is of this very password: still False, because there is no hash to match.
    assert verify_password("halaqa-no-such-user", None) is False
    assert checked == [("halaqa-no-such-user", security._DUMMY_HASH)]
