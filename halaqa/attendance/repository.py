"""All SQL for attendance: presence events, the records finalisation keeps, overrides and
absence requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from halaqa.academies.repository import TenantRepository
from halaqa.models import (
    AbsenceRequest,
    AttendanceOverride,
    AttendanceRecord,
    ClassSession,
    PresenceEvent,
    SessionStatusChange,
)


class PresenceRepository(TenantRepository):
    async def add(self, events: Sequence[PresenceEvent]) -> int:
        """Keeps the events whose keys are new (a source saying the same thing twice adds
        nothing); how many were new."""
        if not events:
            return 0
        assert all(e.academy_id == self.academy_id for e in events)
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        columns = [c.key for c in PresenceEvent.__table__.columns if c.key != "id"]
        rows = [{key: getattr(event, key) for key in columns} for event in events]
        result = await self.session.execute(
            insert(PresenceEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(PresenceEvent.id)
        )
        return len(result.all())

    async def of_session(self, session_id: int) -> Sequence[PresenceEvent]:
        query = self._scoped(PresenceEvent).where(PresenceEvent.session_id == session_id)
        ordered = query.order_by(PresenceEvent.at, PresenceEvent.id)
        return (await self.session.scalars(ordered)).all()

    async def last_heartbeat(
        self, session_id: int, user_id: int, participant_id: str
    ) -> datetime | None:
        return await self.session.scalar(
            select(PresenceEvent.at)
            .where(
                PresenceEvent.academy_id == self.academy_id,
                PresenceEvent.session_id == session_id,
                PresenceEvent.user_id == user_id,
                PresenceEvent.participant_id == participant_id,
                PresenceEvent.source == "heartbeat",
            )
            .order_by(PresenceEvent.at.desc())
            .limit(1)
        )


class AttendanceRepository(TenantRepository):
    async def records(self, session_id: int) -> Sequence[AttendanceRecord]:
        query = self._scoped(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        return (await self.session.scalars(query.order_by(AttendanceRecord.id))).all()

    async def replace_records(self, session_id: int, records: Sequence[AttendanceRecord]) -> None:
        """The session's records become `records`: a computation replaces the last one whole."""
        assert all(r.academy_id == self.academy_id and r.session_id == session_id for r in records)
        await self.session.execute(
            delete(AttendanceRecord).where(
                AttendanceRecord.academy_id == self.academy_id,
                AttendanceRecord.session_id == session_id,
            )
        )
        self.session.add_all(records)
        await self.session.flush()

    async def overrides(self, session_id: int) -> Sequence[AttendanceOverride]:
        query = self._scoped(AttendanceOverride).where(AttendanceOverride.session_id == session_id)
        return (await self.session.scalars(query.order_by(AttendanceOverride.id))).all()

    async def add_override(self, override: AttendanceOverride) -> None:
        assert override.academy_id == self.academy_id
        self.session.add(override)
        await self.session.flush()

    async def last_change_into(self, session_id: int, status: str) -> SessionStatusChange | None:
        """The latest change of the session's status, if it was into `status`."""
        change = await self.session.scalar(
            select(SessionStatusChange)
            .where(
                SessionStatusChange.academy_id == self.academy_id,
                SessionStatusChange.session_id == session_id,
            )
            .order_by(SessionStatusChange.id.desc())
            .limit(1)
        )
        return change if change is not None and change.to_status == status else None

    # --- absence requests ----------------------------------------------------------------------

    async def absence_request(self, request_id: int) -> AbsenceRequest | None:
        return await self.session.scalar(
            self._scoped(AbsenceRequest).where(AbsenceRequest.id == request_id)
        )

    async def absence_requests(
        self,
        *,
        session_id: int | None = None,
        student_ids: Sequence[int] | None = None,
        session_ids_of_teacher: int | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> Sequence[AbsenceRequest]:
        query = self._scoped(AbsenceRequest)
        if session_id is not None:
            query = query.where(AbsenceRequest.session_id == session_id)
        if student_ids is not None:
            query = query.where(AbsenceRequest.student_user_id.in_(student_ids))
        if session_ids_of_teacher is not None:
            query = query.where(
                AbsenceRequest.session_id.in_(
                    select(ClassSession.id).where(
                        ClassSession.academy_id == self.academy_id,
                        ClassSession.teacher_user_id == session_ids_of_teacher,
                    )
                )
            )
        if status is not None:
            query = query.where(AbsenceRequest.status == status)
        ordered = query.order_by(AbsenceRequest.id.desc()).limit(limit)
        return (await self.session.scalars(ordered)).all()

    async def add_absence_request(self, request: AbsenceRequest) -> None:
        assert request.academy_id == self.academy_id
        self.session.add(request)
        await self.session.flush()
