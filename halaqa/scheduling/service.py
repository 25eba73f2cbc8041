"""Class sessions: create, look up for a viewer, and change status through one function."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.repository import AcademyRepository, GuardianshipRepository
from halaqa.academies.roles import Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.catalog import balance
from halaqa.catalog.repository import EnrollmentRepository, GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import (
    ClassSession,
    Group,
    SessionParticipant,
    SessionReschedule,
    SessionRoom,
    SessionStatusChange,
)
from halaqa.scheduling import follow_ups, lifecycle
from halaqa.scheduling.calendar import (
    RACE_LOST,
    SessionPlan,
    book_session,
    busy_until,
    check_conflicts,
    record_change,
    refresh_next_step,
)
from halaqa.scheduling.lifecycle import By, SessionFacts, Status, TransitionRefused, Viewer
from halaqa.scheduling.recurrence import LocalTimeError, resolve_local
from halaqa.scheduling.repository import (
    DoubleBooked,
    MakeupTaken,
    SessionFilter,
    SessionRepository,
)
from halaqa.scheduling.schemas import (
    CancelRequest,
    MakeupRequest,
    RescheduleRequest,
    SessionCreate,
)

# Sessions read their group whoever is looking: the session's own visibility was decided already.
_ALL_GROUPS = CatalogViewer(user_id=None, sees_all=True)


@dataclass(frozen=True)
class SessionView:
    """A session with what the rules need, as one viewer sees it."""

    session: ClassSession
    participants: list[SessionParticipant]
    facts: SessionFacts
    time_zone: str
    room: SessionRoom | None = None  # its meeting room, once one was opened or tried
    warnings: tuple[str, ...] = ()  # said once, by the request that created it


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
        group=session.kind == "group",
    )


def _settings(ctx: AcademyContext) -> AcademySettings:
    return effective_settings(ctx.academy.settings)


async def view_of(
    rt: Runtime, ctx: AcademyContext, session: ClassSession, group: Group | None = None
) -> SessionView:
    """The session with its people, facts and zone, whoever is looking (no visibility check)."""
    participants = list(
        await SessionRepository(rt.session, ctx.academy.id).participants(session.id)
    )
    if group is None and session.group_id is not None:
        group = await GroupRepository(rt.session, ctx.academy.id).get(_ALL_GROUPS, session.group_id)
    zone = session.time_zone or (group.time_zone if group else None) or ctx.academy.time_zone
    rooms = await SessionRepository(rt.session, ctx.academy.id).rooms_of([session.id])
    return SessionView(
        session, participants, _facts(session, participants), zone, rooms.get(session.id)
    )


def _may_see(viewer: Viewer, view: SessionView) -> bool:
    return lifecycle.part_of(view.facts, viewer) is not lifecycle.Part.NONE


async def get_session(rt: Runtime, ctx: AcademyContext, session_id: int) -> SessionView:
    """The session if the viewer takes part in it (or is staff); otherwise 404, as if absent."""
    session = await SessionRepository(rt.session, ctx.academy.id).get(session_id)
    if session is not None:
        view = await view_of(rt, ctx, session)
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


def _start_of(
    data: SessionCreate | RescheduleRequest | MakeupRequest, zone: str, now: datetime
) -> datetime | None:
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


async def create_session(rt: Runtime, ctx: AcademyContext, data: SessionCreate) -> SessionView:
    group = await _group_for(rt, ctx, data)
    teacher_id = data.teacher_user_id or (group.teacher_user_id if group else None)
    if teacher_id is None:
        raise InvalidInput.field("teacher_user_id", "a session needs a teacher")
    await require_scheduler_for(rt, ctx, teacher_id)
    students: list[int] = []
    if data.student_user_id is not None:
        await require_member_with_role(
            rt, ctx, "student_user_id", data.student_user_id, Role.STUDENT
        )
        students = [data.student_user_id]
    elif group is not None:
        students = await enrolled_students(rt, ctx, group)
    if teacher_id in students:
        raise InvalidInput.field("teacher_user_id", "the teacher cannot be one of the students")
    zone = data.time_zone or (group.time_zone if group else None) or ctx.academy.time_zone
    plan = SessionPlan(
        kind=data.kind,
        title=data.title,
        teacher_id=teacher_id,
        student_ids=tuple(students),
        student_user_id=data.student_user_id,
        group_id=group.id if group else None,
        starts_at=_start_of(data, zone, rt.clock.now()),
        duration_minutes=data.duration_minutes,
        time_zone=data.time_zone,
        meeting_url=data.meeting_url,
        record=data.record,
        description=data.description,
        notes=data.notes,
        homework=data.homework,
    )
    warnings = await balance.scheduling_warnings(rt, ctx, plan)
    view = await view_of(rt, ctx, await book_session(rt, ctx, plan), group)
    return replace(view, warnings=tuple(warnings))


async def require_scheduler_for(rt: Runtime, ctx: AcademyContext, teacher_id: int) -> None:
    """Staff schedule anyone's classes, teachers only their own; the teacher must hold the role."""
    if not ctx.roles & {Role.ADMIN, Role.SUPERVISOR} and ctx.user_id != teacher_id:
        raise Forbidden("teachers schedule their own sessions only", code="role_required")
    await require_member_with_role(rt, ctx, "teacher_user_id", teacher_id, Role.TEACHER)


