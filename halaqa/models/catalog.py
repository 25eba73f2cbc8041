from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK

# Pending and enrolled enrollments are "open": a student holds at most one per group.
_OPEN_ENROLLMENT = text("status IN ('pending', 'enrolled')")


class Group(Timestamped, Base):
    """Students taught together: a Quran circle, a course or an interactive course."""

    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("kind IN ('circle', 'course', 'interactive_course')", name="known_kind"),
        CheckConstraint(
            "status IN ('draft', 'published', 'active', 'completed', 'cancelled')",
            name="known_status",
        ),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        # The teacher is a member of the same academy (the service checks the role and that the
        # membership is active; the database guarantees the academy).
        ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
        ),
        # The target of enrollments' (academy_id, group_id) key: an enrollment can never point
        # at another academy's group.
        UniqueConstraint("academy_id", "id"),
        Index("ix_groups_teacher", "academy_id", "teacher_user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    teacher_user_id: Mapped[int] = mapped_column()
    capacity: Mapped[int | None] = mapped_column()  # None: no limit
    time_zone: Mapped[str | None] = mapped_column(String(64))  # None: the academy's
    status: Mapped[str] = mapped_column(String(20))
    # For academies meeting by links: the group's standing meeting URL.
    meeting_url: Mapped[str | None] = mapped_column(String(1000))


class Enrollment(Timestamped, Base):
    """A student in a group: requested (pending), enrolled, then completed or cancelled."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'enrolled', 'completed', 'cancelled')", name="known_status"
        ),
        ForeignKeyConstraint(
            ["academy_id", "group_id"], ["groups.academy_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
        ),
        # The last word on "already enrolled", should two requests race past the service.
        Index(
            "ix_enrollments_one_open",
            "group_id",
            "student_user_id",
            unique=True,
            sqlite_where=_OPEN_ENROLLMENT,
            postgresql_where=_OPEN_ENROLLMENT,
        ),
        Index("ix_enrollments_group_status", "group_id", "status"),  # seats taken, rosters
        Index("ix_enrollments_student", "academy_id", "student_user_id"),  # a student's groups
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    enrolled_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()  # when completed or cancelled
