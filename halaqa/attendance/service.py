"""Attendance as people see it: who is in a class now, since when, and for how long so far,
folded from the presence on record by the same code that will finalise it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.settings import effective_settings
from halaqa.attendance import folding
from halaqa.attendance.repository import PresenceRepository
from halaqa.kit.deps import Runtime
from halaqa.models import PresenceEvent
from halaqa.scheduling.service import get_session

# Someone last seen this recently (a poll, a heartbeat, or a join not followed by a leave) is
# taken to be in the room: a little over the slowest confirmation, a poll a minute.
STILL_IN = timedelta(seconds=90)


@dataclass(frozen=True)
class LivePresence:
    user_id: int
    role: str  # teacher, student, or observer (staff and parents watching)
    in_now: bool
    since: datetime | None  # when the current stay began, while in
    first_join: datetime
    seconds: int  # present so far, from the scheduled start
    reconnects: int


def as_folding(row: PresenceEvent) -> folding.PresenceEvent:
    return folding.PresenceEvent(
        user_id=row.user_id,
        participant_id=row.participant_id,
        kind=folding.Kind(row.kind),
        at=row.at,
        source=folding.Source(row.source),
        event_key=row.event_key,
    )


async def live_presence(rt: Runtime, ctx: AcademyContext, session_id: int) -> list[LivePresence]:
    """Everyone who has been in the class, as of now: a stay with no leave yet lasts until now,
    unless a later confirmation says otherwise."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    now = rt.clock.now()
    if session.starts_at is None or now < session.starts_at - timedelta(hours=1):
        return []
    rows = await PresenceRepository(rt.session, ctx.academy.id).of_session(session.id)
    merge = effective_settings(ctx.academy.settings).reconnect_merge_seconds
    folded = folding.fold(
        [as_folding(row) for row in rows if row.at <= now],
        window_start=session.starts_at,
        window_end=max(now, session.starts_at),
        scheduled_end=now,
        merge_seconds=merge,
    )
    roles = {p.user_id: p.role for p in view.participants}
    roles[session.teacher_user_id] = "teacher"
    people = []
    for user_id, presence in sorted(folded.items()):
        last = presence.intervals[-1]
        in_now = last.end >= now - STILL_IN
        people.append(
            LivePresence(
                user_id=user_id,
                role=roles.get(user_id, "observer"),
                in_now=in_now,
                since=last.start if in_now else None,
                first_join=presence.first_join,
                seconds=presence.seconds,
                reconnects=presence.reconnects,
            )
        )
    return people
