"""/admin/schedules: recurring schedules (list, preview, create, cancel) and the academy's
holidays, through the schedules API's own schemas and services. Staff schedule; admins keep the
holidays, as in the API."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Annotated, Any

from babel import Locale
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.academies.roles import Role
from halaqa.catalog import service as catalog
from halaqa.kit.pagination import PageParams
from halaqa.reports.service import today_in
from halaqa.schedules import holidays, service
from halaqa.schedules.schemas import HolidayCreate, ScheduleCancel, ScheduleCreate
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage, see_other
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import (
    AdminPage,
    Paging,
    StaffPage,
    as_list,
    choices,
    names,
    saved,
    show,
    submit,
    unprefixed,
)

router = APIRouter()
ScheduleId = Annotated[int, Path(ge=1, le=2**62)]
HolidayId = Annotated[int, Path(ge=1, le=2**62)]
SCHEDULE_FIELDS = (
    "kind",
    "title",
    "teacher_user_id",
    "student_user_id",
    "group_id",
    "duration_minutes",
    "time_zone",
    "starts_on",
    "until",
    "count",
    "monthly_target",
)
# Groups offered to schedule (the newest first is not needed: a choice list of them all).
GROUPS_SHOWN = PageParams(page=1, per_page=100)
# Holidays shown: from a month ago on.
HOLIDAYS_BACK = timedelta(days=31)
HOLIDAY = "holiday."  # the holiday form's fields, apart from the schedule form's


def _schedule_body(data: dict[str, Any]) -> dict[str, Any]:
    """The form as ScheduleCreate reads it: one start time on each weekday ticked."""
    body = {name: data[name] for name in SCHEDULE_FIELDS if name in data}
    body["slots"] = [
        {"weekday": day, "start": data.get("start", "")} for day in as_list(data.get("weekdays"))
    ]
    return body


def _slot_errors(errors: FieldErrors) -> FieldErrors:
    """Errors of the slots next to the weekdays or the start time that made them."""
    found: FieldErrors = {}
    for key, message in errors.items():
        if key.startswith("slots"):
            key = "start" if key.endswith("start") else "weekdays"
        found.setdefault(key, message)
    return found


async def _schedules_page(
    page: AcademyPage,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
    preview: service.Outcome | None = None,
) -> Response:
    status = page.visitor.request.query_params.get("status")
    status = status if status in labels.SCHEDULE_STATUSES else None
    rows, total = await service.list_schedules(
        page.rt,
        page.ctx,
        status=status,
        teacher_user_id=None,
        student_user_id=None,
        group_id=None,
        offset=paging.offset,
        limit=paging.per_page,
    )
    groups, _ = await catalog.list_groups(page.rt, page.ctx, GROUPS_SHOWN)
    today = today_in(page.academy.time_zone, page.visitor.now)
    days, _ = await holidays.list_holidays(
        page.rt, page.ctx, today - HOLIDAYS_BACK, None, offset=0, limit=100
    )
    locale = Locale.parse(page.visitor.language)
    people = {s.teacher_user_id for s in rows} | {s.student_user_id or 0 for s in rows}
    return show(
        page,
        "schedules.html",
        status_code,
        schedules=rows,
        total=total,
        paging=paging,
        status=status or "",
        people=await names(page, people),
        group_names={g.id: g.name for g in groups},
        groups=[(str(g.id), g.name) for g in groups],
        teachers=await choices(page, Role.TEACHER),
        students=await choices(page, Role.STUDENT),
        weekdays=[(str(day), locale.days["format"]["wide"][day]) for day in range(7)],
        holidays=days,
        labels=labels,
        preview=preview,
        form=form or {"kind": "individual", "duration_minutes": "60"},
        errors=errors or {},
    )


@router.get("/admin/schedules")
async def schedules(slug: str, page: StaffPage, paging: Paging) -> Response:
    return await _schedules_page(page, paging)


@router.post("/admin/schedules")
async def create_schedule(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    data = await read_form(request)
    data["weekdays"] = as_list(data.get("weekdays"))
    dry_run = data.get("action") == "preview"

    def again(status_code: int, errors: FieldErrors) -> Awaitable[Response]:
        return _schedules_page(page, paging, status_code, form=data, errors=_slot_errors(errors))

    def then(outcome: service.Outcome) -> str | Awaitable[Response]:
        # A preview (nothing booked) is shown with the form, to create it as it is.
        if dry_run:
            return _schedules_page(page, paging, form=data, preview=outcome)
        return "/admin/schedules"

    return await submit(
        page,
        data,
        ScheduleCreate,
        lambda body: service.create_schedule(page.rt, page.ctx, body, dry_run=dry_run),
        again,
        then,
        fields=_schedule_body(data),
    )


@router.post("/admin/schedules/{schedule_id}/cancel")
async def cancel_schedule(
    slug: str, schedule_id: ScheduleId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    form = await read_form(request)
    return await submit(
        page,
        form,
        ScheduleCancel,
        lambda body: service.cancel_schedule(page.rt, page.ctx, schedule_id, body),
        lambda status, errors: _schedules_page(page, paging, status, form=form, errors=errors),
        "/admin/schedules",
        prefix=f"cancel-{schedule_id}.",
    )


@router.post("/admin/holidays")
async def add_holiday(slug: str, request: Request, page: AdminPage, paging: Paging) -> Response:
    form = await read_form(request)
    data = unprefixed(form, HOLIDAY)
    data["cancel_sessions"] = "true" if data.get("cancel_sessions") else "false"
    return await submit(
        page,
        form,
        HolidayCreate,
        lambda body: holidays.add_holiday(page.rt, page.ctx, body),
        lambda status, errors: _schedules_page(page, paging, status, form=form, errors=errors),
        "/admin/schedules#holidays",
        prefix=HOLIDAY,
        fields=data,
    )


@router.post("/admin/holidays/{holiday_id}/remove")
async def remove_holiday(slug: str, holiday_id: HolidayId, page: AdminPage) -> Response:
    await holidays.delete_holiday(page.rt, page.ctx, holiday_id)
    return see_other(saved(page, "/admin/schedules#holidays"))
