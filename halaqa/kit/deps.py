"""Request-scoped dependencies: the unit of work, the clock, the settings, the caller's address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.kit.clock import Clock


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with get_database(request).transaction() as session:
        yield session


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@dataclass(frozen=True)
class Runtime:
    """What a service needs from its surroundings: the open transaction, the clock, the config."""

    session: AsyncSession
    clock: Clock
    settings: Settings
    secret: bytes


def get_runtime(
    request: Request, session: Annotated[AsyncSession, Depends(get_db, scope="function")]
) -> Runtime:
    state = request.app.state
    return Runtime(session=session, clock=state.clock, settings=state.settings, secret=state.secret)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# scope="function": the commit happens before the response leaves, so a failed commit is an
# error answer, never a 2xx for data that was not written.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
CurrentClock = Annotated[Clock, Depends(get_clock)]
CurrentSettings = Annotated[Settings, Depends(get_settings)]
ClientAddress = Annotated[str, Depends(client_address)]
CurrentRuntime = Annotated[Runtime, Depends(get_runtime)]
