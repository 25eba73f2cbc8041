"""notifications: what each person is told (in the app and by email), and what they muted

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 04:15:30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
KINDS = (
    "session_scheduled",
    "session_rescheduled",
    "session_cancelled",
    "reminder",
    "room_open",
    "recording_ready",
    "absence_recorded",
    "consecutive_absences",
    "balance_low",
    "balance_exhausted",
    "booking_requested",
    "booking_confirmed",
    "booking_declined",
)
EMAIL_STATUSES = ("pending", "sent", "failed", "muted", "not_configured")
UNREAD = sa.text("read_at IS NULL")


def _one_of(column: str, values: Sequence[str]) -> str:
    return "{} IN ({})".format(column, ", ".join(repr(v) for v in values))


def upgrade() -> None:
    op.create_table(
        "notification_mutes",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('in_app', 'email')", name=op.f("ck_notification_mutes_known_channel")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_mutes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "channel", name=op.f("pk_notification_mutes")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("academy_id", BIG_ID, nullable=True),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=20), nullable=False),
        sa.Column("email_attempts", BIG_ID, nullable=False),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _one_of("email_status", EMAIL_STATUSES),
            name=op.f("ck_notifications_known_email_status"),
        ),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_notifications_known_kind")),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_notifications_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_unread",
            ["user_id"],
            unique=False,
            sqlite_where=UNREAD,
            postgresql_where=UNREAD,
        )
        batch_op.create_index(
            "ix_notifications_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_created")
        batch_op.drop_index("ix_notifications_unread")
    op.drop_table("notifications")
    op.drop_table("notification_mutes")
