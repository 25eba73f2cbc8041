"""Response bodies of the attendance reports (JSON; the CSV and XLSX files carry the same rows).

Times are UTC, as everywhere in the API; `time_zone` names the academy's zone, the one the
report's days are taken in and the files show times in. Durations come as exact seconds and as
minutes with one decimal.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from halaqa.attendance.policy import AttendanceStatus, Decider
from halaqa.scheduling.lifecycle import Status

Format = Literal["json", "csv", "xlsx"]
AttendanceRole = Literal["teacher", "student"]


class PeriodOut(BaseModel):
    first_day: dt.date = Field(description="The first day of the report, in the academy's zone")
    last_day: dt.date = Field(description="The last day of the report (included)")
    starts_from: dt.datetime = Field(description="Sessions starting from this instant…")
    starts_before: dt.datetime = Field(description="…and before this one are in the report")


class PersonOut(BaseModel):
    user_id: int
    name: str


class SessionBrief(BaseModel):
    id: int
    code: str
    title: str
    kind: str
    status: Status
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    teacher_user_id: int
    group_id: int | None
    attendance_finalized_at: dt.datetime | None = Field(
        description="When its attendance was last finalised; null until then, and while late "
        "presence or an override waits to be computed again"
    )


class RecordOut(BaseModel):
    """A teacher's or student's finalised attendance in one session."""

    status: AttendanceStatus = Field(description="The status that stands, overrides applied")
    computed_status: AttendanceStatus = Field(description="What the presence alone earns")
    status_source: Decider = Field(description="Who decided `status`")
    first_join: dt.datetime | None
    last_leave: dt.datetime | None
    seconds: int = Field(description="Present within the counted window, exact")
    minutes: float = Field(description="`seconds` in minutes, one decimal")
    window_start: dt.datetime = Field(description="Start of the window measured")
    window_seconds: int = Field(description="Length of the window measured")
    reconnects: int
    inferred_end: bool = Field(description="A stay had no leave and was closed by the rule")
    sources: list[str] = Field(description="Where the presence came from")
    computed_at: dt.datetime


class IntervalOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    seconds: int = Field(description="The interval's whole length, exact")


class TimelineOut(BaseModel):
    user_id: int
    name: str
    role: AttendanceRole
    record: RecordOut | None = Field(description="Null until the attendance is finalised")
    intervals: list[IntervalOut] = Field(
        description="Presence folded from every event on record: stays of one connection, "
        "joined across devices and across gaps up to the academy's reconnect_merge_seconds"
    )


class SessionAttendanceOut(BaseModel):
    time_zone: str
    session: SessionBrief
    people: list[TimelineOut] = Field(
        description="The teacher, then the students; students and parents see their own rows"
    )


class TallyOut(BaseModel):
    present: int
    late: int
    left_early: int
    partial: int
    absent: int
    excused: int
    no_record: int = Field(description="Sessions that took place whose attendance is not on record")
    counted: int = Field(description="Records a rate is taken over: all but the excused")
    attended: int = Field(description="Counted records that are not absent")
    rate: float | None = Field(description="attended / counted in percent, one decimal")
    seconds: int
    minutes: float


class StudentSessionOut(BaseModel):
    session: SessionBrief
    record: RecordOut | None
    counted: bool = Field(description="The session took place, so it counts in the figures")


class StudentAttendanceOut(BaseModel):
    time_zone: str
    period: PeriodOut
    student: PersonOut
    only_taught_by: int | None = Field(
        description="Set when a teacher looks: only the sessions they teach are shown"
    )
    summary: TallyOut
    sessions: list[StudentSessionOut]


class CellOut(BaseModel):
    session_id: int
    expected: bool = Field(description="The student was booked into the session")
    status: AttendanceStatus | None
    seconds: int | None


class GroupSessionOut(BaseModel):
    session: SessionBrief
    expected: int
    summary: TallyOut


class GroupStudentOut(BaseModel):
    user_id: int
    name: str
    summary: TallyOut
    cells: list[CellOut] = Field(description="One per session, in the order of `sessions`")


class GroupOut(BaseModel):
    id: int
    name: str
    kind: str
    teacher_user_id: int


class GroupAttendanceOut(BaseModel):
    time_zone: str
    period: PeriodOut
    group: GroupOut
    summary: TallyOut
    sessions: list[GroupSessionOut]
    students: list[GroupStudentOut]


class TeacherSessionOut(BaseModel):
    session: SessionBrief
    record: RecordOut | None = Field(description="The teacher's own attendance")
    expected: int = Field(description="Students booked into the session")
    students: TallyOut


class TeacherAttendanceOut(BaseModel):
    time_zone: str
    period: PeriodOut
    teacher: PersonOut
    own: TallyOut = Field(
        description="The teacher's own attendance over the sessions that took place or were "
        "cancelled for their absence"
    )
    students: TallyOut = Field(description="Their students' attendance in classes held")
    sessions: list[TeacherSessionOut]


class AbsenteeOut(BaseModel):
    session: SessionBrief
    student: PersonOut
    reason: Literal["absent", "no_record"]
    status_source: Decider | None = Field(description="Who decided `absent`; null: no record")


class AbsenteesOut(BaseModel):
    time_zone: str
    period: PeriodOut
    total: int
    items: list[AbsenteeOut]


class RunOut(BaseModel):
    student: PersonOut
    consecutive: int = Field(description="Absences in a row, up to the latest class held")
    excused_within: int = Field(description="Excused sessions since the run's first absence")
    first_absent_at: dt.datetime
    last_absent_at: dt.datetime
    session_ids: list[int] = Field(description="The sessions of the run, oldest first")
    may_be_longer: bool = Field(
        description="Nothing in the period broke the run: it may have begun before `first_day`"
    )


class ConsecutiveAbsencesOut(BaseModel):
    time_zone: str
    period: PeriodOut
    at_least: int
    items: list[RunOut]
