"""Cycle arithmetic and carry-over (pure): month ends, leap years, weeks and days, the cycle a day
falls in, and the carry-over cap."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halaqa.catalog.cycles import (
    CyclePlan,
    CycleUnit,
    add_months,
    carried_over,
    cycle_bounds,
    cycle_number,
)

MONTHLY = CyclePlan(1, CycleUnit.MONTH)
QUARTERLY = CyclePlan(3, CycleUnit.MONTH)
FORTNIGHTLY = CyclePlan(2, CycleUnit.WEEK)
TEN_DAYS = CyclePlan(10, CycleUnit.DAY)

# (day, months, result)
ADD_MONTHS = [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),  # a leap year
    (date(2026, 1, 31), 2, date(2026, 3, 31)),  # counted from the day, not the month before
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 1, 30), 1, date(2026, 2, 28)),
    (date(2026, 1, 29), 1, date(2026, 2, 28)),
    (date(2026, 1, 28), 1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2026, 5, 10), 0, date(2026, 5, 10)),
]


@pytest.mark.parametrize(("day", "months", "result"), ADD_MONTHS)
def test_add_months(day: date, months: int, result: date) -> None:
    assert add_months(day, months) == result


# (origin, plan, number, first day, next cycle's first day)
BOUNDS = [
    (date(2026, 1, 31), MONTHLY, 1, date(2026, 1, 31), date(2026, 2, 28)),
    (date(2026, 1, 31), MONTHLY, 2, date(2026, 2, 28), date(2026, 3, 31)),
    (date(2026, 1, 31), MONTHLY, 3, date(2026, 3, 31), date(2026, 4, 30)),
    (date(2026, 1, 31), MONTHLY, 4, date(2026, 4, 30), date(2026, 5, 31)),
    (date(2026, 3, 1), MONTHLY, 1, date(2026, 3, 1), date(2026, 4, 1)),
    (date(2026, 3, 1), MONTHLY, 13, date(2027, 3, 1), date(2027, 4, 1)),
    (date(2026, 11, 30), QUARTERLY, 1, date(2026, 11, 30), date(2027, 2, 28)),
    (date(2026, 11, 30), QUARTERLY, 2, date(2027, 2, 28), date(2027, 5, 30)),
    (date(2026, 3, 2), FORTNIGHTLY, 1, date(2026, 3, 2), date(2026, 3, 16)),
    (date(2026, 3, 2), FORTNIGHTLY, 3, date(2026, 3, 30), date(2026, 4, 13)),
    (date(2026, 2, 25), TEN_DAYS, 1, date(2026, 2, 25), date(2026, 3, 7)),
    (date(2026, 2, 25), TEN_DAYS, 2, date(2026, 3, 7), date(2026, 3, 17)),
]


@pytest.mark.parametrize(("origin", "plan", "number", "first", "following"), BOUNDS)
def test_cycle_bounds(
    origin: date, plan: CyclePlan, number: int, first: date, following: date
) -> None:
    assert cycle_bounds(origin, plan, number) == (first, following)


# (origin, plan, day, the cycle it falls in)
NUMBERS = [
    (date(2026, 1, 31), MONTHLY, date(2026, 1, 31), 1),
    (date(2026, 1, 31), MONTHLY, date(2026, 2, 27), 1),
    (date(2026, 1, 31), MONTHLY, date(2026, 2, 28), 2),
    (date(2026, 1, 31), MONTHLY, date(2026, 3, 30), 2),
    (date(2026, 1, 31), MONTHLY, date(2026, 3, 31), 3),
    (date(2026, 1, 30), MONTHLY, date(2026, 2, 28), 2),
    (date(2026, 1, 30), MONTHLY, date(2026, 3, 29), 2),
    (date(2026, 1, 30), MONTHLY, date(2026, 3, 30), 3),
    (date(2026, 3, 1), MONTHLY, date(2026, 3, 31), 1),
    (date(2026, 3, 1), MONTHLY, date(2026, 4, 1), 2),
    (date(2026, 3, 1), MONTHLY, date(2028, 2, 29), 24),
    (date(2026, 11, 30), QUARTERLY, date(2027, 2, 27), 1),
    (date(2026, 11, 30), QUARTERLY, date(2027, 2, 28), 2),
    (date(2026, 3, 2), FORTNIGHTLY, date(2026, 3, 15), 1),
    (date(2026, 3, 2), FORTNIGHTLY, date(2026, 3, 16), 2),
    (date(2026, 2, 25), TEN_DAYS, date(2026, 3, 6), 1),
    (date(2026, 2, 25), TEN_DAYS, date(2026, 3, 7), 2),
]


@pytest.mark.parametrize(("origin", "plan", "day", "number"), NUMBERS)
def test_cycle_number(origin: date, plan: CyclePlan, day: date, number: int) -> None:
    assert cycle_number(origin, plan, day) == number


def test_no_cycle_before_the_first() -> None:
    with pytest.raises(ValueError, match="before the first cycle"):
        cycle_number(date(2026, 3, 1), MONTHLY, date(2026, 2, 28))


@given(
    origin=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    length=st.integers(min_value=1, max_value=366),
    unit=st.sampled_from(CycleUnit),
    offset=st.integers(min_value=0, max_value=3000),
)
def test_every_day_falls_in_exactly_its_cycle(
    origin: date, length: int, unit: CycleUnit, offset: int
) -> None:
    """Cycles follow one another without gap or overlap, each at least a day long, and the cycle
    a day is said to fall in contains it."""
    plan = CyclePlan(length, unit)
    day = origin + timedelta(days=offset)
    number = cycle_number(origin, plan, day)
    first, following = cycle_bounds(origin, plan, number)
    assert first <= day < following
    assert cycle_bounds(origin, plan, number + 1)[0] == following
    if number > 1:
        assert cycle_bounds(origin, plan, number - 1)[1] == first


# (quota of the cycle before, sessions it used, cap, carried into the next)
CARRY = [
    (8, 5, 0, 0),  # the default: nothing is carried
    (8, 5, 2, 2),  # capped
    (8, 5, 3, 3),
    (8, 5, 10, 3),  # all that was left
    (8, 8, 3, 0),
    (8, 0, 1000, 8),
    (10, 2, 4, 4),  # a quota with sessions carried in carries on, capped again
    (8, 9, 3, 0),  # never negative
]


@pytest.mark.parametrize(("quota", "used", "cap", "carried"), CARRY)
def test_carry_over(quota: int, used: int, cap: int, carried: int) -> None:
    assert carried_over(quota, used, cap) == carried
