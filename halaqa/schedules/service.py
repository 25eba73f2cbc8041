"""Recurring schedules: created all-or-nothing up to the horizon, and changed or cancelled from
one occurrence on by splitting the series there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext
from halaqa.academies.roles import STAFF
from halaqa.academies.service import audit
from halaqa.academies.settings import effective_settings
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import Schedule
from halaqa.schedules.lifecycle import ScheduleStatus, stop
from halaqa.schedules.planning import (
    Planned,
    advance,
    book_occurrence,
    local_today,
    occurrence_date,
    plan,
    refuse_clashes,
    rule_for,
    rule_of,
    subject_for,
    weekly_slots,
)
from halaqa.schedules.repository import HolidayRepository, ScheduleRepository
from halaqa.schedules.schemas import (
    ScheduleCancel,
    ScheduleChange,
    ScheduleCreate,
    Slot,
)
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.recurrence import expand
from halaqa.scheduling.service import (
    require_scheduler_for,
    transition,
    viewer_of,
)


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


# --- creating --------------------------------------------------------------------------------


async def create_schedule(
    rt: Runtime, ctx: AcademyContext, data: ScheduleCreate, *, dry_run: bool = False
) -> Outcome:
    """Books every occurrence up to the academy's horizon, or nothing at all when any of them
    clashes (all clashes are reported). With `dry_run`, only says what it would do."""
    subject = await subject_for(rt, ctx, data)
    group_zone = subject.group.time_zone if subject.group else None
    zone = data.time_zone or group_zone or ctx.academy.time_zone
    settings = effective_settings(ctx.academy.settings)
    today = local_today(rt.clock.now(), zone)
    if data.starts_on < today:
        raise InvalidInput.field("starts_on", f"must be today ({today} in {zone}) or later")
    slots = weekly_slots(data.slots, data.duration_minutes, settings.session_break_minutes)
    rule = rule_for(slots, zone, data.starts_on, data.until, data.count, data.monthly_target)
    through = today + timedelta(days=settings.schedule_horizon_days)
    planned = await plan(rt, ctx, subject, rule, data.duration_minutes, (data.starts_on, through))
    if dry_run:
        return Outcome(None, planned, through)
    refuse_clashes(planned)
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
        outcome.session_ids.append(await book_occurrence(rt, ctx, schedule, subject, occurrence))
    advance(schedule, planned, through, settings.schedule_horizon_days)
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
    # An ended schedule is fully booked, not over: its sessions still ahead may change.
    if schedule.status == ScheduleStatus.CANCELLED:
        raise Conflict("this schedule is cancelled", code="schedule_not_active")
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
        stop(schedule, ScheduleStatus.CANCELLED)
    else:
        schedule.until = from_date - timedelta(days=1)
        stop(schedule, ScheduleStatus.ENDED)
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
    until = data.until if data.until is not None else schedule.until  # before it is cut
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
        until=until,
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
        rule_of(schedule),
        window_start=schedule.starts_on,
        window_end=last,
        blocked_weekdays=frozenset(settings.blocked_weekdays),
        holidays=await HolidayRepository(rt.session, ctx.academy.id).days_between(
            schedule.starts_on, last
        ),
    )
    return len(expansion.occurrences)
