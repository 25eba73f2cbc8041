from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK

HOMEWORK_VERDICTS = ("done", "partly_done", "not_done")
PASSAGE_KINDS = ("memorisation", "revision")


class SessionReport(Timestamped, Base):
    """The teacher's evaluation of one student in one session: Quran recitation, academic grade
    and outcomes, homework, notes. One per (session, student), rewritten whole by each PUT; who
    wrote it first and who last are kept, and every change goes to the audit log (its history).
    Attendance is not copied here: it is read from the session's attendance records."""

    __tablename__ = "session_reports"
    __table_args__ = (
        CheckConstraint("recitation_grade BETWEEN 0 AND 10", name="recitation_grade_in_range"),
        CheckConstraint("academic_grade BETWEEN 0 AND 10", name="academic_grade_in_range"),
        CheckConstraint(
            "homework_verdict IN ('done', 'partly_done', 'not_done')", name="known_verdict"
        ),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        UniqueConstraint("session_id", "student_user_id"),
        UniqueConstraint("academy_id", "id"),  # what the passages' foreign key points at
        # A student's reports over time (joined to their sessions' start).
        Index("ix_session_reports_student", "academy_id", "student_user_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    recitation_grade: Mapped[int | None] = mapped_column()  # Quran: 0 to 10
    academic_grade: Mapped[int | None] = mapped_column()  # 0 to 10
    learning_outcomes: Mapped[str | None] = mapped_column(Text)
    homework_assigned: Mapped[str | None] = mapped_column(Text)
    homework_reviewed: Mapped[str | None] = mapped_column(Text)  # how the last homework went
    homework_verdict: Mapped[str | None] = mapped_column(String(20))
    teacher_notes: Mapped[str | None] = mapped_column(Text)
    written_by_user_id: Mapped[int | None] = mapped_column()  # None: an API key
    updated_by_user_id: Mapped[int | None] = mapped_column()


class SessionReportPassage(Base):
    """A passage of the Quran a report records as newly memorised or revised: from one ayah to
    another (both included, possibly across surahs), with the mushaf pages the teacher gave.
    The database keeps what it can check without the surahs' lengths (evaluations.quran checks
    those)."""

    __tablename__ = "session_report_passages"
    __table_args__ = (
        CheckConstraint("kind IN ('memorisation', 'revision')", name="known_kind"),
        CheckConstraint(
            "from_surah BETWEEN 1 AND 114 AND to_surah BETWEEN 1 AND 114", name="surah_in_range"
        ),
        CheckConstraint("from_ayah >= 1 AND to_ayah >= 1", name="ayah_positive"),
        CheckConstraint(
            "from_surah < to_surah OR (from_surah = to_surah AND from_ayah <= to_ayah)",
            name="ends_after_start",
        ),
        CheckConstraint(
            "(from_page IS NULL OR from_page BETWEEN 1 AND 604) AND "
            "(to_page IS NULL OR (from_page IS NOT NULL AND to_page BETWEEN from_page AND 604))",
            name="pages_in_range",
        ),
        ForeignKeyConstraint(
            ["academy_id", "report_id"],
            ["session_reports.academy_id", "session_reports.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("report_id", "kind", "position"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    report_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column()  # its order among the report's passages of its kind
    from_surah: Mapped[int] = mapped_column()
    from_ayah: Mapped[int] = mapped_column()
    to_surah: Mapped[int] = mapped_column()
    to_ayah: Mapped[int] = mapped_column()
    from_page: Mapped[int | None] = mapped_column()
    to_page: Mapped[int | None] = mapped_column()
