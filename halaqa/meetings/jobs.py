"""Rooms follow their sessions: opened when a session is ready (retried until it works or the
session is over), closed when it ends — gracefully, at the overtime cap, unless it was cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from halaqa.academies.settings import effective_settings
from halaqa.kit.deps import Runtime
from halaqa.meetings.recordings import stop_all
from halaqa.meetings.service import academy_of, close_room, open_room
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.worker.jobs import enqueue, handles, retry_delay

OPEN, CLOSE = "meetings.open_room", "meetings.close_room"
LIVE = {Status.READY.value, Status.ONGOING.value}


@handles(OPEN)
async def open_room_job(rt: Runtime, payload: dict[str, Any]) -> None:
    academy = await academy_of(rt, payload["academy_id"])
    session = await SessionRepository(rt.session, academy.id).get(payload["session_id"])
    if session is None or session.status not in LIVE:
        return  # over before its room was needed
    room = await open_room(rt, academy, session)
    if room.status == "failed":  # kept on the room for people to see; tried again later
        await enqueue(rt, OPEN, payload, academy_id=academy.id, delay=retry_delay(room.attempts))


@handles(CLOSE)
async def close_room_job(rt: Runtime, payload: dict[str, Any]) -> None:
    academy = await academy_of(rt, payload["academy_id"])
    session = await SessionRepository(rt.session, academy.id).get(payload["session_id"])
    if session is None or session.status in LIVE:
        return  # reopened meanwhile
    if session.status != Status.CANCELLED and session.ends_at is not None:
        # A class that ran over is not cut off: the room closes by itself once everyone has
        # left, and at the latest at the overtime cap.
        settings = effective_settings(academy.settings)
        cap = session.ends_at + timedelta(minutes=settings.overtime_cap_minutes)
        if rt.clock.now() < cap:
            await enqueue(rt, CLOSE, payload, academy_id=academy.id, delay=cap - rt.clock.now())
            return
    await stop_all(rt, academy.id, session.id)
    await close_room(rt, academy, session)


follow_ups.on_status(OPEN, Status.READY, Status.ONGOING)
follow_ups.on_status(CLOSE, Status.COMPLETED, Status.ABSENT, Status.CANCELLED)
