from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK, PortableJSON

SESSION_KINDS = ("individual", "group", "trial", "assessment")
SESSION_STATUSES = (
    "unscheduled",
    "scheduled",
    "ready",
    "ongoing",
    "completed",
    "absent",
    "cancelled",
    "suspended",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_LIVE_MAKEUP = text("makeup_of_id IS NOT NULL AND status <> 'cancelled'")


class ClassSession(Timestamped, Base):
    """One live class. Its status is written only by scheduling.service.transition."""

    __tablename__ = "class_sessions"
    __table_args__ = (
        UniqueConstraint("academy_id", "code"),
        UniqueConstraint("academy_id", "id"),
        CheckConstraint(_one_of("kind", SESSION_KINDS), name="known_kind"),
        CheckConstraint(_one_of("status", SESSION_STATUSES), name="known_status"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 720", name="duration_in_range"),
        # A group session belongs to a group and has no single student; the others the reverse.
        CheckConstraint(
            "(kind = 'group' AND group_id IS NOT NULL AND student_user_id IS NULL) OR "
            "(kind <> 'group' AND group_id IS NULL AND student_user_id IS NOT NULL)",
            name="group_or_student",
        ),
        # Only an unscheduled session (or one cancelled before it got a time) has no time.
        CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL) OR "
            "(starts_at IS NULL AND ends_at IS NULL AND status IN ('unscheduled', 'cancelled'))",
            name="time_unless_unscheduled",
        ),
        ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(["academy_id", "group_id"], ["groups.academy_id", "groups.id"]),
        ForeignKeyConstraint(
            ["academy_id", "makeup_of_id"], ["class_sessions.academy_id", "class_sessions.id"]
        ),
        ForeignKeyConstraint(
            ["academy_id", "schedule_id"], ["schedules.academy_id", "schedules.id"]
        ),
        # An occurrence of a schedule is materialised once, however often the worker looks.
        UniqueConstraint("schedule_id", "occurrence_key"),
        CheckConstraint(
            "(schedule_id IS NULL) = (occurrence_key IS NULL)", name="occurrence_of_schedule"
        ),
        # A session is made up at most once at a time (a cancelled make-up frees the place).
        Index(
            "ix_class_sessions_one_live_makeup",
            "makeup_of_id",
            unique=True,
            sqlite_where=_LIVE_MAKEUP,
            postgresql_where=_LIVE_MAKEUP,
        ),
        Index("ix_class_sessions_academy_starts", "academy_id", "starts_at"),
        # Reminders: every academy's classes starting within a stretch of time.
        Index("ix_class_sessions_starts", "starts_at"),
        # The worker's due-scan: sessions whose next automatic step has come.
        Index("ix_class_sessions_next_step_at", "next_step_at"),
        Index("ix_class_sessions_teacher_starts", "teacher_user_id", "starts_at"),
        Index("ix_class_sessions_student_starts", "student_user_id", "starts_at"),
        Index("ix_class_sessions_group_starts", "group_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    teacher_user_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int | None] = mapped_column()
    group_id: Mapped[int | None] = mapped_column()
    starts_at: Mapped[datetime | None] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()  # kept with starts_at, for range queries
    time_zone: Mapped[str | None] = mapped_column(String(64))  # None: the group's or academy's
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # For academies meeting by links: this session's own meeting URL (else its group's).
    meeting_url: Mapped[str | None] = mapped_column(String(1000))
    # Recorded automatically once it starts: yes, no, or (None) as the academy decides.
    record: Mapped[bool | None] = mapped_column()
    homework: Mapped[str | None] = mapped_column(Text)
    makeup_of_id: Mapped[int | None] = mapped_column()
    # Set when the session is cancelled in a way that entitles its people to a make-up.
    makeup_owed: Mapped[bool] = mapped_column(default=False, server_default=false())
    schedule_id: Mapped[int | None] = mapped_column()
    # Which occurrence of its schedule this is: the local date and start as minutes since the
    # series' first day, so it stays the same whatever holidays or moves come later.
    occurrence_key: Mapped[int | None] = mapped_column()
    # When the system next acts on it (scheduling.steps); None: nothing to do.
    next_step_at: Mapped[datetime | None] = mapped_column()
    # When its attendance was last finalised; None until then, and again when late presence or
    # an override means it must be computed again.
    attendance_finalized_at: Mapped[datetime | None] = mapped_column()
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by_user_id: Mapped[int | None] = mapped_column()
    late_cancellation: Mapped[bool] = mapped_column(default=False)
    created_by_user_id: Mapped[int | None] = mapped_column()
    updated_by_user_id: Mapped[int | None] = mapped_column()
    scheduled_by_user_id: Mapped[int | None] = mapped_column()


# The PostgreSQL exclusion constraint added by migration 0003 (SQLite serialises writers instead).
NO_OVERLAP_CONSTRAINT = "ex_session_participants_no_overlap"


class SessionParticipant(Base):
    """Who is booked into a session, with the session's time copied in: the table conflicts are
    checked against (on PostgreSQL also by an exclusion constraint, see migration 0003)."""

    __tablename__ = "session_participants"
    __table_args__ = (
        CheckConstraint("role IN ('teacher', 'student')", name="known_role"),
        CheckConstraint("busy_until > starts_at", name="busy_after_start"),
        # An unscheduled session has its people but no time, and blocks nobody's calendar.
        CheckConstraint(
            "(starts_at IS NULL AND busy_until IS NULL AND NOT active) OR "
            "(starts_at IS NOT NULL AND busy_until IS NOT NULL)",
            name="time_when_active",
        ),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        Index("ix_session_participants_user_starts", "academy_id", "user_id", "starts_at"),
    )

    session_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime | None] = mapped_column()
    # The session's end plus the academy's break between sessions at the time it was booked.
    busy_until: Mapped[datetime | None] = mapped_column()
    # False once the session is cancelled or suspended: it then blocks nobody's calendar.
    active: Mapped[bool] = mapped_column(default=True)


class SessionStatusChange(Base):
    """The history every status change writes (append-only)."""

    __tablename__ = "session_status_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        Index("ix_session_status_changes_session", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(20))  # None when created
    to_status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column()  # None: the system
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column()


class SessionCodeCounter(Base):
    """The last number given out per code prefix: codes are allocated by one UPDATE, never
    reused, and never overflow (the number simply grows past six digits)."""

    __tablename__ = "session_code_counters"

    academy_id: Mapped[int] = mapped_column(
        ForeignKey("academies.id", ondelete="CASCADE"), primary_key=True
    )
    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class SessionReschedule(Base):
    """Every move of a session in time: from, to, why and by whom (append-only)."""

    __tablename__ = "session_reschedules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        Index("ix_session_reschedules_session", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    from_starts_at: Mapped[datetime | None] = mapped_column()  # None: it had no time yet
    from_duration_minutes: Mapped[int] = mapped_column()
    to_starts_at: Mapped[datetime] = mapped_column()
    to_duration_minutes: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    actor_user_id: Mapped[int | None] = mapped_column()
    at: Mapped[datetime] = mapped_column()


class Schedule(Timestamped, Base):
    """A weekly recurring schedule for a group or one student, materialised into sessions up to
    the academy's horizon. Its zone is fixed when it is made, so a later change of the academy's
    or group's zone never shifts classes already planned."""

    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("academy_id", "id"),
        CheckConstraint("kind IN ('individual', 'group')", name="known_kind"),
        CheckConstraint("status IN ('active', 'ended', 'cancelled')", name="known_status"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 720", name="duration_in_range"),
        CheckConstraint(
            "(kind = 'group' AND group_id IS NOT NULL AND student_user_id IS NULL) OR "
            "(kind <> 'group' AND group_id IS NULL AND student_user_id IS NOT NULL)",
            name="group_or_student",
        ),
        CheckConstraint("until IS NULL OR until >= starts_on", name="until_after_start"),
        CheckConstraint("count IS NULL OR count >= 1", name="count_positive"),
        CheckConstraint(
            "monthly_target IS NULL OR monthly_target >= 1", name="monthly_target_positive"
        ),
        ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(["academy_id", "group_id"], ["groups.academy_id", "groups.id"]),
        ForeignKeyConstraint(
            ["academy_id", "follows_schedule_id"], ["schedules.academy_id", "schedules.id"]
        ),
        # The worker's due-scan: active schedules whose horizon needs extending.
        Index("ix_schedules_status_due", "status", "materialise_due_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    teacher_user_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int | None] = mapped_column()
    group_id: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column()
    time_zone: Mapped[str] = mapped_column(String(64))
    # [{"weekday": 0-6, "start": "HH:MM"}, ...] in time_zone.
    slots: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON)
    starts_on: Mapped[date] = mapped_column()
    until: Mapped[date | None] = mapped_column()
    count: Mapped[int | None] = mapped_column()
    monthly_target: Mapped[int | None] = mapped_column()
    # The last local date expanded into sessions; None before the first materialisation.
    materialised_through: Mapped[date | None] = mapped_column()
    # The UTC date from which the worker extends it again (None once the series has ended).
    materialise_due_on: Mapped[date | None] = mapped_column()
    # Occurrences the worker could not book (someone was busy), for staff to resolve.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    # The schedule this one continues after a "this and following" edit.
    follows_schedule_id: Mapped[int | None] = mapped_column()
    created_by_user_id: Mapped[int | None] = mapped_column()
    updated_by_user_id: Mapped[int | None] = mapped_column()


class AcademyHoliday(Timestamped, Base):
    """Days (inclusive range, in the academy's calendar) recurring schedules skip."""

    __tablename__ = "academy_holidays"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_academy_holidays_academy_starts", "academy_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    created_by_user_id: Mapped[int | None] = mapped_column()
