"""Putting sessions into people's calendars: conflicts found and a session booked with its people.

Every way a session comes to exist (one-off, a schedule's occurrence, a confirmed booking, a
make-up) books it through `book_session`, so codes, conflicts and history are the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.service import audit
from halaqa.academies.settings import AcademySettings, code_prefix, effective_settings
from halaqa.exceptions import Conflict
from halaqa.kit.deps import Runtime
from halaqa.models import ClassSession, SessionParticipant, SessionStatusChange
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import SessionFacts, Status
from halaqa.scheduling.repository import DoubleBooked, SessionRepository
from halaqa.scheduling.steps import next_step

RACE_LOST = "double booking: someone was booked at this time a moment ago; choose another time"


@dataclass(frozen=True)
class SessionPlan:
    """Everything a new session needs, already checked by whoever asks for it."""

    kind: str
    title: str
    teacher_id: int
    student_ids: tuple[int, ...]
    student_user_id: int | None  # individual, trial and assessment sessions
    group_id: int | None
    starts_at: datetime | None  # None: unscheduled
    duration_minutes: int
    time_zone: str | None = None
    meeting_url: str | None = None
    record: bool | None = None
    description: str | None = None
    notes: str | None = None
    homework: str | None = None
    makeup_of_id: int | None = None
    schedule_id: int | None = None
    occurrence_key: int | None = None

    @property
    def people(self) -> dict[int, str]:
        return {self.teacher_id: "teacher", **dict.fromkeys(self.student_ids, "student")}


def busy_until(ctx: AcademyContext, starts_at: datetime, duration_minutes: int) -> datetime:
    """When the people of a session starting then are free again: its end plus the break."""
    pause = effective_settings(ctx.academy.settings).session_break_minutes
    return starts_at + timedelta(minutes=duration_minutes + pause)


async def find_conflicts(
    rt: Runtime,
    ctx: AcademyContext,
    people: dict[int, str],
    starts_at: datetime,
    until: datetime,
    *,
    except_session_id: int | None = None,
) -> list[dict[str, Any]]:
    """Each booking of these people that overlaps [starts_at, until), described for a person."""
    clashes = await SessionRepository(rt.session, ctx.academy.id).overlapping(
        set(people), starts_at, until, except_session_id=except_session_id
    )
    return [
        {
            "user_id": participant.user_id,
            "role": people[participant.user_id],
            "session_id": session.id,
            "session_code": session.code,
            "starts_at": session.starts_at.isoformat() if session.starts_at else None,
            "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        }
        for participant, session in clashes
    ]


def conflict_error(details: list[dict[str, Any]]) -> Conflict:
    who = ", ".join(sorted({f"{d['role']} {d['user_id']}" for d in details}))
    return Conflict(
        f"double booking: {who} already booked then ({details[0]['session_code']})",
        code="schedule_conflict",
        details=details,
    )


async def check_conflicts(
    rt: Runtime,
    ctx: AcademyContext,
    people: dict[int, str],
    starts_at: datetime,
    until: datetime,
    *,
    except_session_id: int | None = None,
) -> None:
    details = await find_conflicts(
        rt, ctx, people, starts_at, until, except_session_id=except_session_id
    )
    if details:
        raise conflict_error(details)


async def book_session(
    rt: Runtime, ctx: AcademyContext, plan: SessionPlan, *, checked: bool = False
) -> ClassSession:
    """Creates the session with its people booked, its first history row and an audit entry.
    Conflicts are checked here unless the caller `checked` them already for a whole batch; a
    race PostgreSQL's constraint catches still ends as a 409."""
    settings = effective_settings(ctx.academy.settings)
    people = plan.people
    until = None
    if plan.starts_at is not None:
        until = busy_until(ctx, plan.starts_at, plan.duration_minutes)
        if not checked:
            await check_conflicts(rt, ctx, people, plan.starts_at, until)
    sessions = SessionRepository(rt.session, ctx.academy.id)
    prefix = code_prefix(settings, plan.kind)
    ends_at = None
    if plan.starts_at is not None:
        ends_at = plan.starts_at + timedelta(minutes=plan.duration_minutes)
    session = await sessions.add(
        ClassSession(
            academy_id=ctx.academy.id,
            code=f"{prefix}-{await sessions.next_code_number(prefix):06d}",
            kind=plan.kind,
            status=Status.SCHEDULED if plan.starts_at else Status.UNSCHEDULED,
            teacher_user_id=plan.teacher_id,
            student_user_id=plan.student_user_id,
            group_id=plan.group_id,
            starts_at=plan.starts_at,
            duration_minutes=plan.duration_minutes,
            ends_at=ends_at,
            time_zone=plan.time_zone,
            meeting_url=plan.meeting_url,
            record=plan.record,
            title=plan.title,
            description=plan.description,
            notes=plan.notes,
            homework=plan.homework,
            makeup_of_id=plan.makeup_of_id,
            schedule_id=plan.schedule_id,
            occurrence_key=plan.occurrence_key,
            created_by_user_id=ctx.user_id,
            updated_by_user_id=ctx.user_id,
            scheduled_by_user_id=ctx.user_id if plan.starts_at else None,
        )
    )
    refresh_next_step(session, settings)
    booked = [
        SessionParticipant(
            session_id=session.id,
            user_id=user_id,
            academy_id=ctx.academy.id,
            role=role,
            starts_at=plan.starts_at,
            busy_until=until,
            active=plan.starts_at is not None,
        )
        for user_id, role in people.items()
    ]
    try:
        await sessions.add_participants(booked)
    except DoubleBooked:
        raise Conflict(RACE_LOST, code="schedule_conflict") from None
    await record_change(rt, ctx.actor, session, None, "create", None)
    await follow_ups.queue(rt, session, None, Status(session.status))
    await audit(
        rt,
        ctx.actor,
        "session.created",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after=snapshot(session),
    )
    return session


