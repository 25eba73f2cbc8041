"""Weekly recurrence (pure): local wall times survive DST, counts and indexes ignore the window."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halaqa.scheduling.recurrence import (
    AmbiguousLocalTime,
    Expansion,
    InvalidRule,
    LocalTimeError,
    NonexistentLocalTime,
    Occurrence,
    RecurrenceError,
    Skipped,
    UnknownTimeZone,
    WeeklyRule,
    WeeklySlot,
    expand,
    resolve_local,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
FIVE_PM = time(17, 0)
MON_WED_5PM = (WeeklySlot(MON, FIVE_PM), WeeklySlot(WED, FIVE_PM))
YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
HOUR = timedelta(hours=1)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def transitions(zone: str, year: int) -> list[tuple[datetime, timedelta, timedelta]]:
    """(first UTC minute of the new offset, offset before, offset after), found by scanning
    zoneinfo day by day and bisecting to the minute, so the tests follow the tz database."""
    tz = ZoneInfo(zone)
    found: list[tuple[datetime, timedelta, timedelta]] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        lo, hi = day, day + timedelta(days=1)
        if _offset(lo, tz) != _offset(hi, tz):
            while hi - lo > timedelta(minutes=1):
                mid = lo + timedelta(minutes=(hi - lo) // timedelta(minutes=1) // 2)
                lo, hi = (mid, hi) if _offset(mid, tz) == _offset(lo, tz) else (lo, mid)
            found.append((hi, _offset(lo, tz), _offset(hi, tz)))
        day += timedelta(days=1)
    return found


NO_DAYS: frozenset[int] = frozenset()
NO_DATES: frozenset[date] = frozenset()


def whole(
    rule: WeeklyRule, blocked: frozenset[int] = NO_DAYS, holidays: frozenset[date] = NO_DATES
) -> Expansion:
    """The series from its first day to its `until` (or 2030, past every test's horizon)."""
    end = rule.until or date(2030, 12, 31)
    return expand(
        rule,
        window_start=rule.starts_on,
        window_end=end,
        blocked_weekdays=blocked,
        holidays=holidays,
    )


def dates(occurrences: list[Occurrence]) -> list[date]:
    return [occurrence.local_date for occurrence in occurrences]


def utc_time_of_day(occurrence: Occurrence) -> timedelta:
    return occurrence.starts_at - datetime.combine(occurrence.local_date, time(0), tzinfo=UTC)


# --- DST: 17:00 stays 17:00 local, the UTC instant moves by exactly one hour -----------------

DST_ZONES = [
    # zone, UTC time of 17:00 local in winter, in summer, offset changes in 2026
    pytest.param("America/New_York", timedelta(hours=22), timedelta(hours=21), 2, id="new-york"),
    pytest.param("Europe/London", timedelta(hours=17), timedelta(hours=16), 2, id="london"),
    pytest.param("Africa/Cairo", timedelta(hours=15), timedelta(hours=14), 2, id="cairo"),
    pytest.param("Asia/Riyadh", timedelta(hours=14), timedelta(hours=14), 0, id="riyadh-no-dst"),
]


@pytest.mark.parametrize(("zone", "winter_utc", "summer_utc", "changes"), DST_ZONES)
def test_wall_time_stays_and_utc_moves_one_hour_at_each_transition(
    zone: str, winter_utc: timedelta, summer_utc: timedelta, changes: int
) -> None:
    rule = WeeklyRule(MON_WED_5PM, zone, YEAR_START, until=YEAR_END)
    result = whole(rule)
    tz = ZoneInfo(zone)

    assert result.skipped == []
    assert len(result.occurrences) == 104
    for occurrence in result.occurrences:
        local = occurrence.starts_at.astimezone(tz)
        assert occurrence.starts_at.tzinfo is UTC
        assert (local.date(), local.time()) == (occurrence.local_date, FIVE_PM)
        assert occurrence.local_start == FIVE_PM
    assert utc_time_of_day(result.occurrences[0]) == winter_utc
    assert utc_time_of_day(result.occurrences[-1]) == winter_utc

    found = transitions(zone, 2026)
    assert len(found) == changes
    shifts = [
        (before, utc_time_of_day(after) - utc_time_of_day(before))
        for before, after in pairwise(result.occurrences)
        if utc_time_of_day(after) != utc_time_of_day(before)
    ]
    assert len(shifts) == changes
    for (instant, old, new), (last_before, shift) in zip(found, shifts, strict=True):
        # The class just before the change is the last one earlier than it; UTC moves by the
        # opposite of the offset change: one hour earlier in spring, one hour later in autumn.
        assert last_before.starts_at < instant
        assert instant - last_before.starts_at < timedelta(days=7)
        assert abs(new - old) == HOUR
        assert shift == old - new
        assert utc_time_of_day(last_before) == (winter_utc if new > old else summer_utc)


@pytest.mark.parametrize(("zone", "winter_utc", "summer_utc", "changes"), DST_ZONES[:3])
def test_the_weeks_around_each_transition(
    zone: str, winter_utc: timedelta, summer_utc: timedelta, changes: int
) -> None:
    rule = WeeklyRule(MON_WED_5PM, zone, YEAR_START, until=YEAR_END)
    for instant, old, new in transitions(zone, 2026):
        day = instant.date()
        week = expand(
            rule, window_start=day - timedelta(days=7), window_end=day + timedelta(days=7)
        )
        before = [o for o in week.occurrences if o.starts_at < instant]
        after = [o for o in week.occurrences if o.starts_at > instant]
        assert before
        assert after
        spring = new > old
        assert {utc_time_of_day(o) for o in before} == {winter_utc if spring else summer_utc}
        assert {utc_time_of_day(o) for o in after} == {summer_utc if spring else winter_utc}
        assert all(o.local_start == FIVE_PM for o in week.occurrences)


# --- resolve_local ------------------------------------------------------------------------------

NY = "America/New_York"
LONDON = "Europe/London"


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        (NY, date(2026, 3, 8), time(1, 59), datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),
        (NY, date(2026, 3, 8), time(3, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (NY, date(2026, 11, 1), time(0, 59), datetime(2026, 11, 1, 4, 59, tzinfo=UTC)),
        (NY, date(2026, 11, 1), time(2, 0), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
        (NY, date(2026, 7, 1), time(17, 0), datetime(2026, 7, 1, 21, 0, tzinfo=UTC)),
        ("Europe/London", date(2026, 3, 29), time(2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        ("Asia/Riyadh", date(2026, 3, 8), time(2, 30), datetime(2026, 3, 7, 23, 30, tzinfo=UTC)),
        ("UTC", date(2026, 3, 8), time(2, 30, 15), datetime(2026, 3, 8, 2, 30, 15, tzinfo=UTC)),
        (
            "Asia/Riyadh",
            date(2026, 3, 8),
            time(17, 0, fold=1),
            datetime(2026, 3, 8, 14, tzinfo=UTC),
        ),
    ],
)
def test_resolve_local_normal_times(zone: str, day: date, at: time, expected: datetime) -> None:
    resolved = resolve_local(day, at, zone)
    assert resolved == expected
    assert resolved.tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "at", "error", "message"),
    [
        (
            date(2026, 3, 8),
            time(2, 30),
            NonexistentLocalTime,
            "02:30 on 2026-03-08 does not exist in America/New_York (clocks jump forward)",
        ),
        (
            date(2026, 11, 1),
            time(1, 30),
            AmbiguousLocalTime,
            "01:30 on 2026-11-01 happens twice in America/New_York (clocks go back)",
        ),
        (
            date(2026, 11, 1),
            time(1, 0),
            AmbiguousLocalTime,
            "01:00 on 2026-11-01 happens twice in America/New_York (clocks go back)",
        ),
        (
            date(2026, 3, 8),
            time(2, 0, 30),
            NonexistentLocalTime,
            "02:00:30 on 2026-03-08 does not exist in America/New_York (clocks jump forward)",
        ),
    ],
)
def test_resolve_local_refuses_to_guess(
    day: date, at: time, error: type[LocalTimeError], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$") as raised:
        resolve_local(day, at, NY)
    assert isinstance(raised.value, ValueError)
    assert (raised.value.day, raised.value.at, raised.value.zone) == (day, at, NY)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Africa/Cairo"])
def test_every_transition_is_refused_and_reported_as_skipped(zone: str) -> None:
    found = transitions(zone, 2026)
    assert len(found) == 2
    for instant, old, new in found:
        # Wall times in [instant + min(old, new), instant + max(old, new)) are skipped or doubled.
        first_wall = (instant + min(old, new)).replace(tzinfo=None)
        wall = first_wall + timedelta(minutes=30)
        error = NonexistentLocalTime if new > old else AmbiguousLocalTime
        with pytest.raises(error, match=re.escape(f"on {wall.date()}") + ".*" + re.escape(zone)):
            resolve_local(wall.date(), wall.time(), zone)
        just_before = first_wall - timedelta(minutes=1)
        just_after = first_wall + HOUR
        assert resolve_local(just_before.date(), just_before.time(), zone) < instant
        assert resolve_local(just_after.date(), just_after.time(), zone) >= instant

        slot = WeeklySlot(wall.weekday(), wall.time())
        week = timedelta(days=7)
        rule = WeeklyRule((slot,), zone, wall.date() - week, until=wall.date() + week)
        result = whole(rule)
        assert result.skipped == [Skipped(wall.date(), wall.time(), error.reason)]
        assert dates(result.occurrences) == [wall.date() - week, wall.date() + week]
        assert [o.index for o in result.occurrences] == [0, 1]


@pytest.mark.parametrize(
    ("zone", "at", "error"),
    [
        ("Mars/Olympus_Mons", time(17), UnknownTimeZone),
        ("america/new_york", time(17), UnknownTimeZone),
        ("", time(17), UnknownTimeZone),
        ("../etc/passwd", time(17), UnknownTimeZone),
        ("Asia/Riyadh", time(17, tzinfo=UTC), RecurrenceError),
    ],
)
def test_resolve_local_bad_input(zone: str, at: time, error: type[RecurrenceError]) -> None:
    with pytest.raises(error):
        resolve_local(date(2026, 3, 8), at, zone)


# --- count, until, blocked days, holidays, monthly target ---------------------------------------

RIYADH = "Asia/Riyadh"
JAN_5 = date(2026, 1, 5)  # a Monday


@pytest.mark.parametrize(
    ("rule", "blocked", "holidays", "held", "skipped"),
    [
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, count=4),
            NO_DAYS,
            NO_DATES,
            [JAN_5, date(2026, 1, 7), date(2026, 1, 12), date(2026, 1, 14)],
            [],
            id="count",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, count=4),
            NO_DAYS,
            frozenset({date(2026, 1, 7), date(2026, 1, 12), date(2026, 3, 2)}),
            [JAN_5, date(2026, 1, 14), date(2026, 1, 19), date(2026, 1, 21)],
            [(date(2026, 1, 7), "holiday"), (date(2026, 1, 12), "holiday")],
            id="holidays-do-not-count",
        ),
        pytest.param(
            WeeklyRule(
                (WeeklySlot(WED, FIVE_PM), WeeklySlot(FRI, FIVE_PM)), RIYADH, JAN_5, count=3
            ),
            frozenset({FRI}),
            NO_DATES,
            [date(2026, 1, 7), date(2026, 1, 14), date(2026, 1, 21)],
            [(date(2026, 1, 9), "blocked_day"), (date(2026, 1, 16), "blocked_day")],
            id="blocked-friday-does-not-count",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=date(2026, 1, 14)),
            NO_DAYS,
            NO_DATES,
            [JAN_5, date(2026, 1, 7), date(2026, 1, 12), date(2026, 1, 14)],
            [],
            id="until-inclusive",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=date(2026, 1, 13)),
            NO_DAYS,
            NO_DATES,
            [JAN_5, date(2026, 1, 7), date(2026, 1, 12)],
            [],
            id="until-between-slots",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, date(2026, 1, 6), until=date(2026, 1, 12)),
            NO_DAYS,
            NO_DATES,
            [date(2026, 1, 7), date(2026, 1, 12)],
            [],
            id="starts-mid-week",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=date(2026, 1, 12), count=99),
            NO_DAYS,
            NO_DATES,
            [JAN_5, date(2026, 1, 7), date(2026, 1, 12)],
            [],
            id="until-before-count",
        ),
        pytest.param(
            WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=date(2026, 12, 31), count=2),
            NO_DAYS,
            frozenset({JAN_5}),
            [date(2026, 1, 7), date(2026, 1, 12)],
            [(JAN_5, "holiday")],
            id="count-before-until",
        ),
        pytest.param(
            WeeklyRule((WeeklySlot(SUN, time(1, 30)),), LONDON, date(2026, 3, 22), count=2),
            NO_DAYS,
            NO_DATES,
            [date(2026, 3, 22), date(2026, 4, 5)],
            [(date(2026, 3, 29), "nonexistent_time")],
            id="london-spring-forward",
        ),
        pytest.param(
            WeeklyRule((WeeklySlot(SUN, time(2, 30)),), NY, date(2026, 3, 1), count=2),
            NO_DAYS,
            NO_DATES,
            [date(2026, 3, 1), date(2026, 3, 15)],
            [(date(2026, 3, 8), "nonexistent_time")],
            id="spring-forward-sunday",
        ),
        pytest.param(
            WeeklyRule((WeeklySlot(SUN, time(1, 30)),), NY, date(2026, 10, 25), count=2),
            frozenset({FRI, SAT}),
            NO_DATES,
            [date(2026, 10, 25), date(2026, 11, 8)],
            [(date(2026, 11, 1), "ambiguous_time")],
            id="fall-back-sunday",
        ),
        pytest.param(
            WeeklyRule((WeeklySlot(SUN, time(2, 30)),), NY, date(2026, 3, 1), count=2),
            NO_DAYS,
            frozenset({date(2026, 3, 8)}),
            [date(2026, 3, 1), date(2026, 3, 15)],
            [(date(2026, 3, 8), "holiday")],
            id="holiday-reported-before-time-problem",
        ),
    ],
)
def test_what_is_held_and_what_is_skipped(
    rule: WeeklyRule,
    blocked: frozenset[int],
    holidays: frozenset[date],
    held: list[date],
    skipped: list[tuple[date, str]],
) -> None:
    result = whole(rule, blocked, holidays)
    assert dates(result.occurrences) == held
    assert [o.index for o in result.occurrences] == list(range(len(held)))
    assert [(s.local_date, s.reason) for s in result.skipped] == skipped
    assert result.ended


