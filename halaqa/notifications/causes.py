"""What people are told about their classes: a job per change of a session (queued with the
change by scheduling's follow-ups) turns it into notifications for the right people."""

from __future__ import annotations

from typing import Any

from halaqa.academies.settings import effective_settings
from halaqa.kit.deps import Runtime
from halaqa.meetings.recordings import on_recording_ready
from halaqa.models.notifications import NotificationKind as Kind
from halaqa.notifications.repository import Audience, audience, series_opened_by
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
    if target == Status.SCHEDULED.value and source in NEWLY_SCHEDULED:
        kind, people, key = Kind.SESSION_SCHEDULED, found.with_parents, "scheduled"
        if session.schedule_id is not None:  # a weekly series: told once, by its first class
            changed = await series_opened_by(rt.session, session)
            if changed is None:
                return
            kind = Kind.SCHEDULE_CHANGED if changed else Kind.SCHEDULE_PLANNED
            key = f"series:{session.schedule_id}"
    elif target == Status.CANCELLED.value:
        base |= {"cancelled": True, "reason": session.cancellation_reason or ""}
        base["sequence"] = found.reschedules + 1
        kind, people = Kind.SESSION_CANCELLED, found.with_parents
        key = f"cancelled:{session.cancelled_at.isoformat() if session.cancelled_at else ''}"
    elif target == Status.READY.value:
        kind, people = Kind.ROOM_OPEN, found.teacher_and_students
        key = f"open:{base['starts_at']}"
        actor = None
    else:
        return
    await notify(
        rt,
        kind=kind,
        user_ids=people - {actor} if actor else people,
        payload=base,
        academy_id=session.academy_id,
        dedupe=f"session:{session.id}:{key}",
    )


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
