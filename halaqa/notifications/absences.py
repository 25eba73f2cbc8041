"""Absences, told once a class's attendance is on record: each absent student's parents hear of
it, and when a student's run of consecutive absences reaches the academy's alert, the parents
and the supervisors hear of that too (once per run)."""

from __future__ import annotations

from typing import Any

from halaqa.academies.settings import effective_settings
from halaqa.attendance.finalisation import on_finalized
from halaqa.attendance.policy import AttendanceStatus
from halaqa.kit.deps import Runtime
from halaqa.models.notifications import NotificationKind
from halaqa.notifications.causes import session_payload
from halaqa.notifications.repository import (
    absent_students,
    audience,
    members_with_roles,
    recent_outcomes,
)
from halaqa.notifications.service import notify
from halaqa.reports.absences import Outcome, current_run
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.jobs import handles

ATTENDANCE_FINALIZED = "notifications.attendance_finalized"
HELD = (Status.COMPLETED.value, Status.ABSENT.value)


@handles(ATTENDANCE_FINALIZED)
async def attendance_finalized(rt: Runtime, payload: dict[str, Any]) -> None:
    academy_id, session_id = payload["academy_id"], payload["session_id"]
    found = await audience(rt.session, academy_id, session_id)
    if found is None or found.session.status not in HELD:
        return
    alert_at = effective_settings(found.academy.settings).consecutive_absence_alert
    base = session_payload(found, rt.settings.base_url)
    for student in await absent_students(rt.session, academy_id, session_id):
        about = base | {"student": found.people.get(student, ("", ""))[1]}
        await notify(
            rt,
            kind=NotificationKind.ABSENCE_RECORDED,
            user_ids=found.parents.get(student, []),
            payload=about,
            academy_id=academy_id,
            dedupe=f"session:{session_id}:absent:{student}",
        )
        if alert_at:
            parents = found.parents.get(student, [])
            await _alert_on_run(rt, academy_id, parents, student, alert_at, about)


async def _alert_on_run(
    rt: Runtime,
    academy_id: int,
    parents: list[int],
    student: int,
    alert_at: int,
    about: dict[str, Any],
) -> None:
    """Told when this class makes the run exactly `alert_at` long: once per run."""
    # Excused classes neither break nor extend a run, so look back far enough past them.
    rows = await recent_outcomes(rt.session, academy_id, student, limit=alert_at * 4 + 20)
    run = current_run(Outcome(s, at, AttendanceStatus(status)) for s, at, status in rows)
    if run.length != alert_at or run.last is None or run.last.session_id != about["session_id"]:
        return
    assert run.first is not None
    supervisors = await members_with_roles(rt.session, academy_id, ["supervisor"])
    await notify(
        rt,
        kind=NotificationKind.CONSECUTIVE_ABSENCES,
        user_ids=[*parents, *supervisors],
        payload=about | {"count": run.length, "student_id": student},
        academy_id=academy_id,
        dedupe=f"student:{student}:run-from:{run.first.session_id}:{alert_at}",
    )


on_finalized(ATTENDANCE_FINALIZED)
