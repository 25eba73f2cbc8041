"""Class sessions: create, look up for a viewer, and change status through one function."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.repository import GuardianshipRepository
from halaqa.academies.roles import Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.academies.settings import AcademySettings, code_prefix, effective_settings
from halaqa.catalog.repository import EnrollmentRepository, GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import (
    ClassSession,
    Group,
    SessionParticipant,
    SessionReschedule,
    SessionStatusChange,
)
from halaqa.scheduling import lifecycle
from halaqa.scheduling.lifecycle import By, SessionFacts, Status, TransitionRefused, Viewer
from halaqa.scheduling.recurrence import LocalTimeError, resolve_local
from halaqa.scheduling.repository import DoubleBooked, SessionFilter, SessionRepository
from halaqa.scheduling.schemas import RescheduleRequest, SessionCreate

# Sessions read their group whoever is looking: the session's own visibility was decided already.
_ALL_GROUPS = CatalogViewer(user_id=None, sees_all=True)


@dataclass(frozen=True)
class SessionView:
    """A session with what the rules need, as one viewer sees it."""

    session: ClassSession
    participants: list[SessionParticipant]
    facts: SessionFacts
    time_zone: str


async def viewer_of(rt: Runtime, ctx: AcademyContext) -> Viewer:
    children: frozenset[int] = frozenset()
    if ctx.user_id is not None and Role.PARENT in ctx.roles:
        found = await GuardianshipRepository(rt.session, ctx.academy.id).children_by_parent(
            [ctx.user_id]
        )
        children = frozenset(child.id for child in found.get(ctx.user_id, []))
    return Viewer(user_id=ctx.user_id, roles=ctx.roles, children=children)


def _facts(session: ClassSession, participants: Sequence[SessionParticipant]) -> SessionFacts:
    return SessionFacts(
        status=Status(session.status),
        starts_at=session.starts_at,
        duration=timedelta(minutes=session.duration_minutes),
        teacher_id=session.teacher_user_id,
        student_ids=frozenset(p.user_id for p in participants if p.role == "student"),
        cancellation_reason=session.cancellation_reason,
    )


def _settings(ctx: AcademyContext) -> AcademySettings:
    return effective_settings(ctx.academy.settings)


async def _view(
    rt: Runtime, ctx: AcademyContext, session: ClassSession, group: Group | None = None
) -> SessionView:
    participants = list(
        await SessionRepository(rt.session, ctx.academy.id).participants(session.id)
    )
    if group is None and session.group_id is not None:
        group = await GroupRepository(rt.session, ctx.academy.id).get(_ALL_GROUPS, session.group_id)
    zone = session.time_zone or (group.time_zone if group else None) or ctx.academy.time_zone
    return SessionView(session, participants, _facts(session, participants), zone)


def _may_see(viewer: Viewer, view: SessionView) -> bool:
    return lifecycle.part_of(view.facts, viewer) is not lifecycle.Part.NONE


async def get_session(rt: Runtime, ctx: AcademyContext, session_id: int) -> SessionView:
    """The session if the viewer takes part in it (or is staff); otherwise 404, as if absent."""
    session = await SessionRepository(rt.session, ctx.academy.id).get(session_id)
    if session is not None:
        view = await _view(rt, ctx, session)
        if _may_see(await viewer_of(rt, ctx), view):
            return view
    raise NotFound(f"no session {session_id} in this academy")


# --- creating --------------------------------------------------------------------------------


async def _group_for(rt: Runtime, ctx: AcademyContext, data: SessionCreate) -> Group | None:
    if data.kind != "group":
        if data.group_id is not None:
            raise InvalidInput.field("group_id", f"a {data.kind} session has no group")
        if data.student_user_id is None:
            raise InvalidInput.field("student_user_id", f"a {data.kind} session needs a student")
        return None
    if data.student_user_id is not None:
        raise InvalidInput.field("student_user_id", "a group session takes its group's students")
    if data.group_id is None:
        raise InvalidInput.field("group_id", "a group session needs a group")
    group = await GroupRepository(rt.session, ctx.academy.id).get(_ALL_GROUPS, data.group_id)
    if group is None:
        raise InvalidInput.field("group_id", f"no group {data.group_id} in this academy")
    if group.status in {"completed", "cancelled"}:
        raise InvalidInput.field("group_id", f"the group is {group.status}")
    return group


def _start_of(data: SessionCreate | RescheduleRequest, zone: str, now: datetime) -> datetime | None:
    if data.starts_at is not None and data.local_start is not None:
        raise InvalidInput.field("local_start", "give starts_at or local_start, not both")
    if data.local_start is not None:
        try:
            starts_at = resolve_local(data.local_start.date, data.local_start.time, zone)
        except LocalTimeError as error:
            raise InvalidInput.field("local_start", str(error)) from None
    elif data.starts_at is not None:
        starts_at = data.starts_at.astimezone(zoneinfo.ZoneInfo("UTC"))
    else:
        return None
    if starts_at <= now:
        field = "local_start" if data.local_start is not None else "starts_at"
        raise InvalidInput.field(field, "must be in the future")
    return starts_at


async def _check_conflicts(
    rt: Runtime,
    ctx: AcademyContext,
    people: dict[int, str],
    starts_at: datetime,
    busy_until: datetime,
    except_session_id: int | None = None,
) -> None:
    clashes = await SessionRepository(rt.session, ctx.academy.id).overlapping(
        set(people), starts_at, busy_until, except_session_id=except_session_id
    )
    if clashes:
        details = [
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
        who = ", ".join(sorted({f"{d['role']} {d['user_id']}" for d in details}))
        raise Conflict(
            f"double booking: {who} already booked then ({details[0]['session_code']})",
            code="schedule_conflict",
            details=details,
        )


async def create_session(rt: Runtime, ctx: AcademyContext, data: SessionCreate) -> SessionView:
    settings = _settings(ctx)
    group = await _group_for(rt, ctx, data)
    teacher_id = data.teacher_user_id or (group.teacher_user_id if group else None)
    if teacher_id is None:
        raise InvalidInput.field("teacher_user_id", "a session needs a teacher")
    if not ctx.roles & {Role.ADMIN, Role.SUPERVISOR} and ctx.user_id != teacher_id:
        raise Forbidden("teachers schedule their own sessions only", code="role_required")
    await require_member_with_role(rt, ctx, "teacher_user_id", teacher_id, Role.TEACHER)
    students: list[int] = []
    if data.student_user_id is not None:
        await require_member_with_role(
            rt, ctx, "student_user_id", data.student_user_id, Role.STUDENT
        )
        students = [data.student_user_id]
    elif group is not None:
        enrollments = await EnrollmentRepository(rt.session, ctx.academy.id).all_open(group)
        students = sorted(e.student_user_id for e in enrollments if e.status == "enrolled")
    if teacher_id in students:
        raise InvalidInput.field("teacher_user_id", "the teacher cannot be one of the students")
    zone = data.time_zone or (group.time_zone if group else None) or ctx.academy.time_zone
    starts_at = _start_of(data, zone, rt.clock.now())
    people = {teacher_id: "teacher", **dict.fromkeys(students, "student")}
    busy_until = None
    if starts_at is not None:
        ends_at = starts_at + timedelta(minutes=data.duration_minutes)
        busy_until = ends_at + timedelta(minutes=settings.session_break_minutes)
        await _check_conflicts(rt, ctx, people, starts_at, busy_until)
    sessions = SessionRepository(rt.session, ctx.academy.id)
    prefix = code_prefix(settings, data.kind)
    session = await sessions.add(
        ClassSession(
            academy_id=ctx.academy.id,
            code=f"{prefix}-{await sessions.next_code_number(prefix):06d}",
            kind=data.kind,
            status=Status.SCHEDULED if starts_at else Status.UNSCHEDULED,
            teacher_user_id=teacher_id,
            student_user_id=data.student_user_id,
            group_id=group.id if group else None,
            starts_at=starts_at,
            duration_minutes=data.duration_minutes,
            ends_at=starts_at + timedelta(minutes=data.duration_minutes) if starts_at else None,
            time_zone=data.time_zone,
            title=data.title,
            description=data.description,
            notes=data.notes,
            homework=data.homework,
            created_by_user_id=ctx.user_id,
            updated_by_user_id=ctx.user_id,
            scheduled_by_user_id=ctx.user_id if starts_at else None,
        )
    )
    booked = [
        SessionParticipant(
            session_id=session.id,
            user_id=user_id,
            academy_id=ctx.academy.id,
            role=role,
            starts_at=starts_at,
            busy_until=busy_until,
            active=starts_at is not None,
        )
        for user_id, role in people.items()
    ]
    try:
        await sessions.add_participants(booked)
    except DoubleBooked:
        raise Conflict(
            "double booking: someone was booked at this time a moment ago; choose another time",
            code="schedule_conflict",
        ) from None
    await _record(rt, ctx.actor, session, None, "create", None)
    await audit(
        rt,
        ctx.actor,
        "session.created",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after=_snapshot(session),
    )
    return await _view(rt, ctx, session, group)


def _snapshot(session: ClassSession) -> dict[str, Any]:
    return {
        "code": session.code,
        "status": session.status,
        "starts_at": session.starts_at.isoformat() if session.starts_at else None,
        "duration_minutes": session.duration_minutes,
        "teacher_user_id": session.teacher_user_id,
    }


async def _record(
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


# --- changing status -------------------------------------------------------------------------

# A session in these statuses keeps its people's time booked.
_BOOKED = frozenset(
    {Status.SCHEDULED, Status.READY, Status.ONGOING, Status.COMPLETED, Status.ABSENT}
)


async def transition(
    rt: Runtime,
    session: ClassSession,
    target: Status,
    by: By,
    actor: Actor,
    *,
    reason: str | None = None,
) -> None:
    """THE way a session's status changes: checks the lifecycle, records the history, and keeps
    the people's calendars in step. Nothing else in Halaqa writes `status`."""
    current = Status(session.status)
    try:
        rule = lifecycle.check_transition(
            current, target, by, cancellation_reason=session.cancellation_reason
        )
    except TransitionRefused as refused:
        raise Conflict(
            str(refused),
            code="invalid_transition",
            details={"from": current, "to": target, "allowed": refused.allowed},
        ) from None
    session.status = target
    session.updated_by_user_id = actor.user_id
    if target is Status.CANCELLED:
        session.cancellation_reason = reason
        session.cancelled_at = rt.clock.now()
        session.cancelled_by_user_id = actor.user_id
    elif current is Status.CANCELLED:
        session.cancellation_reason = None
        session.cancelled_at = None
        session.cancelled_by_user_id = None
    if (current in _BOOKED) != (target in _BOOKED):
        await SessionRepository(rt.session, session.academy_id).set_participation(
            session.id, active=target in _BOOKED
        )
    await _record(rt, actor, session, current, rule.action, reason)


