"""Presence in: every source normalised into presence events. LiveKit's webhooks (who joined,
left, dropped, and the room finishing), the worker's polls of a live room's participants, and
heartbeats from Halaqa's own meeting page (the only source for classes on meeting links)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from livekit import api as lk

from halaqa.academies.auth import AcademyContext
from halaqa.attendance.finalisation import presence_arrived
from halaqa.attendance.repository import PresenceRepository
from halaqa.exceptions import RateLimited
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import log_context
from halaqa.meetings.providers.base import ProviderError
from halaqa.meetings.repository import MeetingRepository, rooms_to_poll
from halaqa.meetings.service import admitted, provider_for
from halaqa.models import MeetingEvent, PresenceEvent, SessionRoom
from halaqa.scheduling.lifecycle import Status

log = logging.getLogger("halaqa.attendance")

# Identities Halaqa gives in its join tokens: "user-<id>".
_IDENTITY = re.compile(r"^user-(\d{1,18})$")
_WEBHOOK_KINDS = {
    "participant_joined": "joined",
    "participant_left": "left",
    "participant_connection_aborted": "aborted",
    "room_finished": "room_finished",
}
HEARTBEAT_EVERY = timedelta(seconds=30)  # what the meeting page is told
HEARTBEAT_AT_MOST = timedelta(seconds=10)  # closer ones are refused, not kept
POLL_BATCH = 50
LIVE = (Status.READY, Status.ONGOING)


def user_of(identity: str) -> int | None:
    found = _IDENTITY.match(identity)
    return int(found.group(1)) if found else None


def _seconds(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


async def from_webhook(
    rt: Runtime, stored: MeetingEvent, parsed: lk.WebhookEvent, room: SessionRoom
) -> None:
    """The presence a processed LiveKit event tells of, if any. A join counts from the moment
    the participant's media connected (joined_at), the rest from when LiveKit sent them."""
    kind = _WEBHOOK_KINDS.get(parsed.event)
    if kind is None:
        return
    user_id = None
    if kind != "room_finished":
        user_id = user_of(parsed.participant.identity)
        if user_id is None:
            log.warning(
                "event %s: identity %r is not one of Halaqa's",
                stored.event_id,
                parsed.participant.identity,
            )
            return
    at = _seconds(parsed.created_at) if parsed.created_at else stored.received_at
    if kind == "joined" and parsed.participant.joined_at_ms:
        at = datetime.fromtimestamp(parsed.participant.joined_at_ms / 1000, UTC)
    added = await PresenceRepository(rt.session, room.academy_id).add(
        [
            PresenceEvent(
                academy_id=room.academy_id,
                session_id=room.session_id,
                user_id=user_id,
                participant_id=parsed.participant.sid or None,
                kind=kind,
                source="webhook",
                at=at,
                arrived_at=stored.received_at,
                meeting_event_id=stored.id,
                event_key=f"webhook:{stored.provider}:{stored.event_id}",
            )
        ]
    )
    if added:
        arrivals = {user_id} if kind == "joined" and user_id is not None else set()
        await presence_arrived(rt, room.academy_id, room.session_id, arrivals)


async def heartbeat(rt: Runtime, ctx: AcademyContext, session_id: int, page_id: str) -> None:
    """Someone's meeting page says they are still in the class. Only those admitted to the
    room now are heard; a page that beats faster than HEARTBEAT_AT_MOST is refused (429)."""
    session, _decision = await admitted(rt, ctx, session_id)
    assert ctx.user_id is not None
    now = rt.clock.now()
    presence = PresenceRepository(rt.session, ctx.academy.id)
    participant_id = f"page:{page_id}"
    last = await presence.last_heartbeat(session.id, ctx.user_id, participant_id)
    if last is not None and now - last < HEARTBEAT_AT_MOST:
        wait = HEARTBEAT_AT_MOST - (now - last)
        raise RateLimited(
            "this page sent a heartbeat moments ago",
            retry_after_seconds=max(int(wait.total_seconds()), 1),
        )
    await presence.add(
        [
            PresenceEvent(
                academy_id=ctx.academy.id,
                session_id=session.id,
                user_id=ctx.user_id,
                participant_id=participant_id,
                kind="confirmed",
                source="heartbeat",
                at=now,
                arrived_at=now,
                event_key=f"heartbeat:{session.id}:{ctx.user_id}:{page_id}:{now.isoformat()}",
            )
        ]
    )
    await presence_arrived(rt, ctx.academy.id, session.id, {ctx.user_id})


async def poll_presence(rt: Runtime, *, batch: int = POLL_BATCH) -> int:
    """Asks LiveKit who is in each live room not asked for `presence_poll_seconds`, and keeps
    what it says as confirmed presence; how many rooms were asked. A room LiveKit cannot answer
    for is asked again next time."""
    now = rt.clock.now()
    every = timedelta(seconds=rt.settings.presence_poll_seconds)
    asked = 0
    for room in await rooms_to_poll(rt.session, LIVE, now - every, batch):
        room.polled_at = now
        with log_context(session_id=room.session_id, academy_id=room.academy_id):
            try:
                provider = provider_for(
                    rt, await MeetingRepository(rt.session, room.academy_id).config()
                )
                present = await provider.list_participants(room.room_name)
            except ProviderError as error:
                log.warning("could not ask who is in room %s: %s", room.room_name, error)
                continue
            asked += 1
            events = [
                PresenceEvent(
                    academy_id=room.academy_id,
                    session_id=room.session_id,
                    user_id=user_id,
                    participant_id=participant.sid,
                    kind="confirmed",
                    source="poll",
                    at=now,
                    arrived_at=now,
                    event_key=f"poll:{room.session_id}:{participant.sid}:{now.isoformat()}",
                )
                for participant in present
                if (user_id := user_of(participant.identity)) is not None
            ]
            if await PresenceRepository(rt.session, room.academy_id).add(events):
                arrivals = {event.user_id for event in events if event.user_id is not None}
                await presence_arrived(rt, room.academy_id, room.session_id, arrivals)
    return asked
