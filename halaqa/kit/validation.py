"""Field types shared by request schemas: time zones, locales, names, passwords."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


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


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
