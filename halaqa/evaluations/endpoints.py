"""HTTP API for session reports: write one student's report, read a session's, read a student's
over time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.evaluations import quran, service
from halaqa.evaluations.schemas import (
    AcademicOut,
    AttendanceOut,
    HomeworkOut,
    PassageOut,
    QuranOut,
    ReportIn,
    ReportOut,
    SessionBrief,
    SurahOut,
)
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import SessionReportPassage
from halaqa.scheduling.lifecycle import Status
from halaqa.scheduling.service import aware

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["session reports"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Writer = Annotated[
    AcademyContext, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.TEACHER))
]
Pages = Annotated[PageParams, Depends(page_params)]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
StudentId = Annotated[int, Path(ge=1, le=2**62, description="The student's user id")]


def _surah(number: int) -> SurahOut:
    found = quran.surah(number)
    return SurahOut(
        number=found.number, name_ar=found.name_ar, name_en=found.name_en, ayahs=found.ayahs
    )


def passage_out(row: SessionReportPassage) -> PassageOut:
    passage = quran.Passage(
        row.from_surah, row.from_ayah, row.to_surah, row.to_ayah, row.from_page, row.to_page
    )
    return PassageOut(
        from_surah=_surah(row.from_surah),
        from_ayah=row.from_ayah,
        to_surah=_surah(row.to_surah),
        to_ayah=row.to_ayah,
        from_page=row.from_page,
        to_page=row.to_page,
        ayahs=passage.ayahs,
        pages=passage.pages,
    )


def report_out(view: service.ReportView) -> ReportOut:
    session, report, record = view.session, view.report, view.attendance
    memorisation = [passage_out(p) for p in view.of_kind("memorisation")]
    revision = [passage_out(p) for p in view.of_kind("revision")]
    quran_part = None
    academic = None
    homework = None
    if report is not None:
        if memorisation or revision or report.recitation_grade is not None:
            quran_part = QuranOut(
                memorisation=memorisation,
                revision=revision,
                recitation_grade=report.recitation_grade,
            )
        if report.academic_grade is not None or report.learning_outcomes is not None:
            academic = AcademicOut(
                grade=report.academic_grade, learning_outcomes=report.learning_outcomes
            )
        if any((report.homework_assigned, report.homework_reviewed, report.homework_verdict)):
            homework = HomeworkOut.model_validate(
                {
                    "assigned": report.homework_assigned,
                    "reviewed": report.homework_reviewed,
                    "verdict": report.homework_verdict,
                }
            )
    return ReportOut(
        id=report.id if report else None,
        session=SessionBrief.model_validate(
            {
                "id": session.id,
                "code": session.code,
                "title": session.title,
                "kind": session.kind,
                "status": Status(session.status),
                "starts_at": session.starts_at,
                "ends_at": session.ends_at,
                "teacher_user_id": session.teacher_user_id,
                "group_id": session.group_id,
            }
        ),
        student_user_id=view.student_user_id,
        attendance=None
        if record is None
        else AttendanceOut.model_validate(record, from_attributes=True),
        quran=quran_part,
        academic=academic,
        homework=homework,
        teacher_notes=report.teacher_notes if report else None,
        written_by_user_id=report.written_by_user_id if report else None,
        updated_by_user_id=report.updated_by_user_id if report else None,
        created_at=report.created_at if report else None,
        updated_at=report.updated_at if report else None,
    )


@router.put(
    "/sessions/{session_id}/reports/{student_user_id}",
    response_model=ReportOut,
    summary="Write (or rewrite whole) one student's report, once the session has begun "
    "(its teacher or staff)",
    responses={
        409: {
            "description": "The session was not held or has not begun: session_not_scheduled, "
            "session_not_started, session_cancelled, session_suspended"
        }
    },
)
async def write_report(
    session_id: SessionId,
    student_user_id: StudentId,
    body: ReportIn,
    ctx: Writer,
    rt: CurrentRuntime,
) -> ReportOut:
    return report_out(await service.write_report(rt, ctx, session_id, student_user_id, body))


@router.get(
    "/sessions/{session_id}/reports",
    response_model=list[ReportOut],
    summary="The session's students with their attendance and reports, as far as the viewer "
    "may see (teacher and staff: all; a student: their own; a parent: their children's)",
)
async def session_reports(
    session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime
) -> list[ReportOut]:
    return [report_out(v) for v in await service.session_reports(rt, ctx, session_id)]


@router.get(
    "/students/{student_user_id}/reports",
    response_model=Page[ReportOut],
    summary="A student's reports, newest session first (the student, their parents, staff; "
    "a teacher: those of their own sessions)",
)
async def student_reports(
    student_user_id: StudentId,
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    starts_from: Annotated[
        datetime | None, Query(alias="from", description="Sessions starting at or after")
    ] = None,
    starts_before: Annotated[
        datetime | None, Query(alias="to", description="Sessions starting before")
    ] = None,
) -> Page[ReportOut]:
    views, total = await service.student_reports(
        rt,
        ctx,
        student_user_id,
        starts_from=aware(starts_from, "from"),
        starts_before=aware(starts_before, "to"),
        offset=pages.offset,
        limit=pages.per_page,
    )
    return Page.of([report_out(v) for v in views], total, pages)
