"""Sealed secrets: opened only with the right server secret and in the right place."""

from __future__ import annotations

import pytest

from halaqa.kit.crypto import SecretBox, SecretUnreadable

OLD, NEW = b"o" * 40, b"n" * 40


def test_seal_and_open() -> None:
    box = SecretBox(NEW)
    sealed = box.seal("livekit-secret", context="academy:1:livekit")
    assert "livekit-secret" not in sealed
    assert sealed != box.seal("livekit-secret", context="academy:1:livekit")  # fresh nonce
    assert box.open(sealed, context="academy:1:livekit") == "livekit-secret"
    assert box.is_current(sealed)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s, "altered or moved"),  # opened for another academy
        (lambda s: s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB"), "altered or moved"),
        (lambda s: "v1:000000000000:" + s.split(":", 2)[2], "unknown key"),
        (lambda s: "nonsense", "not a sealed secret"),
    ],
)
def test_what_does_not_open(change: object, message: str) -> None:
    box = SecretBox(NEW)
    sealed = box.seal("s", context="academy:1:livekit")
    assert callable(change)
    with pytest.raises(SecretUnreadable, match=message):
        box.open(change(sealed), context="academy:2:livekit")


def test_rotation_opens_old_values_until_they_are_sealed_again() -> None:
    sealed = SecretBox(OLD).seal("s", context="c")
    with pytest.raises(SecretUnreadable, match="unknown key"):
        SecretBox(NEW).open(sealed, context="c")
    rotated = SecretBox(NEW, previous=[OLD])
    assert rotated.open(sealed, context="c") == "s"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.seal("s", context="c"))
