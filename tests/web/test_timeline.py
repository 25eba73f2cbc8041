"""The presence timeline's geometry: where each stay lies on the bar, gaps, the window, the
time labels, and right-to-left mirroring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from halaqa.web.charts.timeline import (
    BAR,
    GAP,
    LABELS,
    MIN_SEGMENT,
    ROW,
    TOP,
    WIDTH,
    Lane,
    layout,
    tick_step,
    ticks_of,
    window_of,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(minutes=60)
TRACK = WIDTH - LABELS - 2 * GAP  # 554 wide


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def lane(*stays: tuple[float, float], user_id: int = 1) -> Lane:
    return Lane(user_id, f"Person {user_id}", "student", [(at(a), at(b)) for a, b in stays])


@pytest.mark.parametrize(
    ("stays", "until", "expected"),
    [
        # (stays in minutes from the start, until, [(x, width)] left to right)
        ([(0, 60)], 90, [(LABELS + GAP, TRACK)]),
        ([(0, 30)], 90, [(LABELS + GAP, TRACK / 2)]),
        # A reconnection: two segments, the gap between them left empty.
        (
            [(0, 15), (30, 60)],
            90,
            [(LABELS + GAP, TRACK / 4), (LABELS + GAP + TRACK / 2, TRACK / 2)],
        ),
        # Out of order in, in order out.
        (
            [(30, 60), (0, 15)],
            90,
            [(LABELS + GAP, TRACK / 4), (LABELS + GAP + TRACK / 2, TRACK / 2)],
        ),
        # A class still going on: nothing drawn beyond now.
        ([(0, 60)], 45, [(LABELS + GAP, TRACK * 3 / 4)]),
        ([(0, 10), (50, 60)], 45, [(LABELS + GAP, TRACK / 6)]),
        # A stay of a few seconds still shows.
        ([(30, 30.01)], 90, [(LABELS + GAP + TRACK / 2, MIN_SEGMENT)]),
        # Never in: an empty bar.
        ([], 90, []),
    ],
)
def test_stays_lie_along_the_bar(
    stays: list[tuple[float, float]], until: float, expected: list[tuple[float, float]]
) -> None:
    drawn = layout(
        [lane(*stays)], scheduled_start=START, scheduled_end=END, until=at(until), zone="UTC"
    )
    (bar,) = drawn.bars
    assert len(bar.segments) == len(expected)
    for segment, (x, width) in zip(bar.segments, expected, strict=True):
        assert (segment.x, segment.width) == pytest.approx((x, width), abs=0.01)


@pytest.mark.parametrize(
    ("stays", "until", "window"),
    [
        ([(0, 60)], 90, (0, 60)),
        ([(10, 20)], 90, (0, 60)),  # the slot is always shown whole
        ([(-10, 60)], 90, (-10, 60)),  # the teacher came in early
        ([(0, 75)], 90, (0, 75)),  # the class ran over
        ([(0, 75)], 70, (0, 70)),  # … and is running over now
        ([(-10, 5)], 0, (-10, 60)),  # stays cut at now before they widen it
    ],
)
def test_the_window_is_the_slot_widened_to_every_stay(
    stays: list[tuple[float, float]], until: float, window: tuple[float, float]
) -> None:
    found = window_of(START, END, [lane(*stays), lane(user_id=2)], at(until))
    assert found == (at(window[0]), at(window[1]))


def test_one_bar_per_person_in_rows() -> None:
    drawn = layout(
        [lane((0, 60), user_id=1), lane(user_id=2), lane((5, 10), user_id=3)],
        scheduled_start=START,
        scheduled_end=END,
        until=at(90),
        zone="UTC",
    )
    assert [b.user_id for b in drawn.bars] == [1, 2, 3]
    assert [b.y for b in drawn.bars] == [TOP + n * ROW + (ROW - BAR) / 2 for n in range(3)]
    assert drawn.axis_y == TOP + 3 * ROW
    assert drawn.height > drawn.axis_y
    assert (drawn.slot_x, drawn.slot_width) == (LABELS + GAP, TRACK)


def test_the_slot_is_a_part_of_a_widened_window() -> None:
    drawn = layout(
        [lane((-15, 60))], scheduled_start=START, scheduled_end=END, until=at(90), zone="UTC"
    )
    share = 15 / 75
    assert drawn.slot_x == pytest.approx(LABELS + GAP + share * TRACK, abs=0.01)
    assert drawn.slot_width == pytest.approx(TRACK * 60 / 75, abs=0.01)
    assert drawn.bars[0].segments[0].x == LABELS + GAP


def test_right_to_left_mirrors_the_time_and_puts_names_on_the_right() -> None:
    stays = ((0, 15), (30, 60))
    ltr = layout([lane(*stays)], scheduled_start=START, scheduled_end=END, until=at(90), zone="UTC")
    rtl = layout(
        [lane(*stays)],
        scheduled_start=START,
        scheduled_end=END,
        until=at(90),
        zone="UTC",
        rtl=True,
    )
    assert (rtl.track_x, rtl.track_width) == (GAP, TRACK)
    # The first stay starts at the right end of the track and runs leftwards.
    first, second = rtl.bars[0].segments
    assert first.x + first.width == pytest.approx(GAP + TRACK, abs=0.01)
    assert first.width == pytest.approx(TRACK / 4, abs=0.01)
    assert second.x == pytest.approx(GAP, abs=0.01)
    for mirrored, straight in zip(rtl.bars[0].segments, ltr.bars[0].segments, strict=True):
        assert mirrored.width == pytest.approx(straight.width, abs=0.01)
        assert mirrored.start == straight.start
    assert rtl.label_x > rtl.track_x + rtl.track_width
    assert rtl.label_anchor == "start"
    assert ltr.label_x < ltr.track_x
    assert ltr.label_anchor == "end"
    assert [t.at for t in rtl.ticks] == [t.at for t in ltr.ticks]
    assert rtl.ticks[0].x > rtl.ticks[-1].x  # earlier times to the right


@pytest.mark.parametrize(
    ("minutes", "step"),
    [(30, 5), (60, 10), (90, 15), (120, 20), (180, 30), (300, 60), (600, 120), (10_000, 1440)],
)
def test_a_few_labelled_times(minutes: int, step: int) -> None:
    assert tick_step(timedelta(minutes=minutes)) == step


@pytest.mark.parametrize(
    ("start", "zone", "first_local"),
    [
        (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "UTC", "09:00"),
        (datetime(2026, 3, 1, 9, 3, 20, tzinfo=UTC), "UTC", "09:10"),
        # Round times in the viewer's zone: Tehran is 3:30 ahead of UTC.
        (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "Asia/Tehran", "12:30"),
        (datetime(2026, 3, 1, 9, 5, tzinfo=UTC), "Asia/Kathmandu", "14:50"),
    ],
)
def test_labelled_times_are_round_on_the_viewers_clock(
    start: datetime, zone: str, first_local: str
) -> None:
    ticks = ticks_of(start, start + timedelta(minutes=60), zone)
    local = [t.astimezone(ZoneInfo(zone)).strftime("%H:%M") for t in ticks]
    assert local[0] == first_local
    assert all(t >= start for t in ticks)
    assert all(b - a == timedelta(minutes=10) for a, b in pairwise(ticks))


def test_now_is_marked_only_inside_the_window() -> None:
    during = layout(
        [lane((0, 20))], scheduled_start=START, scheduled_end=END, until=at(30), zone="UTC"
    )
    assert during.now_x == pytest.approx(LABELS + GAP + TRACK / 2, abs=0.01)
    after = layout(
        [lane((0, 20))], scheduled_start=START, scheduled_end=END, until=at(90), zone="UTC"
    )
    assert after.now_x is None
