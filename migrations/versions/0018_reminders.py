"""reminders: worker marks (how far a periodic step has looked) and classes by their start

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_marks")),
    )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_class_sessions_starts", ["starts_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_class_sessions_starts")
    op.drop_table("worker_marks")
