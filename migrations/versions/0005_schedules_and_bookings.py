"""schedules, holidays, make-ups, availability and bookings

Recurring schedules (sessions remember which occurrence they are), academy holidays, the make-up
owed flag with at most one live make-up per session, teachers' weekly availability, and booking
requests that can only be confirmed together with their session.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:25:48.966386
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "academy_holidays",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "created_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_academy_holidays_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_academy_holidays_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academy_holidays")),
    )
    with op.batch_alter_table("academy_holidays", schema=None) as batch_op:
        batch_op.create_index(
            "ix_academy_holidays_academy_starts", ["academy_id", "starts_on"], unique=False
        )

    op.create_table(
        "teacher_availability",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("weekday", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_teacher_availability_ends_after_start")
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_teacher_availability_weekday_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_teacher_availability_academy_id_teacher_user_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_teacher_availability_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher_availability")),
    )
    with op.batch_alter_table("teacher_availability", schema=None) as batch_op:
        batch_op.create_index(
            "ix_teacher_availability_teacher",
            ["academy_id", "teacher_user_id", "weekday"],
            unique=False,
        )

    op.create_table(
        "schedules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "duration_minutes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "slots",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "monthly_target", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("materialised_through", sa.Date(), nullable=True),
        sa.Column("materialise_due_on", sa.Date(), nullable=True),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "follows_schedule_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'group' AND group_id IS NOT NULL AND student_user_id IS NULL) OR (kind <> 'group' AND group_id IS NULL AND student_user_id IS NOT NULL)",
            name=op.f("ck_schedules_group_or_student"),
        ),
        sa.CheckConstraint("kind IN ('individual', 'group')", name=op.f("ck_schedules_known_kind")),
        sa.CheckConstraint(
            "status IN ('active', 'ended', 'cancelled')", name=op.f("ck_schedules_known_status")
        ),
        sa.CheckConstraint("count IS NULL OR count >= 1", name=op.f("ck_schedules_count_positive")),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 1 AND 720", name=op.f("ck_schedules_duration_in_range")
        ),
        sa.CheckConstraint(
            "monthly_target IS NULL OR monthly_target >= 1",
            name=op.f("ck_schedules_monthly_target_positive"),
        ),
        sa.CheckConstraint(
            "until IS NULL OR until >= starts_on", name=op.f("ck_schedules_until_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "follows_schedule_id"],
            ["schedules.academy_id", "schedules.id"],
            name=op.f("fk_schedules_academy_id_follows_schedule_id_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "group_id"],
            ["groups.academy_id", "groups.id"],
            name=op.f("fk_schedules_academy_id_group_id_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_schedules_academy_id_student_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_schedules_academy_id_teacher_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_schedules_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_schedules_academy_id_id")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_schedules_status_due", ["status", "materialise_due_on"], unique=False
        )

    op.create_table(
        "bookings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "duration_minutes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "requested_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "answered_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'confirmed') = (session_id IS NOT NULL)",
            name=op.f("ck_bookings_session_when_confirmed"),
        ),
        sa.CheckConstraint("kind IN ('individual', 'trial')", name=op.f("ck_bookings_known_kind")),
        sa.CheckConstraint(
            "status IN ('requested', 'confirmed', 'declined', 'expired', 'withdrawn')",
            name=op.f("ck_bookings_known_status"),
        ),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 1 AND 720", name=op.f("ck_bookings_duration_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_bookings_academy_id_session_id_class_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_bookings_academy_id_student_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_bookings_academy_id_teacher_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_bookings_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("session_id", name=op.f("uq_bookings_session_id")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_status_expires", ["status", "expires_at"], unique=False)
        batch_op.create_index(
            "ix_bookings_student_starts",
            ["academy_id", "student_user_id", "starts_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_bookings_teacher_starts",
            ["academy_id", "teacher_user_id", "starts_at"],
            unique=False,
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("makeup_owed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "schedule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "occurrence_key",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("next_step_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_class_sessions_next_step_at", ["next_step_at"], unique=False)
        batch_op.create_check_constraint(
            op.f("ck_class_sessions_occurrence_of_schedule"),
            "(schedule_id IS NULL) = (occurrence_key IS NULL)",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_class_sessions_schedule_id_occurrence_key"),
            ["schedule_id", "occurrence_key"],
        )
        batch_op.create_index(
            "ix_class_sessions_one_live_makeup",
            ["makeup_of_id"],
            unique=True,
            sqlite_where=sa.text("makeup_of_id IS NOT NULL AND status <> 'cancelled'"),
            postgresql_where=sa.text("makeup_of_id IS NOT NULL AND status <> 'cancelled'"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_class_sessions_academy_id_schedule_id_schedules"),
            "schedules",
            ["academy_id", "schedule_id"],
            ["academy_id", "id"],
        )
    # Sessions booked before the worker's due-scan: the worker looks at them from their start
    # (it checks what is really due before acting; the exact time is set by their next change).
    op.execute(
        "UPDATE class_sessions SET next_step_at = starts_at "
        "WHERE status = 'scheduled' AND starts_at IS NOT NULL"
    )
    op.execute("UPDATE class_sessions SET next_step_at = ends_at WHERE status = 'ongoing'")


def downgrade() -> None:
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_class_sessions_academy_id_schedule_id_schedules"), type_="foreignkey"
        )
        batch_op.drop_index(
            "ix_class_sessions_one_live_makeup",
            sqlite_where=sa.text("makeup_of_id IS NOT NULL AND status <> 'cancelled'"),
            postgresql_where=sa.text("makeup_of_id IS NOT NULL AND status <> 'cancelled'"),
        )
        batch_op.drop_constraint(
            batch_op.f("uq_class_sessions_schedule_id_occurrence_key"), type_="unique"
        )
        batch_op.drop_constraint(op.f("ck_class_sessions_occurrence_of_schedule"), type_="check")
        batch_op.drop_column("occurrence_key")
        batch_op.drop_column("schedule_id")
        batch_op.drop_index("ix_class_sessions_next_step_at")
        batch_op.drop_column("next_step_at")
        batch_op.drop_column("makeup_owed")

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_teacher_starts")
        batch_op.drop_index("ix_bookings_student_starts")
        batch_op.drop_index("ix_bookings_status_expires")

    op.drop_table("bookings")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_status_due")

    op.drop_table("schedules")
    with op.batch_alter_table("teacher_availability", schema=None) as batch_op:
        batch_op.drop_index("ix_teacher_availability_teacher")

    op.drop_table("teacher_availability")
    with op.batch_alter_table("academy_holidays", schema=None) as batch_op:
        batch_op.drop_index("ix_academy_holidays_academy_starts")

    op.drop_table("academy_holidays")
