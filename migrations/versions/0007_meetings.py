"""meetings: per-academy provider configuration, session rooms, meeting URLs, webhook events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:03:19.186496
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_configs",
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("livekit_url", sa.String(length=500), nullable=True),
        sa.Column("livekit_api_key", sa.String(length=200), nullable=True),
        sa.Column("livekit_api_secret_sealed", sa.Text(), nullable=True),
        sa.Column("jitsi_base_url", sa.String(length=500), nullable=True),
        sa.Column(
            "updated_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider <> 'livekit' OR (livekit_url IS NOT NULL AND livekit_api_key IS NOT NULL AND livekit_api_secret_sealed IS NOT NULL)",
            name=op.f("ck_meeting_configs_livekit_complete"),
        ),
        sa.CheckConstraint(
            "provider IN ('livekit', 'link')", name=op.f("ck_meeting_configs_known_provider")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_meeting_configs_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("academy_id", name=op.f("pk_meeting_configs")),
    )
    op.create_table(
        "meeting_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("room_name", sa.String(length=200), nullable=True),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'unknown_room')",
            name=op.f("ck_meeting_events_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_meeting_events_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_meeting_events_provider_event_id")
        ),
    )
    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_events_room", ["room_name", "id"], unique=False)

    op.create_table(
        "session_rooms",
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("room_name", sa.String(length=100), nullable=False),
        sa.Column("room_sid", sa.String(length=100), nullable=True),
        sa.Column("join_url", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("students_may_share_screen", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('livekit', 'link')", name=op.f("ck_session_rooms_known_provider")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'open', 'failed', 'closed')",
            name=op.f("ck_session_rooms_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_rooms_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_rooms")),
        sa.UniqueConstraint("room_name", name=op.f("uq_session_rooms_room_name")),
    )
    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_rooms_academy_status", ["academy_id", "status"], unique=False
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_url", sa.String(length=1000), nullable=True))

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_url", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("meeting_url")

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_column("meeting_url")

    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_session_rooms_academy_status")

    op.drop_table("session_rooms")
    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_events_room")

    op.drop_table("meeting_events")
    op.drop_table("meeting_configs")
