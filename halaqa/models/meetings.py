from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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

PROVIDERS = ("livekit", "link")
ROOM_STATUSES = ("pending", "open", "failed", "closed")
RECORDING_STATUSES = ("starting", "active", "ending", "complete", "failed", "aborted")


class MeetingConfig(Timestamped, Base):
    """How an academy's classes meet: its LiveKit server, or meeting links (a Jitsi base from
    which room URLs are made, or URLs set per group or session). The LiveKit API secret is kept
    sealed (kit.crypto) and never leaves the server."""

    __tablename__ = "meeting_configs"
    __table_args__ = (
        CheckConstraint("provider IN ('livekit', 'link')", name="known_provider"),
        CheckConstraint(
            "provider <> 'livekit' OR (livekit_url IS NOT NULL AND livekit_api_key IS NOT NULL "
            "AND livekit_api_secret_sealed IS NOT NULL)",
            name="livekit_complete",
        ),
    )

    academy_id: Mapped[int] = mapped_column(
        ForeignKey("academies.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    livekit_url: Mapped[str | None] = mapped_column(String(500))
    livekit_api_key: Mapped[str | None] = mapped_column(String(200))
    livekit_api_secret_sealed: Mapped[str | None] = mapped_column(Text)
    jitsi_base_url: Mapped[str | None] = mapped_column(String(500))
    # Where LiveKit's egress puts recordings: on its own disk (a path prefix), or in an S3
    # bucket (any S3-compatible store) whose secret is sealed like the API secret.
    recording_path_prefix: Mapped[str | None] = mapped_column(String(300))
    recording_s3_bucket: Mapped[str | None] = mapped_column(String(200))
    recording_s3_region: Mapped[str | None] = mapped_column(String(100))
    recording_s3_endpoint: Mapped[str | None] = mapped_column(String(500))
    recording_s3_access_key: Mapped[str | None] = mapped_column(String(200))
    recording_s3_secret_sealed: Mapped[str | None] = mapped_column(Text)
    updated_by_user_id: Mapped[int | None] = mapped_column()


class SessionRoom(Timestamped, Base):
    """A session's meeting room. Rooms are mapped back to sessions through `room_name` (unique,
    unguessable), never by parsing it."""

    __tablename__ = "session_rooms"
    __table_args__ = (
        CheckConstraint("provider IN ('livekit', 'link')", name="known_provider"),
        CheckConstraint("status IN ('pending', 'open', 'failed', 'closed')", name="known_status"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("room_name"),
        Index("ix_session_rooms_academy_status", "academy_id", "status"),
        # The worker's sweep reads only the rooms still open.
        Index(
            "ix_session_rooms_open",
            "session_id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    session_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    provider: Mapped[str] = mapped_column(String(20))
    room_name: Mapped[str] = mapped_column(String(100))
    room_sid: Mapped[str | None] = mapped_column(String(100))
    join_url: Mapped[str | None] = mapped_column(String(1000))  # link provider
    status: Mapped[str] = mapped_column(String(20))
    # Why the room is not open (shown on the session), and how often it was tried.
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    students_may_share_screen: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    # When the worker last asked the provider who is in the room (presence polls).
    polled_at: Mapped[datetime | None] = mapped_column()


class MeetingEvent(Base):
    """A verified webhook from a meeting provider, kept raw and once (unique on its id), then
    processed by a job; events for rooms Halaqa does not know are kept and reported."""

    __tablename__ = "meeting_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'unknown_room')", name="known_status"
        ),
        Index("ix_meeting_events_room", "room_name", "id"),
        # Only what is waiting to be processed: the backlog /metrics counts stays cheap.
        Index(
            "ix_meeting_events_received",
            "id",
            postgresql_where=text("status = 'received'"),
            sqlite_where=text("status = 'received'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(50))
    room_name: Mapped[str | None] = mapped_column(String(200))
    academy_id: Mapped[int | None] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)  # exactly as received
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column()


class SessionRecording(Timestamped, Base):
    """A recording of a session's room (a LiveKit egress), from start to where its file is."""

    __tablename__ = "session_recordings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('starting', 'active', 'ending', 'complete', 'failed', 'aborted')",
            name="known_status",
        ),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("egress_id"),
        Index("ix_session_recordings_session", "academy_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    egress_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    started_by_user_id: Mapped[int | None] = mapped_column()  # None: recorded automatically
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    location: Mapped[str | None] = mapped_column(String(2000))  # where the file is
    duration_seconds: Mapped[int | None] = mapped_column()
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
