"""Recurring schedules: expanded in local time, booked all-or-nothing, extended by the worker,
and changed or cancelled from one occurrence on by splitting the series there."""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext, Principal
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.academies.settings import effective_settings
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.exceptions import AppError, Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import Academy, AcademyHoliday, Group, Schedule
from halaqa.schedules.repository import HolidayRepository, ScheduleRepository, due_schedules
from halaqa.schedules.schemas import (
    HolidayCreate,
    ScheduleCancel,
    ScheduleChange,
    ScheduleCreate,
    Slot,
)
from halaqa.scheduling.calendar import SessionPlan, book_session, busy_until, find_conflicts
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.recurrence import InvalidRule, Occurrence, WeeklyRule, WeeklySlot, expand
from halaqa.scheduling.service import (
    enrolled_students,
    require_scheduler_for,
    transition,
    viewer_of,
)

log = logging.getLogger("halaqa.schedules")

_ALL_GROUPS = CatalogViewer(user_id=None, sees_all=True)
MINUTES_A_DAY = 24 * 60
# The worker extends a schedule once its booked part is a week shorter than the horizon.
EXTEND_EVERY = timedelta(days=7)
# Problems kept per schedule (the oldest are dropped first).
MAX_PROBLEMS = 100
MAX_HOLIDAY_DAYS = 366


def occurrence_key(starts_on: date, local_date: date, start: time) -> int:
    """An occurrence's identity in its series: minutes from the first day's midnight."""
    return (local_date - starts_on).days * MINUTES_A_DAY + start.hour * 60 + start.minute


