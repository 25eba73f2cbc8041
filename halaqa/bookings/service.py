"""Tutoring bookings: teachers publish a weekly availability, students (or their parents, or staff)
request a slot, the teacher confirms or declines, and requests nobody answers expire.

A confirmation books the session in the same transaction (calendar.book_session, conflicts
checked, races caught by PostgreSQL's constraint), so a booking is never confirmed without its
session. Every status change goes through `change_status`, checked by `lifecycle`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.repository import MemberRepository, UserRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.bookings import availability
from halaqa.bookings.availability import InvalidAvailability, WeeklyWindows, Window
from halaqa.bookings.lifecycle import TransitionRefused, check_transition, sources_of
from halaqa.bookings.repository import (
    AvailabilityRepository,
    BookingFilter,
    BookingRepository,
    Visibility,
    expire_due,
)
from halaqa.bookings.schemas import (
    AvailabilityIn,
    BookingCreate,
    BookingStatus,
    ConfirmRequest,
    DeclineRequest,
    WithdrawRequest,
)
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import Booking, TeacherAvailability
from halaqa.scheduling.calendar import (
    SessionPlan,
    book_session,
    busy_until,
    conflict_error,
    find_conflicts,
)
from halaqa.scheduling.lifecycle import Viewer
from halaqa.scheduling.recurrence import RecurrenceError, resolve_local
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import viewer_of
from halaqa.worker.jobs import enqueue

# --- limits ------------------------------------------------------------------------------------

SLOTS_RANGE_LIMIT = timedelta(days=31)
# How far ahead a booking may be requested (and slots are listed).
BOOKING_HORIZON = timedelta(days=366)
EXPIRY_BATCH = 500  # requests expired per worker tick at most; the rest wait for the next one


def _settings(ctx: AcademyContext) -> AcademySettings:
    return effective_settings(ctx.academy.settings)


# --- availability ------------------------------------------------------------------------------


def _hhmm(at: time) -> str:
    return at.strftime("%H:%M")


async def _teacher_zone(rt: Runtime, ctx: AcademyContext, teacher_id: int) -> str:
    """The teacher's own zone; 404 unless they are an active teacher here (as for a stranger)."""
    found = await MemberRepository(rt.session, ctx.academy.id).get(teacher_id)
    if (
        found is None
        or not found[0].is_active
        or not found[1].is_active
        or Role.TEACHER.value not in found[0].role_names
    ):
        raise NotFound(f"no teacher {teacher_id} in this academy")
    return found[1].time_zone


async def _published_week(
    rt: Runtime, ctx: AcademyContext, teacher_id: int, own_zone: str
) -> WeeklyWindows:
    rows = await AvailabilityRepository(rt.session, ctx.academy.id).of_teacher(teacher_id)
    if not rows:
        return WeeklyWindows(own_zone)
    # Every row of a teacher carries the same zone: a week is replaced whole.
    return WeeklyWindows(
        rows[0].time_zone, tuple(Window(r.weekday, r.starts_at, r.ends_at) for r in rows)
    )


async def get_availability(rt: Runtime, ctx: AcademyContext, teacher_id: int) -> WeeklyWindows:
    """The teacher's week (none yet: empty, in their own zone); 404 unless they teach here."""
    return await _published_week(rt, ctx, teacher_id, await _teacher_zone(rt, ctx, teacher_id))


def _week_of(data: AvailabilityIn, zone: str) -> WeeklyWindows:
    windows = []
    for index, window in enumerate(data.windows):
        try:
            windows.append(
                Window(
                    window.weekday, time.fromisoformat(window.start), time.fromisoformat(window.end)
                )
            )
        except InvalidAvailability as error:
            raise InvalidInput.field(f"windows.{index}", str(error)) from None
    try:
        return WeeklyWindows(zone, tuple(windows))
    except InvalidAvailability as error:
        raise InvalidInput.field("windows", str(error)) from None


