"""All SQL for class sessions: scoped by academy, codes allocated atomically, conflicts found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from halaqa.models import (
    ClassSession,
    SessionCodeCounter,
    SessionParticipant,
    SessionReschedule,
    SessionRoom,
    SessionStatusChange,
)
from halaqa.models.scheduling import NO_OVERLAP_CONSTRAINT


class DoubleBooked(Exception):
    """A concurrent request booked one of these people first (PostgreSQL's constraint said so)."""


class MakeupTaken(Exception):
    """A concurrent request planned a make-up for the same session first."""


# A make-up that took place (even if the student did not come) settles what it replaced.
HELD = ("completed", "absent")


@dataclass(frozen=True)
class SessionFilter:
    """What a list of sessions is narrowed to; `visible_to` applies the viewer's scope."""

    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: tuple[str, ...] = ()
    teacher_user_id: int | None = None
    student_user_id: int | None = None
    group_id: int | None = None
    kind: str | None = None
    schedule_id: int | None = None
    # None: every session of the academy (staff); otherwise only sessions one of these people
    # takes part in (themself, or a parent's children).
    visible_to: frozenset[int] | None = None
    # Only cancelled sessions still owed a make-up (none held yet).
    owed_makeup: bool = False


class SessionRepository:
    def __init__(self, session: AsyncSession, academy_id: int) -> None:
        self.session = session
        self.academy_id = academy_id

    def _scoped(self) -> Select[ClassSession]:
        return select(ClassSession).where(ClassSession.academy_id == self.academy_id)

    async def get(self, session_id: int, *, lock: bool = False) -> ClassSession | None:
        """The session; with `lock`, its row stays locked until the transaction ends (PostgreSQL;
        SQLite has one writer at a time anyway) and is read afresh."""
        query = self._scoped().where(ClassSession.id == session_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    async def page(
        self, where: SessionFilter, *, offset: int, limit: int
    ) -> tuple[Sequence[ClassSession], int]:
        query = self._scoped()
        if where.starts_from is not None:
            query = query.where(ClassSession.starts_at >= where.starts_from)
        if where.starts_before is not None:
            query = query.where(ClassSession.starts_at < where.starts_before)
        if where.statuses:
            query = query.where(ClassSession.status.in_(where.statuses))
        if where.teacher_user_id is not None:
            query = query.where(ClassSession.teacher_user_id == where.teacher_user_id)
        if where.student_user_id is not None:
            query = query.where(self._has_participant({where.student_user_id}, "student"))
        if where.group_id is not None:
            query = query.where(ClassSession.group_id == where.group_id)
        if where.kind is not None:
            query = query.where(ClassSession.kind == where.kind)
        if where.schedule_id is not None:
            query = query.where(ClassSession.schedule_id == where.schedule_id)
        if where.visible_to is not None:
            query = query.where(self._has_participant(where.visible_to, None))
        if where.owed_makeup:
            makeup = aliased(ClassSession)
            held = select(makeup.id).where(
                makeup.makeup_of_id == ClassSession.id, makeup.status.in_(HELD)
            )
            query = query.where(
                ClassSession.status == "cancelled",
                ClassSession.makeup_owed.is_(True),
                ~held.exists(),
            )
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(
                ClassSession.starts_at.is_(None), ClassSession.starts_at, ClassSession.id
            )
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), total or 0

    def _has_participant(
        self, user_ids: frozenset[int] | set[int], role: str | None
    ) -> ColumnElement[bool]:
        condition = and_(
            SessionParticipant.session_id == ClassSession.id,
            SessionParticipant.user_id.in_(user_ids),
        )
        if role is not None:
            condition = and_(condition, SessionParticipant.role == role)
        return select(SessionParticipant.session_id).where(condition).exists()

    async def add(self, class_session: ClassSession) -> ClassSession:
        assert class_session.academy_id == self.academy_id
        self.session.add(class_session)
        try:
            await self.session.flush()
        except IntegrityError as error:
            if "ix_class_sessions_one_live_makeup" in str(error.orig) or (
                "class_sessions.makeup_of_id" in str(error.orig)
            ):
                raise MakeupTaken from None
            raise
        return class_session

    async def live_makeups_of(self, session_ids: Sequence[int]) -> dict[int, ClassSession]:
        """The make-up (not cancelled) planned for each of these sessions, if any."""
        if not session_ids:
            return {}
        result = await self.session.scalars(
            self._scoped().where(
                ClassSession.makeup_of_id.in_(session_ids), ClassSession.status != "cancelled"
            )
        )
        return {m.makeup_of_id: m for m in result if m.makeup_of_id is not None}

    async def next_code_number(self, prefix: str) -> int:
        """The next number for `prefix`, taken by one UPDATE so no two sessions share it."""
        statement = (
            update(SessionCodeCounter)
            .where(
                SessionCodeCounter.academy_id == self.academy_id,
                SessionCodeCounter.prefix == prefix,
            )
            .values(last_value=SessionCodeCounter.last_value + 1)
            .returning(SessionCodeCounter.last_value)
        )
        number = await self.session.scalar(statement)
        if number is None:
            dialect = self.session.get_bind().dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            await self.session.execute(
                insert(SessionCodeCounter)
                .values(academy_id=self.academy_id, prefix=prefix, last_value=0)
                .on_conflict_do_nothing()
            )
            number = await self.session.scalar(statement)
        assert number is not None
        return int(number)

    # --- participants and conflicts ----------------------------------------------------------

    async def participants(self, session_id: int) -> Sequence[SessionParticipant]:
        result = await self.session.scalars(
            select(SessionParticipant)
            .where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.session_id == session_id,
            )
            .order_by(SessionParticipant.role.desc(), SessionParticipant.user_id)
        )
        return result.all()

    async def participants_of(
        self, session_ids: Sequence[int]
    ) -> dict[int, list[SessionParticipant]]:
        found: dict[int, list[SessionParticipant]] = {}
        if not session_ids:
            return found
        result = await self.session.scalars(
            select(SessionParticipant).where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.session_id.in_(session_ids),
            )
        )
        for participant in result:
            found.setdefault(participant.session_id, []).append(participant)
        return found

    async def rooms_of(self, session_ids: Sequence[int]) -> dict[int, SessionRoom]:
        """The meeting rooms of these sessions (those that have one)."""
        if not session_ids:
            return {}
        result = await self.session.scalars(
            select(SessionRoom).where(
                SessionRoom.academy_id == self.academy_id,
                SessionRoom.session_id.in_(session_ids),
            )
        )
        return {room.session_id: room for room in result}

    async def add_participants(self, participants: Sequence[SessionParticipant]) -> None:
        self.session.add_all(participants)
        try:
            await self.session.flush()
        except IntegrityError as error:
            if NO_OVERLAP_CONSTRAINT in str(error.orig):
                raise DoubleBooked from None
            raise

    async def move_participants(
        self, session_id: int, starts_at: datetime, busy_until: datetime
    ) -> None:
        """Books the session's people at its new time (and frees the old one)."""
        statement = (
            update(SessionParticipant)
            .where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.session_id == session_id,
            )
            .values(starts_at=starts_at, busy_until=busy_until, active=True)
        )
        try:
            await self.session.execute(statement)
        except IntegrityError as error:
            if NO_OVERLAP_CONSTRAINT in str(error.orig):
                raise DoubleBooked from None
            raise

    async def add_reschedule(self, move: SessionReschedule) -> None:
        assert move.academy_id == self.academy_id
        self.session.add(move)
        await self.session.flush()

    async def set_participation(self, session_id: int, *, active: bool) -> None:
        await self.session.execute(
            update(SessionParticipant)
            .where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.session_id == session_id,
            )
            .values(active=active)
        )

    async def overlapping(
        self,
        user_ids: set[int],
        starts_at: datetime,
        busy_until: datetime,
        *,
        except_session_id: int | None = None,
    ) -> Sequence[tuple[SessionParticipant, ClassSession]]:
        """Active bookings of these people whose busy time overlaps [starts_at, busy_until)."""
        query = (
            select(SessionParticipant, ClassSession)
            .join(ClassSession, ClassSession.id == SessionParticipant.session_id)
            .where(
                SessionParticipant.academy_id == self.academy_id,
                SessionParticipant.user_id.in_(user_ids),
                SessionParticipant.active.is_(True),
                SessionParticipant.starts_at < busy_until,
                SessionParticipant.busy_until > starts_at,
            )
            .order_by(SessionParticipant.starts_at, SessionParticipant.user_id)
        )
        if except_session_id is not None:
            query = query.where(SessionParticipant.session_id != except_session_id)
        result = await self.session.execute(query)
        return [(participant, class_session) for participant, class_session in result]

    async def upcoming_of_group(self, group_id: int, after: datetime) -> Sequence[ClassSession]:
        """The group's sessions that have not begun: its roster may still change for them."""
        result = await self.session.scalars(
            self._scoped()
            .where(
                ClassSession.group_id == group_id,
                or_(
                    and_(
                        ClassSession.status.in_(("scheduled", "ready")),
                        ClassSession.starts_at > after,
                    ),
                    ClassSession.status == "unscheduled",
                ),
            )
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
        return result.all()

    async def remove_participant(self, session_ids: Sequence[int], user_id: int) -> None:
        if session_ids:
            await self.session.execute(
                delete(SessionParticipant).where(
                    SessionParticipant.academy_id == self.academy_id,
                    SessionParticipant.session_id.in_(session_ids),
                    SessionParticipant.user_id == user_id,
                )
            )

    # --- history -----------------------------------------------------------------------------

    async def add_status_change(self, change: SessionStatusChange) -> None:
        assert change.academy_id == self.academy_id
        self.session.add(change)
        await self.session.flush()

    async def status_changes(self, session_id: int) -> Sequence[SessionStatusChange]:
        result = await self.session.scalars(
            select(SessionStatusChange)
            .where(
                SessionStatusChange.academy_id == self.academy_id,
                SessionStatusChange.session_id == session_id,
            )
            .order_by(SessionStatusChange.id)
        )
        return result.all()


async def due_sessions(session: AsyncSession, now: datetime, limit: int) -> Sequence[ClassSession]:
    """Sessions of every academy whose next automatic step has come, oldest first, through
    ix_class_sessions_next_step_at. On PostgreSQL the rows stay locked for this transaction and
    rows another worker holds are skipped; SQLite has one writer at a time anyway."""
    result = await session.scalars(
        select(ClassSession)
        .where(ClassSession.next_step_at <= now)
        .order_by(ClassSession.next_step_at, ClassSession.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def mark_finalised(
    session: AsyncSession,
    sessions: Sequence[ClassSession],
    *,
    at: datetime,
    next_step_at: datetime | None,
) -> None:
    """Marks these sessions' attendance finalised `at`, their next step `next_step_at`, in one
    UPDATE for them all (a flush would send one per session: seconds for a backlog of
    thousands); the loaded objects are brought in step with the rows, as if just read."""
    changes = {"attendance_finalized_at": at, "next_step_at": next_step_at, "updated_at": at}
    ids = [found.id for found in sessions]
    for start in range(0, len(ids), _MOST_IDS):
        await session.execute(
            update(ClassSession)
            .where(ClassSession.id.in_(ids[start : start + _MOST_IDS]))
            .values(changes)
            .execution_options(synchronize_session=False)
        )
    for found in sessions:
        for key, value in changes.items():
            set_committed_value(found, key, value)


# Ids per statement: well within the bound values SQLite and PostgreSQL take (32,766).
_MOST_IDS = 10_000
