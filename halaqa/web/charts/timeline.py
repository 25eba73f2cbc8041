"""A session's presence timeline (pure geometry): one bar per participant across the session's
window, one segment per stay, so a reconnection shows as a gap in the bar.

The window is the scheduled slot, widened to hold every stay (a teacher in early, a class run
over). Time runs along the reading direction: left to right, or right to left for Arabic, with
the names on the side the line starts from. Nothing here reads a clock: `until` is "now" for a
class still going on, beyond which nothing is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

WIDTH = 720.0
LABELS = 150.0  # the names' column
GAP = 8.0  # between the names and the bars, and at the far edge
ROW = 30.0
BAR = 16.0
TOP = 6.0
AXIS = 24.0  # below the bars: the times
MIN_SEGMENT = 2.0  # a stay of a few seconds still shows
TICK_STEPS_MINUTES = (5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)
MAX_TICKS = 7


@dataclass(frozen=True)
class Lane:
    """One participant and their stays (as the attendance service folded them)."""

    user_id: int
    label: str
    role: str
    stays: Sequence[tuple[datetime, datetime]]


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Bar:
    user_id: int
    label: str
    role: str
    y: float  # top of the bar
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    at: datetime


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    track_x: float  # where the bars' track begins on screen (its left edge)
    track_width: float
    label_x: float
    label_anchor: str  # SVG text-anchor for the names, with the SVG's direction set to ltr
    axis_y: float
    bar_height: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    slot_x: float  # the scheduled slot, drawn behind the bars
    slot_width: float
    now_x: float | None  # a line at `until`, while it falls inside the window
    start: datetime
    end: datetime


def window_of(
    scheduled_start: datetime, scheduled_end: datetime, lanes: Sequence[Lane], until: datetime
) -> tuple[datetime, datetime]:
    """The scheduled slot, widened to every stay (cut at `until`)."""
    start, end = scheduled_start, scheduled_end
    for lane in lanes:
        for stay_start, stay_end in _cut(lane.stays, until):
            start, end = min(start, stay_start), max(end, stay_end)
    return start, end


def _cut(
    stays: Sequence[tuple[datetime, datetime]], until: datetime
) -> list[tuple[datetime, datetime]]:
    """The stays as far as they went by `until`, in time order."""
    return sorted((s, min(e, until)) for s, e in stays if s < until and e > s)


def tick_step(span: timedelta) -> int:
    """Minutes between two labelled times: the smallest step that keeps them few."""
    minutes = span.total_seconds() / 60
    for step in TICK_STEPS_MINUTES:
        if minutes / step <= MAX_TICKS - 1:
            return step
    return TICK_STEPS_MINUTES[-1]


def ticks_of(start: datetime, end: datetime, zone: str) -> list[datetime]:
    """Round wall-clock times in `zone` (10:15, 10:30, …) from `start` to `end`."""
    step = tick_step(end - start)
    local = start.astimezone(ZoneInfo(zone))
    into_day = (
        local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    ).total_seconds() / 60
    first = start + timedelta(minutes=math.ceil(into_day / step) * step - into_day)
    found = []
    at = first
    while at <= end:
        found.append(at)
        at += timedelta(minutes=step)
    return found


def layout(
    lanes: Sequence[Lane],
    *,
    scheduled_start: datetime,
    scheduled_end: datetime,
    until: datetime,
    zone: str,
    rtl: bool = False,
) -> Timeline:
    start, end = window_of(scheduled_start, scheduled_end, lanes, until)
    span = (end - start).total_seconds()
    track_width = WIDTH - LABELS - 2 * GAP
    track_x = GAP if rtl else LABELS + GAP

    def x_of(instant: datetime) -> float:
        share = (instant - start).total_seconds() / span
        offset = (1 - share if rtl else share) * track_width
        return round(track_x + offset, 2)

    def across(a: datetime, b: datetime, minimum: float = 0.0) -> tuple[float, float]:
        """Left edge and width on screen of the time from a to b."""
        left, right = sorted((x_of(a), x_of(b)))
        width = max(right - left, minimum)
        if rtl:
            left = right - width
        return round(left, 2), round(width, 2)

    bars = []
    for index, lane in enumerate(lanes):
        segments = []
        for stay_start, stay_end in _cut(lane.stays, until):
            x, width = across(stay_start, stay_end, MIN_SEGMENT)
            segments.append(Segment(x, width, stay_start, stay_end))
        y = TOP + index * ROW + (ROW - BAR) / 2
        bars.append(Bar(lane.user_id, lane.label, lane.role, y, tuple(segments)))
    slot_x, slot_width = across(scheduled_start, scheduled_end)
    axis_y = TOP + len(lanes) * ROW
    return Timeline(
        width=WIDTH,
        height=axis_y + AXIS,
        track_x=track_x,
        track_width=track_width,
        label_x=track_x + track_width + GAP if rtl else track_x - GAP,
        label_anchor="start" if rtl else "end",
        axis_y=axis_y,
        bar_height=BAR,
        bars=tuple(bars),
        ticks=tuple(Tick(x_of(at), at) for at in ticks_of(start, end, zone)),
        slot_x=slot_x,
        slot_width=slot_width,
        now_x=x_of(until) if start <= until <= end else None,
        start=start,
        end=end,
    )