def test_monthly_target_caps_each_local_month() -> None:
    slots = (WeeklySlot(SUN, FIVE_PM), WeeklySlot(TUE, FIVE_PM), WeeklySlot(THU, FIVE_PM))
    rule = WeeklyRule(slots, "Africa/Cairo", date(2026, 1, 15), until=YEAR_END, monthly_target=8)
    holidays = frozenset({date(2026, 3, 1), date(2026, 3, 3)})
    result = whole(rule, holidays=holidays)

    def month(day: date) -> int:
        return day.month

    days = [YEAR_START + timedelta(days=n) for n in range(365)]
    available = Counter(
        month(day)
        for day in days
        if day >= rule.starts_on and day.weekday() in (SUN, TUE, THU) and day not in holidays
    )
    held = Counter(month(o.local_date) for o in result.occurrences)
    capped = [s for s in result.skipped if s.reason == "monthly_target"]
    assert dict(held) == {m: min(8, n) for m, n in available.items()}
    assert held[1] == 7  # from Thursday 15 January: 7 slots, all held
    assert (available[2], held[2]) == (12, 8)
    assert (available[3], held[3]) == (12, 8)  # 14 slots, 2 holidays: they use up no target
    assert Counter(month(s.local_date) for s in capped) == available - held
    for skip in capped:  # the cap takes the last slots of the month, not arbitrary ones
        assert skip.local_date > max(
            o.local_date
            for o in result.occurrences
            if month(o.local_date) == month(skip.local_date)
        )
    assert {s.reason for s in result.skipped} == {"holiday", "monthly_target"}


