"""packages, subscriptions, pauses, cycles, the session ledger and its flags

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:32:14.790694
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "sessions_per_cycle",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "cycle_length", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("cycle_unit", sa.String(length=10), nullable=False),
        sa.Column(
            "session_minutes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "price_cents", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cycle_unit IN ('day', 'week', 'month')", name=op.f("ck_packages_known_cycle_unit")
        ),
        sa.CheckConstraint("kind IN ('individual', 'group')", name=op.f("ck_packages_known_kind")),
        sa.CheckConstraint(
            "cycle_length BETWEEN 1 AND 366", name=op.f("ck_packages_cycle_in_range")
        ),
        sa.CheckConstraint(
            "price_cents IS NULL OR price_cents >= 0", name=op.f("ck_packages_price_not_negative")
        ),
        sa.CheckConstraint(
            "session_minutes BETWEEN 1 AND 720", name=op.f("ck_packages_minutes_in_range")
        ),
        sa.CheckConstraint(
            "sessions_per_cycle BETWEEN 1 AND 1000", name=op.f("ck_packages_sessions_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_packages_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_packages_academy_id_id")),
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index("ix_packages_academy_name", ["academy_id", "name"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "package_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "teacher_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'paused', 'cancelled', 'expired')",
            name=op.f("ck_subscriptions_known_status"),
        ),
        sa.CheckConstraint(
            "(teacher_user_id IS NOT NULL AND group_id IS NULL) OR (teacher_user_id IS NULL AND group_id IS NOT NULL)",
            name=op.f("ck_subscriptions_teacher_or_group"),
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_subscriptions_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "package_id"],
            ["packages.academy_id", "packages.id"],
            name=op.f("fk_subscriptions_academy_id_package_id_packages"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id"],
            ["academies.id"],
            name=op.f("fk_subscriptions_academy_id_academies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_subscriptions_academy_id_id")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_subscriptions_group", ["academy_id", "group_id"], unique=False)
        batch_op.create_index(
            "ix_subscriptions_student", ["academy_id", "student_user_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_subscriptions_teacher", ["academy_id", "teacher_user_id"], unique=False
        )

    op.create_table(
        "subscription_cycles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("quota", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "carried_over", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("payment_status", sa.String(length=10), nullable=False),
        sa.Column("payment_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "payment_status IN ('pending', 'paid', 'failed', 'waived')",
            name=op.f("ck_subscription_cycles_known_payment"),
        ),
        sa.CheckConstraint(
            "ends_on > starts_on", name=op.f("ck_subscription_cycles_ends_after_start")
        ),
        sa.CheckConstraint(
            "quota >= 0 AND carried_over >= 0",
            name=op.f("ck_subscription_cycles_quota_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            name=op.f("fk_subscription_cycles_academy_id_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_cycles")),
        sa.UniqueConstraint("academy_id", "id", name=op.f("uq_subscription_cycles_academy_id_id")),
        sa.UniqueConstraint(
            "subscription_id", "number", name=op.f("uq_subscription_cycles_subscription_id_number")
        ),
    )
    with op.batch_alter_table("subscription_cycles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_cycles_dates", ["subscription_id", "starts_on"], unique=False
        )

    op.create_table(
        "subscription_pauses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_subscription_pauses_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            name=op.f("fk_subscription_pauses_academy_id_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_pauses")),
    )
    with op.batch_alter_table("subscription_pauses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_pauses_subscription", ["subscription_id", "starts_on"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "academy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("cycle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "student_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'consumed') = (seq % 2 = 1)", name=op.f("ck_ledger_entries_charges_alternate")
        ),
        sa.CheckConstraint(
            "kind IN ('consumed', 'refunded')", name=op.f("ck_ledger_entries_known_kind")
        ),
        sa.CheckConstraint(
            "source IN ('auto', 'teacher', 'admin')", name=op.f("ck_ledger_entries_known_source")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_ledger_entries_seq_positive")),
        sa.ForeignKeyConstraint(
            ["academy_id", "cycle_id"],
            ["subscription_cycles.academy_id", "subscription_cycles.id"],
            name=op.f("fk_ledger_entries_academy_id_cycle_id_subscription_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_ledger_entries_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            name=op.f("fk_ledger_entries_academy_id_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "session_id",
            "student_user_id",
            "seq",
            name=op.f("uq_ledger_entries_session_id_student_user_id_seq"),
        ),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_cycle", ["cycle_id"], unique=False)
        batch_op.create_index(
            "ix_ledger_entries_subscription", ["subscription_id", "id"], unique=False
        )

    op.create_table(
        "ledger_flags",
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
            "subscription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "resolved_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_ledger_flags_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            name=op.f("fk_ledger_flags_academy_id_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_flags")),
    )
    with op.batch_alter_table("ledger_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_flags_academy_status", ["academy_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_flags_open",
            ["session_id", "student_user_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    _refuse_updates()


def _refuse_updates() -> None:
    """The ledger is reversed, never edited: the database refuses to change a row."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_entries_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger_entries is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
            "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_no_update ON ledger_entries")
        op.execute("DROP FUNCTION ledger_entries_refuse_update()")
    else:
        op.execute("DROP TRIGGER ledger_entries_no_update")
    with op.batch_alter_table("ledger_flags", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_ledger_flags_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_ledger_flags_academy_status")

    op.drop_table("ledger_flags")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_subscription")
        batch_op.drop_index("ix_ledger_entries_cycle")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("subscription_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_pauses_subscription")

    op.drop_table("subscription_pauses")
    with op.batch_alter_table("subscription_cycles", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_cycles_dates")

    op.drop_table("subscription_cycles")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_teacher")
        batch_op.drop_index("ix_subscriptions_student")
        batch_op.drop_index("ix_subscriptions_group")

    op.drop_table("subscriptions")
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index("ix_packages_academy_name")

    op.drop_table("packages")