async def enrolled_students(rt: Runtime, ctx: AcademyContext, group: Group) -> list[int]:
    enrollments = await EnrollmentRepository(rt.session, ctx.academy.id).all_open(group)
    return sorted(e.student_user_id for e in enrollments if e.status == "enrolled")


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
    makeup_owed: bool = False,
) -> None:
    """THE way a session's status changes: checks the lifecycle, records the history, keeps the
    people's calendars and the session's next automatic step in step, and queues the follow-up
    jobs registered for the new status. Nothing else in Halaqa writes `status`. A cancellation
    says whether a make-up is owed (always, when the teacher did not come)."""
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
        # A make-up the teacher missed owes nothing itself: what it replaced is still owed.
        session.makeup_owed = makeup_owed or (
            by is By.SYSTEM and reason == lifecycle.TEACHER_ABSENT and session.makeup_of_id is None
        )
    elif current is Status.CANCELLED:
        session.cancellation_reason = None
        session.cancelled_at = None
        session.cancelled_by_user_id = None
        session.makeup_owed = False
        session.late_cancellation = False
    if target not in lifecycle.FINISHED:
        session.attendance_finalized_at = None  # over again later: its attendance with it
    academy = await AcademyRepository(rt.session).get(session.academy_id)
    assert academy is not None
    # Before the participants' UPDATE, whose autoflush then writes the session in one statement.
    refresh_next_step(session, effective_settings(academy.settings))
    if (current in _BOOKED) != (target in _BOOKED):
        await SessionRepository(rt.session, session.academy_id).set_participation(
            session.id, active=target in _BOOKED
        )
    await record_change(rt, actor, session, current, rule.action, reason)
    await follow_ups.queue(rt, session, current, target)


def _by(viewer: Viewer, view: SessionView, *, students_too: bool = False) -> By:
    """Who the viewer acts as; a student (or parent) only where `students_too` (cancelling)."""
    by = lifecycle.acting_as(view.facts, viewer)
    if by is None or (by is By.STUDENT and not students_too):
        raise Forbidden(
            "only the session's teacher or the academy's staff may do this", code="not_allowed"
        )
    return by


async def runner_view(rt: Runtime, ctx: AcademyContext, session_id: int) -> tuple[SessionView, By]:
    """The session, if the viewer runs it (its teacher, or staff), and as whom they act."""
    view = await get_session(rt, ctx, session_id)
    return view, _by(await viewer_of(rt, ctx), view)


async def cancel_session(
    rt: Runtime, ctx: AcademyContext, session_id: int, data: CancelRequest
) -> SessionView:
    """Cancels with the academy's notice rules: a teacher's or student's short-notice cancellation
    is flagged late; a make-up is owed when the teacher cancels, when a student cancels in time,
    and when staff say so (by default they do). A cancelled make-up owes nothing itself: what it
    replaced is still owed."""
    view = await get_session(rt, ctx, session_id)
    viewer = await viewer_of(rt, ctx)
    by = _by(viewer, view, students_too=True)
    session = view.session
    settings = _settings(ctx)
    now = rt.clock.now()
    if data.makeup_owed is not None and by is not By.STAFF:
        raise Forbidden("only staff decide whether a make-up is owed", code="role_required")
    if by is By.STUDENT and session.starts_at is not None and now >= session.starts_at:
        raise Conflict(
            "this session has started; students cancel only before it starts",
            code="action_not_allowed",
        )
    notice_hours = {
        By.TEACHER: settings.teacher_cancel_notice_hours,
        By.STUDENT: settings.student_cancel_notice_hours,
    }.get(by)
    late = (
        notice_hours is not None
        and session.starts_at is not None
        and session.starts_at - now < timedelta(hours=notice_hours)
    )
    owed = {By.TEACHER: True, By.STUDENT: not late}.get(by, data.makeup_owed is not False)
    owed = owed and session.starts_at is not None and session.makeup_of_id is None
    await transition(
        rt, session, Status.CANCELLED, by, ctx.actor, reason=data.reason, makeup_owed=owed
    )
    session.late_cancellation = late
    await audit(
        rt,
        ctx.actor,
        "session.cancelled",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={"reason": data.reason, "late": late, "by": by, "makeup_owed": owed},
    )
    return await view_of(rt, ctx, session)


