"""All SQL for session reports: the reports, their Quran passages, and the attendance records
(read only: finalisation writes them) shown beside them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from halaqa.academies.repository import TenantRepository
from halaqa.models import AttendanceRecord, ClassSession, SessionReport, SessionReportPassage


class ReportRepository(TenantRepository):
    async def get(self, session_id: int, student_id: int) -> SessionReport | None:
        return await self.session.scalar(
            self._scoped(SessionReport).where(
                SessionReport.session_id == session_id,
                SessionReport.student_user_id == student_id,
            )
        )

    async def of_session(self, session_id: int) -> Sequence[SessionReport]:
        query = self._scoped(SessionReport).where(SessionReport.session_id == session_id)
        return (await self.session.scalars(query.order_by(SessionReport.student_user_id))).all()

    async def page_of_student(
        self,
        student_id: int,
        *,
        teacher_id: int | None,
        starts_from: datetime | None,
        starts_before: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[tuple[SessionReport, ClassSession]], int]:
        """The student's reports with their sessions, newest session first; with `teacher_id`,
        only those of sessions that teacher gives."""
        query = (
            self._scoped(SessionReport)
            .add_columns(ClassSession)
            .join(
                ClassSession,
                (ClassSession.academy_id == SessionReport.academy_id)
                & (ClassSession.id == SessionReport.session_id),
            )
            .where(SessionReport.student_user_id == student_id)
        )
        if teacher_id is not None:
            query = query.where(ClassSession.teacher_user_id == teacher_id)
        if starts_from is not None:
            query = query.where(ClassSession.starts_at >= starts_from)
        if starts_before is not None:
            query = query.where(ClassSession.starts_at < starts_before)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        result = await self.session.execute(
            query.order_by(ClassSession.starts_at.desc(), SessionReport.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(report, session) for report, session in result], total or 0

    async def add(self, report: SessionReport) -> None:
        assert report.academy_id == self.academy_id
        self.session.add(report)
        await self.session.flush()

    async def passages_of(self, report_ids: Sequence[int]) -> dict[int, list[SessionReportPassage]]:
        if not report_ids:
            return {}
        rows = await self.session.scalars(
            self._scoped(SessionReportPassage)
            .where(SessionReportPassage.report_id.in_(report_ids))
            .order_by(
                SessionReportPassage.report_id,
                SessionReportPassage.kind,
                SessionReportPassage.position,
            )
        )
        found: dict[int, list[SessionReportPassage]] = {}
        for passage in rows:
            found.setdefault(passage.report_id, []).append(passage)
        return found

    async def replace_passages(
        self, report_id: int, passages: Sequence[SessionReportPassage]
    ) -> None:
        """The report's passages become `passages`: a report is rewritten whole."""
        assert all(p.academy_id == self.academy_id and p.report_id == report_id for p in passages)
        await self.session.execute(
            delete(SessionReportPassage).where(
                SessionReportPassage.academy_id == self.academy_id,
                SessionReportPassage.report_id == report_id,
            )
        )
        self.session.add_all(passages)
        await self.session.flush()

    async def attendance_of(
        self, session_ids: Sequence[int], student_ids: Sequence[int]
    ) -> dict[tuple[int, int], AttendanceRecord]:
        """The attendance records of these students in these sessions, by (session, student);
        a session whose attendance was never computed has none."""
        if not session_ids or not student_ids:
            return {}
        rows = await self.session.scalars(
            self._scoped(AttendanceRecord).where(
                AttendanceRecord.session_id.in_(session_ids),
                AttendanceRecord.user_id.in_(student_ids),
                AttendanceRecord.role == "student",
            )
        )
        return {(r.session_id, r.user_id): r for r in rows}