def test_monthly_target_uses_the_local_month_not_the_utc_one() -> None:
    # 01:00 in Riyadh is 22:00 UTC the day before: the 1st of each month is held in its own month.
    every_day = tuple(WeeklySlot(weekday, time(1, 0)) for weekday in range(7))
    rule = WeeklyRule(every_day, RIYADH, YEAR_START, until=YEAR_END, monthly_target=1)
    result = whole(rule)
    assert dates(result.occurrences) == [date(2026, month, 1) for month in range(1, 13)]
    for occurrence in result.occurrences:
        assert occurrence.starts_at.date() == occurrence.local_date - timedelta(days=1)
    assert len(result.skipped) == 365 - 12
    assert {s.reason for s in result.skipped} == {"monthly_target"}


def test_occurrences_are_chronological_whatever_the_slot_order() -> None:
    slots = (
        WeeklySlot(SUN, time(10)),
        WeeklySlot(MON, time(17)),
        WeeklySlot(MON, time(8)),
        WeeklySlot(SAT, time(23, 30)),
    )
    result = whole(WeeklyRule(slots, "Europe/London", date(2026, 3, 18), until=date(2026, 4, 20)))
    instants = [o.starts_at for o in result.occurrences]
    assert instants == sorted(instants)
    assert len(set(instants)) == len(instants)
    assert [o.index for o in result.occurrences] == list(range(len(instants)))
    assert result.occurrences[0].local_date == date(2026, 3, 21)


