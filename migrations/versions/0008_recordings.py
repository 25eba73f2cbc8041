"""recordings (LiveKit egress) and where they go, a session's record flag, webhook backlog index

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:43:21.466073
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_recordings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("egress_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "started_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=2000), nullable=True),
        sa.Column(
            "duration_seconds", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('starting', 'active', 'ending', 'complete', 'failed', 'aborted')",
            name=op.f("ck_session_recordings_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_recordings_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_recordings")),
        sa.UniqueConstraint("egress_id", name=op.f("uq_session_recordings_egress_id")),
    )
    with op.batch_alter_table("session_recordings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_recordings_session", ["academy_id", "session_id"], unique=False
        )

    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_rooms_open",
            ["session_id"],
            unique=False,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meeting_events_received",
            ["id"],
            unique=False,
            postgresql_where=sa.text("status = 'received'"),
            sqlite_where=sa.text("status = 'received'"),
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record", sa.Boolean(), nullable=True))

    with op.batch_alter_table("meeting_configs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recording_path_prefix", sa.String(length=300), nullable=True)
        )
        batch_op.add_column(sa.Column("recording_s3_bucket", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("recording_s3_region", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("recording_s3_endpoint", sa.String(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("recording_s3_access_key", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("recording_s3_secret_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_configs", schema=None) as batch_op:
        batch_op.drop_column("recording_s3_secret_sealed")
        batch_op.drop_column("recording_s3_access_key")
        batch_op.drop_column("recording_s3_endpoint")
        batch_op.drop_column("recording_s3_region")
        batch_op.drop_column("recording_s3_bucket")
        batch_op.drop_column("recording_path_prefix")

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_column("record")

    with op.batch_alter_table("meeting_events", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_events_received")

    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_session_rooms_open")

    with op.batch_alter_table("session_recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_session_recordings_session")

    op.drop_table("session_recordings")
