"""All SQL for meeting configuration and session rooms."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.repository import TenantRepository
from halaqa.models import MeetingConfig, SessionRoom


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


async def sealed_configs(session: AsyncSession) -> Sequence[MeetingConfig]:
    """Every academy's configuration holding a sealed secret (for re-sealing after rotation)."""
    result = await session.scalars(
        select(MeetingConfig).where(MeetingConfig.livekit_api_secret_sealed.is_not(None))
    )
    return result.all()
