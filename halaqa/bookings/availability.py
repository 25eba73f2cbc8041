"""Teachers' weekly availability (pure): windows in the teacher's zone, and the free slots in them.

No database, no clock. Windows are local wall times expanded date by date with
`recurrence.resolve_local`, so a 09:00–12:00 window stays 09:00–12:00 across DST: wall times a
change skips are not available, and a wall time that happens twice means its first occurrence.
Every instant goes in and comes out as an aware UTC datetime.
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise

from halaqa.scheduling.recurrence import (
    WEEKDAY_NAMES,
    AmbiguousLocalTime,
    NonexistentLocalTime,
    resolve_local,
)

Interval = tuple[datetime, datetime]  # [start, end) in UTC


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class InvalidAvailability(ValueError):
    """Windows (or a question about them) that make no sense; the API answers 422."""


@dataclass(frozen=True, order=True)
class Window:
    """A weekday (0 = Monday … 6 = Sunday) and local wall times [start, end) on it."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not 0 <= self.weekday <= 6:
            raise InvalidAvailability(
                f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}"
            )
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidAvailability("a window's times are local wall times: give no tzinfo")
        if self.end <= self.start:
            raise InvalidAvailability(f"{self}: the end must be after the start")

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class WeeklyWindows:
    """A teacher's week: windows in one IANA zone, sorted, never overlapping on a weekday
    (windows that touch are fine and count as one)."""

    zone: str
    windows: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        if self.zone not in _known_zones():
            raise InvalidAvailability(f"unknown time zone {self.zone!r}")
        ordered = tuple(sorted(self.windows))
        for earlier, later in pairwise(ordered):
            if earlier.weekday == later.weekday and later.start < earlier.end:
                raise InvalidAvailability(f"{earlier} overlaps {later}")
        object.__setattr__(self, "windows", ordered)  # frozen: set once, sorted

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.zone)  # ZoneInfo caches one instance per zone

    def on(self, weekday: int) -> Iterator[Window]:
        return (window for window in self.windows if window.weekday == weekday)


# --- from wall times to instants ---------------------------------------------------------------


def _first_instant(day: date, at: time, zone: str) -> datetime | None:
    """The instant of a slot's wall time: None if DST skips it, the first if it happens twice."""
    try:
        return resolve_local(day, at, zone)
    except AmbiguousLocalTime:
        return datetime.combine(day, at, zoneinfo.ZoneInfo(zone)).astimezone(UTC)  # fold=0
    except NonexistentLocalTime:
        return None


def _clocks_jump(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant clocks jumped forward over the skipped wall time `at` (so the first wall time
    after it that exists). Its two readings straddle the jump: fold=1 takes the offset after it and
    lands before it, fold=0 the offset before and lands after; bisection finds the second."""
    low = int(datetime.combine(day, at.replace(fold=1), tz).timestamp())
    high = int(datetime.combine(day, at.replace(fold=0), tz).timestamp())
    after = datetime.fromtimestamp(high, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _edge(day: date, at: time, availability: WeeklyWindows) -> datetime:
    """Where a window starts or ends on `day`: a skipped wall time at the jump past it, a
    repeated one at its first occurrence."""
    try:
        return resolve_local(day, at, availability.zone)
    except AmbiguousLocalTime:
        return datetime.combine(day, at, availability.tz).astimezone(UTC)  # fold=0: the first
    except NonexistentLocalTime:
        return _clocks_jump(day, at, availability.tz)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint; intervals that overlap or touch become one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _open_intervals(availability: WeeklyWindows, first: date, last: date) -> list[Interval]:
    """The real time the windows cover on the local dates [first, last]."""
    found = []
    for day in _days(first, last):
        for window in availability.on(day.weekday()):
            start = _edge(day, window.start, availability)
            end = _edge(day, window.end, availability)
            if start < end:  # a window wholly inside a DST gap covers nothing
                found.append((start, end))
    return _merged(found)


class _Timeline:
    """Disjoint sorted intervals, asked "does one contain / meet [start, end)?" by bisection."""

    def __init__(self, intervals: list[Interval]) -> None:
        self.intervals = intervals
        self.starts = [start for start, _ in intervals]

    def contains(self, start: datetime, end: datetime) -> bool:
        index = bisect_right(self.starts, start) - 1
        return index >= 0 and self.intervals[index][1] >= end

    def meets(self, start: datetime, end: datetime) -> bool:
        index = bisect_right(self.starts, start) - 1
        if index >= 0 and self.intervals[index][1] > start:
            return True
        following = index + 1
        return following < len(self.intervals) and self.intervals[following][0] < end


# --- the questions -----------------------------------------------------------------------------


def free_slots(
    availability: WeeklyWindows,
    range_from: datetime,
    range_to: datetime,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[Interval] = (),
) -> list[datetime]:
    """Every slot start in [range_from, range_to) whose [start, start + duration) lies inside the
    availability and meets no busy interval, in order. Starts are the wall times window start,
    start + step, … of each local date (skipped wall times offered never, repeated ones once)."""
    if duration <= timedelta(0) or step <= timedelta(0):
        raise InvalidAvailability("the duration and the step must be positive")
    if range_to <= range_from:
        return []
    tz = availability.tz
    first, last = range_from.astimezone(tz).date(), range_to.astimezone(tz).date()
    open_time = _Timeline(_open_intervals(availability, first, last))
    blocked = _Timeline(_merged(busy))
    found: set[datetime] = set()
    for day in _days(first, last):
        for window in availability.on(day.weekday()):
            wall = datetime.combine(day, window.start)
            stop = datetime.combine(day, window.end)
            while wall < stop:
                start = _first_instant(day, wall.time(), availability.zone)
                wall += step
                if start is None or not range_from <= start < range_to:
                    continue
                end = start + duration
                if open_time.contains(start, end) and not blocked.meets(start, end):
                    found.add(start)
    return sorted(found)


def within_availability(
    availability: WeeklyWindows, starts_at: datetime, duration: timedelta
) -> bool:
    """Whether [starts_at, starts_at + duration) lies wholly inside the availability (any start,
    not only the slot grid's)."""
    if duration <= timedelta(0):
        raise InvalidAvailability("the duration must be positive")
    day = starts_at.astimezone(availability.tz).date()
    return _Timeline(_open_intervals(availability, day, day)).contains(
        starts_at, starts_at + duration
    )