def _week_snapshot(week: WeeklyWindows) -> dict[str, object]:
    return {
        "time_zone": week.zone,
        "windows": [[w.weekday, _hhmm(w.start), _hhmm(w.end)] for w in week.windows],
    }


async def set_availability(
    rt: Runtime, ctx: AcademyContext, teacher_id: int, data: AvailabilityIn
) -> WeeklyWindows:
    """Replaces the teacher's whole week: the teacher themself, or the staff."""
    if not ctx.roles & STAFF and ctx.user_id != teacher_id:
        raise Forbidden("teachers set their own availability only", code="role_required")
    await require_member_with_role(rt, ctx, "teacher_user_id", teacher_id, Role.TEACHER)
    own_zone = await _teacher_zone(rt, ctx, teacher_id)
    week = _week_of(data, data.time_zone or own_zone)
    weeks = AvailabilityRepository(rt.session, ctx.academy.id)
    await weeks.lock_member(teacher_id)  # concurrent replacements would mix their rows
    before = await _published_week(rt, ctx, teacher_id, own_zone)
    await weeks.replace(
        teacher_id,
        [
            TeacherAvailability(
                academy_id=ctx.academy.id,
                teacher_user_id=teacher_id,
                weekday=w.weekday,
                starts_at=w.start,
                ends_at=w.end,
                time_zone=week.zone,
            )
            for w in week.windows
        ],
    )
    await audit(
        rt,
        ctx.actor,
        "availability.replaced",
        academy_id=ctx.academy.id,
        entity_type="user",
        entity_id=teacher_id,
        before=_week_snapshot(before),
        after=_week_snapshot(week),
    )
    return week


async def open_slots(
    rt: Runtime,
    ctx: AcademyContext,
    teacher_id: int,
    range_from: datetime,
    range_to: datetime,
    duration_minutes: int,
    step_minutes: int,
) -> tuple[WeeklyWindows, list[datetime]]:
    """The teacher's free slot starts in [range_from, range_to): inside the availability, clear
    of their sessions (and the academy's break around them), and not sooner than the notice."""
    week = await get_availability(rt, ctx, teacher_id)
    if range_to <= range_from:
        raise InvalidInput.field("to", "must be after from")
    if range_to - range_from > SLOTS_RANGE_LIMIT:
        raise InvalidInput.field("to", f"at most {SLOTS_RANGE_LIMIT.days} days after from")
    settings = _settings(ctx)
    now = rt.clock.now()
    low = max(range_from, now + timedelta(hours=settings.booking_min_notice_hours))
    high = min(range_to, now + BOOKING_HORIZON)
    if high <= low or not week.windows:
        return week, []
    duration = timedelta(minutes=duration_minutes)
    pause = timedelta(minutes=settings.session_break_minutes)
    booked = await SessionRepository(rt.session, ctx.academy.id).overlapping(
        {teacher_id}, low, high + duration + pause
    )
    # A new session keeps the break after it too: widening what is booked by the break before it
    # lets the pure check compare bare durations.
    busy = [
        (p.starts_at - pause, p.busy_until)
        for p, _ in booked
        if p.starts_at is not None and p.busy_until is not None
    ]
    step = timedelta(minutes=step_minutes)
    return week, availability.free_slots(
        week, low.astimezone(UTC), high.astimezone(UTC), duration, step, busy
    )


# --- who sees and does what --------------------------------------------------------------------


def _may_see(ctx: AcademyContext, viewer: Viewer, booking: Booking) -> bool:
    return (
        viewer.is_staff
        or (
            ctx.user_id is not None
            and ctx.user_id in {booking.teacher_user_id, booking.student_user_id}
        )
        or booking.student_user_id in viewer.children
    )


async def get_booking(
    rt: Runtime, ctx: AcademyContext, booking_id: int, *, lock: bool = False
) -> Booking:
    """The booking if the viewer takes part in it (or is staff); otherwise 404, as if absent."""
    booking = await BookingRepository(rt.session, ctx.academy.id).get(booking_id, lock=lock)
    if booking is not None and _may_see(ctx, await viewer_of(rt, ctx), booking):
        return booking
    raise NotFound(f"no booking {booking_id} in this academy")