def snapshot(session: ClassSession) -> dict[str, Any]:
    return {
        "code": session.code,
        "status": session.status,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "duration_minutes": session.duration_minutes,
        "teacher_user_id": session.teacher_user_id,
        "schedule_id": session.schedule_id,
        "makeup_of_id": session.makeup_of_id,
    }


async def record_change(
    rt: Runtime,
    actor: Actor,
    session: ClassSession,
    from_status: Status | None,
    action: str,
    reason: str | None,
) -> None:
    await SessionRepository(rt.session, session.academy_id).add_status_change(
        SessionStatusChange(
            academy_id=session.academy_id,
            session_id=session.id,
            from_status=from_status,
            to_status=session.status,
            action=action,
            actor_user_id=actor.user_id,
            reason=reason,
            at=rt.clock.now(),
        )
    )


def refresh_next_step(session: ClassSession, settings: AcademySettings) -> None:
    """Keeps `next_step_at` in step with the session's status and time (the worker's due-scan
    reads it); called wherever either changes."""
    step = next_step(timing_of(session), settings)
    session.next_step_at = step.at if step else None


def next_step_once_finalised(session: ClassSession, settings: AcademySettings) -> datetime | None:
    """What `refresh_next_step` makes `next_step_at` once the session's attendance is finalised,
    its status left as it is."""
    step = next_step(replace(timing_of(session), attendance_finalized=True), settings)
    return step.at if step else None


def timing_of(session: ClassSession) -> SessionFacts:
    """The facts the automatic steps need: status and time, not who takes part."""
    return SessionFacts(
        status=Status(session.status),
        starts_at=session.starts_at,
        duration=timedelta(minutes=session.duration_minutes),
        teacher_id=session.teacher_user_id,
        student_ids=frozenset(),
        cancellation_reason=session.cancellation_reason,
        attendance_finalized=session.attendance_finalized_at is not None,
    )
