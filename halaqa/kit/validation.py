"""Field types shared by request schemas: time zones, locales, names, passwords."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Annotated, Any, Literal

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
Locale = Literal["ar", "en"]
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
