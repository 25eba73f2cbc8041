"""The worker's step: every active schedule stays booked up to the academy's horizon."""

from __future__ import annotations

import logging
from datetime import timedelta

from halaqa.academies.auth import AcademyContext, Principal
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import effective_settings
from halaqa.exceptions import AppError
from halaqa.kit.deps import Runtime
from halaqa.models import Academy, Schedule
from halaqa.schedules.lifecycle import ScheduleStatus, stop
from halaqa.schedules.planning import (
    Planned,
    advance,
    book_occurrence,
    local_today,
    plan,
    rule_of,
    subject_of,
)
from halaqa.schedules.repository import ScheduleRepository, due_schedules

log = logging.getLogger("halaqa.schedules")

# Problems kept per schedule (the oldest are dropped first).
MAX_PROBLEMS = 100


async def extend(rt: Runtime, academy: Academy, schedule: Schedule) -> int:
    """Books the schedule's occurrences up to today + horizon that are not booked yet. One that
    clashes is skipped and kept in `problems` for staff; returns how many were booked."""
    ctx = AcademyContext(academy=academy, principal=Principal())  # the system
    settings = effective_settings(academy.settings)
    subject = await subject_of(rt, ctx, schedule)
    if subject is None:
        stop(schedule, ScheduleStatus.ENDED)
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
        planned = await plan(
            rt,
            ctx,
            subject,
            rule_of(schedule),
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
        await book_occurrence(rt, ctx, schedule, subject, occurrence)
        booked += 1
    schedule.problems = problems[-MAX_PROBLEMS:]
    advance(
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
