"""A session's automatic steps (pure): what the system does to it next, and when.

Each session carries the time of its next step (`next_step_at`); the worker takes the sessions
whose time has come through an index and asks `due_now` again before acting, so a step that a
person's action or a move in time made stale is simply dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from halaqa.academies.settings import AcademySettings
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, SessionFacts, Status


class Step(StrEnum):
    PREPARE = "prepare"  # scheduled -> ready when the room opens
    COMPLETE = "complete"  # ongoing -> completed after the end and the buffer
    # Attendance folded into records after the end and the delay, and the session's outcome
    # settled from it: a room nobody started, a completed class, a teacher's absence.
    FINALIZE = "finalize"


# The status each step that is a plain transition takes the session to.
TARGETS = {Step.PREPARE: Status.READY, Step.COMPLETE: Status.COMPLETED}


@dataclass(frozen=True)
class NextStep:
    step: Step
    at: datetime


def next_step(session: SessionFacts, settings: AcademySettings) -> NextStep | None:
    """The session's next automatic step, or None when the system has nothing to do for it."""
    if session.starts_at is None or session.ends_at is None:
        return None
    if session.status is Status.SCHEDULED:
        return NextStep(
            Step.PREPARE, session.starts_at - timedelta(minutes=settings.meeting_prepare_minutes)
        )
    if session.status is Status.ONGOING:
        return NextStep(
            Step.COMPLETE,
            session.ends_at + timedelta(minutes=settings.auto_complete_buffer_minutes),
        )
    if _awaits_attendance(session):
        return NextStep(
            Step.FINALIZE, session.ends_at + timedelta(minutes=settings.finalize_delay_minutes)
        )
    return None


def _awaits_attendance(session: SessionFacts) -> bool:
    """A room that opened but was never started is settled by its attendance (nobody came, or
    the start was missed); a finished session, until its attendance is on record. Cancellations
    other than the teacher's absence are not about attendance, so they wait for nothing."""
    if session.status is Status.READY:
        return True
    finished = session.status in (Status.COMPLETED, Status.ABSENT) or (
        session.status is Status.CANCELLED and session.cancellation_reason == TEACHER_ABSENT
    )
    return finished and not session.attendance_finalized


DEFER_STEP = timedelta(minutes=1)  # how long a completion waits before it looks again


def completion_deferred_until(
    session: SessionFacts, settings: AcademySettings, now: datetime, people_in_room: bool
) -> datetime | None:
    """When a due completion should look again because people are still in the room (a class
    running over is not cut off), or None to complete now: nobody is in, or the overtime cap
    has come."""
    if not people_in_room or session.ends_at is None:
        return None
    cap = session.ends_at + timedelta(minutes=settings.overtime_cap_minutes)
    if now >= cap:
        return None
    return min(now + DEFER_STEP, cap)


def due_now(session: SessionFacts, settings: AcademySettings, now: datetime) -> Step | None:
    """The session's step if it is due at `now`, else None."""
    step = next_step(session, settings)
    if step is None or now < step.at:
        return None
    return step.step