def _by(viewer: Viewer, view: SessionView) -> By:
    by = lifecycle.acting_as(view.facts, viewer)
    if by is None:
        raise Forbidden(
            "only the session's teacher or the academy's staff may do this", code="not_allowed"
        )
    return by


async def cancel_session(
    rt: Runtime, ctx: AcademyContext, session_id: int, reason: str
) -> SessionView:
    view = await get_session(rt, ctx, session_id)
    viewer = await viewer_of(rt, ctx)
    by = _by(viewer, view)
    session = view.session
    await transition(rt, session, Status.CANCELLED, by, ctx.actor, reason=reason)
    notice = timedelta(hours=_settings(ctx).cancel_notice_hours)
    session.late_cancellation = (
        session.starts_at is not None and session.starts_at - rt.clock.now() < notice
    )
    await audit(
        rt,
        ctx.actor,
        "session.cancelled",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={"reason": reason, "late": session.late_cancellation},
    )
    return await _view(rt, ctx, session)


ACTIONS = {"start": Status.ONGOING, "complete": Status.COMPLETED, "mark_absent": Status.ABSENT}


async def act(
    rt: Runtime, ctx: AcademyContext, session_id: int, action: str, reason: str | None
) -> SessionView:
    """start, complete or mark_absent, when the viewer's abilities allow it right now."""
    view = await get_session(rt, ctx, session_id)
    viewer = await viewer_of(rt, ctx)
    by = _by(viewer, view)
    allowed = lifecycle.abilities(view.facts, viewer, _settings(ctx), rt.clock.now())
    if action not in allowed.actions:
        raise Conflict(
            f"you cannot {action.replace('_', ' ')} this {view.session.status} session now; "
            f"you may: {', '.join(allowed.actions) or 'nothing'}",
            code="action_not_allowed",
            details={"allowed": allowed.actions},
        )
    await transition(rt, view.session, ACTIONS[action], by, ctx.actor, reason=reason)
    return await _view(rt, ctx, view.session)


