"""What the people running a class do to its room while it is live: let students share their
screens, mute or remove someone, and end the class now (the only way a room closes on people
mid-sentence)."""

from __future__ import annotations

import logging

from halaqa.academies.auth import AcademyContext
from halaqa.academies.service import audit
from halaqa.exceptions import Conflict, NotFound, Unavailable
from halaqa.kit.deps import Runtime
from halaqa.meetings.providers.base import MeetingProvider, NotInRoom, ProviderError, TrackKind
from halaqa.meetings.providers.link import LinkProvider
from halaqa.meetings.recordings import stop_all
from halaqa.meetings.repository import MeetingRepository
from halaqa.meetings.service import close_room, provider_for
from halaqa.models import SessionRoom
from halaqa.scheduling.lifecycle import Status
from halaqa.scheduling.service import SessionView, runner_view, transition, view_of

log = logging.getLogger("halaqa.meetings")


async def set_screen_share(rt: Runtime, ctx: AcademyContext, session_id: int, allowed: bool) -> int:
    """Lets the session's students share their screens (or stops them): at once for those in the
    room, and in the tokens of those who join later. How many in the room were changed."""
    view, _by = await runner_view(rt, ctx, session_id)
    meetings = MeetingRepository(rt.session, ctx.academy.id)
    room = await meetings.room(view.session.id, lock=True)
    if room is None or room.status != "open":
        raise Conflict("the class's room is not open", code="room_not_open")
    provider = provider_for(rt, await meetings.config())
    if isinstance(provider, LinkProvider):
        raise Conflict(
            "in a linked meeting, its host allows screen sharing there", code="not_supported"
        )
    students = [f"user-{user_id}" for user_id in sorted(view.facts.student_ids)]
    try:
        changed = await provider.allow_screen_share(room.room_name, students, allowed)
    except ProviderError as error:
        raise Unavailable(str(error)) from None
    room.students_may_share_screen = allowed
    await audit(
        rt,
        ctx.actor,
        "session.screen_share",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=view.session.id,
        after={"students_may_share": allowed, "updated_participants": changed},
    )
    return changed


async def _person_in_room(
    rt: Runtime, ctx: AcademyContext, session_id: int, user_id: int
) -> tuple[SessionView, SessionRoom, MeetingProvider]:
    """The live class the viewer runs, its open room and provider, for acting on one of its
    people (its teacher or a student)."""
    view, _by = await runner_view(rt, ctx, session_id)
    if user_id != view.facts.teacher_id and user_id not in view.facts.student_ids:
        raise NotFound(f"user {user_id} takes no part in this session")
    meetings = MeetingRepository(rt.session, ctx.academy.id)
    room = await meetings.room(view.session.id)
    if room is None or room.status != "open":
        raise Conflict("the class's room is not open", code="room_not_open")
    try:
        provider = provider_for(rt, await meetings.config())
    except ProviderError as error:
        raise Unavailable(str(error)) from None
    if isinstance(provider, LinkProvider):
        raise Conflict(
            "in a linked meeting, its host mutes and removes people there", code="not_supported"
        )
    return view, room, provider


async def mute(
    rt: Runtime, ctx: AcademyContext, session_id: int, user_id: int, kind: TrackKind
) -> int:
    """Mutes one of the class's people (their microphone, camera or screen) in the room now;
    how many of their tracks it muted. Only they can turn it on again."""
    view, room, provider = await _person_in_room(rt, ctx, session_id, user_id)
    try:
        muted = await provider.mute_participant(room.room_name, f"user-{user_id}", kind)
    except NotInRoom:
        raise Conflict(f"user {user_id} is not in the room now", code="not_in_room") from None
    except ProviderError as error:
        raise Unavailable(str(error)) from None
    await audit(
        rt,
        ctx.actor,
        "session.participant_muted",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=view.session.id,
        after={"user_id": user_id, "track": kind.value, "muted_tracks": muted},
    )
    return muted


async def remove(rt: Runtime, ctx: AcademyContext, session_id: int, user_id: int) -> None:
    """Takes one of the class's people out of the room now. Not a ban: they may join again
    while joining is open (their attendance counts the time they were in)."""
    view, room, provider = await _person_in_room(rt, ctx, session_id, user_id)
    try:
        await provider.remove_participant(room.room_name, f"user-{user_id}")
    except NotInRoom:
        raise Conflict(f"user {user_id} is not in the room now", code="not_in_room") from None
    except ProviderError as error:
        raise Unavailable(str(error)) from None
    await audit(
        rt,
        ctx.actor,
        "session.participant_removed",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=view.session.id,
        after={"user_id": user_id},
    )


async def end_now(rt: Runtime, ctx: AcademyContext, session_id: int) -> SessionView:
    """Completes a class that is running and closes its room at once. A class that has already
    completed (running over) just has its room closed."""
    view, by = await runner_view(rt, ctx, session_id)
    session = view.session
    if session.status == Status.ONGOING:
        await transition(rt, session, Status.COMPLETED, by, ctx.actor, reason="ended now")
    elif session.status not in {Status.COMPLETED, Status.ABSENT}:
        raise Conflict(
            f"this {session.status} class is not running; cancel it instead", code="not_live"
        )
    try:
        await close_room(rt, ctx.academy, session)
    except ProviderError as error:
        # Nothing is changed, in Halaqa or in LiveKit: the class goes on, still recorded.
        raise Unavailable(f"the room could not be closed: {error}") from None
    try:
        await stop_all(rt, ctx.academy.id, session.id)
    except (ProviderError, Unavailable) as error:
        # The room is gone, and LiveKit ends its recordings with it (egress_ended follows): a
        # refused stop must not bring back a class whose room no longer exists.
        log.warning(
            "session %s: recordings not stopped after its room closed: %s", session.id, error
        )
    await audit(
        rt,
        ctx.actor,
        "session.ended_now",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={"status": session.status},
    )
    return await view_of(rt, ctx, session)
