"""HTTP API for recurring schedules and the academy's holidays."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import AcademyHoliday, Schedule
from halaqa.schedules import holidays, service
from halaqa.schedules.schemas import (
    HolidayCreate,
    HolidayCreated,
    HolidayOut,
    OccurrenceOut,
    PreviewOut,
    ScheduleCancel,
    ScheduleChange,
    ScheduleCreate,
    ScheduleOut,
    ScheduleResult,
    SkippedOut,
    SlotOut,
)

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["schedules"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Scheduler = Annotated[
    AcademyContext, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.TEACHER))
]
Admin = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN))]
Pages = Annotated[PageParams, Depends(page_params)]
ScheduleId = Annotated[int, Path(ge=1, le=2**62)]
HolidayId = Annotated[int, Path(ge=1, le=2**62)]
IdFilter = Annotated[int | None, Query(ge=1, le=2**62)]


def schedule_out(schedule: Schedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        kind=schedule.kind,
        status=schedule.status,
        title=schedule.title,
        teacher_user_id=schedule.teacher_user_id,
        student_user_id=schedule.student_user_id,
        group_id=schedule.group_id,
        slots=[
            SlotOut(weekday=s["weekday"], start=dt.time.fromisoformat(s["start"]))
            for s in schedule.slots
        ],
        duration_minutes=schedule.duration_minutes,
        time_zone=schedule.time_zone,
        starts_on=schedule.starts_on,
        until=schedule.until,
        count=schedule.count,
        monthly_target=schedule.monthly_target,
        materialised_through=schedule.materialised_through,
        problems=schedule.problems,
        follows_schedule_id=schedule.follows_schedule_id,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


def _result(outcome: service.Outcome) -> ScheduleResult:
    assert outcome.schedule is not None
    return ScheduleResult(
        schedule=schedule_out(outcome.schedule),
        session_ids=outcome.session_ids,
        skipped=[SkippedOut(**s) for s in outcome.planned.skipped],
        cancelled_session_ids=outcome.cancelled_session_ids,
    )


@router.get("/schedules", response_model=Page[ScheduleOut], summary="Recurring schedules")
async def list_schedules(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    status: Literal["active", "ended", "cancelled"] | None = None,
    teacher_user_id: IdFilter = None,
    student_user_id: IdFilter = None,
    group_id: IdFilter = None,
) -> Page[ScheduleOut]:
    rows, total = await service.list_schedules(
        rt,
        ctx,
        status=status,
        teacher_user_id=teacher_user_id,
        student_user_id=student_user_id,
        group_id=group_id,
        offset=pages.offset,
        limit=pages.per_page,
    )
    return Page.of([schedule_out(s) for s in rows], total, pages)


@router.post(
    "/schedules",
    status_code=201,
    response_model=ScheduleResult,
    summary="Create a weekly schedule and book its sessions up to the horizon (all or none)",
)
async def create_schedule(
    body: ScheduleCreate, ctx: Scheduler, rt: CurrentRuntime
) -> ScheduleResult:
    return _result(await service.create_schedule(rt, ctx, body))


@router.post(
    "/schedule-preview",
    response_model=PreviewOut,
    summary="What creating this schedule would book, with every clash; writes nothing",
)
async def preview_schedule(body: ScheduleCreate, ctx: Scheduler, rt: CurrentRuntime) -> PreviewOut:
    outcome = await service.create_schedule(rt, ctx, body, dry_run=True)
    planned = outcome.planned
    return PreviewOut(
        through=outcome.through,
        occurrences=[
            OccurrenceOut(
                index=occurrence.index,
                local_date=occurrence.local_date,
                local_start=occurrence.local_start,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.starts_at + dt.timedelta(minutes=body.duration_minutes),
                conflicts=conflicts,
            )
            for occurrence, conflicts in planned.occurrences
        ],
        skipped=[SkippedOut(**s) for s in planned.skipped],
        conflicts=len(planned.clashing),
    )


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut, summary="One schedule")
async def get_schedule(schedule_id: ScheduleId, ctx: AnyMember, rt: CurrentRuntime) -> ScheduleOut:
    return schedule_out(await service.get_schedule(rt, ctx, schedule_id))


@router.post(
    "/schedules/{schedule_id}/change",
    status_code=201,
    response_model=ScheduleResult,
    summary="Change this and the following occurrences (the series is split at from_date)",
)
async def change_schedule(
    schedule_id: ScheduleId, body: ScheduleChange, ctx: Scheduler, rt: CurrentRuntime
) -> ScheduleResult:
    return _result(await service.change_schedule(rt, ctx, schedule_id, body))


@router.post(
    "/schedules/{schedule_id}/cancel",
    response_model=ScheduleResult,
    summary="Cancel this and the following occurrences (the whole series by default)",
)
async def cancel_schedule(
    schedule_id: ScheduleId, body: ScheduleCancel, ctx: Scheduler, rt: CurrentRuntime
) -> ScheduleResult:
    return _result(await service.cancel_schedule(rt, ctx, schedule_id, body))


def holiday_out(holiday: AcademyHoliday) -> HolidayOut:
    return HolidayOut.model_validate(holiday, from_attributes=True)


@router.get("/holidays", response_model=Page[HolidayOut], summary="The academy's holidays")
async def list_holidays(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    on_or_after: Annotated[dt.date | None, Query(alias="from")] = None,
    on_or_before: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Page[HolidayOut]:
    rows, total = await holidays.list_holidays(
        rt, ctx, on_or_after, on_or_before, offset=pages.offset, limit=pages.per_page
    )
    return Page.of([holiday_out(h) for h in rows], total, pages)


@router.post(
    "/holidays",
    status_code=201,
    response_model=HolidayCreated,
    summary="Add a holiday: schedules skip it, and their sessions booked on it are cancelled",
)
async def add_holiday(body: HolidayCreate, ctx: Admin, rt: CurrentRuntime) -> HolidayCreated:
    holiday, cancelled = await holidays.add_holiday(rt, ctx, body)
    return HolidayCreated(holiday=holiday_out(holiday), cancelled_session_ids=cancelled)


@router.delete("/holidays/{holiday_id}", status_code=204, summary="Remove a holiday")
async def delete_holiday(holiday_id: HolidayId, ctx: Admin, rt: CurrentRuntime) -> Response:
    await holidays.delete_holiday(rt, ctx, holiday_id)
    return Response(status_code=204)