def occurrence_date(starts_on: date, key: int) -> date:
    return starts_on + timedelta(days=key // MINUTES_A_DAY)


def local_today(now: datetime, zone: str) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Subject:
    """Who a schedule's sessions are for."""

    kind: str
    teacher_id: int
    student_user_id: int | None
    group: Group | None
    students: tuple[int, ...]

    @property
    def people(self) -> dict[int, str]:
        return {self.teacher_id: "teacher", **dict.fromkeys(self.students, "student")}


@dataclass
class Planned:
    """What a window of a schedule holds: occurrences to book (with their clashes) and skips."""

    occurrences: list[tuple[Occurrence, list[dict[str, Any]]]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False

    @property
    def clashing(self) -> list[dict[str, Any]]:
        return [
            {
                "local_date": occurrence.local_date.isoformat(),
                "local_start": occurrence.local_start.strftime("%H:%M"),
                "starts_at": occurrence.starts_at.isoformat(),
                "conflicts": conflicts,
            }
            for occurrence, conflicts in self.occurrences
            if conflicts
        ]


@dataclass
class Outcome:
    schedule: Schedule | None
    planned: Planned
    through: date
    session_ids: list[int] = field(default_factory=list)
    cancelled_session_ids: list[int] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------


def _visible_to(ctx: AcademyContext, children: frozenset[int]) -> frozenset[int] | None:
    if ctx.roles & STAFF:
        return None
    if ctx.user_id is None:  # an API key without a staff role speaks for nobody
        return frozenset()
    return frozenset({ctx.user_id}) | children


async def get_schedule(
    rt: Runtime, ctx: AcademyContext, schedule_id: int, *, lock: bool = False
) -> Schedule:
    viewer = await viewer_of(rt, ctx)
    schedule = await ScheduleRepository(rt.session, ctx.academy.id).get(
        schedule_id, visible_to=_visible_to(ctx, viewer.children), lock=lock
    )
    if schedule is None:
        raise NotFound(f"no schedule {schedule_id} in this academy")
    return schedule


async def list_schedules(
    rt: Runtime,
    ctx: AcademyContext,
    *,
    status: str | None,
    teacher_user_id: int | None,
    student_user_id: int | None,
    group_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Schedule], int]:
    viewer = await viewer_of(rt, ctx)
    rows, total = await ScheduleRepository(rt.session, ctx.academy.id).page(
        visible_to=_visible_to(ctx, viewer.children),
        status=status,
        teacher_user_id=teacher_user_id,
        student_user_id=student_user_id,
        group_id=group_id,
        offset=offset,
        limit=limit,
    )
    return list(rows), total


# --- planning --------------------------------------------------------------------------------


async def _subject(rt: Runtime, ctx: AcademyContext, data: ScheduleCreate) -> Subject:
    group = None
    if data.kind == "group":
        if data.student_user_id is not None:
            raise InvalidInput.field(
                "student_user_id", "a group schedule takes its group's students"
            )
        if data.group_id is None:
            raise InvalidInput.field("group_id", "a group schedule needs a group")
        group = await GroupRepository(rt.session, ctx.academy.id).get(_ALL_GROUPS, data.group_id)
        if group is None:
            raise InvalidInput.field("group_id", f"no group {data.group_id} in this academy")
        if group.status in {"completed", "cancelled"}:
            raise InvalidInput.field("group_id", f"the group is {group.status}")
    else:
        if data.group_id is not None:
            raise InvalidInput.field("group_id", "an individual schedule has no group")
        if data.student_user_id is None:
            raise InvalidInput.field("student_user_id", "an individual schedule needs a student")
    teacher_id = data.teacher_user_id or (group.teacher_user_id if group else None)
    if teacher_id is None:
        raise InvalidInput.field("teacher_user_id", "a schedule needs a teacher")
    await require_scheduler_for(rt, ctx, teacher_id)
    if data.student_user_id is not None:
        await require_member_with_role(
            rt, ctx, "student_user_id", data.student_user_id, Role.STUDENT
        )
        students: tuple[int, ...] = (data.student_user_id,)
    else:
        assert group is not None
        students = tuple(await enrolled_students(rt, ctx, group))
    if teacher_id in students:
        raise InvalidInput.field("teacher_user_id", "the teacher cannot be one of the students")
    return Subject(data.kind, teacher_id, data.student_user_id, group, students)


async def _subject_of(rt: Runtime, ctx: AcademyContext, schedule: Schedule) -> Subject | None:
    """Who the schedule's next sessions are for; None when its group has ended."""
    group = None
    students: tuple[int, ...] = ()
    if schedule.group_id is not None:
        group = await GroupRepository(rt.session, ctx.academy.id).get(
            _ALL_GROUPS, schedule.group_id
        )
        if group is None or group.status in {"completed", "cancelled"}:
            return None
        students = tuple(await enrolled_students(rt, ctx, group))
    elif schedule.student_user_id is not None:
        students = (schedule.student_user_id,)
    return Subject(
        schedule.kind, schedule.teacher_user_id, schedule.student_user_id, group, students
    )


def _slots(slots: list[Slot], duration: int, pause: int) -> tuple[WeeklySlot, ...]:
    """The week's slots; refused when two of them (with the break after each) overlap."""
    weekly = tuple(
        sorted(WeeklySlot(s.weekday, s.start.replace(second=0, microsecond=0)) for s in slots)
    )
    if len(set(weekly)) != len(weekly):
        raise InvalidInput.field("slots", "the same weekday and time is listed twice")
    starts = [s.weekday * MINUTES_A_DAY + s.start.hour * 60 + s.start.minute for s in weekly]
    week = 7 * MINUTES_A_DAY
    for i, (slot, start) in enumerate(zip(weekly, starts, strict=True)):
        following = starts[(i + 1) % len(starts)] + (week if i + 1 == len(starts) else 0)
        if len(starts) > 1 and following - start < duration + pause:
            other = weekly[(i + 1) % len(weekly)]
            raise InvalidInput.field(
                "slots",
                f"{slot} and {other} overlap for {duration}-minute sessions"
                + (f" with a {pause}-minute break" if pause else ""),
            )
    return weekly


def _rule(
    slots: tuple[WeeklySlot, ...],
    zone: str,
    starts_on: date,
    until: date | None,
    count: int | None,
    monthly_target: int | None,
) -> WeeklyRule:
    if until is not None and until < starts_on:
        raise InvalidInput.field("until", f"must not be before the first date ({starts_on})")
    try:
        return WeeklyRule(slots, zone, starts_on, until, count, monthly_target)
    except InvalidRule as error:
        raise InvalidInput.field("slots", str(error)) from None


def _rule_of(schedule: Schedule) -> WeeklyRule:
    slots = tuple(WeeklySlot(s["weekday"], time.fromisoformat(s["start"])) for s in schedule.slots)
    return WeeklyRule(
        slots,
        schedule.time_zone,
        schedule.starts_on,
        schedule.until,
        schedule.count,
        schedule.monthly_target,
    )


async def _plan(
    rt: Runtime,
    ctx: AcademyContext,
    subject: Subject,
    rule: WeeklyRule,
    duration: int,
    window: tuple[date, date],
    *,
    taken: set[int] | None = None,
) -> Planned:
    """Expands the window (holidays and blocked weekdays skipped; past occurrences too) and
    finds every clash of every occurrence, so all of them can be reported at once."""
    settings = effective_settings(ctx.academy.settings)
    holidays = await HolidayRepository(rt.session, ctx.academy.id).days_between(
        rule.starts_on, window[1]
    )
    expansion = expand(
        rule,
        window_start=window[0],
        window_end=window[1],
        blocked_weekdays=frozenset(settings.blocked_weekdays),
        holidays=holidays,
    )
    planned = Planned(ended=expansion.ended)
    planned.skipped = [
        {"local_date": s.local_date, "local_start": s.local_start, "reason": s.reason}
        for s in expansion.skipped
    ]
    now = rt.clock.now()
    for occurrence in expansion.occurrences:
        key = occurrence_key(rule.starts_on, occurrence.local_date, occurrence.local_start)
        if taken is not None and key in taken:
            continue
        if occurrence.starts_at <= now:
            planned.skipped.append(
                {
                    "local_date": occurrence.local_date,
                    "local_start": occurrence.local_start,
                    "reason": "past",
                }
            )
            continue
        until = busy_until(ctx, occurrence.starts_at, duration)
        conflicts = await find_conflicts(rt, ctx, subject.people, occurrence.starts_at, until)
        planned.occurrences.append((occurrence, conflicts))
    planned.skipped.sort(key=lambda s: (s["local_date"], s["local_start"]))
    return planned


async def _book(
    rt: Runtime, ctx: AcademyContext, schedule: Schedule, subject: Subject, occurrence: Occurrence
) -> int:
    plan = SessionPlan(
        kind=schedule.kind,
        title=schedule.title,
        teacher_id=subject.teacher_id,
        student_ids=subject.students,
        student_user_id=subject.student_user_id,
        group_id=schedule.group_id,
        starts_at=occurrence.starts_at,
        duration_minutes=schedule.duration_minutes,
        time_zone=schedule.time_zone,
        schedule_id=schedule.id,
        occurrence_key=occurrence_key(
            schedule.starts_on, occurrence.local_date, occurrence.local_start
        ),
    )
    session = await book_session(rt, ctx, plan, checked=True)
    return session.id


def _advance(schedule: Schedule, planned: Planned, through: date, horizon: int) -> None:
    """Records how far the schedule is booked and when the worker should extend it again."""
    schedule.materialised_through = through
    if planned.ended:
        schedule.status = "ended"
        schedule.materialise_due_on = None
    else:
        schedule.materialise_due_on = through - timedelta(days=horizon) + EXTEND_EVERY


def _refuse_clashes(planned: Planned) -> None:
    clashing = planned.clashing
    if clashing:
        raise Conflict(
            f"{len(clashing)} of the {len(planned.occurrences)} sessions clash with sessions "
            "already booked; nothing was booked",
            code="schedule_conflict",
            details=clashing,
        )


# --- creating --------------------------------------------------------------------------------


async def create_schedule(
    rt: Runtime, ctx: AcademyContext, data: ScheduleCreate, *, dry_run: bool = False
) -> Outcome:
    """Books every occurrence up to the academy's horizon, or nothing at all when any of them
    clashes (all clashes are reported). With `dry_run`, only says what it would do."""
    subject = await _subject(rt, ctx, data)
    group_zone = subject.group.time_zone if subject.group else None
    zone = data.time_zone or group_zone or ctx.academy.time_zone
    settings = effective_settings(ctx.academy.settings)
    today = local_today(rt.clock.now(), zone)
    if data.starts_on < today:
        raise InvalidInput.field("starts_on", f"must be today ({today} in {zone}) or later")
    slots = _slots(data.slots, data.duration_minutes, settings.session_break_minutes)
    rule = _rule(slots, zone, data.starts_on, data.until, data.count, data.monthly_target)
    through = today + timedelta(days=settings.schedule_horizon_days)
    planned = await _plan(rt, ctx, subject, rule, data.duration_minutes, (data.starts_on, through))
    if dry_run:
        return Outcome(None, planned, through)
    _refuse_clashes(planned)
    schedule = await ScheduleRepository(rt.session, ctx.academy.id).add(
        Schedule(
            academy_id=ctx.academy.id,
            kind=data.kind,
            status="active",
            teacher_user_id=subject.teacher_id,
            student_user_id=subject.student_user_id,
            group_id=subject.group.id if subject.group else None,
            title=data.title,
            duration_minutes=data.duration_minutes,
            time_zone=zone,
            slots=[{"weekday": s.weekday, "start": s.start.strftime("%H:%M")} for s in slots],
            starts_on=data.starts_on,
            until=data.until,
            count=data.count,
            monthly_target=data.monthly_target,
            problems=[],
            created_by_user_id=ctx.user_id,
            updated_by_user_id=ctx.user_id,
        )
    )
    outcome = Outcome(schedule, planned, through)
    for occurrence, _ in planned.occurrences:
        outcome.session_ids.append(await _book(rt, ctx, schedule, subject, occurrence))
    _advance(schedule, planned, through, settings.schedule_horizon_days)
    await _audit(rt, ctx, "schedule.created", schedule, sessions=outcome.session_ids)
    return outcome


async def _audit(
    rt: Runtime, ctx: AcademyContext, action: str, schedule: Schedule, **extra: Any
) -> None:
    await audit(
        rt,
        ctx.actor,
        action,
        academy_id=ctx.academy.id,
        entity_type="schedule",
        entity_id=schedule.id,
        after={
            "status": schedule.status,
            "slots": schedule.slots,
            "starts_on": schedule.starts_on.isoformat(),
            "until": schedule.until.isoformat() if schedule.until else None,
            "count": schedule.count,
            **extra,
        },
    )


# --- changing and cancelling from one occurrence on -----------------------------------------


async def _editable(rt: Runtime, ctx: AcademyContext, schedule_id: int) -> Schedule:
    schedule = await get_schedule(rt, ctx, schedule_id, lock=True)
    if not ctx.roles & STAFF and ctx.user_id != schedule.teacher_user_id:
        raise Forbidden("only the schedule's teacher or staff change it", code="not_allowed")
    if schedule.status != "active":
        raise Conflict(f"this schedule is {schedule.status}", code="schedule_not_active")
    return schedule


async def _take_off(
    rt: Runtime, ctx: AcademyContext, schedule: Schedule, from_date: date, reason: str
) -> list[int]:
    """Cancels the series' sessions from `from_date` on that have not begun (no make-up owed:
    they are replaced or deliberately ended)."""
    by = By.STAFF if ctx.roles & STAFF else By.TEACHER
    now = rt.clock.now()
    cancelled = []
    for session in await ScheduleRepository(rt.session, ctx.academy.id).sessions_not_begun(
        schedule.id
    ):
        assert session.occurrence_key is not None
        if occurrence_date(schedule.starts_on, session.occurrence_key) < from_date:
            continue
        if session.starts_at is not None and session.starts_at <= now:
            continue  # under way or waiting for the worker to resolve it
        await transition(rt, session, Status.CANCELLED, by, ctx.actor, reason=reason)
        cancelled.append(session.id)
    return cancelled


def _end_before(schedule: Schedule, from_date: date, ctx: AcademyContext) -> None:
    """The series stops the day before `from_date`: cancelled if nothing of it is left."""
    if from_date <= schedule.starts_on:
        schedule.status = "cancelled"
    else:
        schedule.until = from_date - timedelta(days=1)
        schedule.status = "ended"
    schedule.materialise_due_on = None
    schedule.updated_by_user_id = ctx.user_id


def _check_from(schedule: Schedule, from_date: date, now: datetime) -> None:
    today = local_today(now, schedule.time_zone)
    if from_date < today:
        raise InvalidInput.field(
            "from_date", f"must be today ({today} in {schedule.time_zone}) or later"
        )
    if schedule.until is not None and from_date > schedule.until:
        raise InvalidInput.field("from_date", f"the series ends on {schedule.until}")


async def cancel_schedule(
    rt: Runtime, ctx: AcademyContext, schedule_id: int, data: ScheduleCancel
) -> Outcome:
    schedule = await _editable(rt, ctx, schedule_id)
    from_date = data.from_date or schedule.starts_on
    if data.from_date is not None:
        _check_from(schedule, from_date, rt.clock.now())
    cancelled = await _take_off(rt, ctx, schedule, from_date, data.reason)
    _end_before(schedule, from_date, ctx)
    await _audit(rt, ctx, "schedule.cancelled", schedule, reason=data.reason, sessions=cancelled)
    return Outcome(schedule, Planned(), schedule.materialised_through or from_date, [], cancelled)


async def change_schedule(
    rt: Runtime, ctx: AcademyContext, schedule_id: int, data: ScheduleChange
) -> Outcome:
    """ "This and following": the old series ends the day before `from_date` (its sessions from
    then on are cancelled) and a new one, following it, starts there with the changes. All of
    it happens or none of it: a clash in the new series undoes the cancellations too."""
    schedule = await _editable(rt, ctx, schedule_id)
    now = rt.clock.now()
    _check_from(schedule, data.from_date, now)
    from_date = max(data.from_date, schedule.starts_on)
    count = data.count
    if count is None and schedule.count is not None:
        count = schedule.count - await _held_before(rt, ctx, schedule, from_date)
        if count < 1:
            raise InvalidInput.field("from_date", "the series has no sessions left from then on")
    teacher_id = data.teacher_user_id or schedule.teacher_user_id
    if teacher_id != schedule.teacher_user_id:
        await require_scheduler_for(rt, ctx, teacher_id)
    cancelled = await _take_off(rt, ctx, schedule, from_date, data.reason)
    _end_before(schedule, from_date, ctx)
    changed = ScheduleCreate(
        kind=schedule.kind,
        title=data.title or schedule.title,
        teacher_user_id=teacher_id,
        student_user_id=schedule.student_user_id,
        group_id=schedule.group_id,
        slots=data.slots or [Slot.model_validate(s) for s in schedule.slots],
        duration_minutes=data.duration_minutes or schedule.duration_minutes,
        time_zone=schedule.time_zone,
        starts_on=from_date,
        until=data.until if data.until is not None else schedule.until,
        count=count,
        monthly_target=data.monthly_target or schedule.monthly_target,
    )
    outcome = await create_schedule(rt, ctx, changed)
    assert outcome.schedule is not None
    outcome.schedule.follows_schedule_id = schedule.id
    outcome.cancelled_session_ids = cancelled
    await _audit(
        rt,
        ctx,
        "schedule.changed",
        schedule,
        reason=data.reason,
        continued_by=outcome.schedule.id,
        sessions=cancelled,
    )
    return outcome


async def _held_before(
    rt: Runtime, ctx: AcademyContext, schedule: Schedule, from_date: date
) -> int:
    """How many occurrences of the series fall before `from_date` (for a counted series)."""
    if from_date <= schedule.starts_on:
        return 0
    settings = effective_settings(ctx.academy.settings)
    last = from_date - timedelta(days=1)
    expansion = expand(
        _rule_of(schedule),
        window_start=schedule.starts_on,
        window_end=last,
        blocked_weekdays=frozenset(settings.blocked_weekdays),
        holidays=await HolidayRepository(rt.session, ctx.academy.id).days_between(
            schedule.starts_on, last
        ),
    )
    return len(expansion.occurrences)


# --- the worker: keeping every schedule booked up to the horizon ----------------------------


async def extend(rt: Runtime, academy: Academy, schedule: Schedule) -> int:
    """Books the schedule's occurrences up to today + horizon that are not booked yet. One that
    clashes is skipped and kept in `problems` for staff; returns how many were booked."""
    ctx = AcademyContext(academy=academy, principal=Principal())  # the system
    settings = effective_settings(academy.settings)
    subject = await _subject_of(rt, ctx, schedule)
    if subject is None:
        schedule.status, schedule.materialise_due_on = "ended", None
        return 0
    through = local_today(rt.clock.now(), schedule.time_zone) + timedelta(
        days=settings.schedule_horizon_days
    )
    start = schedule.starts_on
    if schedule.materialised_through is not None:
        start = max(start, schedule.materialised_through + timedelta(days=1))
    planned = Planned()
    if start <= through:
        taken = await ScheduleRepository(rt.session, academy.id).booked_keys(schedule.id)
        planned = await _plan(
            rt,
            ctx,
            subject,
            _rule_of(schedule),
            schedule.duration_minutes,
            (start, through),
            taken=taken,
        )
    booked = 0
    problems = list(schedule.problems)
    for occurrence, conflicts in planned.occurrences:
        if conflicts:
            problems.append(
                {
                    "local_date": occurrence.local_date.isoformat(),
                    "local_start": occurrence.local_start.strftime("%H:%M"),
                    "starts_at": occurrence.starts_at.isoformat(),
                    "reason": "conflict",
                    "conflicts": conflicts,
                }
            )
            continue
        await _book(rt, ctx, schedule, subject, occurrence)
        booked += 1
    schedule.problems = problems[-MAX_PROBLEMS:]
    _advance(
        schedule,
        planned,
        max(through, schedule.materialised_through or through),
        settings.schedule_horizon_days,
    )
    return booked


async def materialise_schedules(rt: Runtime, *, batch: int = 50) -> int:
    """The worker's step: extends the schedules that are due, each in its own savepoint so one
    that fails (a race lost, say) is retried tomorrow without holding the others back."""
    today = rt.clock.now().date()
    academies = AcademyRepository(rt.session)
    booked = 0
    for schedule in await due_schedules(rt.session, today, batch):
        academy = await academies.get(schedule.academy_id)
        assert academy is not None
        try:
            async with rt.session.begin_nested():
                booked += await extend(rt, academy, schedule)
        except AppError as error:
            log.warning("schedule %s not extended: %s", schedule.id, error)
            schedule.materialise_due_on = today + timedelta(days=1)
    return booked


# --- holidays --------------------------------------------------------------------------------


async def cancel_for_holiday(
    rt: Runtime, ctx: AcademyContext, first: date, last: date, reason: str
) -> list[int]:
    """Cancels the schedules' sessions not begun whose local date (in their schedule's zone)
    falls on these days; one-off sessions were booked on purpose and are left alone."""
    now = rt.clock.now()
    # A day in any zone lies within a day and a bit of the same UTC date.
    low = datetime.combine(first - timedelta(days=1), time(), zoneinfo.ZoneInfo("UTC"))
    high = datetime.combine(last + timedelta(days=2), time(), zoneinfo.ZoneInfo("UTC"))
    cancelled = []
    for session, schedule in await ScheduleRepository(rt.session, ctx.academy.id).sessions_between(
        max(low, now), high
    ):
        if session.starts_at is None or session.starts_at <= now:
            continue
        day = local_today(session.starts_at, schedule.time_zone)
        if first <= day <= last:
            await transition(rt, session, Status.CANCELLED, By.STAFF, ctx.actor, reason=reason)
            cancelled.append(session.id)
    return cancelled


async def add_holiday(
    rt: Runtime, ctx: AcademyContext, data: HolidayCreate
) -> tuple[AcademyHoliday, list[int]]:
    ends_on = data.ends_on or data.starts_on
    if ends_on < data.starts_on:
        raise InvalidInput.field("ends_on", f"must not be before starts_on ({data.starts_on})")
    if (ends_on - data.starts_on).days >= MAX_HOLIDAY_DAYS:
        raise InvalidInput.field("ends_on", f"a holiday lasts at most {MAX_HOLIDAY_DAYS} days")
    holiday = await HolidayRepository(rt.session, ctx.academy.id).add(
        AcademyHoliday(
            academy_id=ctx.academy.id,
            name=data.name,
            starts_on=data.starts_on,
            ends_on=ends_on,
            created_by_user_id=ctx.user_id,
        )
    )
    cancelled: list[int] = []
    if data.cancel_sessions:
        cancelled = await cancel_for_holiday(
            rt, ctx, data.starts_on, ends_on, f"holiday: {data.name}"
        )
    await audit(
        rt,
        ctx.actor,
        "holiday.created",
        academy_id=ctx.academy.id,
        entity_type="holiday",
        entity_id=holiday.id,
        after={
            "name": holiday.name,
            "starts_on": holiday.starts_on.isoformat(),
            "ends_on": holiday.ends_on.isoformat(),
            "cancelled_sessions": cancelled,
        },
    )
    return holiday, cancelled


async def delete_holiday(rt: Runtime, ctx: AcademyContext, holiday_id: int) -> None:
    """Schedules stop skipping these days from their next extension; sessions the holiday
    cancelled stay cancelled (make them up, or book them again, as the academy sees fit)."""
    holidays = HolidayRepository(rt.session, ctx.academy.id)
    holiday = await holidays.get(holiday_id)
    if holiday is None:
        raise NotFound(f"no holiday {holiday_id} in this academy")
    await holidays.delete(holiday)
    await audit(
        rt,
        ctx.actor,
        "holiday.deleted",
        academy_id=ctx.academy.id,
        entity_type="holiday",
        entity_id=holiday_id,
        before={"name": holiday.name, "starts_on": holiday.starts_on.isoformat()},
    )


async def list_holidays(
    rt: Runtime,
    ctx: AcademyContext,
    on_or_after: date | None,
    on_or_before: date | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[AcademyHoliday], int]:
    rows, total = await HolidayRepository(rt.session, ctx.academy.id).page(
        on_or_after=on_or_after, on_or_before=on_or_before, offset=offset, limit=limit
    )
    return list(rows), total
