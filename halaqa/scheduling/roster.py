"""A group's roster follows its enrollments into the sessions that have not begun yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from halaqa.academies.settings import effective_settings
from halaqa.exceptions import Conflict
from halaqa.kit.deps import Runtime
from halaqa.models import Academy, Group, SessionParticipant
from halaqa.scheduling.calendar import RACE_LOST
from halaqa.scheduling.repository import DoubleBooked, SessionRepository


@dataclass
class RosterChange:
    """What joining or leaving a group did to its sessions (kept in the audit log)."""

    session_ids: list[int] = field(default_factory=list)
    # Sessions the student was not added to because they are busy then.
    clashes: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"session_ids": self.session_ids, "clashes": self.clashes}


async def join_upcoming_sessions(
    rt: Runtime, academy: Academy, group: Group, student_id: int
) -> RosterChange:
    """Adds a newly enrolled student to every group session that has not begun, except those
    that clash with the student's other sessions: they are reported, never double-booked."""
    sessions = SessionRepository(rt.session, academy.id)
    pause = effective_settings(academy.settings).session_break_minutes
    change = RosterChange()
    booked: list[SessionParticipant] = []
    for session in await sessions.upcoming_of_group(group.id, rt.clock.now()):
        if student_id in {p.user_id for p in await sessions.participants(session.id)}:
            continue
        until = None
        if session.starts_at is not None and session.ends_at is not None:
            until = session.ends_at + timedelta(minutes=pause)
            clashes = await sessions.overlapping({student_id}, session.starts_at, until)
            if clashes:
                change.clashes.append(
                    {
                        "session_id": session.id,
                        "session_code": session.code,
                        "busy_in_session_id": clashes[0][1].id,
                        "busy_in_session_code": clashes[0][1].code,
                    }
                )
                continue
        booked.append(
            SessionParticipant(
                session_id=session.id,
                user_id=student_id,
                academy_id=academy.id,
                role="student",
                starts_at=session.starts_at,
                busy_until=until,
                active=session.starts_at is not None,
            )
        )
        change.session_ids.append(session.id)
    try:
        await sessions.add_participants(booked)
    except DoubleBooked:
        raise Conflict(RACE_LOST, code="schedule_conflict") from None
    return change


async def leave_upcoming_sessions(
    rt: Runtime, academy: Academy, group: Group, student_id: int
) -> RosterChange:
    """Takes a student whose enrollment ended out of the group sessions that have not begun;
    the sessions they attended stay on their record."""
    sessions = SessionRepository(rt.session, academy.id)
    upcoming = await sessions.upcoming_of_group(group.id, rt.clock.now())
    booked = await sessions.participants_of([s.id for s in upcoming])
    left = [
        session_id
        for session_id, people in booked.items()
        if student_id in {p.user_id for p in people}
    ]
    await sessions.remove_participant(left, student_id)
    return RosterChange(session_ids=sorted(left))
