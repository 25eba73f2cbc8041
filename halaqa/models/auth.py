from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base
from halaqa.db.types import BigIntPK


class AuthToken(Base):
    """A bearer token (login, later the web session cookie) or an invitation, stored as a digest."""

    __tablename__ = "auth_tokens"
    __table_args__ = (Index("ix_auth_tokens_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "login" | "invitation"
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class LoginAttempt(Base):
    """Failed logins, counted per account and per address to slow down password guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_key", "email_key", "created_at"),
        Index("ix_login_attempts_address", "address", "created_at"),
        # The worker's purge of old attempts (a password-guessing flood must not slow ticks).
        Index("ix_login_attempts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
