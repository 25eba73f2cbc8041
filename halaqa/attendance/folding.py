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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SECOND = timedelta(seconds=1)
_NONE = timedelta()


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


# One event as `fold_unique` reads it: when, its kind (a Kind or its value), whose (None: the room
# itself), which connection, and its source (a Source or its value).
EventRow = tuple[datetime, str, int | None, str | None, str]

# Kinds as the folding loop reads them. Sorted with the time, arrivals come before departures at
# one instant (as _RANK); whether a join or a confirmation of the same instant comes first
# changes nothing, nor which of two departures does.
_JOIN, _CONFIRM, _DEPART, _FINISH = 0, 1, 2, 3
_CODE: dict[str, int] = {
    Kind.JOINED: _JOIN,
    Kind.CONFIRMED: _CONFIRM,
    Kind.LEFT: _DEPART,
    Kind.ABORTED: _DEPART,
    Kind.ROOM_FINISHED: _FINISH,
}


def fold(
    events: Iterable[PresenceEvent],
    *,
    window_start: datetime,
    window_end: datetime,
    scheduled_end: datetime,
    merge_seconds: int,
) -> dict[int, Presence]:
    """Each user's presence. Users with no stay at all (say, only an ABORTED) are left out."""
    return fold_unique(
        [(e.at, e.kind, e.user_id, e.participant_id, e.source) for e in _in_order(events)],
        window_start=window_start,
        window_end=window_end,
        scheduled_end=scheduled_end,
        merge_seconds=merge_seconds,
    )


def fold_unique(
    events: Iterable[EventRow],
    *,
    window_start: datetime,
    window_end: datetime,
    scheduled_end: datetime,
    merge_seconds: int,
) -> dict[int, Presence]:
    """`fold` for events that are each there once (as the database keeps them: one row per key),
    as plain rows in any order: the same result, without an object per event."""
    merge = merge_seconds * SECOND
    stays, inferred = _stays(events, scheduled_end)
    return {
        user_id: _presence(intervals, user_id in inferred, window_start, window_end, merge)
        for user_id, intervals in stays.items()
        if intervals
    }


def _in_order(events: Iterable[PresenceEvent]) -> list[PresenceEvent]:
    """Each event once, in time order; ties fall to the kind, then the key, never to arrival."""
    unique: dict[str, PresenceEvent] = {}
    for event in sorted(events, key=lambda e: (e.at, _RANK[e.kind], e.event_key)):
        unique.setdefault(event.event_key, event)
    return list(unique.values())


def _stays(
    events: Iterable[EventRow], scheduled_end: datetime
) -> tuple[dict[int, list[tuple[datetime, datetime]]], set[int]]:
    """Each user's stays (none, for some), and the users some stay of whom had no leave.

    A participant's events are read in time order. A join or a confirmation opens a stay (a
    second join while open is a copy, and a confirmation with no join is a join the webhooks
    lost); a leave or an abort closes it, and one with nothing open is ignored (an abort with no
    join never got into the room)."""
    finishes: list[datetime] = []
    per_participant: dict[tuple[int, str | None], list[tuple[datetime, int]]] = {}
    for at, kind, user_id, participant_id, _ in events:
        code = _CODE[kind]
        if code == _FINISH:
            finishes.append(at)
        elif user_id is not None:
            key = (user_id, participant_id)
            found = per_participant.get(key)
            if found is None:
                per_participant[key] = [(at, code)]
            else:
                found.append((at, code))
    finishes.sort()
    stays: dict[int, list[tuple[datetime, datetime]]] = {}
    inferred: set[int] = set()
    for (user_id, _), participant_events in per_participant.items():
        participant_events.sort()
        found_stays = stays.get(user_id)
        if found_stays is None:
            found_stays = stays[user_id] = []
        start: datetime | None = None
        confirmed: datetime | None = None
        for at, code in participant_events:
            if code == _DEPART:
                if start is not None:
                    found_stays.append((start, at))
                    start = None
            elif start is None:
                start, confirmed = at, (at if code == _CONFIRM else None)
            elif code == _CONFIRM:
                confirmed = at
        if start is not None:
            found_stays.append((start, _missing_leave(start, confirmed, finishes, scheduled_end)))
            inferred.add(user_id)
    return stays, inferred


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
    stays: list[tuple[datetime, datetime]],
    inferred_end: bool,
    window_start: datetime,
    window_end: datetime,
    merge: timedelta,
) -> Presence:
    """One user's stays united (stays that overlap or touch become one, so two devices never
    count twice), then gaps up to `merge` bridged, then clipped to the window; in one pass over
    the stays in order."""
    if len(stays) > 1:
        stays.sort()
    start, end = stays[0]
    union_end = end
    united = 1
    bridged: list[tuple[datetime, datetime]] = []
    for stay_start, stay_end in stays[1:]:
        if stay_start > union_end:  # a new stay of the union, bridged to the last if close
            united += 1
            union_end = stay_end
            if stay_start - end > merge:
                bridged.append((start, end))
                start, end = stay_start, stay_end
                continue
        elif stay_end > union_end:
            union_end = stay_end
        if stay_end > end:
            end = stay_end
    bridged.append((start, end))
    clipped = _NONE
    for start, end in bridged:
        if start < window_end and end > window_start:
            clipped += (end if end < window_end else window_end) - (
                start if start > window_start else window_start
            )
    return Presence(
        tuple([Interval(start, end) for start, end in bridged]),
        clipped // SECOND,
        united - 1,
        inferred_end,
    )
