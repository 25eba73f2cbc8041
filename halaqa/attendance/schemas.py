"""Request and response bodies for presence."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from halaqa.kit.validation import Input


class HeartbeatIn(Input):
    page_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")] = Field(
        description="Made up by the meeting page when it opens: one id per open page"
    )


class HeartbeatOut(BaseModel):
    next_in_seconds: int = Field(description="When to send the next one")


class PresenceOut(BaseModel):
    user_id: int
    role: Literal["teacher", "student", "observer"]
    in_now: bool = Field(description="In the room now, as far as its last signs tell")
    since: dt.datetime | None = Field(description="When the current stay began, while in")
    first_join: dt.datetime
    seconds: int = Field(description="Present so far, counted from the scheduled start")
    reconnects: int
