"""Weekly recurring schedules, expanded in local time so a 17:00 class stays 17:00 across DST.

Pure: no database, no clock. Every date comes in as an argument and every instant goes out as an
aware UTC datetime; a local time that does not exist or happens twice is reported, never shifted.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import ClassVar, Literal

SkipReason = Literal[
    "blocked_day", "holiday", "nonexistent_time", "ambiguous_time", "monthly_target"
]
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class RecurrenceError(ValueError):
    """Base of every error raised here: bad input, which the API turns into a 4xx."""


class InvalidRule(RecurrenceError):
    """A slot or rule that cannot describe a schedule."""


class UnknownTimeZone(RecurrenceError):
    def __init__(self, zone: str) -> None:
        self.zone = zone
        super().__init__(f"unknown time zone {zone!r}; use an IANA name such as 'Asia/Riyadh'")


class LocalTimeError(RecurrenceError):
    """A wall time a DST change makes unusable; carries what the message names."""

    reason: ClassVar[Literal["nonexistent_time", "ambiguous_time"]]
    template: ClassVar[str]

    def __init__(self, day: date, at: time, zone: str) -> None:
        self.day, self.at, self.zone = day, at, zone
        shown = at.strftime("%H:%M") if not (at.second or at.microsecond) else at.isoformat()
        super().__init__(self.template.format(at=shown, day=day.isoformat(), zone=zone))


class NonexistentLocalTime(LocalTimeError):
    reason = "nonexistent_time"
    template = "{at} on {day} does not exist in {zone} (clocks jump forward)"


class AmbiguousLocalTime(LocalTimeError):
    reason = "ambiguous_time"
    template = "{at} on {day} happens twice in {zone} (clocks go back)"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> zoneinfo.ZoneInfo:
    if name not in _known_zones():
        raise UnknownTimeZone(name)
    return zoneinfo.ZoneInfo(name)


def resolve_local(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of wall time `at` on `day` in `zone`; refuses to guess across a DST change.

    zoneinfo silently picks an offset for skipped or repeated wall times, so both readings
    (fold=0 and fold=1) are compared: equal offsets mean the time is unique; otherwise a wall time
    that does not survive a round trip through UTC was skipped, and one that does happens twice.
    """
    if at.tzinfo is not None:
        raise RecurrenceError("a local time must be given without a time zone (tzinfo)")
    tz = _zone(zone)
    wall = at.replace(fold=0) if at.fold else at  # replace() is slow; this runs per slot
    first = datetime.combine(day, wall, tz)
    if first.utcoffset() == datetime.combine(day, wall.replace(fold=1), tz).utcoffset():
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != first.replace(tzinfo=None):
        raise NonexistentLocalTime(day, at, zone)
    raise AmbiguousLocalTime(day, at, zone)


@dataclass(frozen=True, order=True)
class WeeklySlot:
    """A weekday (0 = Monday … 6 = Sunday) and a local wall-clock start; ordered as in a week."""

    weekday: int
    start: time

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not 0 <= self.weekday <= 6:
            raise InvalidRule(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}")
        if self.start.tzinfo is not None:
            raise InvalidRule("a slot's start is a local wall time: give it without tzinfo")

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.start.strftime('%H:%M')}"


@dataclass(frozen=True)
class WeeklyRule:
    """Weekly slots in `zone` from `starts_on` (inclusive).

    The series ends on `until` (inclusive) or after `count` held occurrences, whichever comes
    first when both are set; with neither it is open-ended and callers materialise a horizon.
    `monthly_target` caps held occurrences per local calendar month.
    """

    slots: tuple[WeeklySlot, ...]
    zone: str
    starts_on: date
    until: date | None = None
    count: int | None = None
    monthly_target: int | None = None

    def __post_init__(self) -> None:
        if not self.slots:
            raise InvalidRule("a weekly schedule needs at least one slot")
        repeated = [slot for slot, times in Counter(self.slots).items() if times > 1]
        if repeated:
            raise InvalidRule(f"the slot {repeated[0]} appears more than once")
        _zone(self.zone)
        if self.until is not None and self.until < self.starts_on:
            raise InvalidRule(f"until ({self.until}) is before starts_on ({self.starts_on})")
        if self.count is not None and self.count < 1:
            raise InvalidRule(f"count must be at least 1, got {self.count}")
        if self.monthly_target is not None and self.monthly_target < 1:
            raise InvalidRule(f"monthly_target must be at least 1, got {self.monthly_target}")


@dataclass(frozen=True)
class Occurrence:
    """One held session; `index` is its 0-based place in the whole series, whatever the window."""

    local_date: date
    local_start: time
    starts_at: datetime
    index: int


@dataclass(frozen=True)
class Skipped:
    """A slot of the series that is not held, and why (shown to whoever sets the schedule up)."""

    local_date: date
    local_start: time
    reason: SkipReason


@dataclass(frozen=True)
class Expansion:
    """What a window holds; `ended` says the series has nothing after it (stop materialising)."""

    occurrences: list[Occurrence]
    skipped: list[Skipped]
    ended: bool


def _candidates(rule: WeeklyRule) -> Iterator[tuple[date, WeeklySlot]]:
    """Every slot from starts_on on, in local chronological order, week by week."""
    slots = [(timedelta(days=slot.weekday), slot) for slot in sorted(rule.slots)]
    week = timedelta(weeks=1)
    monday = rule.starts_on - timedelta(days=rule.starts_on.weekday())
    while monday <= date.max - week:
        for offset, slot in slots:
            day = monday + offset
            if day >= rule.starts_on:
                yield day, slot
        monday += week


def expand(
    rule: WeeklyRule,
    *,
    window_start: date,
    window_end: date,
    blocked_weekdays: frozenset[int] = frozenset(),
    holidays: frozenset[date] = frozenset(),
) -> Expansion:
    """Occurrences and skipped slots whose local date lies in [window_start, window_end].

    The series is always walked from `starts_on`, so `index`, `count` and monthly caps do not
    depend on the window: expanding [a, b] then [b + 1, c] gives exactly what [a, c] gives, as long
    as the blocked weekdays and holidays are the same. Skipped slots never count toward `count` or
    `monthly_target`. A slot is checked for blocked day, holiday, monthly cap, then its local time.
    """
    occurrences: list[Occurrence] = []
    skipped: list[Skipped] = []
    held = 0
    month, held_in_month = (0, 0), 0
    for day, slot in _candidates(rule):
        if day > window_end or (rule.until is not None and day > rule.until):
            break
        if (day.year, day.month) != month:
            month, held_in_month = (day.year, day.month), 0
        outcome: datetime | SkipReason
        if day.weekday() in blocked_weekdays:
            outcome = "blocked_day"
        elif day in holidays:
            outcome = "holiday"
        elif rule.monthly_target is not None and held_in_month >= rule.monthly_target:
            outcome = "monthly_target"
        else:
            try:
                outcome = resolve_local(day, slot.start, rule.zone)
            except LocalTimeError as error:
                outcome = error.reason
        if not isinstance(outcome, datetime):
            if day >= window_start:
                skipped.append(Skipped(day, slot.start, outcome))
            continue
        if day >= window_start:
            occurrences.append(Occurrence(day, slot.start, outcome, held))
        held += 1
        held_in_month += 1
        if rule.count is not None and held >= rule.count:
            return Expansion(occurrences, skipped, ended=True)
    # Nothing after window_end was looked at, so only `until` can prove the series is over.
    return Expansion(occurrences, skipped, rule.until is not None and rule.until <= window_end)
