"""Attendance policy (pure): the status a participant's folded presence earns, which status
stands once people have overridden it, and how the session ends for it.

The rules and their order are DESIGN.md's, with the academy's thresholds. Shares are compared in
whole numbers (seconds × 100 against percent × window seconds), so a share exactly at a threshold
is never rounded to either side of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from halaqa.academies.settings import AcademySettings
from halaqa.attendance.folding import SECOND, Presence
from halaqa.scheduling.lifecycle import FINISHED, TEACHER_ABSENT, By, Status, next_statuses


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    PARTIAL = "partial"
    ABSENT = "absent"
    EXCUSED = "excused"  # only from an approved absence request or an override, never computed


def counted_window(
    scheduled_start: datetime, scheduled_end: datetime, teacher_first_join: datetime | None
) -> tuple[datetime, datetime]:
    """The window students are measured over: from the later of the scheduled start and the
    teacher's first join to the scheduled end, so a late teacher never makes students late. A
    teacher who never came, or came only once the slot was over, leaves the scheduled window."""
    if teacher_first_join is None or teacher_first_join >= scheduled_end:
        return scheduled_start, scheduled_end
    return max(scheduled_start, teacher_first_join), scheduled_end


def _reaches(presence: Presence | None, percent: int, window_seconds: int) -> bool:
    """Whether the presence covers at least `percent` of the window. No time in it never does,
    even against a threshold of 0: someone who was not there is not partly there."""
    seconds = 0 if presence is None else presence.seconds
    return seconds > 0 and seconds * 100 >= percent * window_seconds


def student_status(
    presence: Presence | None,
    *,
    window_start: datetime,
    scheduled_end: datetime,
    settings: AcademySettings,
) -> AttendanceStatus:
    """The first of DESIGN.md's six rules that matches. `presence` must be folded over the same
    counted window (`counted_window`), which ends at the scheduled end."""
    window = (scheduled_end - window_start) // SECOND
    if presence is None or not _reaches(presence, settings.partial_percent, window):
        return AttendanceStatus.ABSENT
    if _reaches(presence, 100, window):
        return AttendanceStatus.PRESENT
    if presence.first_join > window_start + timedelta(minutes=settings.late_after_minutes):
        return AttendanceStatus.LATE
    if _reaches(presence, settings.present_percent, window):
        return AttendanceStatus.PRESENT
    if presence.last_leave < scheduled_end - timedelta(minutes=settings.left_early_minutes):
        return AttendanceStatus.LEFT_EARLY
    return AttendanceStatus.PARTIAL


def teacher_status(
    presence: Presence | None,
    *,
    scheduled_start: datetime,
    scheduled_end: datetime,
    settings: AcademySettings,
) -> AttendanceStatus:
    """A teacher is measured over the scheduled slot, with the teacher thresholds; `presence`
    must be folded over that slot."""
    slot = (scheduled_end - scheduled_start) // SECOND
    if _reaches(presence, settings.teacher_present_percent, slot):
        return AttendanceStatus.PRESENT
    if _reaches(presence, settings.teacher_partial_percent, slot):
        return AttendanceStatus.PARTIAL
    return AttendanceStatus.ABSENT


# --- overrides -------------------------------------------------------------------------------


class Decider(StrEnum):
    """Who decided a status, weakest first: the computation, the teacher, an admin."""

    AUTO = "auto"
    TEACHER = "teacher"
    ADMIN = "admin"


_WEIGHT = {decider: weight for weight, decider in enumerate(Decider)}


@dataclass(frozen=True)
class Override:
    status: AttendanceStatus
    source: Decider  # TEACHER or ADMIN; the computation never overrides
    decided_at: datetime

    def __post_init__(self) -> None:
        if self.source is Decider.AUTO:
            raise ValueError("an override comes from a teacher or an admin")


@dataclass(frozen=True)
class Decision:
    status: AttendanceStatus
    source: Decider


def effective(auto: AttendanceStatus, overrides: Iterable[Override]) -> Decision:
    """The status that stands: auto < teacher < admin, the latest within one source. So a
    recomputation never clobbers an override, and a teacher cannot undo an admin's word. An
    exact tie falls to the status's name, so the answer never depends on the overrides' order."""
    best = max(
        overrides, key=lambda o: (_WEIGHT[o.source], o.decided_at, o.status.value), default=None
    )
    if best is None:
        return Decision(auto, Decider.AUTO)
    return Decision(best.status, best.source)


# --- the session's outcome -------------------------------------------------------------------

# The reason an individual session ends `absent` when its only student was excused in advance.
STUDENT_EXCUSED = "student_excused"

# What counts as having come: every status but absent and excused.
_CAME = frozenset(AttendanceStatus) - {AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED}


# The statuses of a session that was due to be held, which its attendance may therefore end.
_HELD = frozenset({Status.SCHEDULED, Status.READY, Status.ONGOING}) | FINISHED


@dataclass(frozen=True)
class Outcome:
    """How a finished session ends: the status the lifecycle should reach, and why (a stable
    code, or None when the status says it all)."""

    status: Status
    reason: str | None = None


def session_outcome(
    *, group: bool, teacher: AttendanceStatus, students: Mapping[int, AttendanceStatus]
) -> Outcome:
    """The outcome a finished session's attendance earns (issue #6, finalisation). Pass the
    statuses that stand (`effective`), so an override changes the outcome as a recomputation does.

    - The teacher did not come (absent, or excused): `cancelled` with reason `teacher_absent`,
      whoever else came; nobody came at all is the same case. A make-up is owed and nobody is
      charged, and the lifecycle lets late presence correct such a cancellation.
    - The teacher came (present, late, left early or partial) to a group's session: `completed`,
      whoever of the students came; each student's own record says who is charged.
    - The teacher came to an individual session: `completed` if its student came, `absent` if the
      student did not, and `absent` with reason `student_excused` if the student was excused.

    Why excused is `absent` and not `completed`: the session's status says whether the lesson took
    place, and with its only student away it did not, whatever the excuse. `completed` would
    count a lesson nobody was taught (in reports, the teacher's completed sessions, the session
    report waiting for an evaluation), while `absent` ("student absent") is what happened. The
    excuse is kept twice, in the reason and in the student's own record, and the ledger charges
    from the student's record (excused: nobody is charged), so the student pays nothing.

    An individual session has exactly one student; anything else is a caller's error.
    """
    if not group and len(students) != 1:
        raise ValueError(f"an individual session has one student, not {len(students)}")
    if teacher not in _CAME:
        return Outcome(Status.CANCELLED, TEACHER_ABSENT)
    if group:
        return Outcome(Status.COMPLETED)
    (student,) = students.values()
    if student in _CAME:
        return Outcome(Status.COMPLETED)
    if student is AttendanceStatus.EXCUSED:
        return Outcome(Status.ABSENT, STUDENT_EXCUSED)
    return Outcome(Status.ABSENT)


def outcome_transition(
    current: Status, outcome: Outcome, *, cancellation_reason: str | None = None
) -> Status | None:
    """The status the system should move a session in `current` to for `outcome`, or None: when
    it is there already, or when the lifecycle does not let the system make that change (a
    cancellation for any reason but the teacher's absence stands; so does a suspension). Pass the
    session's `cancellation_reason`: only a `teacher_absent` cancellation may become `completed`
    or `absent` again when late events show the teacher came.

    Only a direct change is answered: a session still `scheduled` or `ready` may be cancelled
    for the teacher's absence, but must be started (`ongoing`) before it can be completed. A
    `suspended` session (its subscription is paused) or an `unscheduled` one (it has no time) was
    never due to be held, so attendance never ends it, though the lifecycle would let the system
    cancel it: nobody there is not a teacher's absence, and no make-up is owed."""
    if current not in _HELD or current is outcome.status:
        return None
    allowed = next_statuses(current, By.SYSTEM, cancellation_reason=cancellation_reason)
    return outcome.status if outcome.status in allowed else None
