"""Request and response bodies for teachers' availability and booking requests."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from halaqa.academies.schemas import Id
from halaqa.kit.validation import Input, TimeZoneName
from halaqa.scheduling.schemas import LocalStart, Reason, Title

Kind = Literal["individual", "trial"]
WallTime = Annotated[
    str,
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"], description="HH:MM, 24-hour"),
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Minutes = Annotated[int, Field(ge=1, le=720)]


class BookingStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


# --- availability ------------------------------------------------------------------------------


class WindowIn(Input):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: WallTime
    end: WallTime = Field(description="After start, on the same day")


class AvailabilityIn(Input):
    time_zone: TimeZoneName | None = Field(
        None, description="The zone the windows are in; defaults to the teacher's own"
    )
    windows: list[WindowIn] = Field(
        max_length=100, description="The whole week; no two windows of a weekday may overlap"
    )


class WindowOut(BaseModel):
    weekday: int
    start: str
    end: str


class AvailabilityOut(BaseModel):
    teacher_user_id: int
    time_zone: str
    windows: list[WindowOut]


class SlotsOut(BaseModel):
    teacher_user_id: int
    time_zone: str = Field(description="The zone of the teacher's availability")
    duration_minutes: int
    slots: list[dt.datetime] = Field(description="Free start instants (UTC), in order")


# --- bookings ----------------------------------------------------------------------------------


class BookingCreate(Input):
    teacher_user_id: Id
    student_user_id: Id | None = Field(
        None, description="Defaults to the caller when they are a student; parents name a child"
    )
    starts_at: AwareDatetime | None = Field(None, description="An instant with its UTC offset")
    local_start: LocalStart | None = Field(
        None, description="Or a local date and time in the caller's time zone"
    )
    duration_minutes: Minutes
    kind: Kind = "individual"
    note: Note | None = None


class ConfirmRequest(Input):
    title: Title | None = Field(None, description="The session's title; a default names both")


class DeclineRequest(Input):
    reason: Reason


class WithdrawRequest(Input):
    reason: Reason | None = None


class BookingOut(BaseModel):
    id: int
    status: BookingStatus = Field(
        description="A request nobody answered shows as expired once the worker has seen it"
    )
    kind: Kind
    teacher_user_id: int
    student_user_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration_minutes: int
    time_zone: str = Field(description="The requester's zone")
    note: str | None
    expires_at: dt.datetime = Field(description="Unanswered by then, the request lapses")
    requested_by_user_id: int | None
    answered_by_user_id: int | None
    answered_at: dt.datetime | None
    answer_reason: str | None
    session_id: int | None = Field(description="The session a confirmation created")
    created_at: dt.datetime
    updated_at: dt.datetime
