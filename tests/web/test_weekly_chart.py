"""The weekly attendance chart's geometry and its weeks' figures (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from halaqa.web.charts.weekly import (
    BAR_SHARE,
    GRID,
    HEIGHT,
    WIDTH,
    Week,
    bar_chart,
    monday_of,
    weeks_of,
)

# The plot: 640 wide less the scale (44) and the far edge (8) is 588; 240 high less 22 above
# and 30 below is 188, its 0 % at y = 210.
BASELINE = 210.0
PLOT_HEIGHT = 188.0


@pytest.mark.parametrize(
    ("values", "rtl", "lefts"),
    [
        # Four weeks: slots of 147, bars of 88.2 centred in them (29.4 either side).
        ([50.0, 100.0, 0.0, None], False, [73.4, 220.4, 367.4, 514.4]),
        # Right to left: the first week on the right, the scale on the right too (plot from 8).
        ([50.0, 100.0, 0.0, None], True, [478.4, 331.4, 184.4, 37.4]),
        ([75.0], False, [44 + 588 * (1 - BAR_SHARE) / 2]),
        ([75.0], True, [8 + 588 * (1 - BAR_SHARE) / 2]),
    ],
)
def test_one_bar_per_week_along_the_reading_direction(
    values: list[float | None], rtl: bool, lefts: list[float]
) -> None:
    chart = bar_chart(values, rtl=rtl)
    assert [bar.index for bar in chart.bars] == list(range(len(values)))
    assert [bar.x for bar in chart.bars] == pytest.approx(lefts)
    for bar in chart.bars:
        assert bar.centre == pytest.approx(bar.x + bar.width / 2)
        assert bar.x >= 0
        assert bar.x + bar.width <= WIDTH


@pytest.mark.parametrize(
    ("value", "top", "height"),
    [
        (100.0, BASELINE - PLOT_HEIGHT, PLOT_HEIGHT),
        (50.0, BASELINE - PLOT_HEIGHT / 2, PLOT_HEIGHT / 2),
        (40.0, BASELINE - 75.2, 75.2),
        (0.0, BASELINE, 0.0),
        (None, BASELINE, 0.0),  # no class counted: an empty bar, no value
        (130.0, BASELINE - PLOT_HEIGHT, PLOT_HEIGHT),  # never past the plot
        (-5.0, BASELINE, 0.0),
    ],
)
def test_a_bar_rises_from_the_baseline_by_its_rate(
    value: float | None, top: float, height: float
) -> None:
    [bar] = bar_chart([value]).bars
    assert bar.y == pytest.approx(top)
    assert bar.height == pytest.approx(height)
    assert bar.y + bar.height == pytest.approx(BASELINE)
    assert bar.value == value
    assert bar.value_y == pytest.approx(top - 6)


@pytest.mark.parametrize(
    ("rtl", "scale_x", "anchor", "plot_x"),
    [(False, 38.0, "end", 44.0), (True, 602.0, "start", 8.0)],
)
def test_the_scale_stands_where_the_weeks_start(
    rtl: bool, scale_x: float, anchor: str, plot_x: float
) -> None:
    chart = bar_chart([10.0, 20.0], rtl=rtl)
    assert (chart.scale_x, chart.scale_anchor, chart.plot_x) == (scale_x, anchor, plot_x)
    assert [line.percent for line in chart.grid] == list(GRID)
    assert [line.y for line in chart.grid] == pytest.approx([210.0, 163.0, 116.0, 69.0, 22.0])
    assert (chart.width, chart.height, chart.baseline_y) == (WIDTH, HEIGHT, BASELINE)


def test_no_weeks_draw_an_empty_chart() -> None:
    chart = bar_chart([])
    assert chart.bars == ()
    assert len(chart.grid) == len(GRID)


MONDAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("tallies", "expected"),
    [
        ([], [(0, 0), (0, 0), (0, 0)]),
        (
            [
                (date(2026, 3, 2), 2, 3),  # Monday of the first week
                (date(2026, 3, 8), 1, 2),  # its Sunday
                (date(2026, 3, 9), 0, 1),  # the second week's Monday
                (date(2026, 3, 22), 5, 5),  # the last day of the third week
            ],
            [(3, 5), (0, 1), (5, 5)],
        ),
        # Days before the first week or after the last are left out.
        ([(date(2026, 3, 1), 4, 4), (date(2026, 3, 23), 4, 4)], [(0, 0), (0, 0), (0, 0)]),
    ],
)
def test_tallies_add_up_by_week(
    tallies: list[tuple[date, int, int]], expected: list[tuple[int, int]]
) -> None:
    weeks = weeks_of(MONDAY, 3, tallies)
    assert [w.starts_on for w in weeks] == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]
    assert [(w.attended, w.counted) for w in weeks] == expected
    assert all(isinstance(w, Week) for w in weeks)


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 3, 2), date(2026, 3, 2)),
        (date(2026, 3, 4), date(2026, 3, 2)),
        (date(2026, 3, 8), date(2026, 3, 2)),
        (date(2026, 1, 1), date(2025, 12, 29)),  # across a year
    ],
)
def test_weeks_start_on_monday(day: date, monday: date) -> None:
    assert monday_of(day) == monday
