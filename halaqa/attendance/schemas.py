"""Request and response bodies for presence, attendance records, overrides and absence
requests."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

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


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Status = Literal["present", "late", "left_early", "partial", "absent", "excused"]


class RecordOut(BaseModel):
    user_id: int
    role: Literal["teacher", "student"]
    status: Status = Field(description="The status that stands, overrides applied")
    status_source: Literal["auto", "teacher", "admin"] = Field(description="Who decided it")
    computed_status: Status = Field(description="What the presence alone earns")
    first_join: dt.datetime | None
    last_leave: dt.datetime | None
    seconds: int = Field(description="Present within the window measured, exact")
    window_start: dt.datetime = Field(
        description="Students: from the later of the start and the teacher's first join; "
        "the teacher: the scheduled start"
    )
    window_seconds: int
    share_percent: float = Field(description="seconds / window_seconds, rounded for display")
    reconnects: int
    inferred_end: bool = Field(description="A stay had no leave and was closed by the rule")
    sources: list[str] = Field(description="Where the presence came from")

    @classmethod
    def of(cls, row: Any) -> RecordOut:
        share = 100 * row.seconds / row.window_seconds if row.window_seconds else 0.0
        return cls(
            user_id=row.user_id,
            role=row.role,
            status=row.status,
            status_source=row.status_source,
            computed_status=row.computed_status,
            first_join=row.first_join,
            last_leave=row.last_leave,
            seconds=row.seconds,
            window_start=row.window_start,
            window_seconds=row.window_seconds,
            share_percent=round(share, 1),
            reconnects=row.reconnects,
            inferred_end=row.inferred_end,
            sources=[s for s in row.sources.split(",") if s],
        )


class OverrideOut(BaseModel):
    id: int
    user_id: int
    status: Status
    source: Literal["teacher", "admin"]
    note: str
    decided_by_user_id: int | None
    decided_at: dt.datetime
    absence_request_id: int | None


class SessionAttendanceOut(BaseModel):
    session_id: int
    finalized: bool = Field(description="False: provisional, from the presence so far")
    finalized_at: dt.datetime | None
    records: list[RecordOut]
    overrides: list[OverrideOut] = Field(description="Every decision by a person, oldest first")


class OverrideIn(Input):
    status: Status
    note: Note = Field(description="Why: kept with the decision (1 to 1000 characters)")


class AbsenceRequestIn(Input):
    reason: Note = Field(description="Why the student will be away (1 to 1000 characters)")
    student_id: Annotated[int, Field(ge=1, le=2**62)] | None = Field(
        None, description="A parent names their child; a student asks for themself"
    )


class DecisionIn(Input):
    note: Note | None = None


class AbsenceRequestOut(BaseModel):
    id: int
    session_id: int
    student_user_id: int
    requested_by_user_id: int | None
    reason: str
    status: Literal["pending", "approved", "declined", "withdrawn"]
    decided_by_user_id: int | None
    decided_at: dt.datetime | None
    decision_note: str | None
    created_at: dt.datetime


class PresenceMarkIn(Input):
    user_id: Annotated[int, Field(ge=1, le=2**62)]
    from_: dt.datetime = Field(alias="from", description="When the stay began (with a zone)")
    to: dt.datetime = Field(description="When it ended (with a zone)")
    note: Note = Field(description="Why it is marked by hand (1 to 1000 characters)")

    @field_validator("from_", "to")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.utcoffset() is None:
            raise ValueError("give a time zone, e.g. 2026-03-01T17:05:00Z")
        return value
