from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from halaqa.db.base import Base, Timestamped
from halaqa.db.types import BigIntPK, PortableJSON


class Academy(Timestamped, Base):
    """The tenant. `settings` holds only the values an admin changed; defaults fill the rest."""

    __tablename__ = "academies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    default_locale: Mapped[str] = mapped_column(String(5))
    settings: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)


class Membership(Timestamped, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("academy_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    roles: Mapped[list[MembershipRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MembershipRole.role"
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class MembershipRole(Base):
    __tablename__ = "membership_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'supervisor', 'teacher', 'student', 'parent')", name="known_role"
        ),
    )

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class Guardianship(Base):
    """A parent linked to a student; both must be members of the same academy."""

    __tablename__ = "guardianships"
    __table_args__ = (
        UniqueConstraint("academy_id", "parent_user_id", "student_user_id"),
        CheckConstraint("parent_user_id <> student_user_id", name="not_self"),
        ForeignKeyConstraint(
            ["academy_id", "parent_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["academy_id", "student_user_id"],
            ["memberships.academy_id", "memberships.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_guardianships_student", "academy_id", "student_user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    parent_user_id: Mapped[int] = mapped_column()
    student_user_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class ApiKey(Base):
    """A per-academy key for machines. Only its digest is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(
        ForeignKey("academies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so a key can be recognised
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]] = mapped_column(PortableJSON)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
