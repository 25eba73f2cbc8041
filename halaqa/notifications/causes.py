"""What people are told about their classes: a job per change of a session (queued with the
change by scheduling's follow-ups) turns it into notifications for the right people."""

from __future__ import annotations

from typing import Any

from halaqa.academies.settings import effective_settings
from halaqa.kit.deps import Runtime
from halaqa.meetings.recordings import on_recording_ready
from halaqa.models import ClassSession
from halaqa.models.notifications import NotificationKind as Kind
from halaqa.notifications.repository import Audience, audience, series_end, series_opened_by
from halaqa.notifications.service import notify
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.jobs import handles

SESSION_CHANGED = "notifications.session_changed"
SESSION_MOVED = "notifications.session_moved"
# Where a session's status came from when it is newly on the calendar.
NEWLY_SCHEDULED = (None, Status.UNSCHEDULED.value)


def session_payload(found: Audience, base_url: str) -> dict[str, Any]:
    session = found.session
    path = f"/a/{found.academy.slug}/sessions/{session.id}"
    return {
        "session_id": session.id,
        "title": session.title,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "zone": found.zone,
        "path": path,
        # The join page, for calendars (the class attached to an email).
        "url": f"{base_url.rstrip('/')}{path}/classroom",
        "academy": found.academy.name,
        # The revision of the class as calendars count it (as the calendar feed does).
        "sequence": found.reschedules,
    }


@handles(SESSION_CHANGED)
async def session_changed(rt: Runtime, payload: dict[str, Any]) -> None:
    found = await audience(rt.session, payload["academy_id"], payload["session_id"])
    if found is None or found.session.starts_at is None:
        return
    session = found.session
    target, source = payload["to"], payload["from"]
    base = session_payload(found, rt.settings.base_url)
    # Whoever made the change knows of it already.
    actor = session.updated_by_user_id
    people = found.with_parents
    if target == Status.SCHEDULED.value and source in NEWLY_SCHEDULED:
        told = await _scheduled(rt, session)
    elif target == Status.CANCELLED.value:
        base |= {"cancelled": True, "reason": session.cancellation_reason or ""}
        base["sequence"] = found.reschedules + 1
        told = await _cancelled(rt, session, base)
    elif target == Status.READY.value:
        told = Kind.ROOM_OPEN, f"session:{session.id}:open:{base['starts_at']}"
        people, actor = found.teacher_and_students, None
    else:
        return
    if told is None:
        return
    kind, dedupe = told
    await notify(
        rt,
        kind=kind,
        user_ids=people - {actor} if actor else people,
        payload=base,
        academy_id=session.academy_id,
        dedupe=dedupe,
    )


async def _scheduled(rt: Runtime, session: ClassSession) -> tuple[Kind, str] | None:
    """A class newly on the calendar; a weekly series' classes are told once, by the first."""
    if session.schedule_id is None:
        return Kind.SESSION_SCHEDULED, f"session:{session.id}:scheduled"
    continues = await series_opened_by(rt.session, session)
    if continues is None:
        return None
    kind = Kind.SCHEDULE_CHANGED if continues else Kind.SCHEDULE_PLANNED
    return kind, f"series:{session.schedule_id}:planned"


async def _cancelled(
    rt: Runtime, session: ClassSession, payload: dict[str, Any]
) -> tuple[Kind, str] | None:
    """A class cancelled on its own; or taken off with its weekly series, whose end its people
    hear of once — from the series that takes over, if one does."""
    ended = None if session.schedule_id is None else await series_end(rt.session, session)
    if ended is None:
        at = session.cancelled_at.isoformat() if session.cancelled_at else ""
        return Kind.SESSION_CANCELLED, f"session:{session.id}:cancelled:{at}"
    if ended.continued:
        return None
    payload["date"] = ended.from_date.isoformat()
    return Kind.SCHEDULE_ENDED, f"series:{session.schedule_id}:ended"


@handles(SESSION_MOVED)
async def session_moved(rt: Runtime, payload: dict[str, Any]) -> None:
    found = await audience(rt.session, payload["academy_id"], payload["session_id"])
    if found is None or found.session.starts_at is None:
        return
    session = found.session
    base = session_payload(found, rt.settings.base_url) | {
        "old_starts_at": payload["old_starts_at"]
    }
    actor = session.scheduled_by_user_id
    people = found.with_parents
    await notify(
        rt,
        kind=Kind.SESSION_RESCHEDULED,
        user_ids=people - {actor} if actor else people,
        payload=base,
        academy_id=session.academy_id,
        dedupe=f"session:{session.id}:moved:{payload['old_starts_at']}:{base['starts_at']}",
    )


follow_ups.on_status(SESSION_CHANGED, Status.SCHEDULED, Status.CANCELLED, Status.READY)
follow_ups.on_move(SESSION_MOVED)


RECORDING_READY = "notifications.recording_ready"


@handles(RECORDING_READY)
async def recording_ready(rt: Runtime, payload: dict[str, Any]) -> None:
    """The teacher hears a recording is ready; the students and their parents too where the
    academy shows them recordings."""
    found = await audience(rt.session, payload["academy_id"], payload["session_id"])
    if found is None:
        return
    settings = effective_settings(found.academy.settings)
    people = {found.session.teacher_user_id}
    if settings.recordings_visible_to_students:
        people |= found.with_parents
    await notify(
        rt,
        kind=Kind.RECORDING_READY,
        user_ids=people,
        payload=session_payload(found, rt.settings.base_url)
        | {"recording_id": payload["recording_id"]},
        academy_id=found.session.academy_id,
        dedupe=f"recording:{payload['recording_id']}:ready",
    )


on_recording_ready(RECORDING_READY)
