"""Weekly availability (pure): wall times survive DST; every slot fits and is free."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halaqa.bookings.availability import (
    InvalidAvailability,
    WeeklyWindows,
    Window,
    free_slots,
    within_availability,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
MINUTE = timedelta(minutes=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(weekday: int, start: str, end: str) -> Window:
    return Window(weekday, time.fromisoformat(start), time.fromisoformat(end))


def week(zone: str, *windows: Window) -> WeeklyWindows:
    return WeeklyWindows(zone, windows)


def day_of(text: str) -> tuple[datetime, datetime]:
    """The UTC range [text 00:00Z, +1 day)."""
    start = utc(text)
    return start, start + timedelta(days=1)


RIYADH_MORNING = week("Asia/Riyadh", window(MON, "09:00", "12:00"))  # 06:00Z–09:00Z, no DST

# (case, availability, range, duration minutes, step minutes, busy, expected starts)
SLOT_CASES = [
    (
        "plain window, no DST",
        RIYADH_MORNING,
        day_of("2026-03-02"),
        60,
        30,
        [],
        ["06:00", "06:30", "07:00", "07:30", "08:00"],
    ),
    (
        "a busy interval takes the slots that meet it; ending as it starts is fine",
        RIYADH_MORNING,
        day_of("2026-03-02"),
        60,
        30,
        [("07:00", "07:30")],
        ["06:00", "07:30", "08:00"],
    ),
    (
        "only starts inside the range",
        RIYADH_MORNING,
        (utc("2026-03-02T07:15"), utc("2026-03-02T08:00:01")),
        60,
        30,
        [],
        ["07:30", "08:00"],
    ),
    (
        "the range's end is exclusive",
        RIYADH_MORNING,
        (utc("2026-03-02T06:00"), utc("2026-03-02T07:00")),
        60,
        30,
        [],
        ["06:00", "06:30"],
    ),
    (
        "touching windows are one stretch of time",
        week("Asia/Riyadh", window(MON, "09:00", "10:00"), window(MON, "10:00", "11:00")),
        day_of("2026-03-02"),
        90,
        30,
        [],
        ["06:00", "06:30"],
    ),
    (
        "a window longer than nothing fits nobody",
        RIYADH_MORNING,
        day_of("2026-03-02"),
        181,
        30,
        [],
        [],
    ),
    (
        "the steps follow the window's start",
        week("Asia/Riyadh", window(MON, "09:10", "10:30")),
        day_of("2026-03-02"),
        30,
        20,
        [],
        ["06:10", "06:30", "06:50"],
    ),
    (
        "New York, normal winter Sunday: 09:00 EST is 14:00Z",
        week("America/New_York", window(SUN, "09:00", "10:00")),
        day_of("2026-03-01"),
        60,
        60,
        [],
        ["14:00"],
    ),
    (
        "New York, the Sunday after the spring change: 09:00 EDT is 13:00Z",
        week("America/New_York", window(SUN, "09:00", "10:00")),
        day_of("2026-03-15"),
        60,
        60,
        [],
        ["13:00"],
    ),
    (
        "New York spring gap: 02:00 does not exist and is never offered",
        week("America/New_York", window(SUN, "01:00", "04:00")),
        day_of("2026-03-08"),
        60,
        60,
        [],
        ["06:00", "07:00"],  # 01:00 EST, 03:00 EDT
    ),
    (
        "New York spring gap: a window starting in the gap starts when the clocks jump",
        week("America/New_York", window(SUN, "02:00", "05:00")),
        day_of("2026-03-08"),
        30,
        30,
        [],
        ["07:00", "07:30", "08:00", "08:30"],  # 03:00 to 04:30 EDT
    ),
    (
        "New York spring gap: a window wholly inside the gap is no time at all",
        week("America/New_York", window(SUN, "02:00", "02:30")),
        day_of("2026-03-08"),
        10,
        10,
        [],
        [],
    ),
    (
        "New York autumn: 01:00 and 01:30 happen twice and are offered once, the first time",
        week("America/New_York", window(SUN, "00:00", "03:00")),
        day_of("2026-11-01"),
        60,
        30,
        [],
        ["04:00", "04:30", "05:00", "05:30", "07:00"],  # 00:00 EDT … 01:30 EDT, 02:00 EST
    ),
    (
        "New York autumn: the repeated hour is still covered by the window",
        week("America/New_York", window(SUN, "01:00", "02:00")),
        day_of("2026-11-01"),
        120,
        30,
        [],
        ["05:00"],  # 01:00 EDT until 02:00 EST is two real hours
    ),
    (
        "London, before the spring change: 09:00 GMT",
        week("Europe/London", window(MON, "09:00", "10:00")),
        day_of("2026-03-23"),
        60,
        60,
        [],
        ["09:00"],
    ),
    (
        "London, after the spring change: 09:00 BST is 08:00Z",
        week("Europe/London", window(MON, "09:00", "10:00")),
        day_of("2026-03-30"),
        60,
        60,
        [],
        ["08:00"],
    ),
    (
        "London spring gap: 01:00–02:00 does not exist; the window is one real hour",
        week("Europe/London", window(SUN, "00:30", "02:30")),
        day_of("2026-03-29"),
        60,
        30,
        [],
        ["00:30"],
    ),
    (
        "London autumn: 01:00 happens twice, offered at its first (BST) occurrence",
        week("Europe/London", window(SUN, "00:00", "03:00")),
        (utc("2026-10-24T12:00"), utc("2026-10-25T12:00")),
        60,
        60,
        [],
        ["2026-10-24T23:00", "2026-10-25T00:00", "2026-10-25T02:00"],
    ),
    (
        "the weekday is the teacher's: Monday morning in Auckland is Sunday in UTC",
        week("Pacific/Auckland", window(MON, "08:00", "09:00")),
        day_of("2026-03-01"),
        60,
        60,
        [],
        ["19:00"],
    ),
]


def expected_instants(day: datetime, texts: list[str]) -> list[datetime]:
    """ "HH:MM" on `day`'s date, or a full ISO instant (UTC)."""
    return [utc(text) if "T" in text else utc(f"{day.date().isoformat()}T{text}") for text in texts]


