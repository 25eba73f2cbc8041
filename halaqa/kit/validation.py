"""Field types shared by request schemas: time zones, locales, names, passwords."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_time_zone(name: str) -> str:
    if name not in _known_time_zones():
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Asia/Riyadh'")
    return name


TimeZoneName = Annotated[
    str, Field(max_length=64, examples=["Asia/Riyadh"]), AfterValidator(_check_time_zone)
]


def _url_check(schemes: frozenset[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            allowed = " or ".join(sorted(f"{s}://" for s in schemes))
            raise ValueError(f"give a full address starting with {allowed}")
        return value.rstrip("/")

    return check


# A link people open (a meeting URL, a Jitsi base), and a server Halaqa talks to (LiveKit).
WebUrl = Annotated[
    str, Field(max_length=1000), AfterValidator(_url_check(frozenset({"http", "https"})))
]
ServerUrl = Annotated[
    str,
    Field(max_length=500),
    AfterValidator(_url_check(frozenset({"http", "https", "ws", "wss"}))),
]
Locale = Literal["ar", "en"]
# A calendar day an academy can plan for; far-off years would overflow time arithmetic.
CalendarDate = Annotated[
    dt.date,
    Field(ge=dt.date(1970, 1, 1), le=dt.date(2999, 12, 31), description="YYYY-MM-DD"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=10, max_length=200, description="10 to 200 characters")]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    return False


def _reject_nul(value: str | None) -> str | None:
    if value is not None and _has_nul(value):
        raise ValueError("may not contain NUL characters")
    return value


# PostgreSQL cannot store U+0000 in text (SQLite can): refused up front with a 422, not a 500.
NoNul = AfterValidator(_reject_nul)


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped, and no string
    may carry a NUL character."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("may not contain NUL characters")
        return value