def test_index_counts_from_the_series_start_not_the_window() -> None:
    rule = WeeklyRule((WeeklySlot(MON, FIVE_PM),), NY, JAN_5)
    window = expand(rule, window_start=date(2030, 1, 1), window_end=date(2030, 1, 31))
    mondays_before = (date(2030, 1, 7) - JAN_5).days // 7
    assert dates(window.occurrences) == [date(2030, 1, d) for d in (7, 14, 21, 28)]
    assert [o.index for o in window.occurrences] == list(range(mondays_before, mondays_before + 4))
    assert not window.ended


@pytest.mark.parametrize(
    ("window_start", "window_end", "held", "ended"),
    [
        (date(2025, 1, 1), date(2026, 1, 4), 0, False),  # before the series starts
        (date(2026, 1, 20), date(2026, 1, 10), 0, False),  # empty window
        (date(2026, 1, 1), date(2026, 1, 14), 4, True),  # the count is reached inside it
        (date(2026, 1, 15), date(2027, 1, 1), 0, True),  # after the series ended
    ],
)
def test_window_edges(window_start: date, window_end: date, held: int, ended: bool) -> None:
    rule = WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, count=4)
    result = expand(rule, window_start=window_start, window_end=window_end)
    assert (len(result.occurrences), result.skipped, result.ended) == (held, [], ended)


