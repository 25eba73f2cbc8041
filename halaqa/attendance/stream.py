"""Live updates for the session pages, as server-sent events: the session's status and who is in
its room, sent when they change. Each look at the database is a short transaction of its own;
commits in this process wake the stream at once, other processes' are seen at the next look
(every LOOK_EVERY seconds). The stream ends once the session is over and its attendance is on
record, and whenever the viewer may no longer see the session.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.auth import AcademyContext
from halaqa.attendance.service import live_presence
from halaqa.db.session import Database
from halaqa.exceptions import AppError
from halaqa.kit.deps import Runtime
from halaqa.scheduling.lifecycle import FINISHED, Status
from halaqa.scheduling.service import get_session

LOOK_EVERY = 5.0  # seconds between looks when nothing in this process committed
AT_MOST_EVERY = 1.0  # seconds: however busy the process, a stream looks no more often
RETRY_MS = 3000  # what the browser waits before reconnecting a dropped stream


@dataclass(frozen=True)
class _Look:
    status: dict[str, Any]
    presence: list[dict[str, Any]]
    over: bool


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _look(rt: Runtime, ctx: AcademyContext, session_id: int) -> _Look:
    view = await get_session(rt, ctx, session_id)
    session = view.session
    people = await live_presence(rt, ctx, session_id)
    status = Status(session.status)
    return _Look(
        status={
            "status": status.value,
            "cancellation_reason": session.cancellation_reason,
            "attendance_finalized": session.attendance_finalized_at is not None,
        },
        presence=[
            {
                "user_id": p.user_id,
                "role": p.role,
                "in_now": p.in_now,
                "since": p.since.isoformat() if p.since else None,
                "first_join": p.first_join.isoformat(),
                "seconds": p.seconds,
                "reconnects": p.reconnects,
            }
            for p in people
        ],
        over=status in FINISHED and session.attendance_finalized_at is not None,
    )


def _who_is_in(presence: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What makes a presence update worth sending: who is in and since when, not the seconds
    that grow by themselves (the page counts them on from `since`)."""
    return [(p["user_id"], p["in_now"], p["since"], p["reconnects"]) for p in presence]


RuntimeOf = Callable[[AsyncSession], Runtime]


async def session_events(
    database: Database,
    rt_of: RuntimeOf,
    ctx: AcademyContext,
    session_id: int,
    *,
    follow: bool = True,
) -> AsyncIterator[str]:
    """The stream's text. Looks read in a transaction of their own that notifies nobody, so
    streams never wake each other."""
    yield f"retry: {RETRY_MS}\n\n"
    sent_status: dict[str, Any] | None = None
    sent_presence: list[tuple[Any, ...]] | None = None
    while True:
        mark = database.committed.mark()
        try:
            async with database.session() as db, db.begin():
                look = await _look(rt_of(db), ctx, session_id)
        except AppError as error:  # no longer visible, or gone
            yield _event("error", {"code": error.code, "message": str(error)})
            return
        if look.status != sent_status:
            sent_status = look.status
            yield _event("status", look.status)
        if _who_is_in(look.presence) != sent_presence:
            sent_presence = _who_is_in(look.presence)
            yield _event("presence", look.presence)
        if look.over:
            yield _event("end", {})
            return
        if not follow:
            return
        yield ": still here\n\n"  # keeps proxies from closing a quiet stream
        await asyncio.sleep(AT_MOST_EVERY)
        await database.committed.wait(mark, LOOK_EVERY)
