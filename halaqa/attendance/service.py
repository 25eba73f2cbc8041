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
from halaqa.models import ClassSession, PresenceEvent
from halaqa.scheduling.repository import SessionRepository
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


def _folded_until_now(
    rows: list[PresenceEvent], starts_at: datetime, now: datetime, merge_seconds: int
) -> dict[int, folding.Presence]:
    return folding.fold(
        [as_folding(row) for row in rows if row.at <= now],
        window_start=starts_at,
        window_end=max(now, starts_at),
        scheduled_end=now,  # a stay with no leave yet lasts until now
        merge_seconds=merge_seconds,
    )


async def in_room_now(rt: Runtime, session: ClassSession, merge_seconds: int) -> bool:
    """Whether the session's teacher or any of its students is in its room now, as far as the
    presence on record tells (observers do not keep a class open)."""
    if session.starts_at is None:
        return False
    now = rt.clock.now()
    rows = list(await PresenceRepository(rt.session, session.academy_id).of_session(session.id))
    people = {
        p.user_id
        for p in await SessionRepository(rt.session, session.academy_id).participants(session.id)
    }
    people.add(session.teacher_user_id)
    folded = _folded_until_now(rows, session.starts_at, now, merge_seconds)
    return any(
        presence.intervals[-1].end >= now - STILL_IN
        for user_id, presence in folded.items()
        if user_id in people
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
    folded = _folded_until_now(list(rows), session.starts_at, now, merge)
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
