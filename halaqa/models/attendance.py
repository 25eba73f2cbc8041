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

PRESENCE_KINDS = ("joined", "left", "aborted", "confirmed", "room_finished")
PRESENCE_SOURCES = ("webhook", "poll", "heartbeat", "manual")
ATTENDANCE_STATUSES = ("present", "late", "left_early", "partial", "absent", "excused")
ABSENCE_REQUEST_STATUSES = ("pending", "approved", "declined", "withdrawn")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PresenceEvent(Base):
    """One sign of who was in a session's room, from any source, normalised. Append-only (the
    database refuses to update a row; deleting the session deletes them) and unique on its key,
    so a source that says the same thing twice adds nothing. Attendance is folded from these
    rows, never from a summary."""

    __tablename__ = "presence_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('joined', 'left', 'aborted', 'confirmed', 'room_finished')",
            name="known_kind",
        ),
        CheckConstraint(
            "source IN ('webhook', 'poll', 'heartbeat', 'manual')", name="known_source"
        ),
        CheckConstraint("kind = 'room_finished' OR user_id IS NOT NULL", name="has_user"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("event_key"),
        Index("ix_presence_events_session", "academy_id", "session_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    user_id: Mapped[int | None] = mapped_column()  # None: the room itself (room_finished)
    # The provider's participant sid, or the meeting page's id for heartbeats: one connection.
    participant_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column()  # when it happened, by the source's clock
    arrived_at: Mapped[datetime] = mapped_column()  # when Halaqa learnt of it
    meeting_event_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_events.id"))
    event_key: Mapped[str] = mapped_column(String(300))


class AttendanceRecord(Base):
    """One teacher's or student's attendance in one finalised session, folded from its presence
    events. Rewritten whenever the session's attendance is computed again (late events, an
    override); `status` is the one that stands, `computed_status` what the presence alone earns."""

    __tablename__ = "attendance_records"
    __table_args__ = (
        CheckConstraint("role IN ('teacher', 'student')", name="known_role"),
        CheckConstraint(_one_of("computed_status", ATTENDANCE_STATUSES), name="known_computed"),
        CheckConstraint(_one_of("status", ATTENDANCE_STATUSES), name="known_status"),
        CheckConstraint("status_source IN ('auto', 'teacher', 'admin')", name="known_source"),
        CheckConstraint("seconds >= 0 AND window_seconds >= 0", name="seconds_not_negative"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("session_id", "user_id"),
        # A person's records (reports). Not led by academy_id: SQLite would then plan a session's
        # own records on it and read the whole academy's, rather than the (session, user) key.
        Index("ix_attendance_records_user", "user_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(10))
    first_join: Mapped[datetime | None] = mapped_column()
    last_leave: Mapped[datetime | None] = mapped_column()
    seconds: Mapped[int] = mapped_column()  # present within the counted window, exact
    window_start: Mapped[datetime] = mapped_column()  # the counted window this was measured over
    window_seconds: Mapped[int] = mapped_column()
    reconnects: Mapped[int] = mapped_column()
    inferred_end: Mapped[bool] = mapped_column()  # a stay had no leave (the missing-leave rule)
    sources: Mapped[str] = mapped_column(String(60))  # where the presence came from: "poll,webhook"
    computed_status: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    status_source: Mapped[str] = mapped_column(String(10))
    computed_at: Mapped[datetime] = mapped_column()


class AttendanceOverride(Base):
    """A teacher's or an admin's word on someone's attendance status, with a note. Append-only
    (the database refuses updates): the history of who decided what, and when."""

    __tablename__ = "attendance_overrides"
    __table_args__ = (
        CheckConstraint(_one_of("status", ATTENDANCE_STATUSES), name="known_status"),
        CheckConstraint("source IN ('teacher', 'admin')", name="known_source"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        Index("ix_attendance_overrides_session", "academy_id", "session_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text)
    decided_by_user_id: Mapped[int | None] = mapped_column()  # None: an API key
    decided_at: Mapped[datetime] = mapped_column()
    absence_request_id: Mapped[int | None] = mapped_column()  # set when an approval made it


class AbsenceRequest(Timestamped, Base):
    """A student's (or parent's) request, before a session, to be excused from it; a teacher or
    an admin approves (the student's status becomes `excused`) or declines it."""

    __tablename__ = "absence_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", ABSENCE_REQUEST_STATUSES), name="known_status"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        # One open or granted request per student and session; declined ones may be asked again.
        Index(
            "ix_absence_requests_open",
            "session_id",
            "student_user_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_absence_requests_academy_status", "academy_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    requested_by_user_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    decided_by_user_id: Mapped[int | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
