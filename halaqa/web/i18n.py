"""Languages of the pages: Babel message catalogues (English is the source language), text
direction, and which language a request is answered in."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "halaqa_lang"
LOCALES_DIR = Path(__file__).parent / "locales"


@cache
def translations(language: str) -> NullTranslations:
    """Every catalogue of a language merged (one file per area of the pages, so that areas can
    be translated independently), compiled in memory: no generated .mo files to keep in step."""
    merged = Catalog(locale=language)
    for po_file in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as source:
            for message in read_po(source, locale=language):
                if message.id and message.string and not message.fuzzy:
                    merged[message.id] = message
    if not len(merged):
        return NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return Translations(compiled)


def direction(language: str) -> str:
    return Locale.parse(language).text_direction


def supported(language: str | None) -> str | None:
    if language is None:
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The first supported language the browser asks for, by its q-weights."""
    if not header:
        return None
    weighted = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        weighted.append((-quality, position, tag))
    for _q, _p, tag in sorted(weighted):
        language = supported(tag)
        if language is not None:
            return language
    return None
