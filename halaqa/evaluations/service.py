"""Session reports: per student of a class session, its teacher's evaluation (Quran passages and
recitation, academic grade and outcomes, homework, notes) shown beside the student's attendance.

Who writes: the session's teacher and the academy's staff (admins, supervisors), once the session
has begun (ongoing, completed, or absent: a student who did not come may still get homework and
a note), never for one not held (unscheduled, scheduled, ready, suspended, cancelled). A PUT
rewrites the report whole; who wrote it first and who last are kept on it, and every change
goes to the audit log with what it was before.

Who reads: whoever may see the session (scheduling.service.get_session: others get 404 as if it
did not exist). Its teacher and the staff see every student; a student only their own report and
a parent only their children's. A student's reports over time: the student, their parents and
the staff see them all; a teacher those of the sessions they give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from halaqa.academies.auth import AcademyContext
from halaqa.academies.repository import MemberRepository
from halaqa.academies.roles import Role
from halaqa.academies.service import audit
from halaqa.evaluations.repository import ReportRepository
from halaqa.evaluations.schemas import PassageIn, ReportIn
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import AttendanceRecord, ClassSession, SessionReport, SessionReportPassage
from halaqa.scheduling.lifecycle import Status, Viewer
from halaqa.scheduling.service import SessionView, get_session, viewer_of

# A report is written about a session that took place, or is taking place now.
WRITABLE = frozenset({Status.ONGOING, Status.COMPLETED, Status.ABSENT})
_NOT_WRITABLE: dict[Status, tuple[str, str]] = {
    Status.UNSCHEDULED: ("session_not_scheduled", "this session has no time yet"),
    Status.SCHEDULED: ("session_not_started", "this session has not begun yet"),
    Status.READY: ("session_not_started", "this session has not begun yet"),
    Status.CANCELLED: ("session_cancelled", "this session was cancelled and not held"),
    Status.SUSPENDED: ("session_suspended", "this session is suspended and not held"),
}

# The report's own words, as written and compared; passages are [from_surah, from_ayah,
# to_surah, to_ayah, from_page, to_page].
_TEXTS = (
    "recitation_grade",
    "academic_grade",
    "learning_outcomes",
    "homework_assigned",
    "homework_reviewed",
    "homework_verdict",
    "teacher_notes",
)
_KINDS = ("memorisation", "revision")


@dataclass(frozen=True)
class ReportView:
    """One student's line in a session: the report if written, and their attendance if
    computed."""

    session: ClassSession
    student_user_id: int
    report: SessionReport | None = None
    passages: list[SessionReportPassage] = field(default_factory=list)
    attendance: AttendanceRecord | None = None

    def of_kind(self, kind: str) -> list[SessionReportPassage]:
        return [p for p in self.passages if p.kind == kind]


def students_of(view: SessionView) -> set[int]:
    """The session's students: an individual session's one student, a group session's
    participants taking part as students."""
    found = {p.user_id for p in view.participants if p.role == "student"}
    if view.session.student_user_id is not None:
        found.add(view.session.student_user_id)
    return found


def _runs(viewer: Viewer, session: ClassSession) -> bool:
    """Whether the viewer writes (and sees every) report of the session."""
    return viewer.is_staff or (
        viewer.user_id is not None and viewer.user_id == session.teacher_user_id
    )


def _contents_of_input(data: ReportIn) -> dict[str, Any]:
    quran, academic, homework = data.quran, data.academic, data.homework

    def passages(items: list[PassageIn]) -> list[list[int | None]]:
        return [
            [p.from_surah, p.from_ayah, p.to_surah, p.to_ayah, p.from_page, p.to_page]
            for p in items
        ]

    return {
        "recitation_grade": quran.recitation_grade if quran else None,
        "academic_grade": academic.grade if academic else None,
        "learning_outcomes": academic.learning_outcomes if academic else None,
        "homework_assigned": homework.assigned if homework else None,
        "homework_reviewed": homework.reviewed if homework else None,
        "homework_verdict": homework.verdict if homework else None,
        "teacher_notes": data.teacher_notes,
        "memorisation": passages(quran.memorisation) if quran else [],
        "revision": passages(quran.revision) if quran else [],
    }


def _contents_of(report: SessionReport, passages: Sequence[SessionReportPassage]) -> dict[str, Any]:
    found: dict[str, Any] = {name: getattr(report, name) for name in _TEXTS}
    for kind in _KINDS:
        found[kind] = [
            [p.from_surah, p.from_ayah, p.to_surah, p.to_ayah, p.from_page, p.to_page]
            for p in sorted(passages, key=lambda p: p.position)
            if p.kind == kind
        ]
    return found


def _passages_from(contents: dict[str, Any], report: SessionReport) -> list[SessionReportPassage]:
    return [
        SessionReportPassage(
            academy_id=report.academy_id,
            report_id=report.id,
            kind=kind,
            position=position,
            from_surah=from_surah,
            from_ayah=from_ayah,
            to_surah=to_surah,
            to_ayah=to_ayah,
            from_page=from_page,
            to_page=to_page,
        )
        for kind in _KINDS
        for position, (from_surah, from_ayah, to_surah, to_ayah, from_page, to_page) in enumerate(
            contents[kind]
        )
    ]


async def write_report(
    rt: Runtime, ctx: AcademyContext, session_id: int, student_id: int, data: ReportIn
) -> ReportView:
    """Creates or rewrites the report on one student of a session. Writing what is already
    there changes nothing (and records nothing)."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    if not _runs(await viewer_of(rt, ctx), session):
        raise Forbidden(
            "only the session's teacher or the academy's staff write its reports",
            code="not_allowed",
        )
    if student_id not in students_of(view):
        raise NotFound(
            f"user {student_id} is not a student of session {session_id}",
            code="not_a_student",
        )
    status = Status(session.status)
    if status not in WRITABLE:
        code, why = _NOT_WRITABLE[status]
        raise Conflict(
            f"{why}: reports are written once a session has begun (ongoing, completed, absent)",
            code=code,
        )
    reports = ReportRepository(rt.session, ctx.academy.id)
    report = await reports.get(session_id, student_id)
    wanted = _contents_of_input(data)
    before: dict[str, Any] | None = None
    if report is not None:
        before = _contents_of(report, (await reports.passages_of([report.id])).get(report.id, []))
        if before == wanted:
            return await _one(rt, ctx.academy.id, session, student_id, report)
    if report is None:
        report = SessionReport(
            academy_id=ctx.academy.id,
            session_id=session_id,
            student_user_id=student_id,
            written_by_user_id=ctx.user_id,
        )
    for name in _TEXTS:
        setattr(report, name, wanted[name])
    report.updated_by_user_id = ctx.user_id
    report.updated_at = rt.clock.now()  # also when only its passages change
    await reports.add(report)
    await reports.replace_passages(report.id, _passages_from(wanted, report))
    await audit(
        rt,
        ctx.actor,
        "session_report.created" if before is None else "session_report.updated",
        academy_id=ctx.academy.id,
        entity_type="session_report",
        entity_id=report.id,
        before=before,
        after={"session_id": session_id, "student_user_id": student_id, **wanted},
    )
    return await _one(rt, ctx.academy.id, session, student_id, report)