# --- windows compose: [a, b] + [b + 1, c] == [a, c] ---------------------------------------------

ZONES = ["America/New_York", "Europe/London", "Africa/Cairo", "Asia/Riyadh"]
# Include times that fall in DST gaps or folds in some of these zones.
TIMES = [time(0, 0), time(0, 30), time(1, 30), time(2, 30), time(17, 0), time(23, 30)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[WeeklyRule, frozenset[int], frozenset[date], list[date]]:
    slots = draw(
        st.lists(
            st.builds(WeeklySlot, st.integers(0, 6), st.sampled_from(TIMES)),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    starts_on = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
    until = draw(st.none() | st.dates(starts_on, starts_on + timedelta(days=900)))
    rule = WeeklyRule(
        tuple(slots),
        draw(st.sampled_from(ZONES)),
        starts_on,
        until=until,
        count=draw(st.none() | st.integers(1, 200)),
        monthly_target=draw(st.none() | st.integers(1, 10)),
    )
    blocked = draw(st.frozensets(st.integers(0, 6), max_size=3))
    holidays = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2030, 12, 31)), max_size=30))
    cuts = draw(st.lists(st.dates(date(2024, 6, 1), date(2030, 12, 31)), min_size=2, max_size=5))
    return rule, blocked, holidays, sorted(cuts)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(cases())
