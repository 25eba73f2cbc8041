"""session reports: per-student evaluations of class sessions, with their Quran passages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:11:19.726912
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_reports",
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
            "recitation_grade", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "academic_grade", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("learning_outcomes", sa.Text(), nullable=True),
        sa.Column("homework_assigned", sa.Text(), nullable=True),
        sa.Column("homework_reviewed", sa.Text(), nullable=True),
        sa.Column("homework_verdict", sa.String(length=20), nullable=True),
        sa.Column("teacher_notes", sa.Text(), nullable=True),
        sa.Column(
            "written_by_user_id",
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
            "homework_verdict IN ('done', 'partly_done', 'not_done')",
            name=op.f("ck_session_reports_known_verdict"),
        ),
        sa.CheckConstraint(
            "academic_grade BETWEEN 0 AND 10",
            name=op.f("ck_session_reports_academic_grade_in_range"),
        ),
        sa.CheckConstraint(
            "recitation_grade BETWEEN 0 AND 10",
            name=op.f("ck_session_reports_recitation_grade_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_reports_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_session_reports_academy_id_student_user_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_reports")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_session_reports_academy_id_id")),
        sa.UniqueConstraint(
            "session_id",
            "student_user_id",
            name=op.f("uq_session_reports_session_id_student_user_id"),
        ),
    )
    with op.batch_alter_table("session_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_reports_student",
            ["academy_id", "student_user_id", "session_id"],
            unique=False,
        )

    op.create_table(
        "session_report_passages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "from_surah", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "from_ayah", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("to_surah", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("to_ayah", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_page", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("to_page", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "kind IN ('memorisation', 'revision')",
            name=op.f("ck_session_report_passages_known_kind"),
        ),
        sa.CheckConstraint(
            "(from_page IS NULL OR from_page BETWEEN 1 AND 604) AND (to_page IS NULL OR (from_page IS NOT NULL AND to_page BETWEEN from_page AND 604))",
            name=op.f("ck_session_report_passages_pages_in_range"),
        ),
        sa.CheckConstraint(
            "from_ayah >= 1 AND to_ayah >= 1", name=op.f("ck_session_report_passages_ayah_positive")
        ),
        sa.CheckConstraint(
            "from_surah < to_surah OR (from_surah = to_surah AND from_ayah <= to_ayah)",
            name=op.f("ck_session_report_passages_ends_after_start"),
        ),
        sa.CheckConstraint(
            "from_surah BETWEEN 1 AND 114 AND to_surah BETWEEN 1 AND 114",
            name=op.f("ck_session_report_passages_surah_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "report_id"],
            ["session_reports.academy_id", "session_reports.id"],
            name=op.f("fk_session_report_passages_academy_id_report_id_session_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_report_passages")),
        sa.UniqueConstraint(
            "report_id",
            "kind",
            "position",
            name=op.f("uq_session_report_passages_report_id_kind_position"),
        ),
    )


def downgrade() -> None:
    op.drop_table("session_report_passages")
    with op.batch_alter_table("session_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_session_reports_student")

    op.drop_table("session_reports")
