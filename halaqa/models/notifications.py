from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base
from halaqa.db.types import BigIntPK


class CalendarFeed(Base):
    """A user's private calendar address: the token is kept only as a keyed digest, and a user
    has at most one feed that works (a new one revokes the old)."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        Index(
            "ix_calendar_feeds_one_active",
            "user_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_read_at: Mapped[datetime | None] = mapped_column()


class NotificationKind(StrEnum):
    SESSION_SCHEDULED = "session_scheduled"
    SESSION_RESCHEDULED = "session_rescheduled"
    SESSION_CANCELLED = "session_cancelled"
    # A weekly series is told once, with its first class, not class by class.
    SCHEDULE_PLANNED = "schedule_planned"
    SCHEDULE_CHANGED = "schedule_changed"  # a series continued differently from a date
    SCHEDULE_ENDED = "schedule_ended"  # a series cancelled, or ended early, from a date
    REMINDER = "reminder"
    ROOM_OPEN = "room_open"
    RECORDING_READY = "recording_ready"
    ABSENCE_RECORDED = "absence_recorded"
    CONSECUTIVE_ABSENCES = "consecutive_absences"
    BALANCE_LOW = "balance_low"
    BALANCE_EXHAUSTED = "balance_exhausted"
    BOOKING_REQUESTED = "booking_requested"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_DECLINED = "booking_declined"


class EmailStatus(StrEnum):
    PENDING = "pending"  # a job will send it
    SENT = "sent"
    FAILED = "failed"  # every attempt failed; the job is parked and can be retried
    MUTED = "muted"  # the recipient muted this kind of email
    NOT_CONFIGURED = "not_configured"  # this server sends no email (no SMTP host)


class Notification(Base):
    """One thing one person is told: shown in the app (the bell) and, unless muted, emailed.
    Written in the same transaction as its cause; `dedupe_key` makes a cause that is looked at
    twice (a reminder scan, a retried job) tell each person once."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(
            "kind IN ({})".format(", ".join(repr(k.value) for k in NotificationKind)),
            name="known_kind",
        ),
        CheckConstraint(
            "email_status IN ({})".format(", ".join(repr(s.value) for s in EmailStatus)),
            name="known_email_status",
        ),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index(
            "ix_notifications_unread",
            "user_id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int | None] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # What the message says, kept as data: it is written in the recipient's language when shown.
    payload: Mapped[dict[str, Any]] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    email_status: Mapped[str] = mapped_column(String(20))
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_error: Mapped[str | None] = mapped_column(Text)
    email_sent_at: Mapped[datetime | None] = mapped_column()


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"


class NotificationMute(Base):
    """A kind of notification a user does not want on a channel."""

    __tablename__ = "notification_mutes"
    __table_args__ = (
        CheckConstraint(
            "channel IN ({})".format(", ".join(repr(c.value) for c in Channel)),
            name="known_channel",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