async def list_bookings(
    rt: Runtime, ctx: AcademyContext, where: BookingFilter, *, offset: int, limit: int
) -> tuple[Sequence[Booking], int]:
    viewer = await viewer_of(rt, ctx)
    if not viewer.is_staff:
        if ctx.user_id is None:  # an API key without a staff role speaks for nobody
            return [], 0
        students = frozenset({ctx.user_id}) | viewer.children
        where = replace(where, visible_to=Visibility(ctx.user_id, students))
    return await BookingRepository(rt.session, ctx.academy.id).page(
        where, offset=offset, limit=limit
    )


def _student_for(ctx: AcademyContext, viewer: Viewer, named: int | None) -> int:
    """Whom a request is for: students ask for themselves, parents for a child, staff for anyone."""
    if named is None:
        if ctx.user_id is not None and Role.STUDENT in ctx.roles:
            return ctx.user_id
        raise InvalidInput.field("student_user_id", "name the student the booking is for")
    if (
        viewer.is_staff
        or (named == ctx.user_id and Role.STUDENT in ctx.roles)
        or named in viewer.children
    ):
        return named
    raise Forbidden(
        "students book for themselves and parents for their children only", code="not_allowed"
    )


def _require_teacher_or_staff(ctx: AcademyContext, viewer: Viewer, booking: Booking) -> None:
    if not viewer.is_staff and ctx.user_id != booking.teacher_user_id:
        raise Forbidden(
            "only the booking's teacher or the academy's staff may answer it", code="not_allowed"
        )


# --- requesting --------------------------------------------------------------------------------


def _requester_zone(ctx: AcademyContext) -> str:
    user = ctx.principal.user
    return user.time_zone if user is not None else ctx.academy.time_zone


def _start_of(data: BookingCreate, zone: str) -> tuple[str, datetime]:
    """The requested start in UTC, and the field it came from (for error messages)."""
    if data.starts_at is not None and data.local_start is not None:
        raise InvalidInput.field("local_start", "give starts_at or local_start, not both")
    if data.local_start is not None:
        try:
            return "local_start", resolve_local(data.local_start.date, data.local_start.time, zone)
        except RecurrenceError as error:
            raise InvalidInput.field("local_start", str(error)) from None
        except OverflowError:
            raise InvalidInput.field("local_start", "out of range") from None
    if data.starts_at is None:
        raise InvalidInput.field("starts_at", "give starts_at or local_start")
    try:
        return "starts_at", data.starts_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput.field("starts_at", "out of range") from None


def _check_notice(
    field: str, starts_at: datetime, now: datetime, settings: AcademySettings
) -> None:
    hours = settings.booking_min_notice_hours
    if starts_at <= now:
        raise InvalidInput.field(field, "must be in the future")
    if starts_at < now + timedelta(hours=hours):
        raise InvalidInput.field(
            field, f"must be at least {hours} hours from now (the academy's notice for bookings)"
        )
    if starts_at > now + BOOKING_HORIZON:
        raise InvalidInput.field(
            field, f"bookings are taken at most {BOOKING_HORIZON.days} days ahead"
        )


