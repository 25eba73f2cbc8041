"""The clocks (pure): a frozen clock moves only when told to, and only with aware instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from halaqa.kit.clock import Clock, FrozenClock, SystemClock, ensure_utc

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RIYADH = ZoneInfo("Asia/Riyadh")


def test_frozen_clock_stands_still() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize(
    ("deltas", "expected"),
    [
        ([timedelta(0)], START),
        ([timedelta(seconds=1)], START + timedelta(seconds=1)),
        ([timedelta(minutes=15), timedelta(minutes=15)], START + timedelta(minutes=30)),
        ([timedelta(days=400)], datetime(2027, 4, 5, 9, 0, tzinfo=UTC)),
        ([timedelta(hours=-2)], datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),
        ([timedelta(microseconds=1)] * 3, START + timedelta(microseconds=3)),
    ],
)
def test_advance(deltas: list[timedelta], expected: datetime) -> None:
    clock = FrozenClock(START)
    for delta in deltas:
        clock.advance(delta)
    assert clock.now() == expected
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
        # Other zones are converted to UTC, the instant unchanged.
        (datetime(2026, 3, 1, 12, 0, tzinfo=RIYADH), START),
        (datetime(2026, 3, 1, 4, 0, tzinfo=timezone(timedelta(hours=-5))), START),
        # Across a DST change: London is UTC+1 in July.
        (
            datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London")),
            datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        ),
        # Into the past is allowed too (tests rewind).
        (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_set_and_start_convert_to_utc(instant: datetime, expected: datetime) -> None:
    clock = FrozenClock(START)
    clock.set(instant)
    assert clock.now() == expected
    assert clock.now().tzinfo is UTC
    assert FrozenClock(instant).now().tzinfo is UTC
    assert FrozenClock(instant).now() == expected


def test_advance_after_set_from_another_zone_stays_utc() -> None:
    clock = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=RIYADH))
    clock.advance(timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    assert clock.now().tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 1, 9, 0)  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(ValueError, match="naive datetime"):
        FrozenClock(naive)
    clock = FrozenClock(START)
    with pytest.raises(ValueError, match="naive datetime"):
        clock.set(naive)
    assert clock.now() == START  # a refused set leaves the clock where it was
    with pytest.raises(ValueError, match="naive datetime"):
        ensure_utc(naive)


def test_system_clock_is_aware_utc_and_near_real_time() -> None:
    clock: Clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after
