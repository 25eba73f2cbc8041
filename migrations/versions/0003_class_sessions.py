"""class sessions: sessions, their participants (calendar bookings), status history, code counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:15:24.027127
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Two active bookings of one person may never overlap: the last word when two requests race.
# SQLite needs no constraint: it runs one writing transaction at a time (BEGIN IMMEDIATE), so the
# service's check and its insert cannot be overtaken there.
NO_OVERLAP = "ex_session_participants_no_overlap"


def upgrade() -> None:

    op.create_table(
        "session_code_counters",
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column(
            "last_value", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_session_code_counters_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("academy_id", "prefix", name=op.f("pk_session_code_counters")),
    )
    op.create_table(
        "class_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "duration_minutes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("homework", sa.Text(), nullable=True),
        sa.Column(
            "makeup_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "cancelled_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("late_cancellation", sa.Boolean(), nullable=False),
        sa.Column(
            "created_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "updated_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "scheduled_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'group' AND group_id IS NOT NULL AND student_user_id IS NULL) OR (kind <> 'group' AND group_id IS NULL AND student_user_id IS NOT NULL)",
            name=op.f("ck_class_sessions_group_or_student"),
        ),
        sa.CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL) OR (starts_at IS NULL AND ends_at IS NULL AND status IN ('unscheduled', 'cancelled'))",
            name=op.f("ck_class_sessions_time_unless_unscheduled"),
        ),
        sa.CheckConstraint(
            "kind IN ('individual', 'group', 'trial', 'assessment')",
            name=op.f("ck_class_sessions_known_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('unscheduled', 'scheduled', 'ready', 'ongoing', 'completed', 'absent', 'cancelled', 'suspended')",
            name=op.f("ck_class_sessions_known_status"),
        ),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 1 AND 720", name=op.f("ck_class_sessions_duration_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "group_id"],
            ["groups.academy_id", "groups.id"],
            name=op.f("fk_class_sessions_academy_id_group_id_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "makeup_of_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_class_sessions_academy_id_makeup_of_id_class_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_class_sessions_academy_id_student_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_class_sessions_academy_id_teacher_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_class_sessions_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_sessions")),
        sa.UniqueConstraint("academy_id", "code", name=op.f("uq_class_sessions_academy_id_code")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_class_sessions_academy_id_id")),
    )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_class_sessions_academy_starts", ["academy_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_class_sessions_group_starts", ["group_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_class_sessions_student_starts", ["student_user_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_class_sessions_teacher_starts", ["teacher_user_id", "starts_at"], unique=False
        )

    op.create_table(
        "session_participants",
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("busy_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('teacher', 'student')", name=op.f("ck_session_participants_known_role")
        ),
        sa.CheckConstraint(
            "(starts_at IS NULL AND busy_until IS NULL AND NOT active) OR (starts_at IS NOT NULL AND busy_until IS NOT NULL)",
            name=op.f("ck_session_participants_time_when_active"),
        ),
        sa.CheckConstraint(
            "busy_until > starts_at", name=op.f("ck_session_participants_busy_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_participants_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_participants")),
    )
    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_participants_user_starts",
            ["academy_id", "user_id", "starts_at"],
            unique=False,
        )

    op.create_table(
        "session_status_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_status_changes_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_status_changes")),
    )
    with op.batch_alter_table("session_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_status_changes_session", ["session_id", "id"], unique=False
        )
    _forbid_overlaps_on_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE session_participants DROP CONSTRAINT {NO_OVERLAP}")

    with op.batch_alter_table("session_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_session_status_changes_session")

    op.drop_table("session_status_changes")
    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_session_participants_user_starts")

    op.drop_table("session_participants")
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_class_sessions_teacher_starts")
        batch_op.drop_index("ix_class_sessions_student_starts")
        batch_op.drop_index("ix_class_sessions_group_starts")
        batch_op.drop_index("ix_class_sessions_academy_starts")

    op.drop_table("class_sessions")
    op.drop_table("session_code_counters")


def _forbid_overlaps_on_postgresql() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        f"ALTER TABLE session_participants ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist "
        "(academy_id WITH =, user_id WITH =, tstzrange(starts_at, busy_until) WITH &&) "
        "WHERE (active)"
    )
