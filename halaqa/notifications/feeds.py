"""Calendar feeds: a private, revocable address per user that any calendar application can
subscribe to, listing the user's classes (and their children's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from halaqa.academies.auth import Actor, Principal
from halaqa.academies.security import TokenKind, new_token, token_digest, token_kind
from halaqa.academies.service import audit
from halaqa.exceptions import NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import CalendarFeed, User
from halaqa.notifications.calendar import FeedEntry, build_calendar
from halaqa.notifications.repository import CalendarFeedRepository, FeedSession
from halaqa.scheduling.lifecycle import Status

# A feed shows the recent past too (what was cancelled or moved), and at most this many classes.
FEED_HISTORY = timedelta(days=60)
FEED_LIMIT = 2000
READ_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedFeed:
    url: str
    feed: CalendarFeed


def feed_url(rt: Runtime, token: str) -> str:
    return f"{rt.settings.base_url.rstrip('/')}/api/v1/calendars/{token}.ics"


async def create_feed(rt: Runtime, principal: Principal) -> IssuedFeed:
    """A new address; the old one (if any) stops working at once."""
    assert principal.user is not None
    feeds = CalendarFeedRepository(rt.session)
    now = rt.clock.now()
    await feeds.revoke_all(principal.user.id, now)
    token = new_token(TokenKind.CALENDAR)
    feed = await feeds.add(
        CalendarFeed(
            user_id=principal.user.id, token_digest=token_digest(token, rt.secret), created_at=now
        )
    )
    await audit(
        rt,
        Actor.of(principal),
        "calendar_feed.create",
        academy_id=None,
        entity_type="user",
        entity_id=principal.user.id,
    )
    return IssuedFeed(url=feed_url(rt, token), feed=feed)


async def active_feed(rt: Runtime, user: User) -> CalendarFeed | None:
    return await CalendarFeedRepository(rt.session).active_for(user.id)


async def revoke_feed(rt: Runtime, principal: Principal) -> None:
    assert principal.user is not None
    revoked = await CalendarFeedRepository(rt.session).revoke_all(principal.user.id, rt.clock.now())
    if not revoked:
        raise NotFound("you have no calendar feed", code="no_calendar_feed")
    await audit(
        rt,
        Actor.of(principal),
        "calendar_feed.revoke",
        academy_id=None,
        entity_type="user",
        entity_id=principal.user.id,
    )


async def read_feed(rt: Runtime, token: str) -> bytes:
    """The calendar behind a feed address; an unknown or revoked address is simply not found."""
    found = None
    if token_kind(token) is TokenKind.CALENDAR:
        found = await CalendarFeedRepository(rt.session).by_digest(token_digest(token, rt.secret))
    if found is None or found[0].revoked_at is not None or not found[1].is_active:
        raise NotFound("no such calendar; it may have been replaced or revoked")
    feed, user = found
    now = rt.clock.now()
    if feed.last_read_at is None or now - feed.last_read_at > READ_RESOLUTION:
        feed.last_read_at = now
    sessions = await CalendarFeedRepository(rt.session).sessions_for(
        user.id, now - FEED_HISTORY, FEED_LIMIT
    )
    host = urlsplit(rt.settings.base_url).hostname or "halaqa"
    entries = [_entry(rt, found_session, host) for found_session in sessions]
    return build_calendar(f"Halaqa — {user.name}", entries, now)


def _entry(rt: Runtime, found: FeedSession, host: str) -> FeedEntry:
    session = found.session
    assert session.starts_at is not None
    assert session.ends_at is not None
    cancelled = session.status == Status.CANCELLED.value
    return FeedEntry(
        uid=f"session-{session.id}@{host}",
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        zone=found.zone,
        # The join page: it lets the person in when joining opens, and says why not before.
        url=f"{rt.settings.base_url.rstrip('/')}/a/{found.academy_slug}/sessions/{session.id}"
        "/classroom",
        cancelled=cancelled,
        # Each move and the cancellation make a new revision of the event.
        sequence=found.reschedules + (1 if cancelled else 0),
        updated_at=session.updated_at,
        description=session.description or "",
    )
