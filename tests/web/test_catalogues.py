"""Every message the pages show has its Arabic translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from halaqa.web.i18n import translations

PACKAGE = Path(__file__).parents[2] / "halaqa"
# The pages, and the notifications (the bell and the emails) that use the same catalogues.
SOURCES = (PACKAGE / "web", PACKAGE / "notifications")
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _messages() -> set[str]:
    found = set()
    for source in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            source,
            METHODS,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def test_every_message_of_the_pages_is_translated_into_arabic() -> None:
    arabic = translations("ar")
    messages = _messages()
    assert len(messages) > 50
    missing = sorted(m for m in messages if arabic.gettext(m) == m)
    assert missing == []


def test_translations_keep_the_placeholders() -> None:
    arabic = translations("ar")
    for message in _messages():
        assert set(PLACEHOLDER.findall(arabic.gettext(message))) == set(
            PLACEHOLDER.findall(message)
        ), message