async def _one(
    rt: Runtime, academy_id: int, session: ClassSession, student_id: int, report: SessionReport
) -> ReportView:
    reports = ReportRepository(rt.session, academy_id)
    passages = (await reports.passages_of([report.id])).get(report.id, [])
    attendance = await reports.attendance_of([session.id], [student_id])
    return ReportView(
        session, student_id, report, passages, attendance.get((session.id, student_id))
    )


async def session_reports(rt: Runtime, ctx: AcademyContext, session_id: int) -> list[ReportView]:
    """One line per student of the session the viewer may see (their teacher and the staff:
    all; a student: their own; a parent: their children's), with the report where written."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    viewer = await viewer_of(rt, ctx)
    reports = ReportRepository(rt.session, ctx.academy.id)
    written = {r.student_user_id: r for r in await reports.of_session(session_id)}
    # Those reported on stay on the session's record even if they left its roster since.
    students = students_of(view) | written.keys()
    if not _runs(viewer, session):
        mine = {viewer.user_id} if viewer.user_id is not None else set()
        students &= mine | viewer.children
    ordered = sorted(students)
    passages = await reports.passages_of([r.id for r in written.values()])
    attendance = await reports.attendance_of([session_id], ordered)
    return [
        ReportView(
            session,
            student_id,
            written.get(student_id),
            passages.get(written[student_id].id, []) if student_id in written else [],
            attendance.get((session_id, student_id)),
        )
        for student_id in ordered
    ]


async def student_reports(
    rt: Runtime,
    ctx: AcademyContext,
    student_id: int,
    *,
    starts_from: datetime | None,
    starts_before: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[ReportView], int]:
    """A student's written reports over a span of session starts, newest first."""
    if starts_from is not None and starts_before is not None and starts_before <= starts_from:
        raise InvalidInput.field("to", "must come after 'from'")
    viewer = await viewer_of(rt, ctx)
    hidden = NotFound(f"no student {student_id} in this academy whose reports you may see")
    if await MemberRepository(rt.session, ctx.academy.id).get(student_id) is None:
        raise hidden
    teacher_id: int | None = None
    if not (viewer.is_staff or viewer.user_id == student_id or student_id in viewer.children):
        if ctx.user_id is None or Role.TEACHER not in ctx.roles:
            raise hidden
        teacher_id = ctx.user_id  # a teacher sees the reports of the sessions they give
    reports = ReportRepository(rt.session, ctx.academy.id)
    rows, total = await reports.page_of_student(
        student_id,
        teacher_id=teacher_id,
        starts_from=starts_from,
        starts_before=starts_before,
        offset=offset,
        limit=limit,
    )
    passages = await reports.passages_of([report.id for report, _ in rows])
    attendance = await reports.attendance_of([session.id for _, session in rows], [student_id])
    views = [
        ReportView(
            session,
            student_id,
            report,
            passages.get(report.id, []),
            attendance.get((session.id, student_id)),
        )
        for report, session in rows
    ]
    return views, total
