from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base
from halaqa.db.types import BigIntPK

PRESENCE_KINDS = ("joined", "left", "aborted", "confirmed", "room_finished")
PRESENCE_SOURCES = ("webhook", "poll", "heartbeat", "manual")


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
