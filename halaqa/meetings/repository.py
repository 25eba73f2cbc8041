"""All SQL for meeting configuration, session rooms, recordings and webhook events."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.repository import TenantRepository
from halaqa.models import (
    ClassSession,
    MeetingConfig,
    MeetingEvent,
    SessionRecording,
    SessionRoom,
)


class MeetingRepository(TenantRepository):
    async def config(self) -> MeetingConfig | None:
        return await self.session.get(MeetingConfig, self.academy_id)

    async def save_config(self, config: MeetingConfig) -> MeetingConfig:
        assert config.academy_id == self.academy_id
        self.session.add(config)
        await self.session.flush()
        return config

    async def room(self, session_id: int, *, lock: bool = False) -> SessionRoom | None:
        query = select(SessionRoom).where(
            SessionRoom.academy_id == self.academy_id, SessionRoom.session_id == session_id
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    async def add_room(self, room: SessionRoom) -> SessionRoom:
        assert room.academy_id == self.academy_id
        self.session.add(room)
        await self.session.flush()
        return room

    async def recordings(self, session_id: int) -> Sequence[SessionRecording]:
        query = self._scoped(SessionRecording).where(SessionRecording.session_id == session_id)
        return (await self.session.scalars(query.order_by(SessionRecording.id))).all()

    async def recording(self, session_id: int, recording_id: int) -> SessionRecording | None:
        query = self._scoped(SessionRecording).where(
            SessionRecording.session_id == session_id, SessionRecording.id == recording_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def recording_by_egress(self, egress_id: str) -> SessionRecording | None:
        query = self._scoped(SessionRecording).where(SessionRecording.egress_id == egress_id)
        return (await self.session.scalars(query.with_for_update())).one_or_none()

    async def add_recording(self, recording: SessionRecording) -> SessionRecording:
        assert recording.academy_id == self.academy_id
        self.session.add(recording)
        await self.session.flush()
        return recording


async def open_rooms_of_ended_sessions(
    session: AsyncSession, statuses: Collection[str], now: datetime, limit: int
) -> Sequence[tuple[SessionRoom, ClassSession]]:
    """Rooms still open whose sessions (in one of `statuses`) ended before `now`, oldest first,
    through the partial index of open rooms (they are few: the classes running now)."""
    result = await session.execute(
        select(SessionRoom, ClassSession)
        .join(
            ClassSession,
            (ClassSession.academy_id == SessionRoom.academy_id)
            & (ClassSession.id == SessionRoom.session_id),
        )
        .where(
            SessionRoom.status == "open",
            ClassSession.status.in_(statuses),
            ClassSession.ends_at < now,
        )
        .order_by(ClassSession.ends_at, ClassSession.id)
        .limit(limit)
    )
    return [(room, ended) for room, ended in result.all()]


async def rooms_to_poll(
    session: AsyncSession, statuses: Collection[str], asked_before: datetime, limit: int
) -> Sequence[SessionRoom]:
    """Open LiveKit rooms of sessions in `statuses` not asked who is in since `asked_before`,
    longest unasked first, through the partial index of open rooms."""
    result = await session.scalars(
        select(SessionRoom)
        .join(
            ClassSession,
            (ClassSession.academy_id == SessionRoom.academy_id)
            & (ClassSession.id == SessionRoom.session_id),
        )
        .where(
            SessionRoom.status == "open",
            SessionRoom.provider == "livekit",
            ClassSession.status.in_(statuses),
            SessionRoom.polled_at.is_(None) | (SessionRoom.polled_at <= asked_before),
        )
        .order_by(SessionRoom.polled_at.is_not(None), SessionRoom.polled_at, SessionRoom.session_id)
        .limit(limit)
        .with_for_update(of=SessionRoom, skip_locked=True)
    )
    return result.all()


async def sealed_configs(session: AsyncSession) -> Sequence[MeetingConfig]:
    """Every academy's configuration holding a sealed secret (for re-sealing after rotation)."""
    result = await session.scalars(
        select(MeetingConfig).where(
            MeetingConfig.livekit_api_secret_sealed.is_not(None)
            | MeetingConfig.recording_s3_secret_sealed.is_not(None)
        )
    )
    return result.all()


async def configs_with_key(session: AsyncSession, api_key: str) -> Sequence[MeetingConfig]:
    """The academies whose LiveKit uses this API key (a webhook names its key, not its academy)."""
    result = await session.scalars(
        select(MeetingConfig).where(
            MeetingConfig.provider == "livekit", MeetingConfig.livekit_api_key == api_key
        )
    )
    return result.all()


def _insert_events(dialect: str) -> Insert:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(MeetingEvent)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(MeetingEvent.event_id, MeetingEvent.id)
    )


# One statement per dialect, compiled once and cached: each batch of webhooks reuses it.
_INSERT_EVENTS = {dialect: _insert_events(dialect) for dialect in ("postgresql", "sqlite")}


async def add_events(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Stores those events (their columns) not stored already (by provider and event id), in
    one round trip; the row ids of the new ones by event id."""
    if not rows:
        return {}
    connection = await session.connection()
    result = await connection.execute(_INSERT_EVENTS[connection.dialect.name], list(rows))
    return {event_id: int(row_id) for event_id, row_id in result.all()}


async def event(session: AsyncSession, row_id: int) -> MeetingEvent | None:
    return await session.get(MeetingEvent, row_id)


async def room_named(session: AsyncSession, academy_id: int, name: str) -> SessionRoom | None:
    result = await session.scalars(
        select(SessionRoom).where(
            SessionRoom.academy_id == academy_id, SessionRoom.room_name == name
        )
    )
    return result.one_or_none()
