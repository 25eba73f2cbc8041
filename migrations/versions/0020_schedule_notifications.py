"""notifications: a weekly series told once when it is planned, changed or ended (new kinds)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "session_scheduled",
    "session_rescheduled",
    "session_cancelled",
    "reminder",
    "room_open",
    "recording_ready",
    "absence_recorded",
    "consecutive_absences",
    "balance_low",
    "balance_exhausted",
    "booking_requested",
    "booking_confirmed",
    "booking_declined",
)
NEW_KINDS = ("schedule_planned", "schedule_changed", "schedule_ended")


def _known_kind(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_known_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notifications_known_kind"),
            "kind IN ({})".format(", ".join(repr(k) for k in kinds)),
        )


def upgrade() -> None:
    _known_kind(KINDS[:3] + NEW_KINDS + KINDS[3:])


def downgrade() -> None:
    for name in ("notifications", "notification_mutes"):
        kind: sa.ColumnClause[str] = sa.column("kind", sa.String)
        op.execute(sa.table(name, kind).delete().where(kind.in_(NEW_KINDS)))
    _known_kind(KINDS)
