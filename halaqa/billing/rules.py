"""Counting rules (pure): whether a finished session charges one of its students, and why;
and whether a new decision may replace the one on record.

DESIGN.md's rules: the teacher came → a student who came (present, late, left early, partial)
or did not come (a no-show) is charged, an excused one is not; the teacher did not come →
nobody is charged (a make-up is owed); nobody came, a cancellation, a suspension → nobody.
A session still to be held, or under way, charges nobody yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from halaqa.attendance.policy import AttendanceStatus, Decider
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, Status

_CAME = frozenset(AttendanceStatus) - {AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED}


class Why(StrEnum):
    """The outcome a ledger entry records as its cause."""

    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    PARTIAL = "partial"
    NO_SHOW = "no_show"
    EXCUSED = "excused"
    TEACHER_ABSENT = "teacher_absent"
    NOBODY_CAME = "nobody_came"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    NOT_HELD = "not_held"  # not over yet (or reopened): nothing to charge until it is
    NOT_ON_RECORD = "not_on_record"  # over, but no attendance of this student is kept


@dataclass(frozen=True)
class Verdict:
    charge: bool
    why: Why


_CHARGED = {
    AttendanceStatus.PRESENT: Why.PRESENT,
    AttendanceStatus.LATE: Why.LATE,
    AttendanceStatus.LEFT_EARLY: Why.LEFT_EARLY,
    AttendanceStatus.PARTIAL: Why.PARTIAL,
    AttendanceStatus.ABSENT: Why.NO_SHOW,
}


def verdict(
    status: Status,
    cancellation_reason: str | None,
    teacher: AttendanceStatus | None,
    student: AttendanceStatus | None,
) -> Verdict:
    """Whether the session charges the student. `teacher` and `student` are the statuses that
    stand on their attendance records (None: no record)."""
    if status is Status.SUSPENDED:
        return Verdict(False, Why.SUSPENDED)
    if status is Status.CANCELLED:
        if cancellation_reason != TEACHER_ABSENT:
            return Verdict(False, Why.CANCELLED)
        nobody = student is None or student not in _CAME
        return Verdict(False, Why.NOBODY_CAME if nobody else Why.TEACHER_ABSENT)
    if status not in (Status.COMPLETED, Status.ABSENT):
        return Verdict(False, Why.NOT_HELD)
    if teacher is None or student is None:
        return Verdict(False, Why.NOT_ON_RECORD)
    if teacher not in _CAME:
        nobody = student not in _CAME
        return Verdict(False, Why.NOBODY_CAME if nobody else Why.TEACHER_ABSENT)
    if student is AttendanceStatus.EXCUSED:
        return Verdict(False, Why.EXCUSED)
    return Verdict(True, _CHARGED[student])


_WEIGHT = {decider: weight for weight, decider in enumerate(Decider)}


def may_replace(on_record: Decider | None, new: Decider) -> bool:
    """A decision replaces the one on record unless that came from a stronger source (auto <
    teacher < admin): a recomputation never undoes a teacher's or an admin's word."""
    return on_record is None or _WEIGHT[new] >= _WEIGHT[on_record]


def next_entry(
    charged_now: bool, on_record: Decider | None, wanted: Verdict, by: Decider
) -> str | None:
    """The entry ("consumed" or "refunded") that brings the ledger to `wanted`, or None: it is
    there already, or `by` may not change what a stronger source put on record."""
    if wanted.charge == charged_now or not may_replace(on_record, by):
        return None
    return "consumed" if wanted.charge else "refunded"
