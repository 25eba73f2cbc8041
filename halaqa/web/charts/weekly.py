"""An academy's attendance rate by week (pure): the weeks' figures gathered from dated tallies,
and the geometry of a bar chart of them, one bar per week.

Time runs along the reading direction: the oldest week on the left, or on the right for Arabic,
with the percentages' scale on the side the weeks start from. Geometry is given for an SVG whose
direction is ltr (so `x` and text anchors are physical); the template sets the direction of the
weeks' own labels, which are centred and so read right in either language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH = 640.0
HEIGHT = 240.0
SCALE = 44.0  # the percentages' column
EDGE = 8.0  # at the far side
TOP = 22.0  # above 100 %: room for a full bar's value
BOTTOM = 30.0  # below the bars: the weeks' labels
BAR_SHARE = 0.6  # of each week's slot the bar fills
GRID = (0, 25, 50, 75, 100)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """One week's attendance: `attended` of the `counted` records of the classes held in it."""

    starts_on: date
    attended: int = 0
    counted: int = 0


def weeks_of(first: date, count: int, tallies: Iterable[tuple[date, int, int]]) -> list[Week]:
    """`count` weeks from `first`, each adding up the (day, attended, counted) tallies of its
    seven days; days outside them are left out."""
    sums = [[0, 0] for _ in range(count)]
    for day, attended, counted in tallies:
        index = (day - first).days // 7
        if 0 <= index < count:
            sums[index][0] += attended
            sums[index][1] += counted
    return [Week(first + n * WEEK, a, c) for n, (a, c) in enumerate(sums)]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Bar:
    index: int  # the week's place in time order
    x: float  # left edge on screen
    y: float  # top
    width: float
    height: float
    centre: float  # where the week's label and value are centred
    value: float | None  # percent; None: no class of the week counted
    value_y: float  # baseline of the value written above the bar


@dataclass(frozen=True)
class GridLine:
    percent: int
    y: float


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    plot_x: float  # the bars' area: left edge and width
    plot_width: float
    baseline_y: float  # 0 %
    label_y: float  # baseline of the weeks' labels
    scale_x: float  # where the percentages are written
    scale_anchor: str  # their SVG text-anchor (the SVG's direction being ltr)
    bars: tuple[Bar, ...]
    grid: tuple[GridLine, ...]


def bar_chart(values: Sequence[float | None], *, rtl: bool = False) -> BarChart:
    """A bar per value (percent, 0 to 100; None draws an empty bar), in time order."""
    plot_width = WIDTH - SCALE - EDGE
    plot_x = EDGE if rtl else SCALE
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height

    def y_of(percent: float) -> float:
        return round(baseline - min(max(percent, 0.0), 100.0) / 100 * plot_height, 2)

    slot = plot_width / max(len(values), 1)
    bar_width = round(slot * BAR_SHARE, 2)
    bars = []
    for index, value in enumerate(values):
        place = len(values) - 1 - index if rtl else index
        left = plot_x + place * slot + (slot - bar_width) / 2
        top = y_of(value) if value is not None else baseline
        bars.append(
            Bar(
                index=index,
                x=round(left, 2),
                y=top,
                width=bar_width,
                height=round(baseline - top, 2),
                centre=round(left + bar_width / 2, 2),
                value=value,
                value_y=round(top - 6, 2),
            )
        )
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        plot_x=plot_x,
        plot_width=plot_width,
        baseline_y=baseline,
        label_y=baseline + BOTTOM - 10,
        scale_x=plot_x + plot_width + 6 if rtl else plot_x - 6,
        scale_anchor="start" if rtl else "end",
        bars=tuple(bars),
        grid=tuple(GridLine(percent, y_of(percent)) for percent in GRID),
    )
