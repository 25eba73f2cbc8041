"""Planning a schedule's window: who it is for, its weekly rule, every occurrence with its
clashes, and booking them. Shared by creating, changing and the worker's extension."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext
from halaqa.academies.roles import Role
from halaqa.academies.service import require_member_with_role
from halaqa.academies.settings import effective_settings
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.exceptions import Conflict, InvalidInput
from halaqa.kit.deps import Runtime
from halaqa.models import Group, Schedule
from halaqa.schedules.lifecycle import ScheduleStatus, stop
from halaqa.schedules.repository import HolidayRepository
from halaqa.schedules.schemas import (
    ScheduleCreate,
    Slot,
)
from halaqa.scheduling.calendar import SessionPlan, book_session, busy_until, find_conflicts
from halaqa.scheduling.recurrence import InvalidRule, Occurrence, WeeklyRule, WeeklySlot, expand
from halaqa.scheduling.service import (
    enrolled_students,
    require_scheduler_for,
)

_ALL_GROUPS = CatalogViewer(user_id=None, sees_all=True)
MINUTES_A_DAY = 24 * 60
# The worker extends a schedule once its booked part is a week shorter than the horizon.
EXTEND_EVERY = timedelta(days=7)


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


# --- planning --------------------------------------------------------------------------------


async def subject_for(rt: Runtime, ctx: AcademyContext, data: ScheduleCreate) -> Subject:
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


async def subject_of(rt: Runtime, ctx: AcademyContext, schedule: Schedule) -> Subject | None:
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


def weekly_slots(slots: list[Slot], duration: int, pause: int) -> tuple[WeeklySlot, ...]:
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


def rule_for(
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


def rule_of(schedule: Schedule) -> WeeklyRule:
    slots = tuple(WeeklySlot(s["weekday"], time.fromisoformat(s["start"])) for s in schedule.slots)
    return WeeklyRule(
        slots,
        schedule.time_zone,
        schedule.starts_on,
        schedule.until,
        schedule.count,
        schedule.monthly_target,
    )


async def plan(
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


async def book_occurrence(
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


def advance(schedule: Schedule, planned: Planned, through: date, horizon: int) -> None:
    """Records how far the schedule is booked and when the worker should extend it again."""
    schedule.materialised_through = through
    if planned.ended:
        stop(schedule, ScheduleStatus.ENDED)
    else:
        schedule.materialise_due_on = through - timedelta(days=horizon) + EXTEND_EVERY


def refuse_clashes(planned: Planned) -> None:
    clashing = planned.clashing
    if clashing:
        raise Conflict(
            f"{len(clashing)} of the {len(planned.occurrences)} sessions clash with sessions "
            "already booked; nothing was booked",
            code="schedule_conflict",
            details=clashing,
        )
