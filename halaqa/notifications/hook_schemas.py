"""What the outbound webhook endpoints take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from halaqa.kit.validation import Input, WebUrl

EventType = Literal[
    "session.scheduled",
    "session.rescheduled",
    "session.cancelled",
    "session.started",
    "session.completed",
    "attendance.finalized",
    "ledger.changed",
    "recording.ready",
]
Description = Annotated[str, Field(max_length=200)]


def _distinct(events: list[EventType] | None) -> list[EventType] | None:
    if events is not None and len(set(events)) != len(events):
        raise ValueError("name each event type once")
    return events


class EndpointCreate(Input):
    url: WebUrl
    events: list[EventType] = Field(min_length=1, max_length=8)
    description: Description | None = None

    _distinct_events = field_validator("events")(_distinct)


class EndpointUpdate(Input):
    url: WebUrl | None = None
    events: list[EventType] | None = Field(None, min_length=1, max_length=8)
    description: Description | None = None
    active: bool | None = None

    _distinct_events = field_validator("events")(_distinct)


class EndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="Shown once: check each delivery's signature with it")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_response: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]
