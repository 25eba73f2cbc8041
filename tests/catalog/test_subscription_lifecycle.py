"""The subscription lifecycle (pure): every status pair against the table, whether a subscription
covered a session, how long a pause really held, expiry after the grace days, and renewal."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from halaqa.catalog.lifecycle import InvalidTransition
from halaqa.catalog.subscription_lifecycle import (
    PauseFacts,
    SubscriptionFacts,
    SubscriptionStatus,
    check_transition,
    covers,
    day_of,
    days_paused,
    due_to_expire,
    last_grace_day,
    next_statuses,
    renewable,
    sources_of,
)

S = SubscriptionStatus

ALLOWED = {
    (S.PENDING, S.ACTIVE): "activated",
    (S.PENDING, S.CANCELLED): "cancelled",
    (S.ACTIVE, S.PAUSED): "paused",
    (S.ACTIVE, S.CANCELLED): "cancelled",
    (S.ACTIVE, S.EXPIRED): "expired",
    (S.PAUSED, S.ACTIVE): "resumed",
    (S.PAUSED, S.CANCELLED): "cancelled",
    (S.EXPIRED, S.ACTIVE): "renewed",
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair_against_the_table(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        assert check_transition(current, target) == ALLOWED[(current, target)]
        return
    with pytest.raises(InvalidTransition) as refused:
        check_transition(current, target)
    assert refused.value.allowed == sorted(t for c, t in ALLOWED if c is current)
    assert f"cannot go from {current} to {target}" in str(refused.value)


def test_cancelled_is_final_and_the_rest_can_end() -> None:
    assert next_statuses(S.CANCELLED) == frozenset()
    with pytest.raises(InvalidTransition, match="cancelled is final"):
        check_transition(S.CANCELLED, S.ACTIVE)
    for status in (S.PENDING, S.ACTIVE, S.PAUSED):
        assert S.CANCELLED in next_statuses(status)


def test_sources() -> None:
    assert sources_of(S.EXPIRED) == [S.ACTIVE]
    assert sources_of(S.ACTIVE) == [S.PENDING, S.PAUSED, S.EXPIRED]
    assert sources_of(S.PENDING) == []


MARCH_1 = date(2026, 3, 1)
NOON = datetime(2026, 3, 10, 12, tzinfo=UTC)


def facts(
    status: S = S.ACTIVE,
    starts_on: date = MARCH_1,
    ends_on: date | None = date(2026, 3, 31),
    ended_at: datetime | None = None,
) -> SubscriptionFacts:
    return SubscriptionFacts(status, starts_on, ends_on, ended_at)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


PAUSE_10_TO_14 = PauseFacts(date(2026, 3, 10), date(2026, 3, 14))

# (subscription, pauses, day, instant, covered)
COVERS: list[tuple[str, SubscriptionFacts, list[PauseFacts], date, datetime, bool]] = [
    ("active, within its dates", facts(), [], date(2026, 3, 10), NOON, True),
    ("its first day", facts(), [], MARCH_1, at(1), True),
    ("its last day", facts(), [], date(2026, 3, 31), at(31), True),
    ("before it starts", facts(), [], date(2026, 2, 28), NOON, False),
    ("the day after its last: grace covers nothing", facts(), [], date(2026, 4, 1), NOON, False),
    ("open-ended, years on", facts(ends_on=None), [], date(2030, 1, 1), NOON, True),
    ("pending", facts(S.PENDING), [], date(2026, 3, 10), NOON, False),
    # Paused, expired and cancelled subscriptions still covered what came before.
    (
        "paused now, a day outside the pause",
        facts(S.PAUSED),
        [PAUSE_10_TO_14],
        date(2026, 3, 9),
        at(9),
        True,
    ),
    ("expired later", facts(S.EXPIRED, ended_at=at(31)), [], date(2026, 3, 10), at(10), True),
    (
        "cancelled after the session",
        facts(S.CANCELLED, ended_at=at(10, 13)),
        [],
        date(2026, 3, 10),
        at(10, 12),
        True,
    ),
    (
        "cancelled at the session's instant",
        facts(S.CANCELLED, ended_at=at(10, 12)),
        [],
        date(2026, 3, 10),
        at(10, 12),
        False,
    ),
    (
        "cancelled before the session",
        facts(S.CANCELLED, ended_at=at(9)),
        [],
        date(2026, 3, 10),
        at(10),
        False,
    ),
    ("inside a pause", facts(), [PAUSE_10_TO_14], date(2026, 3, 12), at(12), False),
    ("a pause's first day", facts(), [PAUSE_10_TO_14], date(2026, 3, 10), at(10), False),
    ("a pause's last day", facts(), [PAUSE_10_TO_14], date(2026, 3, 14), at(14), False),
    ("the day after a pause", facts(), [PAUSE_10_TO_14], date(2026, 3, 15), at(15), True),
    (
        "inside a pause resumed before the session",
        facts(),
        [PauseFacts(date(2026, 3, 10), date(2026, 3, 14), resumed_at=at(12, 8))],
        date(2026, 3, 12),
        at(12, 9),
        True,
    ),
    (
        "inside a pause resumed after the session",
        facts(),
        [PauseFacts(date(2026, 3, 10), date(2026, 3, 14), resumed_at=at(12, 10))],
        date(2026, 3, 12),
        at(12, 9),
        False,
    ),
    (
        "between two pauses",
        facts(),
        [PAUSE_10_TO_14, PauseFacts(date(2026, 3, 20), date(2026, 3, 21))],
        date(2026, 3, 17),
        at(17),
        True,
    ),
    (
        "in the second of two pauses",
        facts(),
        [PAUSE_10_TO_14, PauseFacts(date(2026, 3, 20), date(2026, 3, 21))],
        date(2026, 3, 21),
        at(21),
        False,
    ),
]


@pytest.mark.parametrize(
    ("subscription", "pauses", "day", "instant", "covered"),
    [row[1:] for row in COVERS],
    ids=[row[0] for row in COVERS],
)
def test_covers(
    subscription: SubscriptionFacts,
    pauses: list[PauseFacts],
    day: date,
    instant: datetime,
    covered: bool,
) -> None:
    assert covers(subscription, pauses, day, instant) is covered


# (resumed on, days the 10–14 March pause held)
DAYS_PAUSED = [
    (date(2026, 3, 1), 0),  # before it began: nothing
    (date(2026, 3, 10), 0),  # on its first day: that day is not paused any more
    (date(2026, 3, 11), 1),
    (date(2026, 3, 14), 4),
    (date(2026, 3, 15), 5),  # after it ran out: all of it
    (date(2026, 4, 1), 5),
]


@pytest.mark.parametrize(("resumed_on", "held"), DAYS_PAUSED)
def test_days_paused(resumed_on: date, held: int) -> None:
    assert PAUSE_10_TO_14.days == 5
    assert days_paused(PAUSE_10_TO_14, resumed_on) == held


# (status, last day, grace days, today, due to expire)
EXPIRY = [
    (S.ACTIVE, date(2026, 3, 31), 3, date(2026, 4, 3), False),  # the last day of grace
    (S.ACTIVE, date(2026, 3, 31), 3, date(2026, 4, 4), True),
    (S.ACTIVE, date(2026, 3, 31), 0, date(2026, 3, 31), False),
    (S.ACTIVE, date(2026, 3, 31), 0, date(2026, 4, 1), True),
    (S.ACTIVE, None, 3, date(2030, 1, 1), False),  # open-ended never expires
    (S.PAUSED, date(2026, 3, 31), 0, date(2026, 5, 1), False),
    (S.PENDING, date(2026, 3, 31), 0, date(2026, 5, 1), False),
    (S.EXPIRED, date(2026, 3, 31), 0, date(2026, 5, 1), False),
]


@pytest.mark.parametrize(("status", "ends_on", "grace", "today", "due"), EXPIRY)
def test_due_to_expire(status: S, ends_on: date | None, grace: int, today: date, due: bool) -> None:
    assert due_to_expire(facts(status, ends_on=ends_on), grace, today) is due
    if ends_on is not None:
        assert last_grace_day(ends_on, grace) == date.fromordinal(ends_on.toordinal() + grace)


# (status, last day, grace days, today, renewable)
RENEWAL = [
    (S.ACTIVE, date(2026, 3, 31), 3, date(2026, 3, 10), True),
    (S.ACTIVE, date(2026, 3, 31), 3, date(2026, 4, 3), True),  # in its grace days
    (S.ACTIVE, None, 3, date(2026, 3, 10), False),  # open-ended: nothing to extend
    (S.EXPIRED, date(2026, 3, 31), 3, date(2026, 4, 3), True),  # expired, still in grace
    (S.EXPIRED, date(2026, 3, 31), 3, date(2026, 4, 4), False),
    (S.EXPIRED, date(2026, 3, 31), 10, date(2026, 4, 10), True),  # the academy gave more
    (S.PENDING, date(2026, 3, 31), 3, date(2026, 3, 10), False),
    (S.PAUSED, date(2026, 3, 31), 3, date(2026, 3, 10), False),
    (S.CANCELLED, date(2026, 3, 31), 3, date(2026, 3, 10), False),
]


@pytest.mark.parametrize(("status", "ends_on", "grace", "today", "allowed"), RENEWAL)
def test_renewable(status: S, ends_on: date | None, grace: int, today: date, allowed: bool) -> None:
    assert renewable(facts(status, ends_on=ends_on), grace, today) is allowed


@pytest.mark.parametrize(
    ("instant", "zone", "day"),
    [
        (datetime(2026, 3, 31, 20, 59, tzinfo=UTC), "Asia/Riyadh", date(2026, 3, 31)),
        (datetime(2026, 3, 31, 21, 0, tzinfo=UTC), "Asia/Riyadh", date(2026, 4, 1)),
        (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "America/New_York", date(2026, 2, 28)),
        (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "UTC", date(2026, 3, 1)),
    ],
)
def test_day_of(instant: datetime, zone: str, day: date) -> None:
    assert day_of(instant, zone) == day
