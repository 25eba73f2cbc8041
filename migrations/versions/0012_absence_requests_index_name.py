"""absence_requests' partial unique index renamed to the naming convention (ix_<table>_...)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status IN ('pending', 'approved')")


def _rename(old: str, new: str) -> None:
    with op.batch_alter_table("absence_requests", schema=None) as batch_op:
        batch_op.drop_index(old, sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.create_index(
            new,
            ["session_id", "student_user_id"],
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        )


def upgrade() -> None:
    _rename("uq_absence_requests_open", "ix_absence_requests_open")


def downgrade() -> None:
    _rename("ix_absence_requests_open", "uq_absence_requests_open")
