"""What the notification endpoints take and give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CalendarFeedOut(BaseModel):
    active: bool
    created_at: datetime | None = None
    last_read_at: datetime | None = Field(None, description="When a calendar last fetched it")


class CalendarFeedCreated(CalendarFeedOut):
    url: str = Field(description="Shown once: subscribe to it in any calendar application")