ACTIONS = {
    "start": Status.ONGOING,
    "complete": Status.COMPLETED,
    "mark_absent": Status.ABSENT,
    "reopen": Status.ONGOING,
}


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
    return await view_of(rt, ctx, view.session)


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
    rows, total = await SessionRepository(rt.session, ctx.academy.id).page(
        where, offset=offset, limit=limit
    )
    return await _views(rt, ctx, rows), total


async def _views(
    rt: Runtime, ctx: AcademyContext, rows: Sequence[ClassSession]
) -> list[SessionView]:
    participants = await SessionRepository(rt.session, ctx.academy.id).participants_of(
        [s.id for s in rows]
    )
    rooms = await SessionRepository(rt.session, ctx.academy.id).rooms_of([s.id for s in rows])
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
        facts = _facts(session, people)
        views.append(SessionView(session, people, facts, zone, rooms.get(session.id)))
    return views


# --- make-ups --------------------------------------------------------------------------------


async def create_makeup(
    rt: Runtime, ctx: AcademyContext, session_id: int, data: MakeupRequest
) -> SessionView:
    """Plans the make-up of a cancelled session that is owed one: same teacher and students,
    linked to what it replaces, booked like any session. One live make-up per session."""
    view = await get_session(rt, ctx, session_id)
    _by(await viewer_of(rt, ctx), view)
    original = view.session
    if original.status != Status.CANCELLED or not original.makeup_owed:
        raise Conflict(
            f"no make-up is owed for this {original.status} session",
            code="makeup_not_owed",
        )
    sessions = SessionRepository(rt.session, ctx.academy.id)
    planned = (await sessions.live_makeups_of([original.id])).get(original.id)
    if planned is not None:
        raise Conflict(
            f"make-up {planned.code} is already planned for this session; move that one instead",
            code="makeup_exists",
            details={"session_id": planned.id, "session_code": planned.code},
        )
    starts_at = _start_of(data, view.time_zone, rt.clock.now())
    if starts_at is None:
        raise InvalidInput.field("starts_at", "give the make-up's starts_at or local_start")
    plan = SessionPlan(
        kind=original.kind,
        title=data.title or original.title,
        teacher_id=original.teacher_user_id,
        student_ids=tuple(p.user_id for p in view.participants if p.role == "student"),
        student_user_id=original.student_user_id,
        group_id=original.group_id,
        starts_at=starts_at,
        duration_minutes=data.duration_minutes or original.duration_minutes,
        time_zone=original.time_zone,
        description=original.description,
        notes=data.notes,
        makeup_of_id=original.id,
    )
    try:
        session = await book_session(rt, ctx, plan)
    except MakeupTaken:
        raise Conflict(
            "a make-up for this session was planned a moment ago", code="makeup_exists"
        ) from None
    return await view_of(rt, ctx, session)


async def owed_makeups(
    rt: Runtime, ctx: AcademyContext, where: SessionFilter, *, offset: int, limit: int
) -> tuple[list[tuple[SessionView, ClassSession | None]], int]:
    """Cancelled sessions still owed a make-up (until one is held), each with its planned one."""
    views, total = await list_sessions(
        rt, ctx, replace(where, owed_makeup=True), offset=offset, limit=limit
    )
    planned = await SessionRepository(rt.session, ctx.academy.id).live_makeups_of(
        [v.session.id for v in views]
    )
    return [(view, planned.get(view.session.id)) for view in views], total


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
    until = busy_until(ctx, starts_at, duration)
    people = {p.user_id: p.role for p in view.participants}
    await check_conflicts(rt, ctx, people, starts_at, until, except_session_id=session.id)
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
    moved_from = session.starts_at
    session.starts_at, session.ends_at, session.duration_minutes = starts_at, ends_at, duration
    session.scheduled_by_user_id = ctx.user_id
    refresh_next_step(session, settings)
    try:
        await sessions.move_participants(session.id, starts_at, until)
    except DoubleBooked:
        raise Conflict(RACE_LOST, code="schedule_conflict") from None
    status = Status(session.status)
    room_opens = starts_at - timedelta(minutes=settings.meeting_prepare_minutes)
    if status is Status.UNSCHEDULED:
        await transition(rt, session, Status.SCHEDULED, by, ctx.actor, reason=data.reason)
    elif status is Status.READY and now < room_opens:
        # Moved out of its window before anyone came: it waits for its new time again.
        await transition(rt, session, Status.SCHEDULED, by, ctx.actor, reason=data.reason)
    if moved_from is not None:
        await follow_ups.queue_move(rt, session, moved_from)
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
    return await view_of(rt, ctx, session)