def test_consecutive_windows_equal_one_window(
    case: tuple[WeeklyRule, frozenset[int], frozenset[date], list[date]],
) -> None:
    rule, blocked, holidays, cuts = case

    def window(start: date, end: date) -> Expansion:
        return expand(
            rule, window_start=start, window_end=end, blocked_weekdays=blocked, holidays=holidays
        )

    one = window(cuts[0], cuts[-1])
    parts = [window(cuts[0], cuts[1])] + [
        window(start + timedelta(days=1), end) for start, end in pairwise(cuts[1:])
    ]
    assert [o for part in parts for o in part.occurrences] == one.occurrences
    assert [s for part in parts for s in part.skipped] == one.skipped
    assert parts[-1].ended == one.ended

    # The window is a slice of the series walked from its start: same occurrences, same indexes.
    series = whole(rule, blocked, holidays)
    assert one.occurrences == [o for o in series.occurrences if cuts[0] <= o.local_date <= cuts[-1]]
    assert one.skipped == [s for s in series.skipped if cuts[0] <= s.local_date <= cuts[-1]]
    assert [o.index for o in series.occurrences] == list(range(len(series.occurrences)))
    assert rule.count is None or len(series.occurrences) <= rule.count


# --- invalid rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: WeeklyRule((), RIYADH, JAN_5), InvalidRule, "at least one slot"),
        (
            lambda: WeeklyRule((*MON_WED_5PM, WeeklySlot(MON, FIVE_PM)), RIYADH, JAN_5),
            InvalidRule,
            "the slot Monday 17:00 appears more than once",
        ),
        (
            lambda: WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=date(2026, 1, 4)),
            InvalidRule,
            "until (2026-01-04) is before starts_on (2026-01-05)",
        ),
        (lambda: WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, count=0), InvalidRule, "count must"),
        (
            lambda: WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, monthly_target=0),
            InvalidRule,
            "monthly_target must be at least 1",
        ),
        (
            lambda: WeeklyRule(MON_WED_5PM, "Asia/Nowhere", JAN_5),
            UnknownTimeZone,
            "unknown time zone 'Asia/Nowhere'",
        ),
        (lambda: WeeklySlot(7, FIVE_PM), InvalidRule, "weekday must be 0 (Monday) to 6 (Sunday)"),
        (lambda: WeeklySlot(-1, FIVE_PM), InvalidRule, "got -1"),
        (lambda: WeeklySlot(True, FIVE_PM), InvalidRule, "got True"),
        (lambda: WeeklySlot(MON, time(17, tzinfo=UTC)), InvalidRule, "without tzinfo"),
    ],
)
def test_invalid_rules_raise(build: object, error: type[RecurrenceError], message: str) -> None:
    assert callable(build)
    with pytest.raises(error, match=re.escape(message)) as raised:
        build()
    assert isinstance(raised.value, ValueError)


def test_valid_edge_rules() -> None:
    single_day = WeeklyRule(MON_WED_5PM, RIYADH, JAN_5, until=JAN_5, count=1, monthly_target=1)
    assert dates(whole(single_day).occurrences) == [JAN_5]
