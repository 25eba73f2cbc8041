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
from halaqa.attendance.folding import (
    SECOND,
    EventRow,
    Presence,
    PresenceEvent,
    Source,
    fold,
    fold_unique,
)
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
    teacher_presence = fold(
        [e for e in events if e.user_id in (shape.teacher_id, None)],
        window_start=shape.starts_at,
        window_end=shape.ends_at,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    ).get(shape.teacher_id)
    window_start, window_end = _counted_window(shape, teacher_presence)
    students = set(shape.student_ids)
    folded = fold(
        [e for e in events if e.user_id in students or e.user_id is None],
        window_start=window_start,
        window_end=window_end,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    )
    sources: dict[int | None, int] = {}
    for event in events:
        sources[event.user_id] = sources.get(event.user_id, 0) | _BIT[event.source]
    return _assessed(
        shape, settings, overrides, teacher_presence, (window_start, window_end), folded, sources
    )


def assess_unique(
    events: Sequence[EventRow],
    shape: SessionShape,
    settings: AcademySettings,
    overrides: Mapping[int, Sequence[Override]],
) -> Assessment:
    """`assess` for events that are each there once (as the database keeps them: one row per
    key), as plain rows in any order (folding.EventRow): the same assessment, without an object
    per event."""
    merge = settings.reconnect_merge_seconds
    teacher_id = shape.teacher_id
    students = set(shape.student_ids)
    teacher_events: list[EventRow] = []
    student_events: list[EventRow] = []
    sources: dict[int | None, int] = {}
    for event in events:
        user_id = event[2]
        if user_id is None:
            teacher_events.append(event)
            student_events.append(event)
            continue
        if user_id == teacher_id:
            teacher_events.append(event)
        if user_id in students:
            student_events.append(event)
        sources[user_id] = sources.get(user_id, 0) | _BIT[event[4]]
    teacher_presence = fold_unique(
        teacher_events,
        window_start=shape.starts_at,
        window_end=shape.ends_at,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    ).get(teacher_id)
    window_start, window_end = _counted_window(shape, teacher_presence)
    folded = fold_unique(
        student_events,
        window_start=window_start,
        window_end=window_end,
        scheduled_end=shape.ends_at,
        merge_seconds=merge,
    )
    return _assessed(
        shape, settings, overrides, teacher_presence, (window_start, window_end), folded, sources
    )


def _counted_window(shape: SessionShape, teacher: Presence | None) -> tuple[datetime, datetime]:
    return counted_window(
        shape.starts_at, shape.ends_at, teacher.first_join if teacher is not None else None
    )


# Sources are gathered as bits, one per source: a user's set is then looked up, never built.
_BIT: dict[str, int] = {source: 1 << n for n, source in enumerate(Source)}
_SOURCES = [
    frozenset(source for source in Source if mask & _BIT[source])
    for mask in range(1 << len(Source))
]
# What `effective` decides when nobody overrode the computed status (most of the time).
_AUTO = {status: effective(status, ()) for status in AttendanceStatus}


def _assessed(
    shape: SessionShape,
    settings: AcademySettings,
    overrides: Mapping[int, Sequence[Override]],
    teacher_presence: Presence | None,
    window: tuple[datetime, datetime],
    folded: Mapping[int, Presence],
    sources: Mapping[int | None, int],
) -> Assessment:
    """The statuses, the decisions that stand and the outcome, from the folded presence: the
    teacher's over the slot, the students' over the counted `window`."""
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
        sources=_SOURCES[sources.get(shape.teacher_id, 0)],
        computed=teacher_computed,
        decision=effective(teacher_computed, overrides.get(shape.teacher_id, ())),
    )
    window_start, window_end = window
    window_seconds = (window_end - window_start) // SECOND
    attendees = [teacher]
    for user_id in sorted(set(shape.student_ids)):
        presence = folded.get(user_id)
        decided = overrides.get(user_id)
        computed = student_status(
            presence, window_start=window_start, scheduled_end=shape.ends_at, settings=settings
        )
        attendees.append(
            Attendee(
                user_id=user_id,
                role=Role.STUDENT,
                presence=presence,
                window_start=window_start,
                window_seconds=window_seconds,
                sources=_SOURCES[sources.get(user_id, 0)],
                computed=computed,
                decision=effective(computed, decided) if decided else _AUTO[computed],
            )
        )
    outcome = session_outcome(
        group=shape.group,
        teacher=teacher.decision.status,
        students={a.user_id: a.decision.status for a in attendees[1:]},
    )
    return Assessment(tuple(attendees), outcome)
