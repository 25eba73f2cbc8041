"""What the academy's systems are told (outbound webhooks): a job per change, queued with the
change by the registries of scheduling, attendance, billing and recordings, turns it into an
event with the data a receiving system needs."""

from __future__ import annotations

from typing import Any

from halaqa.attendance.finalisation import on_finalized
from halaqa.attendance.repository import AttendanceRepository
from halaqa.billing.service import on_ledger_entry
from halaqa.kit.deps import Runtime
from halaqa.meetings.recordings import on_recording_ready
from halaqa.notifications.outbound import emit
from halaqa.notifications.repository import Audience, audience
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.jobs import handles

SESSION_CHANGED = "webhooks.session_changed"
SESSION_MOVED = "webhooks.session_moved"
ATTENDANCE_FINALIZED = "webhooks.attendance_finalized"
LEDGER_CHANGED = "webhooks.ledger_changed"
RECORDING_READY = "webhooks.recording_ready"
# A class that took place is completed for the academy's systems, whether its student came.
BY_STATUS = {
    Status.CANCELLED.value: "session.cancelled",
    Status.ONGOING.value: "session.started",
    Status.COMPLETED.value: "session.completed",
    Status.ABSENT.value: "session.completed",
}


def session_data(found: Audience) -> dict[str, Any]:
    session = found.session
    return {
        "session_id": session.id,
        "code": session.code,
        "kind": session.kind,
        "title": session.title,
        "status": session.status,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "time_zone": found.zone,
        "teacher_user_id": session.teacher_user_id,
        "student_user_ids": sorted(
            user for user, (role, _name) in found.people.items() if role == "student"
        ),
        "group_id": session.group_id,
        "cancellation_reason": session.cancellation_reason,
        "makeup_owed": session.makeup_owed,
    }


async def _tell(rt: Runtime, payload: dict[str, Any], event_type: str, **extra: Any) -> None:
    found = await audience(rt.session, payload["academy_id"], payload["session_id"])
    if found is not None:
        data = session_data(found) | extra
        await emit(rt, found.academy.id, found.academy.slug, event_type, data)


@handles(SESSION_CHANGED)
async def session_changed(rt: Runtime, payload: dict[str, Any]) -> None:
    target, source = payload["to"], payload["from"]
    if target == Status.SCHEDULED.value:
        if source in (None, Status.UNSCHEDULED.value):
            await _tell(rt, payload, "session.scheduled")
        return
    if target in BY_STATUS:
        await _tell(rt, payload, BY_STATUS[target], previous_status=source)


@handles(SESSION_MOVED)
async def session_moved(rt: Runtime, payload: dict[str, Any]) -> None:
    await _tell(rt, payload, "session.rescheduled", previous_starts_at=payload["old_starts_at"])


@handles(ATTENDANCE_FINALIZED)
async def attendance_finalized(rt: Runtime, payload: dict[str, Any]) -> None:
    records = await AttendanceRepository(rt.session, payload["academy_id"]).records(
        payload["session_id"]
    )
    attendance = [
        {
            "user_id": r.user_id,
            "role": r.role,
            "status": r.status,
            "computed_status": r.computed_status,
            "seconds": r.seconds,
            "first_join": r.first_join.isoformat() if r.first_join else None,
            "last_leave": r.last_leave.isoformat() if r.last_leave else None,
        }
        for r in records
    ]
    await _tell(rt, payload, "attendance.finalized", attendance=attendance)


@handles(LEDGER_CHANGED)
async def ledger_changed(rt: Runtime, payload: dict[str, Any]) -> None:
    await _tell(
        rt,
        payload,
        "ledger.changed",
        ledger_entry={
            "kind": payload["kind"],
            "outcome": payload["outcome"],
            "student_user_id": payload["student_id"],
            "subscription_id": payload["subscription_id"],
            "cycle_id": payload["cycle_id"],
        },
    )


@handles(RECORDING_READY)
async def recording_ready(rt: Runtime, payload: dict[str, Any]) -> None:
    await _tell(rt, payload, "recording.ready", recording_id=payload["recording_id"])


follow_ups.on_status(
    SESSION_CHANGED,
    Status.SCHEDULED,
    Status.CANCELLED,
    Status.ONGOING,
    Status.COMPLETED,
    Status.ABSENT,
)
follow_ups.on_move(SESSION_MOVED)
on_finalized(ATTENDANCE_FINALIZED)
on_ledger_entry(LEDGER_CHANGED)
on_recording_ready(RECORDING_READY)
