"""Consecutive absences (pure): how many classes in a row a student has missed, as of now.

The rule, decided once here and used by every report:

- Only sessions that took place count: their status is `completed` or `absent` and the student has
  a finalised record. A cancelled session (the teacher's absence included), one still to come or
  one whose attendance is not on record yet says nothing about the student, so the caller leaves
  it out rather than passing it in.
- `absent` extends the run.
- `present`, `late`, `left_early` and `partial` break it: the student came.
- `excused` neither breaks nor extends it. An approved absence is not a missed class, so it does
  not lengthen the run; but it is not a class the student came to either, so it does not end one.
  Absent, excused, absent is a run of two.

The current run is the one at the end of the student's history: the absences since the last class
they came to (or since their first class, if they never came). Order is by the session's start,
then its id, so two sessions at the same instant are read in the same order every time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from halaqa.attendance.policy import AttendanceStatus

# What came of a student for each status, for the run.
_CAME = frozenset(
    {
        AttendanceStatus.PRESENT,
        AttendanceStatus.LATE,
        AttendanceStatus.LEFT_EARLY,
        AttendanceStatus.PARTIAL,
    }
)


@dataclass(frozen=True)
class Outcome:
    """One session of a student's: when it started, and the status that stands for them."""

    session_id: int
    starts_at: datetime
    status: AttendanceStatus


@dataclass(frozen=True)
class Run:
    """The student's current run of consecutive absences."""

    absences: tuple[Outcome, ...]  # the absent sessions of the run, oldest first
    excused: int  # excused sessions inside the run (between its first absence and now)
    # Nothing before the run broke it: every outcome given was an absence or excused, so the run
    # may go back further than what the caller looked at.
    unbroken: bool

    @property
    def length(self) -> int:
        return len(self.absences)

    @property
    def first(self) -> Outcome | None:
        return self.absences[0] if self.absences else None

    @property
    def last(self) -> Outcome | None:
        return self.absences[-1] if self.absences else None


def current_run(outcomes: Iterable[Outcome]) -> Run:
    """The run of consecutive absences at the end of `outcomes` (any order; sorted here)."""
    ordered = sorted(outcomes, key=lambda o: (o.starts_at, o.session_id))
    came = [i for i, outcome in enumerate(ordered) if outcome.status in _CAME]
    since = ordered[came[-1] + 1 :] if came else ordered
    absences = tuple(o for o in since if o.status is AttendanceStatus.ABSENT)
    excused = 0
    if absences:
        first = next(i for i, o in enumerate(since) if o.status is AttendanceStatus.ABSENT)
        excused = sum(1 for o in since[first:] if o.status is AttendanceStatus.EXCUSED)
    return Run(absences, excused, unbroken=not came)


def flagged(runs: dict[int, Run], at_least: int) -> list[tuple[int, Run]]:
    """The students whose current run is `at_least` long or longer, longest first (then by id)."""
    found = [(student, run) for student, run in runs.items() if run.length >= at_least]
    return sorted(found, key=lambda item: (-item[1].length, item[0]))
