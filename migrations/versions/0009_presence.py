"""presence events (append-only), when each room was last polled; indexes for the job claim and purges

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 07:23:41.285670
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presence_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("participant_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "meeting_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "kind = 'room_finished' OR user_id IS NOT NULL",
            name=op.f("ck_presence_events_has_user"),
        ),
        sa.CheckConstraint(
            "kind IN ('joined', 'left', 'aborted', 'confirmed', 'room_finished')",
            name=op.f("ck_presence_events_known_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('webhook', 'poll', 'heartbeat', 'manual')",
            name=op.f("ck_presence_events_known_source"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_presence_events_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_event_id"],
            ["meeting_events.id"],
            name=op.f("fk_presence_events_meeting_event_id_meeting_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_presence_events_event_key")),
    )
    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_presence_events_session", ["academy_id", "session_id", "at"], unique=False
        )
    _refuse_updates()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_due",
            ["run_after", "id"],
            unique=False,
            postgresql_where=sa.text("status IN ('queued', 'running')"),
            sqlite_where=sa.text("status IN ('queued', 'running')"),
        )
        batch_op.create_index(
            "ix_jobs_done",
            ["finished_at"],
            unique=False,
            postgresql_where=sa.text("status = 'done'"),
            sqlite_where=sa.text("status = 'done'"),
        )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True))


def _refuse_updates() -> None:
    """Presence is evidence, like the audit log: the database itself refuses to change a row."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION presence_events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'presence_events is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER presence_events_no_update BEFORE UPDATE ON presence_events "
            "FOR EACH ROW EXECUTE FUNCTION presence_events_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER presence_events_no_update BEFORE UPDATE ON presence_events "
            "BEGIN SELECT RAISE(ABORT, 'presence_events is append-only'); END"
        )


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_created_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_done")
        batch_op.drop_index("ix_jobs_due")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER presence_events_no_update ON presence_events")
        op.execute("DROP FUNCTION presence_events_refuse_update()")
    else:
        op.execute("DROP TRIGGER presence_events_no_update")
    with op.batch_alter_table("session_rooms", schema=None) as batch_op:
        batch_op.drop_column("polled_at")

    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.drop_index("ix_presence_events_session")

    op.drop_table("presence_events")