@pytest.mark.parametrize(
    ("availability", "bounds", "minutes", "step", "busy", "expected"),
    [case[1:] for case in SLOT_CASES],
    ids=[case[0] for case in SLOT_CASES],
)
def test_free_slots(
    availability: WeeklyWindows,
    bounds: tuple[datetime, datetime],
    minutes: int,
    step: int,
    busy: list[tuple[str, str]],
    expected: list[str],
) -> None:
    low, high = bounds
    on_day = low.date().isoformat()
    busy_instants = [(utc(f"{on_day}T{a}"), utc(f"{on_day}T{b}")) for a, b in busy]
    slots = free_slots(
        availability,
        low,
        high,
        timedelta(minutes=minutes),
        timedelta(minutes=step),
        busy_instants,
    )
    assert slots == expected_instants(low, expected)
    assert all(s.tzinfo is UTC for s in slots)


# (case, availability, start, duration minutes, inside?)
WITHIN_CASES = [
    ("the whole window", RIYADH_MORNING, "2026-03-02T06:00", 180, True),
    ("a minute too long", RIYADH_MORNING, "2026-03-02T06:00", 181, False),
    ("a minute too early", RIYADH_MORNING, "2026-03-02T05:59", 60, False),
    ("off the slot grid is fine", RIYADH_MORNING, "2026-03-02T06:07", 45, True),
    ("another weekday", RIYADH_MORNING, "2026-03-03T06:00", 60, False),
    (
        "across touching windows",
        week("Asia/Riyadh", window(MON, "09:00", "10:00"), window(MON, "10:00", "11:00")),
        "2026-03-02T06:30",
        60,
        True,
    ),
    (
        "across a gap between windows",
        week("Asia/Riyadh", window(MON, "09:00", "10:00"), window(MON, "10:30", "11:00")),
        "2026-03-02T06:30",
        60,
        False,
    ),
    (
        "New York autumn: the second 01:00 lies inside 00:00–03:00",
        week("America/New_York", window(SUN, "00:00", "03:00")),
        "2026-11-01T06:00",
        120,
        True,
    ),
    (
        "New York spring: from the jump (03:00 EDT) inside 02:00–05:00",
        week("America/New_York", window(SUN, "02:00", "05:00")),
        "2026-03-08T07:00",
        120,
        True,
    ),
    (
        "New York spring: 01:30 EST is before a 02:00 window",
        week("America/New_York", window(SUN, "02:00", "05:00")),
        "2026-03-08T06:30",
        30,
        False,
    ),
    (
        "London summer: 09:00 BST",
        week("Europe/London", window(MON, "09:00", "10:00")),
        "2026-06-01T08:00",
        60,
        True,
    ),
    (
        "London summer: 09:00Z is 10:00 BST, past the window",
        week("Europe/London", window(MON, "09:00", "10:00")),
        "2026-06-01T09:00",
        30,
        False,
    ),
]


