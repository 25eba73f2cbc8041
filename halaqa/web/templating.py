"""Jinja2 environments (one per language, with its catalogue installed) and the filters that
show times in the viewer's zone and language."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from halaqa.web.i18n import direction, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"
DATE_LENGTHS = ("short", "medium", "long", "full")


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html", "svg")),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    env.globals["dir"] = direction(language)
    env.filters.update(
        when=lambda instant, zone, form="medium": when(instant, zone, language, form),
        day=lambda instant, zone, form="full": day(instant, zone, language, form),
        clock_time=lambda instant, zone: clock_time(instant, zone, language),
        span=lambda seconds: span(seconds, language),
        number=lambda value: format_decimal(value, locale=language),
        percent=lambda value: format_percent(value, locale=language),
    )
    return env


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def when(instant: datetime | None, zone: str, language: str, form: str = "medium") -> str:
    """A date and time of day in the zone: the date as long as `form` says, the time always to
    the minute (classes start on the minute; seconds would only be noise)."""
    if instant is None:
        return ""
    local = _local(instant, zone)
    length = form if form in DATE_LENGTHS else "medium"
    pattern = str(get_datetime_format(length, locale=language))  # type: ignore[arg-type]
    return pattern.format(
        format_time(local, "short", locale=language),
        format_date(local.date(), length, locale=language),
    )


def day(instant: datetime | None, zone: str, language: str, form: str = "full") -> str:
    if instant is None:
        return ""
    return format_date(_local(instant, zone).date(), form, locale=language)


def clock_time(instant: datetime | None, zone: str, language: str) -> str:
    if instant is None:
        return ""
    return format_time(_local(instant, zone), "short", locale=language)


def span(seconds: float | int | None, language: str) -> str:
    """A duration for people: "1 hour", "45 minutes" (exact seconds stay in the data)."""
    if seconds is None:
        return ""
    return format_timedelta(
        timedelta(seconds=seconds), threshold=1.5, format="long", locale=language
    )


def render_string(language: str, template: str, context: dict[str, Any]) -> str:
    return environment(language).get_template(template).render(context)
