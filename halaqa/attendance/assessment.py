"""A session's attendance assessed (pure): its presence events folded for its teacher and each
of its students, each one's status computed and the overrides applied, and the outcome the
session earns. Finalisation stores this; the pages show it before finalisation as provisional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from halaqa.academies.settings import AcademySettings
from halaqa.attendance.folding import SECOND, Presence, PresenceEvent, Source, fold
from halaqa.attendance.policy import (
    AttendanceStatus,
    Decision,
    Outcome,
    Override,
    counted_window,
    effective,
    session_outcome,
    student_status,
    teacher_status,
)


class Role(StrEnum):
    TEACHER = "teacher"
    STUDENT = "student"


@dataclass(frozen=True)
class SessionShape:
    """What the assessment needs to know of a session."""

    starts_at: datetime
    ends_at: datetime
    teacher_id: int
    student_ids: tuple[int, ...]
    group: bool


@dataclass(frozen=True)
class Attendee:
    user_id: int
    role: Role
    presence: Presence | None  # None: never there
    window_start: datetime  # the window measured: the slot for the teacher, the counted window
    window_seconds: int  # for students
    sources: frozenset[Source]
    computed: AttendanceStatus
    decision: Decision  # the status that stands, and who decided it


@dataclass(frozen=True)
class Assessment:
    attendees: tuple[Attendee, ...]  # the teacher first, then the students by id
    outcome: Outcome


def assess(
    events: Sequence[PresenceEvent],
    shape: SessionShape,
    settings: AcademySettings,
    overrides: Mapping[int, Sequence[Override]],
) -> Assessment:
    """Everyone's attendance and the session's outcome. `overrides` are per user; the teacher's
    can come from an admin only, which the service checks when they are made."""
    merge = settings.reconnect_merge_seconds
    teacher_events = [e for e in events if e.user_id in (shape.teacher_id, None)]
    teacher_presence = fold(
        teacher_events,
        window_start=shape.starts_at,
        window_end=shape.ends_at,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    ).get(shape.teacher_id)
    teacher_computed = teacher_status(
        teacher_presence,
        scheduled_start=shape.starts_at,
        scheduled_end=shape.ends_at,
        settings=settings,
    )
    teacher = Attendee(
        user_id=shape.teacher_id,
        role=Role.TEACHER,
        presence=teacher_presence,
        window_start=shape.starts_at,
        window_seconds=(shape.ends_at - shape.starts_at) // SECOND,
        sources=_sources(events, shape.teacher_id),
        computed=teacher_computed,
        decision=effective(teacher_computed, overrides.get(shape.teacher_id, ())),
    )
    window_start, window_end = counted_window(
        shape.starts_at,
        shape.ends_at,
        teacher_presence.first_join if teacher_presence is not None else None,
    )
    students = set(shape.student_ids)
    folded = fold(
        [e for e in events if e.user_id in students or e.user_id is None],
        window_start=window_start,
        window_end=window_end,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    )
    attendees = [teacher]
    for user_id in sorted(students):
        presence = folded.get(user_id)
        computed = student_status(
            presence, window_start=window_start, scheduled_end=shape.ends_at, settings=settings
        )
        attendees.append(
            Attendee(
                user_id=user_id,
                role=Role.STUDENT,
                presence=presence,
                window_start=window_start,
                window_seconds=(window_end - window_start) // SECOND,
                sources=_sources(events, user_id),
                computed=computed,
                decision=effective(computed, overrides.get(user_id, ())),
            )
        )
    outcome = session_outcome(
        group=shape.group,
        teacher=teacher.decision.status,
        students={a.user_id: a.decision.status for a in attendees[1:]},
    )
    return Assessment(tuple(attendees), outcome)


def _sources(events: Sequence[PresenceEvent], user_id: int) -> frozenset[Source]:
    return frozenset(e.source for e in events if e.user_id == user_id)