@pytest.mark.parametrize(
    ("availability", "start", "minutes", "inside"),
    [case[1:] for case in WITHIN_CASES],
    ids=[case[0] for case in WITHIN_CASES],
)
def test_within_availability(
    availability: WeeklyWindows, start: str, minutes: int, inside: bool
) -> None:
    assert within_availability(availability, utc(start), timedelta(minutes=minutes)) is inside


# (case, build, message part)
INVALID_CASES = [
    ("end before start", lambda: window(MON, "10:00", "09:00"), "end must be after the start"),
    ("empty window", lambda: window(MON, "10:00", "10:00"), "end must be after the start"),
    ("weekday out of range", lambda: window(7, "09:00", "10:00"), "weekday must be 0"),
    (
        "zone-aware time",
        lambda: Window(MON, time(9, tzinfo=UTC), time(10)),
        "local wall times",
    ),
    (
        "overlap on one weekday",
        lambda: week("UTC", window(MON, "09:00", "11:00"), window(MON, "10:30", "12:00")),
        "Monday 09:00–11:00 overlaps Monday 10:30–12:00",
    ),
    (
        "one inside another",
        lambda: week("UTC", window(TUE, "13:00", "14:00"), window(TUE, "09:00", "17:00")),
        "Tuesday 09:00–17:00 overlaps Tuesday 13:00–14:00",
    ),
    ("unknown zone", lambda: week("Mars/Olympus_Mons"), "unknown time zone"),
    (
        "zero duration",
        lambda: free_slots(RIYADH_MORNING, *day_of("2026-03-02"), timedelta(0), MINUTE),
        "must be positive",
    ),
    (
        "zero step",
        lambda: free_slots(RIYADH_MORNING, *day_of("2026-03-02"), MINUTE, timedelta(0)),
        "must be positive",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_input_is_refused_with_a_clear_message(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(InvalidAvailability, match=message):
        build()


def test_valid_weeks_are_sorted_and_may_touch_or_repeat_across_days() -> None:
    availability = week(
        "UTC",
        window(WED, "09:00", "10:00"),
        window(MON, "10:00", "11:00"),
        window(MON, "09:00", "10:00"),
        window(TUE, "09:00", "10:00"),
    )
    assert [str(w) for w in availability.windows] == [
        "Monday 09:00–10:00",
        "Monday 10:00–11:00",
        "Tuesday 09:00–10:00",
        "Wednesday 09:00–10:00",
    ]
    assert issubclass(InvalidAvailability, ValueError)


def test_an_empty_or_reversed_range_has_no_slots() -> None:
    low, high = day_of("2026-03-02")
    assert free_slots(RIYADH_MORNING, high, low, MINUTE, MINUTE) == []
    assert free_slots(WeeklyWindows("UTC"), low, high, MINUTE, MINUTE) == []


ZONES = ["UTC", "Asia/Riyadh", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
quarter_hours = st.integers(min_value=0, max_value=95).map(lambda n: time(n // 4, (n % 4) * 15))


@st.composite
def weeks(draw: st.DrawFn) -> WeeklyWindows:
    """Up to one window a weekday (so never overlapping), in a zone with or without DST."""
    windows = []
    for weekday in draw(st.sets(st.integers(0, 6), max_size=7)):
        a, b = draw(quarter_hours), draw(quarter_hours)
        if a != b:
            windows.append(Window(weekday, min(a, b), max(a, b)))
    return WeeklyWindows(draw(st.sampled_from(ZONES)), tuple(windows))


@settings(max_examples=60, deadline=None)
@given(
    availability=weeks(),
    start_day=st.integers(0, 365),
    minutes=st.sampled_from([15, 30, 45, 60, 90]),
    step=st.sampled_from([15, 30, 60]),
    busy_at=st.integers(0, 14 * 24 * 4),
)
def test_every_slot_fits_and_is_free(
    availability: WeeklyWindows, start_day: int, minutes: int, step: int, busy_at: int
) -> None:
    low = utc("2026-01-01T00:00") + timedelta(days=start_day)
    high = low + timedelta(days=14)
    busy_start = low + timedelta(minutes=15 * busy_at)
    busy = [(busy_start, busy_start + timedelta(hours=2))]
    duration = timedelta(minutes=minutes)
    slots = free_slots(availability, low, high, duration, timedelta(minutes=step), busy)
    assert slots == sorted(set(slots))
    for start in slots:
        assert low <= start < high
        assert within_availability(availability, start, duration)
        assert start + duration <= busy_start or start >= busy_start + timedelta(hours=2)
