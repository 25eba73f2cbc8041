"""A calendar feed as iCalendar text (pure): one event per session, stable UIDs, local times with
their VTIMEZONE, cancellations kept as STATUS:CANCELLED so that calendars remove them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODUCT_ID = "-//Halaqa//Class calendar//EN"


@dataclass(frozen=True)
class FeedEntry:
    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    zone: str
    url: str
    cancelled: bool
    sequence: int
    updated_at: datetime
    description: str = ""


def build_calendar(name: str, entries: Sequence[FeedEntry], now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        calendar.add_component(_event(entry, now))
    # One VTIMEZONE per zone the events use, so every client shows the class at the same hour
    # across daylight-saving changes.
    calendar.add_missing_timezones()
    ical: bytes = calendar.to_ical()
    return ical


def _event(entry: FeedEntry, now: datetime) -> Event:
    zone = ZoneInfo(entry.zone)
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", now)
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", entry.title)
    if entry.description:
        event.add("description", entry.description)
    event.add("url", entry.url)
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add("sequence", entry.sequence)
    event.add("last-modified", entry.updated_at)
    return event
