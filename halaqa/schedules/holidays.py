"""The academy's holidays: schedules skip them, and their sessions on them are cancelled."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.service import audit
from halaqa.exceptions import InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import AcademyHoliday
from halaqa.schedules.planning import (
    local_today,
)
from halaqa.schedules.repository import HolidayRepository, ScheduleRepository
from halaqa.schedules.schemas import (
    HolidayCreate,
)
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.service import (
    transition,
)

MAX_HOLIDAY_DAYS = 366


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
