"""catalog: groups (circles, courses, interactive courses) and their enrollments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:54:15.759318
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("capacity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('circle', 'course', 'interactive_course')", name=op.f("ck_groups_known_kind")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'active', 'completed', 'cancelled')",
            name=op.f("ck_groups_known_status"),
        ),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 1", name=op.f("ck_groups_capacity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "teacher_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_groups_academy_id_teacher_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_groups_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_groups_academy_id_id")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index("ix_groups_teacher", ["academy_id", "teacher_user_id"], unique=False)

    op.create_table(
        "enrollments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'enrolled', 'completed', 'cancelled')",
            name=op.f("ck_enrollments_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "group_id"],
            ["groups.academy_id", "groups.id"],
            name=op.f("fk_enrollments_academy_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            name=op.f("fk_enrollments_academy_id_student_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_enrollments_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index("ix_enrollments_group_status", ["group_id", "status"], unique=False)
        batch_op.create_index(
            "ix_enrollments_one_open",
            ["group_id", "student_user_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'enrolled')"),
            postgresql_where=sa.text("status IN ('pending', 'enrolled')"),
        )
        batch_op.create_index(
            "ix_enrollments_student", ["academy_id", "student_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_student")
        batch_op.drop_index("ix_enrollments_one_open")
        batch_op.drop_index("ix_enrollments_group_status")

    op.drop_table("enrollments")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("ix_groups_teacher")

    op.drop_table("groups")
