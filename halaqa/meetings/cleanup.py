"""The worker's sweep of rooms left open after their class: normally each room is closed by its
session's close job; this catches rooms whose job gave up or never ran (a worker down for long,
a provider that failed for hours), so no room stays open for good."""

from __future__ import annotations

import logging
from datetime import timedelta

from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import effective_settings
from halaqa.exceptions import AppError
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import log_context
from halaqa.meetings.providers.base import ProviderError
from halaqa.meetings.recordings import stop_all
from halaqa.meetings.repository import open_rooms_of_ended_sessions
from halaqa.meetings.service import close_room
from halaqa.scheduling.lifecycle import Status

log = logging.getLogger("halaqa.meetings")

BATCH = 50
ENDED = (Status.COMPLETED, Status.ABSENT, Status.CANCELLED, Status.SUSPENDED)


async def close_forgotten_rooms(rt: Runtime, *, batch: int = BATCH) -> int:
    """Closes the open rooms of sessions that are over and past their overtime cap (at once
    when cancelled); how many were closed. A provider failure leaves the room for next time."""
    now = rt.clock.now()
    academies = AcademyRepository(rt.session)
    closed = 0
    for room, session in await open_rooms_of_ended_sessions(rt.session, ENDED, now, batch):
        with log_context(session_id=session.id, academy_id=session.academy_id):
            academy = await academies.get(session.academy_id)
            assert academy is not None
            assert session.ends_at is not None
            cap = timedelta(minutes=effective_settings(academy.settings).overtime_cap_minutes)
            if session.status != Status.CANCELLED and now < session.ends_at + cap:
                continue  # running over: its close job closes it at the cap
            try:
                async with rt.session.begin_nested():
                    await stop_all(rt, academy.id, session.id)
                    await close_room(rt, academy, session)
            except (ProviderError, AppError) as error:
                log.warning("room %s stays open for now: %s", room.room_name, error)
                continue
            closed += 1
            log.info("closed the forgotten room of session %s", session.id)
    return closed
