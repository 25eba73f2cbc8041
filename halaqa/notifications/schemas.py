"""What the notification endpoints take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from halaqa.kit.pagination import Page
from halaqa.kit.validation import Input
from halaqa.models.notifications import EmailStatus, NotificationKind


class CalendarFeedOut(BaseModel):
    active: bool
    created_at: datetime | None = None
    last_read_at: datetime | None = Field(None, description="When a calendar last fetched it")


class CalendarFeedCreated(CalendarFeedOut):
    url: str = Field(description="Shown once: subscribe to it in any calendar application")


class NotificationOut(BaseModel):
    id: int
    kind: NotificationKind
    academy_id: int | None
    subject: str = Field(description="In your language and time zone")
    body: str
    link: str | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    email_status: EmailStatus
    email_attempts: int
    email_error: str | None


class NotificationPage(Page[NotificationOut]):
    unread: int


class UnreadOut(BaseModel):
    unread: int


class MarkRead(Input):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, max_length=500, description="Leave out to mark every notification read"
    )


class MarkedOut(BaseModel):
    marked: int


class KindChoice(Input):
    kind: NotificationKind
    in_app: bool = True
    email: bool = True


class NotificationSettings(Input):
    kinds: list[KindChoice] = Field(
        max_length=len(NotificationKind),
        description="Each kind you list is set; kinds left out are received on both channels",
    )
