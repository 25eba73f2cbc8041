"""Attendance policy (pure): the status a participant's folded presence earns, and which status
stands once people have overridden it.

The rules and their order are DESIGN.md's, with the academy's thresholds. Shares are compared in
whole numbers (seconds × 100 against percent × window seconds), so a share exactly at a threshold
is never rounded to either side of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from halaqa.academies.settings import AcademySettings
from halaqa.attendance.folding import SECOND, Presence


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
