"""Request and response bodies for recurring schedules and holidays."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from halaqa.kit.validation import CalendarDate, Input, Name, TimeZoneName
from halaqa.scheduling.schemas import Id, Reason, Title

Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
Duration = Annotated[int, Field(ge=1, le=720)]
Count = Annotated[int, Field(ge=1, le=1000, description="Sessions in the whole series")]
MonthlyTarget = Annotated[int, Field(ge=1, le=31, description="At most this many a month")]


class Slot(Input):
    weekday: Weekday
    start: dt.time = Field(description="Local wall time, e.g. 17:00")


Slots = Annotated[list[Slot], Field(min_length=1, max_length=14)]


class ScheduleCreate(Input):
    kind: Literal["individual", "group"]
    title: Title
    teacher_user_id: Id | None = Field(None, description="Defaults to the group's teacher")
    student_user_id: Id | None = Field(None, description="Individual schedules")
    group_id: Id | None = Field(None, description="Group schedules")
    slots: Slots
    duration_minutes: Duration
    time_zone: TimeZoneName | None = Field(
        None, description="Defaults to the group's zone, then the academy's"
    )
    starts_on: CalendarDate = Field(description="First local date of the series")
    until: CalendarDate | None = Field(None, description="Last local date (inclusive)")
    count: Count | None = None
    monthly_target: MonthlyTarget | None = None


class ScheduleChange(Input):
    """Changes this occurrence's date and every one after it: the series is split there."""

    from_date: CalendarDate = Field(description="The first local date the change applies to")
    reason: Reason
    title: Title | None = None
    teacher_user_id: Id | None = Field(None, description="A new teacher from from_date on")
    slots: Slots | None = None
    duration_minutes: Duration | None = None
    until: CalendarDate | None = None
    count: Count | None = Field(None, description="Sessions from from_date on")
    monthly_target: MonthlyTarget | None = None


class ScheduleCancel(Input):
    """Cancels this occurrence's date and every one after it (the whole series by default)."""

    from_date: CalendarDate | None = Field(None, description="Default: the series' first date")
    reason: Reason


class SlotOut(BaseModel):
    weekday: int
    start: dt.time


class ScheduleOut(BaseModel):
    id: int
    kind: str
    status: Literal["active", "ended", "cancelled"]
    title: str
    teacher_user_id: int
    student_user_id: int | None
    group_id: int | None
    slots: list[SlotOut]
    duration_minutes: int
    time_zone: str
    starts_on: dt.date
    until: dt.date | None
    count: int | None
    monthly_target: int | None
    materialised_through: dt.date | None
    problems: list[dict[str, Any]] = Field(
        description="Occurrences the worker could not book because someone was busy"
    )
    follows_schedule_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SkippedOut(BaseModel):
    local_date: dt.date
    local_start: dt.time
    reason: str = Field(
        description="blocked_day, holiday, monthly_target, nonexistent_time, ambiguous_time or past"
    )


class OccurrenceOut(BaseModel):
    index: int
    local_date: dt.date
    local_start: dt.time
    starts_at: dt.datetime
    ends_at: dt.datetime
    conflicts: list[dict[str, Any]]


class PreviewOut(BaseModel):
    """What creating the schedule now would book, without writing anything."""

    through: dt.date = Field(description="Materialised up to this local date")
    occurrences: list[OccurrenceOut]
    skipped: list[SkippedOut]
    conflicts: int = Field(description="Occurrences that clash with someone's sessions")


class ScheduleResult(BaseModel):
    schedule: ScheduleOut
    session_ids: list[int] = Field(description="Sessions booked now, up to the horizon")
    skipped: list[SkippedOut]
    cancelled_session_ids: list[int] = Field(
        default_factory=list, description="Sessions a change or cancellation took off"
    )


class HolidayCreate(Input):
    name: Name
    starts_on: CalendarDate
    ends_on: CalendarDate | None = Field(
        None, description="Last day (inclusive); default starts_on"
    )
    cancel_sessions: bool = Field(
        True, description="Cancel the schedules' sessions already booked on these days"
    )


class HolidayOut(BaseModel):
    id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    created_at: dt.datetime


class HolidayCreated(BaseModel):
    holiday: HolidayOut
    cancelled_session_ids: list[int]