# --- listing ---------------------------------------------------------------------------------

SCOPES = ("today", "upcoming", "past", "week")


def scope_bounds(scope: str, now: datetime, zone: str) -> tuple[datetime | None, datetime | None]:
    """[from, before) of a named scope, with days and weeks taken in the viewer's time zone."""
    if scope == "upcoming":
        return now, None
    if scope == "past":
        return None, now
    local_now = now.astimezone(zoneinfo.ZoneInfo(zone))
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if scope == "week":
        midnight -= timedelta(days=midnight.weekday())
        days = 7
    else:
        days = 1
    # Wall-clock arithmetic, then back to UTC: a day with a DST change is 23 or 25 hours long.
    end = (midnight.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=midnight.tzinfo)
    utc = zoneinfo.ZoneInfo("UTC")
    return midnight.astimezone(utc), end.astimezone(utc)


async def list_sessions(
    rt: Runtime,
    ctx: AcademyContext,
    where: SessionFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[SessionView], int]:
    viewer = await viewer_of(rt, ctx)
    if not viewer.is_staff:
        if ctx.user_id is None:  # an API key without a staff role speaks for nobody
            return [], 0
        where = replace(where, visible_to=frozenset({ctx.user_id}) | viewer.children)
    sessions = SessionRepository(rt.session, ctx.academy.id)
    rows, total = await sessions.page(where, offset=offset, limit=limit)
    participants = await sessions.participants_of([s.id for s in rows])
    groups = GroupRepository(rt.session, ctx.academy.id)
    zones: dict[int, str | None] = {}
    for group_id in {s.group_id for s in rows if s.group_id is not None}:
        group = await groups.get(_ALL_GROUPS, group_id)
        zones[group_id] = group.time_zone if group else None
    views = []
    for session in rows:
        people = participants.get(session.id, [])
        group_zone = zones.get(session.group_id) if session.group_id else None
        zone = session.time_zone or group_zone or ctx.academy.time_zone
        views.append(SessionView(session, people, _facts(session, people), zone))
    return views, total


