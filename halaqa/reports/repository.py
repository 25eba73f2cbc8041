"""All SQL for the attendance reports. Every query is scoped to the academy, bounded by a range of
session starts (or by one session) and capped by a LIMIT the caller sets; each runs on an index:

- one student's sessions: ix_session_participants_user_starts (academy, user, start) and
  ix_class_sessions_student_starts (student, start);
- a teacher's: ix_class_sessions_teacher_starts (teacher, start); a group's:
  ix_class_sessions_group_starts (group, start); the academy's: ix_class_sessions_academy_starts;
- records by session: the unique (session_id, user_id); one user's records:
  ix_attendance_records_user (user, session); presence: ix_presence_events_session
  (academy, session, at);
- participants by session: their primary key (session_id, user_id).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union

from halaqa.academies.repository import TenantRepository
from halaqa.models import (
    AttendanceRecord,
    ClassSession,
    Membership,
    PresenceEvent,
    SessionParticipant,
    User,
)

# Ids per IN (...) list: well under every driver's limit on bound parameters.
CHUNK = 500
STUDENT = "student"

T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass(frozen=True)
class Window:
    """Sessions starting in [starts_from, starts_before)."""

    starts_from: datetime
    starts_before: datetime


@dataclass(frozen=True)
class Absentee:
    session: ClassSession
    student_id: int
    record: AttendanceRecord | None


@dataclass(frozen=True)
class StudentOutcome:
    student_id: int
    session_id: int
    starts_at: datetime
    status: str


class ReportRepository(TenantRepository):
    # --- people --------------------------------------------------------------------------------

    async def is_member(self, user_id: int) -> bool:
        """Whether the user is (or was: inactive memberships too) a member of the academy."""
        found = await self.session.scalar(
            select(Membership.user_id).where(
                Membership.academy_id == self.academy_id, Membership.user_id == user_id
            )
        )
        return found is not None

    async def names(self, user_ids: set[int]) -> dict[int, str]:
        """The names of those of `user_ids` who are members of the academy."""
        names: dict[int, str] = {}
        for chunk in _chunks(sorted(user_ids)):
            result = await self.session.execute(
                select(User.id, User.name)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.academy_id == self.academy_id, User.id.in_(chunk))
            )
            names.update((int(user_id), str(name)) for user_id, name in result)
        return names

    async def teaches(self, teacher_id: int, student_id: int) -> bool:
        """Whether the teacher teaches (or taught) the student in any session."""
        as_participant = await self.session.scalar(
            select(SessionParticipant.session_id)
            .join(ClassSession, ClassSession.id == SessionParticipant.session_id)
            .where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.user_id == student_id,
                SessionParticipant.role == STUDENT,
                ClassSession.teacher_user_id == teacher_id,
            )
            .limit(1)
        )
        if as_participant is not None:
            return True
        own = await self.session.scalar(
            select(ClassSession.id)
            .where(
                ClassSession.academy_id == self.academy_id,
                ClassSession.student_user_id == student_id,
                ClassSession.teacher_user_id == teacher_id,
            )
            .limit(1)
        )
        return own is not None

    # --- sessions ------------------------------------------------------------------------------

    def _in(self, window: Window) -> ColumnElement[bool]:
        return and_(
            ClassSession.academy_id == self.academy_id,
            ClassSession.starts_at >= window.starts_from,
            ClassSession.starts_at < window.starts_before,
        )

    async def _sessions(self, query: Select[ClassSession], limit: int) -> list[ClassSession]:
        ordered = query.order_by(ClassSession.starts_at, ClassSession.id).limit(limit)
        return list((await self.session.scalars(ordered)).all())

    async def sessions_of_student(
        self, student_id: int, window: Window, *, teacher_id: int | None, limit: int
    ) -> list[ClassSession]:
        booked = union(
            select(SessionParticipant.session_id).where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.user_id == student_id,
                SessionParticipant.role == STUDENT,
                SessionParticipant.starts_at >= window.starts_from,
                SessionParticipant.starts_at < window.starts_before,
            ),
            select(ClassSession.id).where(
                ClassSession.student_user_id == student_id,
                ClassSession.starts_at >= window.starts_from,
                ClassSession.starts_at < window.starts_before,
            ),
        )
        query = select(ClassSession).where(self._in(window), ClassSession.id.in_(booked))
        if teacher_id is not None:
            query = query.where(ClassSession.teacher_user_id == teacher_id)
        return await self._sessions(query, limit)

    async def sessions_of_teacher(
        self, teacher_id: int, window: Window, *, limit: int
    ) -> list[ClassSession]:
        query = select(ClassSession).where(
            ClassSession.teacher_user_id == teacher_id, self._in(window)
        )
        return await self._sessions(query, limit)

    async def sessions_of_group(
        self, group_id: int, window: Window, *, limit: int
    ) -> list[ClassSession]:
        query = select(ClassSession).where(ClassSession.group_id == group_id, self._in(window))
        return await self._sessions(query, limit)

    async def expected_students(self, sessions: Sequence[ClassSession]) -> dict[int, set[int]]:
        """The students each session books (its participants, and an individual session's own
        student)."""
        expected: dict[int, set[int]] = {s.id: set() for s in sessions}
        for session in sessions:
            if session.student_user_id is not None:
                expected[session.id].add(session.student_user_id)
        for chunk in _chunks([s.id for s in sessions]):
            result = await self.session.execute(
                select(SessionParticipant.session_id, SessionParticipant.user_id).where(
                    SessionParticipant.academy_id == self.academy_id,
                    SessionParticipant.session_id.in_(chunk),
                    SessionParticipant.role == STUDENT,
                )
            )
            for session_id, user_id in result:
                expected[session_id].add(user_id)
        return expected

    # --- records and presence ------------------------------------------------------------------

    async def records(
        self, session_ids: Sequence[int], *, user_id: int | None = None
    ) -> list[AttendanceRecord]:
        """The records of these sessions (of one user's, when given)."""
        found: list[AttendanceRecord] = []
        for chunk in _chunks(list(session_ids)):
            query = self._scoped(AttendanceRecord).where(AttendanceRecord.session_id.in_(chunk))
            if user_id is not None:
                query = query.where(AttendanceRecord.user_id == user_id)
            found.extend((await self.session.scalars(query)).all())
        return found

    async def presence(self, session_id: int, *, limit: int) -> Sequence[PresenceEvent]:
        """The session's presence events, oldest first (at most `limit`)."""
        query = (
            self._scoped(PresenceEvent)
            .where(PresenceEvent.session_id == session_id)
            .order_by(PresenceEvent.at, PresenceEvent.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    # --- across the academy --------------------------------------------------------------------

    def _held_in(
        self, window: Window, teacher_id: int | None, group_id: int | None
    ) -> ColumnElement[bool]:
        condition = and_(self._in(window), ClassSession.status.in_(("completed", "absent")))
        if teacher_id is not None:
            condition = and_(condition, ClassSession.teacher_user_id == teacher_id)
        if group_id is not None:
            condition = and_(condition, ClassSession.group_id == group_id)
        return condition

    async def sessions_held(self, window: Window, *, limit: int) -> list[ClassSession]:
        """The sessions that took place (completed, or absent), every teacher's."""
        query = select(ClassSession).where(self._held_in(window, None, None))
        return await self._sessions(query, limit)

    async def absentees(
        self,
        window: Window,
        *,
        teacher_id: int | None,
        group_id: int | None,
        limit: int,
    ) -> list[Absentee]:
        """Students booked into sessions that took place (completed, or absent) whose record
        says absent, or who have no record; in order of the sessions' starts."""
        held = self._held_in(window, teacher_id, group_id)
        booked = union(
            select(
                SessionParticipant.session_id.label("session_id"),
                SessionParticipant.user_id.label("user_id"),
            )
            .join(ClassSession, ClassSession.id == SessionParticipant.session_id)
            .where(held, SessionParticipant.role == STUDENT),
            select(
                ClassSession.id.label("session_id"),
                ClassSession.student_user_id.label("user_id"),
            ).where(held, ClassSession.student_user_id.is_not(None)),
        ).subquery()
        result = await self.session.execute(
            select(ClassSession, booked.c.user_id, AttendanceRecord)
            .join(booked, booked.c.session_id == ClassSession.id)
            .outerjoin(
                AttendanceRecord,
                and_(
                    AttendanceRecord.session_id == ClassSession.id,
                    AttendanceRecord.user_id == booked.c.user_id,
                ),
            )
            .where(or_(AttendanceRecord.id.is_(None), AttendanceRecord.status == "absent"))
            .order_by(ClassSession.starts_at, ClassSession.id, booked.c.user_id)
            .limit(limit)
        )
        return [Absentee(session, int(user_id), record) for session, user_id, record in result]

    async def student_outcomes(
        self,
        window: Window,
        *,
        teacher_id: int | None,
        group_id: int | None,
        min_absences: int,
        limit: int,
    ) -> list[StudentOutcome]:
        """Every student's records in the sessions that took place, for the students with at
        least `min_absences` absences among them (nobody else can have a run that long); by
        student, then in time order."""
        held = self._held_in(window, teacher_id, group_id)
        absentees = (
            select(AttendanceRecord.user_id)
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(
                held,
                AttendanceRecord.academy_id == self.academy_id,
                AttendanceRecord.role == STUDENT,
                AttendanceRecord.status == "absent",
            )
            .group_by(AttendanceRecord.user_id)
            .having(func.count() >= min_absences)
        )
        result = await self.session.execute(
            select(
                AttendanceRecord.user_id,
                ClassSession.id,
                ClassSession.starts_at,
                AttendanceRecord.status,
            )
            .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
            .where(
                held,
                AttendanceRecord.academy_id == self.academy_id,
                AttendanceRecord.role == STUDENT,
                AttendanceRecord.user_id.in_(absentees),
            )
            .order_by(AttendanceRecord.user_id, ClassSession.starts_at, ClassSession.id)
            .limit(limit)
        )
        return [
            StudentOutcome(int(user_id), int(session_id), starts_at, status)
            for user_id, session_id, starts_at, status in result
            if starts_at is not None  # always: a session that took place had a time
        ]
