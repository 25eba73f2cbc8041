"""The unit of work: sessions that stamp timestamps from the clock; commit at the boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from halaqa.db.base import Timestamped
from halaqa.kit.clock import Clock
from halaqa.kit.signal import Signal


class Database:
    """An engine plus a session factory whose sessions know the clock."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, info={"clock": clock})
        self.committed = Signal()  # notified after each transaction commits: live pages look

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self._sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session committed when the block ends, rolled back if it raises."""
        async with self._sessions() as session, session.begin():
            yield session
        self.committed.notify()

    async def dispose(self) -> None:
        await self.engine.dispose()


def clock_of(session: AsyncSession | Session) -> Clock:
    clock = session.info["clock"]
    assert clock is not None
    return clock  # type: ignore[no-any-return]


@event.listens_for(Session, "before_flush")
def _stamp_timestamps(session: Session, _context: Any, _instances: Any) -> None:
    if "clock" not in session.info:
        return
    now = clock_of(session).now()
    for obj in session.new:
        if isinstance(obj, Timestamped):
            obj.created_at = obj.created_at or now
            obj.updated_at = now
    for obj in session.dirty:
        if isinstance(obj, Timestamped) and session.is_modified(obj):
            obj.updated_at = now