async def history(rt: Runtime, ctx: AcademyContext, session_id: int) -> list[SessionStatusChange]:
    view = await get_session(rt, ctx, session_id)
    return list(await SessionRepository(rt.session, ctx.academy.id).status_changes(view.session.id))


def aware(instant: datetime | None, field: str) -> datetime | None:
    if instant is not None and instant.tzinfo is None:
        raise InvalidInput.field(field, "give a UTC offset, e.g. 2026-03-01T09:00:00Z")
    return instant


def within_scope(where: SessionFilter, scope: str, now: datetime, zone: str) -> SessionFilter:
    """Narrows `where` to a named scope; explicit from/to still apply inside it."""
    low, high = scope_bounds(scope, now, zone)
    if where.starts_from is not None and (low is None or where.starts_from > low):
        low = where.starts_from
    if where.starts_before is not None and (high is None or where.starts_before < high):
        high = where.starts_before
    return replace(where, starts_from=low, starts_before=high)


async def reschedule_session(
    rt: Runtime, ctx: AcademyContext, session_id: int, data: RescheduleRequest
) -> SessionView:
    """Moves a session (or gives an unscheduled one its time): the teacher until the academy's
    deadline, staff any time; everyone's calendar is checked again at the new time."""
    view = await get_session(rt, ctx, session_id)
    viewer = await viewer_of(rt, ctx)
    by = _by(viewer, view)
    settings = _settings(ctx)
    now = rt.clock.now()
    if not lifecycle.abilities(view.facts, viewer, settings, now).can_reschedule:
        deadline = settings.teacher_reschedule_deadline_hours
        raise Conflict(
            f"this {view.session.status} session cannot be moved now"
            + (
                f"; teachers may move a session until {deadline} h before it"
                if by is By.TEACHER
                else ""
            ),
            code="action_not_allowed",
        )
    starts_at = _start_of(data, view.time_zone, now)
    if starts_at is None:
        raise InvalidInput.field("starts_at", "give the new starts_at or local_start")
    session = view.session
    duration = data.duration_minutes or session.duration_minutes
    ends_at = starts_at + timedelta(minutes=duration)
    busy_until = ends_at + timedelta(minutes=settings.session_break_minutes)
    people = {p.user_id: p.role for p in view.participants}
    await _check_conflicts(rt, ctx, people, starts_at, busy_until, except_session_id=session.id)
    sessions = SessionRepository(rt.session, ctx.academy.id)
    await sessions.add_reschedule(
        SessionReschedule(
            academy_id=ctx.academy.id,
            session_id=session.id,
            from_starts_at=session.starts_at,
            from_duration_minutes=session.duration_minutes,
            to_starts_at=starts_at,
            to_duration_minutes=duration,
            reason=data.reason,
            actor_user_id=ctx.user_id,
            at=now,
        )
    )
    session.starts_at, session.ends_at, session.duration_minutes = starts_at, ends_at, duration
    session.scheduled_by_user_id = ctx.user_id
    try:
        await sessions.move_participants(session.id, starts_at, busy_until)
    except DoubleBooked:
        raise Conflict(
            "double booking: someone was booked at this time a moment ago; choose another time",
            code="schedule_conflict",
        ) from None
    status = Status(session.status)
    room_opens = starts_at - timedelta(minutes=settings.meeting_prepare_minutes)
    if status is Status.UNSCHEDULED:
        await transition(rt, session, Status.SCHEDULED, by, ctx.actor, reason=data.reason)
    elif status is Status.READY and now < room_opens:
        # Moved out of its window before anyone came: it waits for its new time again.
        await transition(rt, session, Status.SCHEDULED, by, ctx.actor, reason=data.reason)
    await audit(
        rt,
        ctx.actor,
        "session.rescheduled",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={
            "starts_at": starts_at.isoformat(),
            "duration_minutes": duration,
            "reason": data.reason,
        },
    )
    return await _view(rt, ctx, session)
