"""Attendance figures (pure): counts per status, the attendance rate, minutes from seconds.

Which sessions a figure counts is the caller's choice (students: the sessions that took place;
teachers: those whose attendance decides whether they did); this only adds up what it is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from halaqa.attendance.policy import AttendanceStatus
from halaqa.models import ClassSession
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, Status

TENTH = Decimal("0.1")
# The session statuses of a class that took place: only these count for students.
HELD = frozenset({Status.COMPLETED.value, Status.ABSENT.value})


def minutes(seconds: int) -> Decimal:
    """Seconds as minutes with one decimal, halves rounded up (90 s is 1.5, 3 s is 0.1)."""
    return (Decimal(seconds) / 60).quantize(TENTH, rounding=ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent with one decimal; None when there is no whole."""
    if whole <= 0:
        return None
    return (Decimal(part * 100) / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def held(session: ClassSession) -> bool:
    """The class took place (it was completed, or its one student did not come)."""
    return session.status in HELD


def settles_teacher(session: ClassSession) -> bool:
    """The session's outcome rests on its teacher's attendance: it took place, or it was
    cancelled because the teacher did not come."""
    return held(session) or (
        session.status == Status.CANCELLED.value and session.cancellation_reason == TEACHER_ABSENT
    )


@dataclass(frozen=True)
class Tally:
    """How a set of attendances came out. `no_record` counts those that should have a record
    by now and have none (the attendance is not finalised yet)."""

    present: int = 0
    late: int = 0
    left_early: int = 0
    partial: int = 0
    absent: int = 0
    excused: int = 0
    no_record: int = 0
    seconds: int = 0

    @property
    def counted(self) -> int:
        """The attendances a rate is taken over: every record but the excused."""
        return self.present + self.late + self.left_early + self.partial + self.absent

    @property
    def attended(self) -> int:
        return self.counted - self.absent

    @property
    def rate(self) -> Decimal | None:
        """Attended of counted, in percent with one decimal; None when nothing counts."""
        return percent(self.attended, self.counted)

    @property
    def minutes(self) -> Decimal:
        return minutes(self.seconds)


def tally(outcomes: Iterable[tuple[str | None, int]]) -> Tally:
    """Adds up (status, seconds present) pairs; a status of None is a missing record."""
    counts: Counter[str] = Counter()
    missing = seconds = 0
    for status, present in outcomes:
        if status is None:
            missing += 1
        else:
            counts[AttendanceStatus(status).value] += 1
            seconds += present
    return Tally(
        present=counts[AttendanceStatus.PRESENT.value],
        late=counts[AttendanceStatus.LATE.value],
        left_early=counts[AttendanceStatus.LEFT_EARLY.value],
        partial=counts[AttendanceStatus.PARTIAL.value],
        absent=counts[AttendanceStatus.ABSENT.value],
        excused=counts[AttendanceStatus.EXCUSED.value],
        no_record=missing,
        seconds=seconds,
    )
