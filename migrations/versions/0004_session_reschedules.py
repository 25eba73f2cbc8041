"""session reschedules: the history of every move of a session in time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:57:55.015485
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "session_reschedules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "from_duration_minutes",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("to_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "to_duration_minutes",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_session_reschedules_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_reschedules")),
    )
    with op.batch_alter_table("session_reschedules", schema=None) as batch_op:
        batch_op.create_index("ix_session_reschedules_session", ["session_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("session_reschedules", schema=None) as batch_op:
        batch_op.drop_index("ix_session_reschedules_session")

    op.drop_table("session_reschedules")
