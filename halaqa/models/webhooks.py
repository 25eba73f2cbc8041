from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

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
from halaqa.db.types import BigIntPK, PortableJSON


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed; can be sent again by hand


class WebhookEndpoint(Timestamped, Base):
    """An address of the academy's own systems, told of the events it subscribes to; each body is
    signed with its secret (sealed at rest: the receiver needs the same secret to check)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        UniqueConstraint("academy_id", "id"),
        Index("ix_webhook_endpoints_academy", "academy_id", "active"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(PortableJSON)
    secret_sealed: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(Base):
    """One event for one endpoint: every attempt's outcome is kept here (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(repr(s.value) for s in DeliveryStatus)),
            name="known_status",
        ),
        ForeignKeyConstraint(
            ["academy_id", "endpoint_id"],
            ["webhook_endpoints.academy_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index(
            "ix_webhook_deliveries_failed",
            "academy_id",
            sqlite_where=text("status = 'failed'"),
            postgresql_where=text("status = 'failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int] = mapped_column()
    endpoint_id: Mapped[int] = mapped_column()
    event_id: Mapped[str] = mapped_column(String(64))  # the same for every endpoint told of it
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