async def request_booking(rt: Runtime, ctx: AcademyContext, data: BookingCreate) -> Booking:
    viewer = await viewer_of(rt, ctx)
    student_id = _student_for(ctx, viewer, data.student_user_id)
    teacher_id = data.teacher_user_id
    await require_member_with_role(rt, ctx, "teacher_user_id", teacher_id, Role.TEACHER)
    await require_member_with_role(rt, ctx, "student_user_id", student_id, Role.STUDENT)
    if teacher_id == student_id:
        raise InvalidInput.field("student_user_id", "a teacher cannot book their own time")
    zone = _requester_zone(ctx)
    field, starts_at = _start_of(data, zone)
    now = rt.clock.now()
    _check_notice(field, starts_at, now, _settings(ctx))
    duration = timedelta(minutes=data.duration_minutes)
    week = await get_availability(rt, ctx, teacher_id)
    if not availability.within_availability(week, starts_at, duration):
        message = "outside the teacher's availability; their free slots list the times they offer"
        raise InvalidInput(
            f"{field}: {message}",
            code="outside_availability",
            details=[{"field": field, "message": message}],
        )
    bookings = BookingRepository(rt.session, ctx.academy.id)
    await bookings.lock_member(student_id)  # one student's requests are checked in turn
    people = {teacher_id: "teacher", student_id: "student"}
    until = busy_until(ctx, starts_at, data.duration_minutes)
    clashes = await find_conflicts(rt, ctx, people, starts_at, until)
    if clashes:
        raise conflict_error(clashes)
    pending = await bookings.open_requests_of_student(
        student_id, starts_at, starts_at + duration, now
    )
    if pending:
        raise Conflict(
            f"the student already asked for this time (booking {pending[0].id}); withdraw that "
            "request first",
            code="booking_overlap",
            details={"booking_id": pending[0].id},
        )
    expiry = now + timedelta(hours=_settings(ctx).booking_expiry_hours)
    booking = await bookings.add(
        Booking(
            academy_id=ctx.academy.id,
            status=BookingStatus.REQUESTED,
            kind=data.kind,
            teacher_user_id=teacher_id,
            student_user_id=student_id,
            starts_at=starts_at,
            duration_minutes=data.duration_minutes,
            time_zone=zone,
            note=data.note,
            expires_at=min(expiry, starts_at),
            requested_by_user_id=ctx.user_id,
        )
    )
    await _follow_up(rt, booking)
    await audit(
        rt,
        ctx.actor,
        "booking.requested",
        academy_id=ctx.academy.id,
        entity_type="booking",
        entity_id=booking.id,
        after={
            "teacher_user_id": teacher_id,
            "student_user_id": student_id,
            "starts_at": starts_at.isoformat(),
            "duration_minutes": data.duration_minutes,
            "kind": data.kind,
        },
    )
    return booking


# Kinds of job queued when a booking is requested or changes status (people are told).
ON_BOOKING: list[str] = []


def on_booking(kind: str) -> None:
    if kind not in ON_BOOKING:
        ON_BOOKING.append(kind)


async def _follow_up(rt: Runtime, booking: Booking) -> None:
    payload = {"academy_id": booking.academy_id, "booking_id": booking.id, "status": booking.status}
    for kind in ON_BOOKING:
        await enqueue(rt, kind, payload, academy_id=booking.academy_id)


# --- answering ---------------------------------------------------------------------------------


def _refused(error: TransitionRefused) -> Conflict:
    return Conflict(
        str(error),
        code="invalid_transition",
        details={"from": error.current, "to": error.target, "allowed": error.allowed},
    )


async def change_status(
    rt: Runtime,
    actor: Actor,
    booking: Booking,
    target: BookingStatus,
    *,
    reason: str | None = None,
    session_id: int | None = None,
) -> None:
    """THE way one booking's status changes: checked against TRANSITIONS, stamped with who
    answered, when and why, and audited. (The worker's batch expiry applies the same table.)"""
    current = BookingStatus(booking.status)
    try:
        check_transition(current, target)
    except TransitionRefused as refused:
        raise _refused(refused) from None
    assert (target is BookingStatus.CONFIRMED) == (session_id is not None)
    booking.status = target
    booking.session_id = session_id
    booking.answered_by_user_id = actor.user_id
    booking.answered_at = rt.clock.now()
    booking.answer_reason = reason
    await rt.session.flush()
    await _follow_up(rt, booking)
    await audit(
        rt,
        actor,
        f"booking.{target}",
        academy_id=booking.academy_id,
        entity_type="booking",
        entity_id=booking.id,
        before={"status": current},
        after={"status": target, "reason": reason, "session_id": session_id},
    )


async def _default_title(rt: Runtime, booking: Booking) -> str:
    users = await UserRepository(rt.session).get_many(
        {booking.teacher_user_id, booking.student_user_id}
    )
    names = {u.id: u.name for u in users}
    title = f"{names.get(booking.student_user_id, 'Student')} with "
    title += names.get(booking.teacher_user_id, "teacher")
    return title[:200]


