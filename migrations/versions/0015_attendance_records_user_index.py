"""attendance records' per-person index no longer led by academy_id (SQLite planned a session's
records on it, reading every record of the academy)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 01:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_records_user")
        batch_op.create_index("ix_attendance_records_user", ["user_id", "session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attendance_records", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_records_user")
        batch_op.create_index(
            "ix_attendance_records_user", ["academy_id", "user_id", "session_id"], unique=False
        )
