"""All SQL for presence events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from halaqa.academies.repository import TenantRepository
from halaqa.models import PresenceEvent


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
