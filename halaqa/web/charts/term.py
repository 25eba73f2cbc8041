"""A student's attendance over a term (pure geometry): one mark per class on a line of days,
in one lane per outcome (present, late, absent, …), so a run of absences or late arrivals shows
at a glance and the outcome is told by the lane as well as by the colour.

Days run along the reading direction: left to right, or right to left for Arabic, with the
lanes' names on the side the line starts from. Classes on the same day in the same lane are
stacked across the lane rather than drawn over each other.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

WIDTH = 720.0
LABELS = 130.0  # the lanes' names
GAP = 8.0  # between the names and the days
EDGE = 24.0  # at the far end: room for half a date label
LANE = 28.0
TOP = 6.0
AXIS = 26.0  # below the lanes: the dates
MIN_TICK_GAP = 64.0  # between two dates on the axis, in SVG units
MAX_RADIUS = 7.0
MIN_RADIUS = 3.0


class Outcome(StrEnum):
    """What a class came to for the student, in the lanes' order."""

    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    PARTIAL = "partial"
    ABSENT = "absent"
    EXCUSED = "excused"
    NOT_RECORDED = "not_recorded"  # held, but its attendance is not on record (yet)
    NOT_HELD = "not_held"  # cancelled or suspended: nobody's attendance counts


# Told apart by people who do not see every colour (Okabe and Ito's palette), and by the lane.
COLOURS: dict[Outcome, str] = {
    Outcome.PRESENT: "#009e73",
    Outcome.LATE: "#e69f00",
    Outcome.LEFT_EARLY: "#cc79a7",
    Outcome.PARTIAL: "#56b4e9",
    Outcome.ABSENT: "#d55e00",
    Outcome.EXCUSED: "#0072b2",
    Outcome.NOT_RECORDED: "#8a8f98",
    Outcome.NOT_HELD: "#ffffff",  # an open ring: the class did not take place
}
_HELD = frozenset({"completed", "absent"})
_NOT_HELD = frozenset({"cancelled", "suspended"})


def outcome_of(session_status: str, attendance_status: str | None) -> Outcome | None:
    """The outcome of a class for the student, from the session's status and the student's
    attendance on record; None while the class is still to come or going on."""
    if session_status in _NOT_HELD:
        return Outcome.NOT_HELD  # a record kept for a cancelled class counts for nothing
    if attendance_status is not None:
        return Outcome(attendance_status)
    if session_status in _HELD:
        return Outcome.NOT_RECORDED
    return None


@dataclass(frozen=True)
class Entry:
    """One class: its day in the viewer's calendar, what it came to, and a key to find it by."""

    key: int
    day: date
    outcome: Outcome


@dataclass(frozen=True)
class Lane:
    outcome: Outcome
    y: float  # the lane's middle
    count: int


@dataclass(frozen=True)
class Mark:
    key: int
    outcome: Outcome
    day: date
    x: float
    y: float
    radius: float
    fill: str


@dataclass(frozen=True)
class Tick:
    day: date
    x: float


@dataclass(frozen=True)
class TermChart:
    width: float
    height: float
    first_day: date
    last_day: date
    track_x: float  # where the days begin on screen (their left edge)
    track_width: float
    label_x: float
    label_anchor: str  # SVG text-anchor for the lanes' names, with the SVG's direction ltr
    axis_y: float
    lanes: tuple[Lane, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[Tick, ...]


def tick_step(day_width: float) -> int:
    """Days between two dated ticks: whole weeks, as few as keep the dates apart."""
    weeks = max(1, math.ceil(MIN_TICK_GAP / (7 * day_width)))
    return 7 * weeks


def radius_for(day_width: float) -> float:
    return round(min(MAX_RADIUS, max(MIN_RADIUS, day_width * 0.4)), 2)


def layout(
    entries: Sequence[Entry], first_day: date, last_day: date, *, rtl: bool = False
) -> TermChart:
    """Places every entry whose day falls from `first_day` to `last_day` (both included)."""
    if last_day < first_day:
        raise ValueError(f"the last day {last_day} is before the first {first_day}")
    days = (last_day - first_day).days + 1
    track_width = WIDTH - LABELS - GAP - EDGE
    track_x = EDGE if rtl else LABELS + GAP
    day_width = track_width / days
    radius = radius_for(day_width)

    def x_of(day: date) -> float:
        offset = ((day - first_day).days + 0.5) * day_width
        return round(track_x + (track_width - offset if rtl else offset), 2)

    shown = [e for e in entries if first_day <= e.day <= last_day]
    counts = Counter(e.outcome for e in shown)
    lanes = tuple(
        Lane(outcome, round(TOP + (index + 0.5) * LANE, 2), counts[outcome])
        for index, outcome in enumerate(o for o in Outcome if counts[o])
    )
    middle = {lane.outcome: lane.y for lane in lanes}
    together: dict[tuple[Outcome, date], list[Entry]] = defaultdict(list)
    for entry in shown:
        together[(entry.outcome, entry.day)].append(entry)
    marks = []
    for (outcome, day), same in together.items():
        spacing = min(2 * radius + 1, (LANE - 2 * radius) / max(len(same) - 1, 1))
        for place, entry in enumerate(sorted(same, key=lambda e: e.key)):
            y = middle[outcome] + (place - (len(same) - 1) / 2) * spacing
            marks.append(
                Mark(entry.key, outcome, day, x_of(day), round(y, 2), radius, COLOURS[outcome])
            )
    marks.sort(key=lambda m: (m.day, m.key))
    axis_y = TOP + len(lanes) * LANE
    step = tick_step(day_width)
    ticks = tuple(
        Tick(first_day + timedelta(days=n), x_of(first_day + timedelta(days=n)))
        for n in range(0, days, step)
    )
    return TermChart(
        width=WIDTH,
        height=axis_y + AXIS,
        first_day=first_day,
        last_day=last_day,
        track_x=track_x,
        track_width=track_width,
        label_x=track_x + track_width + GAP if rtl else track_x - GAP,
        label_anchor="start" if rtl else "end",
        axis_y=axis_y,
        lanes=lanes,
        marks=tuple(marks),
        ticks=ticks,
    )
