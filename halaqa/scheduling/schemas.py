"""Request and response bodies for class sessions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator

from halaqa.kit.validation import CalendarDate, Input, TimeZoneName, WebUrl
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, Part, Status

Kind = Literal["individual", "group", "trial", "assessment"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Id = Annotated[int, Field(ge=1, le=2**62)]


class LocalStart(Input):
    """A wall-clock start in the session's (or group's, or academy's) time zone."""

    date: CalendarDate
    time: dt.time


class SessionCreate(Input):
    kind: Kind
    title: Title
    teacher_user_id: Id | None = Field(
        None, description="Defaults to the group's teacher for group sessions"
    )
    student_user_id: Id | None = Field(None, description="Individual, trial and assessment")
    group_id: Id | None = Field(None, description="Group sessions")
    starts_at: AwareDatetime | None = Field(None, description="An instant with its UTC offset")
    local_start: LocalStart | None = Field(None, description="Or a local date and time")
    duration_minutes: Annotated[int, Field(ge=1, le=720)]
    time_zone: TimeZoneName | None = None
    meeting_url: WebUrl | None = Field(
        None, description="Academies meeting by links: this session's meeting URL"
    )
    record: bool | None = Field(
        None, description="Record it once it starts (LiveKit); leave out to follow the academy"
    )
    description: LongText | None = None
    notes: LongText | None = None
    homework: LongText | None = None


class RescheduleRequest(Input):
    starts_at: AwareDatetime | None = Field(None, description="An instant with its UTC offset")
    local_start: LocalStart | None = Field(
        None, description="Or a local date and time in the session's zone"
    )
    duration_minutes: Annotated[int, Field(ge=1, le=720)] | None = Field(
        None, description="Leave out to keep the current length"
    )
    reason: Reason


class CancelRequest(Input):
    reason: Reason

    @field_validator("reason")
    @classmethod
    def _not_reserved(cls, reason: str) -> str:
        if reason == TEACHER_ABSENT:
            raise ValueError(f"{TEACHER_ABSENT!r} is recorded by attendance, not typed; say why")
        return reason

    makeup_owed: bool | None = Field(
        None,
        description="Staff only: whether the students are owed a make-up (default yes). For "
        "teachers it is always owed; for students when they cancel with enough notice.",
    )


class MakeupRequest(Input):
    starts_at: AwareDatetime | None = Field(None, description="An instant with its UTC offset")
    local_start: LocalStart | None = Field(
        None, description="Or a local date and time in the session's zone"
    )
    duration_minutes: Annotated[int, Field(ge=1, le=720)] | None = Field(
        None, description="Leave out to keep the missed session's length"
    )
    title: Title | None = Field(None, description="Defaults to the missed session's title")
    notes: LongText | None = None


class ActionRequest(Input):
    reason: Reason | None = None


class PersonPart(BaseModel):
    user_id: int
    role: Literal["teacher", "student"]


class JoinState(BaseModel):
    allowed: bool
    reason: str | None
    message: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    as_part: Part


class StatusDisplayOut(BaseModel):
    value: Status
    label_en: str
    label_ar: str
    colour: str
    icon: str
    actions: list[str]


class RoomOut(BaseModel):
    provider: str
    status: Literal["pending", "open", "failed", "closed"]
    error: str | None = Field(description="Why the room is not open, when it failed")
    attempts: int


class SessionOut(BaseModel):
    id: int
    code: str
    kind: Kind
    status: Status
    status_display: StatusDisplayOut
    join: JoinState
    title: str
    teacher_user_id: int
    student_user_id: int | None
    group_id: int | None
    participants: list[PersonPart]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    duration_minutes: int
    time_zone: str = Field(description="The zone the session is shown and scheduled in")
    meeting_url: str | None
    record: bool | None = Field(description="Recorded once it starts; null: as the academy says")
    room: RoomOut | None = Field(description="Its meeting room, once one was opened or tried")
    description: str | None
    notes: str | None
    homework: str | None
    makeup_of_id: int | None
    makeup_owed: bool = Field(description="Cancelled in a way that owes its people a make-up")
    schedule_id: int | None
    occurrence_key: int | None
    cancellation_reason: str | None
    cancelled_at: dt.datetime | None
    late_cancellation: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[str] = Field(
        default_factory=list,
        description="When it was just created: e.g. the student's cycle has no session left",
    )


class StatusChangeOut(BaseModel):
    from_status: Status | None
    to_status: Status
    action: str
    actor_user_id: int | None
    reason: str | None
    at: dt.datetime


class MakeupBrief(BaseModel):
    id: int
    code: str
    status: Status
    starts_at: dt.datetime | None


class OwedMakeupOut(BaseModel):
    session: SessionOut = Field(description="The cancelled session that is owed")
    makeup: MakeupBrief | None = Field(description="Its make-up, when one is planned")
