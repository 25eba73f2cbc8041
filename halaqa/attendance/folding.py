"""Attendance folding (pure): presence events, however they arrived, to exact seconds per user.

The video server's events come late, twice, out of order or not at all (LIVEKIT.md). Folding never
depends on how they came: copies collapse on their key and everything is sorted before it is read,
so the same set of events always folds to the same result. Nothing here reads a clock.

The steps are DESIGN.md's: stays per participant id (one provider sid, or one meeting page) →
union per user (overlaps never double-count) → gaps up to `merge_seconds` bridged → clipped to the
counted window → exact seconds.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SECOND = timedelta(seconds=1)


class Kind(StrEnum):
    JOINED = "joined"  # the provider saw the participant become active
    LEFT = "left"
    ABORTED = "aborted"  # connection aborted: a leave if it was in, else it never got in
    CONFIRMED = "confirmed"  # seen present: a poll listed it, or its meeting page sent a heartbeat
    ROOM_FINISHED = "room_finished"  # the whole room ended; no user


class Source(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"
    HEARTBEAT = "heartbeat"
    MANUAL = "manual"


# At one instant arrivals are read before departures, so a join and a leave stamped with the same
# time (a reconnect within a second, livekit#2399) make a stay of no length, not an endless one.
_RANK = {Kind.JOINED: 0, Kind.CONFIRMED: 0, Kind.LEFT: 1, Kind.ABORTED: 1, Kind.ROOM_FINISHED: 2}


@dataclass(frozen=True)
class PresenceEvent:
    user_id: int | None  # None: the room itself (ROOM_FINISHED)
    # The provider's participant sid or the meeting page's id: one connection. None when the
    # source does not know it (a manual mark): then all such events of a user are one connection.
    participant_id: str | None
    kind: Kind
    at: datetime  # aware
    source: Source
    event_key: str  # unique per event: copies share it, and it breaks ties in time

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("a presence event needs an aware time")
        if self.user_id is None and self.kind is not Kind.ROOM_FINISHED:
            raise ValueError(f"a {self.kind} event needs a user")


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Presence:
    """One user's presence in one session."""

    intervals: tuple[Interval, ...]  # after union and bridging, not clipped: the timeline on record
    seconds: int  # within the counted window, bridged gaps included; whole seconds, rounded down
    reconnects: int  # times the user came back after being away, bridged or not (stays - 1)
    inferred_end: bool  # some stay had no leave and was closed by the missing-leave rule

    @property
    def first_join(self) -> datetime:
        return self.intervals[0].start

    @property
    def last_leave(self) -> datetime:
        return self.intervals[-1].end


@dataclass(frozen=True)
class _Stay:
    interval: Interval
    inferred_end: bool


def fold(
    events: Iterable[PresenceEvent],
    *,
    window_start: datetime,
    window_end: datetime,
    scheduled_end: datetime,
    merge_seconds: int,
) -> dict[int, Presence]:
    """Each user's presence. Users with no stay at all (say, only an ABORTED) are left out."""
    ordered = _in_order(events)
    finishes = [event.at for event in ordered if event.kind is Kind.ROOM_FINISHED]
    per_participant: dict[tuple[int, str | None], list[PresenceEvent]] = defaultdict(list)
    for event in ordered:
        if event.kind is not Kind.ROOM_FINISHED and event.user_id is not None:
            per_participant[(event.user_id, event.participant_id)].append(event)
    per_user: dict[int, list[_Stay]] = defaultdict(list)
    for (user_id, _), participant_events in per_participant.items():
        per_user[user_id].extend(_stays(participant_events, finishes, scheduled_end))
    return {
        user_id: _presence(stays, window_start, window_end, merge_seconds * SECOND)
        for user_id, stays in per_user.items()
        if stays
    }


def _in_order(events: Iterable[PresenceEvent]) -> list[PresenceEvent]:
    """Each event once, in time order; ties fall to the kind, then the key, never to arrival."""
    unique: dict[str, PresenceEvent] = {}
    for event in sorted(events, key=lambda e: (e.at, _RANK[e.kind], e.event_key)):
        unique.setdefault(event.event_key, event)
    return list(unique.values())


def _stays(
    events: list[PresenceEvent], finishes: list[datetime], scheduled_end: datetime
) -> list[_Stay]:
    """One participant's stays. A join or a confirmation opens one (a second join while open is a
    copy, and a confirmation with no join is a join the webhooks lost); a leave or an abort closes
    it, and one with nothing open is ignored (an abort with no join never got into the room)."""
    stays: list[_Stay] = []
    start: datetime | None = None
    confirmed: datetime | None = None
    for event in events:
        if event.kind in (Kind.JOINED, Kind.CONFIRMED):
            if start is None:
                start, confirmed = event.at, None
            if event.kind is Kind.CONFIRMED:
                confirmed = event.at
        elif start is not None:  # LEFT or ABORTED
            stays.append(_Stay(Interval(start, event.at), inferred_end=False))
            start = None
    if start is not None:
        end = _missing_leave(start, confirmed, finishes, scheduled_end)
        stays.append(_Stay(Interval(start, end), inferred_end=True))
    return stays


def _missing_leave(
    start: datetime, confirmed: datetime | None, finishes: list[datetime], scheduled_end: datetime
) -> datetime:
    """Where a stay with no leave ends, one rule everywhere: the last moment its presence was
    confirmed. The participant's own last poll or heartbeat says most; failing that, the room
    finishing (the first finish after it came in) — a finish must not stretch a page that stopped
    beating long before; failing both, the scheduled end (never before the stay began)."""
    if confirmed is not None:
        return confirmed
    after = bisect_left(finishes, start)
    if after < len(finishes):
        return finishes[after]
    return max(start, scheduled_end)


def _presence(
    stays: list[_Stay], window_start: datetime, window_end: datetime, merge: timedelta
) -> Presence:
    union = _joined([stay.interval for stay in stays], timedelta())
    bridged = _joined(union, merge)
    clipped = sum(
        (
            min(interval.end, window_end) - max(interval.start, window_start)
            for interval in bridged
            if interval.start < window_end and interval.end > window_start
        ),
        timedelta(),
    )
    return Presence(
        intervals=tuple(bridged),
        seconds=clipped // SECOND,
        reconnects=len(union) - 1,
        inferred_end=any(stay.inferred_end for stay in stays),
    )


def _joined(intervals: list[Interval], gap: timedelta) -> list[Interval]:
    """The intervals with every gap up to `gap` closed; with no gap, their union (stays that
    overlap or touch become one, so two devices never count twice)."""
    joined: list[Interval] = []
    for interval in sorted(intervals):
        if joined and interval.start - joined[-1].end <= gap:
            last = joined[-1]
            joined[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            joined.append(interval)
    return joined
