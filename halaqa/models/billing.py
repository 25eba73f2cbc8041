from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK

SUBSCRIPTION_STATUSES = ("pending", "active", "paused", "cancelled", "expired")
PAYMENT_STATUSES = ("pending", "paid", "failed", "waived")


class Package(Timestamped, Base):
    """What an academy sells: N sessions of a given length per cycle (e.g. 8 a month)."""

    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'group')", name="known_kind"),
        CheckConstraint("cycle_unit IN ('day', 'week', 'month')", name="known_cycle_unit"),
        CheckConstraint("sessions_per_cycle BETWEEN 1 AND 1000", name="sessions_in_range"),
        CheckConstraint("cycle_length BETWEEN 1 AND 366", name="cycle_in_range"),
        CheckConstraint("session_minutes BETWEEN 1 AND 720", name="minutes_in_range"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_not_negative"),
        UniqueConstraint("academy_id", "id"),
        Index("ix_packages_academy_name", "academy_id", "name"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # individual lessons, or a group's sessions
    sessions_per_cycle: Mapped[int] = mapped_column()
    cycle_length: Mapped[int] = mapped_column()
    cycle_unit: Mapped[str] = mapped_column(String(10))
    session_minutes: Mapped[int] = mapped_column()
    price_cents: Mapped[int | None] = mapped_column()  # informational only
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(default=True)  # offered for new subscriptions


class Subscription(Timestamped, Base):
    """A student's right to a package's sessions with one teacher (individual lessons) or in one
    group. Its status changes only as catalog.subscription_lifecycle allows."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'active', 'paused', 'cancelled', 'expired')",
            name="known_status",
        ),
        CheckConstraint(
            "(teacher_user_id IS NOT NULL AND group_id IS NULL) OR "
            "(teacher_user_id IS NULL AND group_id IS NOT NULL)",
            name="teacher_or_group",
        ),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        ForeignKeyConstraint(["academy_id", "package_id"], ["packages.academy_id", "packages.id"]),
        UniqueConstraint("academy_id", "id"),
        Index("ix_subscriptions_student", "academy_id", "student_user_id", "status"),
        Index("ix_subscriptions_teacher", "academy_id", "teacher_user_id"),
        Index("ix_subscriptions_group", "academy_id", "group_id"),
        Index("ix_subscriptions_status_ends", "status", "ends_on"),  # the expiry step
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    teacher_user_id: Mapped[int | None] = mapped_column()
    group_id: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()  # the last day; extended by pauses
    activated_at: Mapped[datetime | None] = mapped_column()
    # When it stopped covering sessions (cancelled or expired); sessions before still count.
    ended_at: Mapped[datetime | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)


class SubscriptionPause(Base):
    """A pause of a subscription: its sessions in [starts_on, ends_on] are suspended, and its end
    moves by the pause's length."""

    __tablename__ = "subscription_pauses"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
        Index("ix_subscription_pauses_subscription", "subscription_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    subscription_id: Mapped[int] = mapped_column()
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    resumed_at: Mapped[datetime | None] = mapped_column()  # resumed before ends_on


class SubscriptionCycle(Base):
    """One cycle of a subscription: its quota (the package's sessions plus those carried over)
    and its payment. How many it used is always counted from the ledger, never stored."""

    __tablename__ = "subscription_cycles"
    __table_args__ = (
        CheckConstraint(
            "payment_status IN ('pending', 'paid', 'failed', 'waived')", name="known_payment"
        ),
        CheckConstraint("quota >= 0 AND carried_over >= 0", name="quota_not_negative"),
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("subscription_id", "number"),
        UniqueConstraint("academy_id", "id"),
        Index("ix_subscription_cycles_dates", "subscription_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    subscription_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()  # 1, 2, ...
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()  # exclusive: the next cycle's first day
    quota: Mapped[int] = mapped_column()  # sessions it may use, carried_over included
    carried_over: Mapped[int] = mapped_column(default=0)
    payment_status: Mapped[str] = mapped_column(String(10), default="pending")
    payment_note: Mapped[str | None] = mapped_column(Text)


class LedgerEntry(Base):
    """A session consumed from, or refunded to, a student's subscription. Never edited or
    deleted: each (session, student) has a numbered history in which charges (odd numbers) and
    refunds (even numbers) alternate, so the database itself makes a second charge without a
    refund in between impossible, whatever runs concurrently. The balance is counted from it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('consumed', 'refunded')", name="known_kind"),
        CheckConstraint("source IN ('auto', 'teacher', 'admin')", name="known_source"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("(kind = 'consumed') = (seq % 2 = 1)", name="charges_alternate"),
        ForeignKeyConstraint(
            ["academy_id", "subscription_id"],
            ["subscriptions.academy_id", "subscriptions.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["academy_id", "cycle_id"],
            ["subscription_cycles.academy_id", "subscription_cycles.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("session_id", "student_user_id", "seq"),
        Index("ix_ledger_entries_subscription", "subscription_id", "id"),
        Index("ix_ledger_entries_cycle", "cycle_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    subscription_id: Mapped[int] = mapped_column()
    cycle_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(40))  # what decided it, e.g. "present"
    source: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column()  # None: the system
    at: Mapped[datetime] = mapped_column()


class LedgerFlag(Timestamped, Base):
    """A charge the ledger would not make silently (the cycle has no session left): held for an
    admin, who adds to the quota, waives it or dismisses it."""

    __tablename__ = "ledger_flags"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="known_status"),
        ForeignKeyConstraint(
            ["academy_id", "session_id"],
            ["class_sessions.academy_id", "class_sessions.id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_ledger_flags_open",
            "session_id",
            "student_user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_ledger_flags_academy_status", "academy_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    session_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    subscription_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(40))  # e.g. "quota_exhausted"
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_by_user_id: Mapped[int | None] = mapped_column()
    resolution_note: Mapped[str | None] = mapped_column(Text)
