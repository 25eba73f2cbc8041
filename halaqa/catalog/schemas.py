"""Request and response bodies for groups and enrollments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from halaqa.academies.schemas import Id, PersonRef
from halaqa.catalog.lifecycle import EnrollmentStatus, GroupKind, GroupStatus
from halaqa.kit.validation import Input, Name, TimeZoneName, WebUrl

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Capacity = Annotated[int, Field(ge=1, le=10_000, description="Places; null for no limit")]


# --- groups ----------------------------------------------------------------------------------


class GroupCreate(Input):
    kind: GroupKind = Field(
        description="Circles start active; courses and interactive courses start as drafts"
    )
    name: Name
    description: Description | None = None
    teacher_user_id: Id = Field(description="An active member with the teacher role")
    capacity: Capacity | None = None
    time_zone: TimeZoneName | None = Field(
        None, description="Where its classes are planned; null for the academy's zone"
    )
    meeting_url: WebUrl | None = Field(
        None, description="Academies meeting by links: the group's standing meeting URL"
    )


class GroupUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    teacher_user_id: Id | None = None
    capacity: Capacity | None = Field(
        None, description="Not below the students enrolled now; null for no limit"
    )
    time_zone: TimeZoneName | None = None
    meeting_url: WebUrl | None = None


class GroupStatusChange(Input):
    status: GroupStatus


class GroupOut(BaseModel):
    id: int
    kind: GroupKind
    name: str
    description: str | None
    teacher: PersonRef
    capacity: int | None
    enrolled: int = Field(description="Places taken")
    time_zone: str | None
    meeting_url: str | None
    status: GroupStatus
    enrolment_open: bool = Field(description="Whether students can be enrolled now")
    next_statuses: list[GroupStatus] = Field(description="Where the status may go from here")
    created_at: datetime
    updated_at: datetime


# --- enrollments -----------------------------------------------------------------------------


class EnrollmentCreate(Input):
    student_user_id: Id | None = Field(
        None,
        description="Staff: the student to enrol. Students leave it out (or give their own id) "
        "to ask for a place",
    )
    status: Literal["pending", "enrolled"] | None = Field(
        None,
        description="Staff: enrolled (the default) or pending. A student's request is pending",
    )


class EnrollmentStatusChange(Input):
    status: EnrollmentStatus


class EnrollmentOut(BaseModel):
    id: int
    group_id: int
    student: PersonRef
    status: EnrollmentStatus
    enrolled_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
