"""attendance records, overrides and absence requests; when each session's attendance was finalised

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 00:02:52.692357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "absence_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "requested_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "decided_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined', 'withdrawn')",
            name=op.f("ck_absence_requests_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_absence_requests_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_requests")),
    )
    with op.batch_alter_table("absence_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_absence_requests_academy_status", ["academy_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "uq_absence_requests_open",
            ["session_id", "student_user_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'approved')"),
        )

    op.create_table(
        "attendance_overrides",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "decided_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "absence_request_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "source IN ('teacher', 'admin')", name=op.f("ck_attendance_overrides_known_source")
        ),
        sa.CheckConstraint(
            "status IN ('present', 'late', 'left_early', 'partial', 'absent', 'excused')",
            name=op.f("ck_attendance_overrides_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_attendance_overrides_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_overrides")),
    )
    with op.batch_alter_table("attendance_overrides", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attendance_overrides_session",
            ["academy_id", "session_id", "user_id", "id"],
            unique=False,
        )

    op.create_table(
        "attendance_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("first_join", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_leave", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "window_seconds", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "reconnects", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("inferred_end", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.String(length=60), nullable=False),
        sa.Column("computed_status", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_source", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "computed_status IN ('present', 'late', 'left_early', 'partial', 'absent', 'excused')",
            name=op.f("ck_attendance_records_known_computed"),
        ),
        sa.CheckConstraint(
            "role IN ('teacher', 'student')", name=op.f("ck_attendance_records_known_role")
        ),
        sa.CheckConstraint(
            "status IN ('present', 'late', 'left_early', 'partial', 'absent', 'excused')",
            name=op.f("ck_attendance_records_known_status"),
        ),
        sa.CheckConstraint(
            "status_source IN ('auto', 'teacher', 'admin')",
            name=op.f("ck_attendance_records_known_source"),
        ),
        sa.CheckConstraint(
            "seconds >= 0 AND window_seconds >= 0",
            name=op.f("ck_attendance_records_seconds_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_attendance_records_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_records")),
        sa.UniqueConstraint(
            "session_id", "user_id", name=op.f("uq_attendance_records_session_id_user_id")
        ),
    )
    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attendance_records_user", ["academy_id", "user_id", "session_id"], unique=False
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attendance_finalized_at", sa.DateTime(timezone=True), nullable=True)
        )
    _refuse_updates()


def _refuse_updates() -> None:
    """Overrides are the history of who decided what: the database refuses to change a row."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION attendance_overrides_refuse_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'attendance_overrides is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER attendance_overrides_no_update BEFORE UPDATE ON attendance_overrides "
            "FOR EACH ROW EXECUTE FUNCTION attendance_overrides_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER attendance_overrides_no_update BEFORE UPDATE ON attendance_overrides "
            "BEGIN SELECT RAISE(ABORT, 'attendance_overrides is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER attendance_overrides_no_update ON attendance_overrides")
        op.execute("DROP FUNCTION attendance_overrides_refuse_update()")
    else:
        op.execute("DROP TRIGGER attendance_overrides_no_update")
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_column("attendance_finalized_at")

    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_records_user")

    op.drop_table("attendance_records")
    with op.batch_alter_table("attendance_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_overrides_session")

    op.drop_table("attendance_overrides")
    with op.batch_alter_table("absence_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_absence_requests_open",
            sqlite_where=sa.text("status IN ('pending', 'approved')"),
            postgresql_where=sa.text("status IN ('pending', 'approved')"),
        )
        batch_op.drop_index("ix_absence_requests_academy_status")

    op.drop_table("absence_requests")
