"""The picture of a student's term (pure geometry): what each class came to, where its mark
goes, in which direction the days run, and which dates are labelled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from halaqa.web.charts.term import (
    COLOURS,
    EDGE,
    GAP,
    LABELS,
    LANE,
    TOP,
    WIDTH,
    Entry,
    Outcome,
    layout,
    outcome_of,
    radius_for,
    tick_step,
)

FIRST = date(2026, 3, 1)
TRACK = WIDTH - LABELS - GAP - EDGE


@pytest.mark.parametrize(
    ("session_status", "attendance", "expected"),
    [
        ("completed", "present", Outcome.PRESENT),
        ("completed", "late", Outcome.LATE),
        ("completed", "left_early", Outcome.LEFT_EARLY),
        ("completed", "partial", Outcome.PARTIAL),
        ("absent", "absent", Outcome.ABSENT),
        ("completed", "excused", Outcome.EXCUSED),
        ("completed", None, Outcome.NOT_RECORDED),  # held, attendance not finalised yet
        ("absent", None, Outcome.NOT_RECORDED),
        ("cancelled", None, Outcome.NOT_HELD),
        ("cancelled", "absent", Outcome.NOT_HELD),  # the teacher did not come: nothing counts
        ("suspended", None, Outcome.NOT_HELD),
        ("ongoing", "present", Outcome.PRESENT),  # provisional, from the presence so far
        ("ongoing", None, None),
        ("scheduled", None, None),
        ("ready", None, None),
    ],
)
def test_what_a_class_came_to(
    session_status: str, attendance: str | None, expected: Outcome | None
) -> None:
    assert outcome_of(session_status, attendance) == expected


def _day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.mark.parametrize(
    ("days", "rtl", "day", "x"),
    [
        # 10 days over the track: each day is a tenth of it, the mark in its middle.
        (10, False, 0, LABELS + GAP + TRACK * 0.05),
        (10, False, 9, LABELS + GAP + TRACK * 0.95),
        (10, True, 0, EDGE + TRACK * 0.95),  # right to left: the first day on the right
        (10, True, 9, EDGE + TRACK * 0.05),
        (1, False, 0, LABELS + GAP + TRACK / 2),
        (1, True, 0, EDGE + TRACK / 2),
    ],
)
def test_days_run_along_the_reading_direction(days: int, rtl: bool, day: int, x: float) -> None:
    chart = layout([Entry(1, _day(day), Outcome.PRESENT)], FIRST, _day(days - 1), rtl=rtl)
    [mark] = chart.marks
    assert mark.x == pytest.approx(x, abs=0.01)


@pytest.mark.parametrize(
    ("rtl", "track_x", "label_x", "anchor"),
    [
        (False, LABELS + GAP, LABELS, "end"),  # names on the left, ending next to the days
        (True, EDGE, EDGE + TRACK + GAP, "start"),  # names on the right, starting next to them
    ],
)
def test_the_lanes_names_are_where_the_line_starts(
    rtl: bool, track_x: float, label_x: float, anchor: str
) -> None:
    chart = layout([Entry(1, FIRST, Outcome.ABSENT)], FIRST, _day(29), rtl=rtl)
    assert (chart.track_x, chart.label_x, chart.label_anchor) == (track_x, label_x, anchor)
    assert chart.track_width == TRACK
    assert chart.track_x + chart.track_width <= WIDTH


def test_one_lane_per_outcome_that_happened_in_a_fixed_order() -> None:
    entries = [
        Entry(1, _day(0), Outcome.ABSENT),
        Entry(2, _day(1), Outcome.PRESENT),
        Entry(3, _day(2), Outcome.ABSENT),
        Entry(4, _day(3), Outcome.NOT_HELD),
        Entry(5, _day(4), Outcome.EXCUSED),
    ]
    chart = layout(entries, FIRST, _day(29))
    assert [(lane.outcome, lane.count) for lane in chart.lanes] == [
        (Outcome.PRESENT, 1),
        (Outcome.ABSENT, 2),
        (Outcome.EXCUSED, 1),
        (Outcome.NOT_HELD, 1),
    ]
    assert [lane.y for lane in chart.lanes] == [TOP + LANE * (n + 0.5) for n in range(4)]
    lane_of = {lane.outcome: lane.y for lane in chart.lanes}
    assert all(mark.y == lane_of[mark.outcome] for mark in chart.marks)
    assert all(mark.fill == COLOURS[mark.outcome] for mark in chart.marks)
    assert chart.axis_y == TOP + 4 * LANE
    assert chart.height > chart.axis_y


def test_classes_on_the_same_day_and_lane_are_stacked_not_drawn_over_each_other() -> None:
    entries = [Entry(key, _day(5), Outcome.PRESENT) for key in (3, 1, 2)]
    chart = layout(entries, FIRST, _day(29))
    [lane] = chart.lanes
    ys = [mark.y for mark in chart.marks]
    assert [mark.key for mark in chart.marks] == [1, 2, 3]
    assert len({mark.x for mark in chart.marks}) == 1
    assert ys == sorted(ys)
    assert len(set(ys)) == 3
    assert sum(ys) / 3 == pytest.approx(lane.y)  # centred on the lane
    radius = chart.marks[0].radius
    assert ys[0] - radius >= lane.y - LANE / 2
    assert ys[-1] + radius <= lane.y + LANE / 2


def test_days_outside_the_period_are_left_out() -> None:
    entries = [
        Entry(1, _day(-1), Outcome.PRESENT),
        Entry(2, _day(0), Outcome.LATE),
        Entry(3, _day(10), Outcome.ABSENT),
    ]
    chart = layout(entries, FIRST, _day(9))
    assert [mark.key for mark in chart.marks] == [2]
    assert [lane.outcome for lane in chart.lanes] == [Outcome.LATE]


def test_no_classes_no_lanes() -> None:
    chart = layout([], FIRST, _day(89))
    assert (chart.lanes, chart.marks) == ((), ())
    assert chart.axis_y == TOP


@pytest.mark.parametrize(
    ("days", "step"),
    [(7, 7), (30, 7), (90, 14), (183, 21), (366, 42)],
)
def test_dates_on_the_axis_are_whole_weeks_apart_and_never_crowded(days: int, step: int) -> None:
    chart = layout([], FIRST, _day(days - 1))
    assert tick_step(TRACK / days) == step
    assert [tick.day for tick in chart.ticks] == [_day(n) for n in range(0, days, step)]
    gaps = [b.x - a.x for a, b in zip(chart.ticks, chart.ticks[1:], strict=False)]
    assert all(gap >= 64 for gap in gaps)


@pytest.mark.parametrize(
    ("day_width", "radius"), [(30.0, 7.0), (10.0, 4.0), (5.0, 3.0), (1.5, 3.0)]
)
def test_marks_shrink_with_the_days_but_stay_visible(day_width: float, radius: float) -> None:
    assert radius_for(day_width) == radius


def test_a_period_that_ends_before_it_begins_is_refused() -> None:
    with pytest.raises(ValueError, match="before the first"):
        layout([], FIRST, _day(-1))
