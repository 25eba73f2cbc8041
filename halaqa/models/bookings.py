from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK

BOOKING_STATUSES = ("requested", "confirmed", "declined", "expired", "withdrawn")


class TeacherAvailability(Base):
    """One weekly window a teacher offers for bookings, in the teacher's own zone."""

    __tablename__ = "teacher_availability"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_in_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_teacher_availability_teacher", "academy_id", "teacher_user_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    teacher_user_id: Mapped[int] = mapped_column()
    weekday: Mapped[int] = mapped_column()  # 0 = Monday … 6 = Sunday
    starts_at: Mapped[time] = mapped_column()  # local wall time
    ends_at: Mapped[time] = mapped_column()
    time_zone: Mapped[str] = mapped_column(String(64))


class Booking(Timestamped, Base):
    """A student's request for a slot of a teacher's time; confirming it creates the session in
    the same transaction, and the database refuses a confirmed booking without one."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(repr(s) for s in BOOKING_STATUSES)),
            name="known_status",
        ),
        CheckConstraint("kind IN ('individual', 'trial')", name="known_kind"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 720", name="duration_in_range"),
        CheckConstraint(
            "(status = 'confirmed') = (session_id IS NOT NULL)", name="session_when_confirmed"
        ),
        ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"], ["memberships.academy_id", "memberships.user_id"]
        ),
        ForeignKeyConstraint(
            ["academy_id", "session_id"], ["class_sessions.academy_id", "class_sessions.id"]
        ),
        UniqueConstraint("session_id"),
        Index("ix_bookings_teacher_starts", "academy_id", "teacher_user_id", "starts_at"),
        Index("ix_bookings_student_starts", "academy_id", "student_user_id", "starts_at"),
        # The worker's due-scan for requests nobody answered.
        Index("ix_bookings_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    teacher_user_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column()
    time_zone: Mapped[str] = mapped_column(String(64))  # the requester's, for showing it back
    note: Mapped[str | None] = mapped_column(String(1000))
    expires_at: Mapped[datetime] = mapped_column()
    requested_by_user_id: Mapped[int | None] = mapped_column()
    answered_by_user_id: Mapped[int | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer_reason: Mapped[str | None] = mapped_column(String(500))
    session_id: Mapped[int | None] = mapped_column()
