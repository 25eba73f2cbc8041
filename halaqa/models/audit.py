from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base
from halaqa.db.types import BigIntPK, PortableJSON


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE): who did what, when, from what."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_academy_created", "academy_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # No foreign keys: the record must outlive what it describes.
    academy_id: Mapped[int | None] = mapped_column()
    actor_user_id: Mapped[int | None] = mapped_column()
    actor_api_key_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
