"""HTTP API: attendance reports, each as JSON or as a CSV or XLSX download (`?format=`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.exceptions import InvalidInput
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.reports import service, sheets
from halaqa.reports.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Table, to_csv, to_xlsx
from halaqa.reports.schemas import (
    AbsenteesOut,
    ConsecutiveAbsencesOut,
    Format,
    GroupAttendanceOut,
    SessionAttendanceOut,
    StudentAttendanceOut,
    TeacherAttendanceOut,
)

router = APIRouter(prefix="/api/v1/academies/{slug}/reports", tags=["reports"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Teaching = Annotated[
    AcademyContext, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.TEACHER))
]
Id = Annotated[int, Path(ge=1, le=2**62)]
IdFilter = Annotated[int | None, Query(ge=1, le=2**62)]
FileFormat = Annotated[
    Format,
    Query(description="json (default), or a download: csv (UTF-8 with BOM) or xlsx"),
]
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
FirstDay = Annotated[
    date | None,
    Query(
        alias="from",
        ge=EARLIEST,
        le=LATEST,
        description="First day (YYYY-MM-DD, the academy's calendar); default: 29 days before `to`",
    ),
]
LastDay = Annotated[
    date | None,
    Query(
        alias="to",
        ge=EARLIEST,
        le=LATEST,
        description=f"Last day, included; default: today. At most {service.MAX_DAYS} days in all",
    ),
]
RunFirstDay = Annotated[
    date | None,
    Query(
        alias="from",
        ge=EARLIEST,
        le=LATEST,
        description="Look at the sessions held from this day to today; default: the last "
        f"{service.DEFAULT_RUN_DAYS} days",
    ),
]

FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, or with `format` a CSV or XLSX file to download",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}

Report = TypeVar("Report", bound=BaseModel)


def answer(
    report: Report, fmt: str, name: str, layout: Callable[[Report], list[Table]]
) -> Report | Response:
    """The report itself (JSON), or its tables as a file named `name`.csv or .xlsx."""
    if fmt == "json":
        return report
    tables = layout(report)
    if fmt == "csv":
        content, media_type = to_csv(tables[0]), CSV_MEDIA_TYPE
    else:
        content, media_type = to_xlsx(tables), XLSX_MEDIA_TYPE
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _days(period: service.Period) -> str:
    return f"{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}"


def _period(
    ctx: AcademyContext, rt: Runtime, first: date | None, last: date | None, days: int
) -> service.Period:
    zone = ctx.academy.time_zone
    return service.period_of(
        first, last, zone, service.today_in(zone, rt.clock.now()), default_days=days
    )


@router.get(
    "/sessions/{session_id}/attendance",
    response_model=SessionAttendanceOut,
    responses=FILES,
    summary="A session's attendance: each person's record and presence timeline",
)
async def session_report(
    session_id: Id, ctx: AnyMember, rt: CurrentRuntime, format: FileFormat = "json"
) -> SessionAttendanceOut | Response:
    report = await service.session_attendance(rt, ctx, session_id)
    return answer(
        report, format, f"attendance-session-{report.session.code}", sheets.session_tables
    )


@router.get(
    "/students/{student_user_id}/attendance",
    response_model=StudentAttendanceOut,
    responses=FILES,
    summary="A student's attendance over a period (a teacher sees the sessions they teach)",
)
async def student_report(
    student_user_id: Id,
    ctx: AnyMember,
    rt: CurrentRuntime,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    format: FileFormat = "json",
) -> StudentAttendanceOut | Response:
    period = _period(ctx, rt, first_day, last_day, service.DEFAULT_DAYS)
    report = await service.student_attendance(rt, ctx, student_user_id, period)
    name = f"attendance-student-{student_user_id}-{_days(period)}"
    return answer(report, format, name, sheets.student_tables)


@router.get(
    "/groups/{group_id}/attendance",
    response_model=GroupAttendanceOut,
    responses=FILES,
    summary="A group's sessions against its students over a period, with rates",
)
async def group_report(
    group_id: Id,
    ctx: Teaching,
    rt: CurrentRuntime,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    format: FileFormat = "json",
) -> GroupAttendanceOut | Response:
    period = _period(ctx, rt, first_day, last_day, service.DEFAULT_DAYS)
    report = await service.group_attendance(rt, ctx, group_id, period)
    name = f"attendance-group-{group_id}-{_days(period)}"
    return answer(report, format, name, sheets.group_tables)


@router.get(
    "/teachers/{teacher_user_id}/attendance",
    response_model=TeacherAttendanceOut,
    responses=FILES,
    summary="A teacher's sessions over a period: their own attendance, and their students'",
)
async def teacher_report(
    teacher_user_id: Id,
    ctx: Teaching,
    rt: CurrentRuntime,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    format: FileFormat = "json",
) -> TeacherAttendanceOut | Response:
    period = _period(ctx, rt, first_day, last_day, service.DEFAULT_DAYS)
    report = await service.teacher_attendance(rt, ctx, teacher_user_id, period)
    name = f"attendance-teacher-{teacher_user_id}-{_days(period)}"
    return answer(report, format, name, sheets.teacher_tables)


@router.get(
    "/absentees",
    response_model=AbsenteesOut,
    responses=FILES,
    summary="Students expected in sessions held over a period who were absent or have no record",
)
async def absentee_report(
    ctx: Teaching,
    rt: CurrentRuntime,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    teacher_user_id: IdFilter = None,
    group_id: IdFilter = None,
    format: FileFormat = "json",
) -> AbsenteesOut | Response:
    period = _period(ctx, rt, first_day, last_day, service.DEFAULT_DAYS)
    report = await service.absentees(rt, ctx, period, teacher_id=teacher_user_id, group_id=group_id)
    return answer(report, format, f"absentees-{_days(period)}", sheets.absentee_tables)


@router.get(
    "/consecutive-absences",
    response_model=ConsecutiveAbsencesOut,
    responses=FILES,
    summary="Students whose current run of consecutive absences is at least `at_least` long",
)
async def consecutive_absence_report(
    ctx: Teaching,
    rt: CurrentRuntime,
    at_least: Annotated[
        int, Query(ge=1, le=1000, description="The shortest run listed")
    ] = service.DEFAULT_AT_LEAST,
    first_day: RunFirstDay = None,
    teacher_user_id: IdFilter = None,
    group_id: IdFilter = None,
    format: FileFormat = "json",
) -> ConsecutiveAbsencesOut | Response:
    today = service.today_in(ctx.academy.time_zone, rt.clock.now())
    if first_day is not None and first_day > today:
        raise InvalidInput.field(
            "from", f"{first_day} is after today ({today}); runs are counted up to today"
        )
    period = _period(ctx, rt, first_day, today, service.DEFAULT_RUN_DAYS)
    report = await service.consecutive_absences(
        rt, ctx, period, at_least=at_least, teacher_id=teacher_user_id, group_id=group_id
    )
    return answer(report, format, f"consecutive-absences-{_days(period)}", sheets.run_tables)