async def confirm_booking(
    rt: Runtime, ctx: AcademyContext, booking_id: int, data: ConfirmRequest
) -> Booking:
    """Books the session and confirms the request, together or not at all."""
    booking = await get_booking(rt, ctx, booking_id, lock=True)
    _require_teacher_or_staff(ctx, await viewer_of(rt, ctx), booking)
    now = rt.clock.now()
    current = BookingStatus(booking.status)
    if current is BookingStatus.EXPIRED or (
        current is BookingStatus.REQUESTED and now >= booking.expires_at
    ):
        raise Conflict(
            f"this request expired at {booking.expires_at.isoformat()}; ask for a new time",
            code="booking_expired",
            details={"expires_at": booking.expires_at.isoformat()},
        )
    try:
        check_transition(current, BookingStatus.CONFIRMED)  # before any work is done
    except TransitionRefused as refused:
        raise _refused(refused) from None
    await require_member_with_role(
        rt, ctx, "teacher_user_id", booking.teacher_user_id, Role.TEACHER
    )
    await require_member_with_role(
        rt, ctx, "student_user_id", booking.student_user_id, Role.STUDENT
    )
    plan = SessionPlan(
        kind=booking.kind,
        title=data.title or await _default_title(rt, booking),
        teacher_id=booking.teacher_user_id,
        student_ids=(booking.student_user_id,),
        student_user_id=booking.student_user_id,
        group_id=None,
        starts_at=booking.starts_at,
        duration_minutes=booking.duration_minutes,
        description=booking.note,
    )
    session = await book_session(rt, ctx, plan)  # 409 schedule_conflict if either is busy
    await change_status(rt, ctx.actor, booking, BookingStatus.CONFIRMED, session_id=session.id)
    return booking


async def decline_booking(
    rt: Runtime, ctx: AcademyContext, booking_id: int, data: DeclineRequest
) -> Booking:
    booking = await get_booking(rt, ctx, booking_id, lock=True)
    _require_teacher_or_staff(ctx, await viewer_of(rt, ctx), booking)
    await change_status(rt, ctx.actor, booking, BookingStatus.DECLINED, reason=data.reason)
    return booking


async def withdraw_booking(
    rt: Runtime, ctx: AcademyContext, booking_id: int, data: WithdrawRequest
) -> Booking:
    """The student, their parent or the staff take a request back while it is unanswered."""
    booking = await get_booking(rt, ctx, booking_id, lock=True)
    viewer = await viewer_of(rt, ctx)
    if not (
        viewer.is_staff
        or ctx.user_id == booking.student_user_id
        or booking.student_user_id in viewer.children
    ):
        raise Forbidden(
            "only the student, their parent or the academy's staff may withdraw a request",
            code="not_allowed",
        )
    await change_status(rt, ctx.actor, booking, BookingStatus.WITHDRAWN, reason=data.reason)
    return booking


# --- the worker --------------------------------------------------------------------------------


async def expire_bookings(rt: Runtime) -> int:
    """Requests still unanswered at their expires_at become expired, in every academy. A batch
    form of `change_status`: the same table says from where, and each one is audited."""
    now = rt.clock.now()
    moved: list[tuple[int, int, BookingStatus]] = []
    for source in sources_of(BookingStatus.EXPIRED):
        found = await expire_due(
            rt.session,
            now,
            from_status=source,
            to_status=BookingStatus.EXPIRED,
            limit=EXPIRY_BATCH,
        )
        moved += [(academy_id, booking_id, source) for academy_id, booking_id in found]
    for academy_id, booking_id, source in moved:
        await audit(
            rt,
            Actor(),
            "booking.expired",
            academy_id=academy_id,
            entity_type="booking",
            entity_id=booking_id,
            before={"status": source},
            after={"status": BookingStatus.EXPIRED},
        )
    return len(moved)
