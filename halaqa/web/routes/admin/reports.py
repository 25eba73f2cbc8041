"""/admin/reports: the attendance reports (a student, a group, a teacher over a period; the
absentees; runs of consecutive absences) as tables, from the reports service, with links to the
same report as a CSV or XLSX file from the reports API (the session cookie signs those in)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from halaqa.academies.roles import Role
from halaqa.academies.schemas import Id
from halaqa.catalog import service as catalog
from halaqa.kit.pagination import PageParams
from halaqa.kit.validation import CalendarDate, Input
from halaqa.reports import service
from halaqa.web.forms import validate
from halaqa.web.nav import N_
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import Refusal, StaffPage, attempt, choices, show

router = APIRouter()
Kind = Literal["absentees", "consecutive", "student", "group", "teacher"]
KINDS = {
    "absentees": N_("Absentees"),
    "consecutive": N_("Consecutive absences"),
    "student": N_("A student"),
    "group": N_("A group"),
    "teacher": N_("A teacher"),
}
# The reports API's path for each report, after /reports.
PATHS = {
    "absentees": "/absentees",
    "consecutive": "/consecutive-absences",
    "student": "/students/{student_user_id}/attendance",
    "group": "/groups/{group_id}/attendance",
    "teacher": "/teachers/{teacher_user_id}/attendance",
}
# Whom each report is about: it needs that choice.
SUBJECTS = {"student": "student_user_id", "group": "group_id", "teacher": "teacher_user_id"}
GROUPS_SHOWN = PageParams(page=1, per_page=100)
QUESTION = ("report", "from", "to", "student_user_id", "group_id", "teacher_user_id", "at_least")


class ReportQuery(Input):
    """The page's question, in the reports API's own terms (its query parameters)."""

    report: Kind = "absentees"
    first_day: CalendarDate | None = Field(None, alias="from")
    last_day: CalendarDate | None = Field(None, alias="to")
    student_user_id: Id | None = None
    group_id: Id | None = None
    teacher_user_id: Id | None = None
    at_least: int = Field(service.DEFAULT_AT_LEAST, ge=1, le=1000)


async def _run(page: AcademyPage, query: ReportQuery) -> BaseModel:
    """The report asked for, as the reports API computes it."""
    today = service.today_in(page.academy.time_zone, page.rt.clock.now())
    last = today if query.report == "consecutive" else query.last_day
    days = service.DEFAULT_RUN_DAYS if query.report == "consecutive" else service.DEFAULT_DAYS
    period = service.period_of(
        query.first_day, last, page.academy.time_zone, today, default_days=days
    )
    rt, ctx = page.rt, page.ctx
    if query.report == "student":
        assert query.student_user_id is not None
        return await service.student_attendance(rt, ctx, query.student_user_id, period)
    if query.report == "group":
        assert query.group_id is not None
        return await service.group_attendance(rt, ctx, query.group_id, period)
    if query.report == "teacher":
        assert query.teacher_user_id is not None
        return await service.teacher_attendance(rt, ctx, query.teacher_user_id, period)
    if query.report == "consecutive":
        return await service.consecutive_absences(
            rt,
            ctx,
            period,
            at_least=query.at_least,
            teacher_id=query.teacher_user_id,
            group_id=query.group_id,
        )
    return await service.absentees(
        rt, ctx, period, teacher_id=query.teacher_user_id, group_id=query.group_id
    )


def _download(page: AcademyPage, query: ReportQuery, file_format: str) -> str:
    """The same report from the reports API, as a file."""
    path = PATHS[query.report].format(**query.model_dump())
    params: dict[str, str | int] = {"format": file_format}
    if query.first_day is not None:
        params["from"] = query.first_day.isoformat()
    if query.last_day is not None and query.report != "consecutive":
        params["to"] = query.last_day.isoformat()
    if query.report in ("absentees", "consecutive"):
        for name in ("teacher_user_id", "group_id"):
            value = getattr(query, name)
            if value is not None:
                params[name] = value
    if query.report == "consecutive":
        params["at_least"] = query.at_least
    return f"/api/v1/academies/{page.academy.slug}/reports{path}?{urlencode(params)}"


@router.get("/admin/reports")
async def reports(slug: str, page: StaffPage) -> Response:
    given = page.visitor.request.query_params
    asked = {name: given[name] for name in QUESTION if name in given}
    form = {"report": "absentees", **asked}
    query, errors = validate(ReportQuery, asked, page.visitor.gettext)
    subject = SUBJECTS.get(query.report) if query else None
    if query is not None and subject is not None and getattr(query, subject) is None:
        errors = {subject: page.visitor.gettext("This field is required.")}
        query = None
    result = None
    if query is not None:
        outcome = await attempt(page, lambda: _run(page, query))
        if isinstance(outcome, Refusal):
            errors = outcome.errors
        else:
            result = outcome
    groups, _ = await catalog.list_groups(page.rt, page.ctx, GROUPS_SHOWN)
    return show(
        page,
        "reports.html",
        422 if errors else 200,
        form=form,
        errors=errors,
        kinds=KINDS,
        report=query.report if query else form["report"],
        result=result,
        downloads=None
        if result is None or query is None
        else {fmt: _download(page, query, fmt) for fmt in ("csv", "xlsx")},
        students=await choices(page, Role.STUDENT),
        teachers=await choices(page, Role.TEACHER),
        groups=[(str(g.id), g.name) for g in groups],
        labels=labels,
    )
