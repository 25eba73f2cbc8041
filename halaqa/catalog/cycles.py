"""A subscription's cycles: their dates (pure), carry-over (pure), and `cycle_for`, which finds
or makes the cycle of a day, safely when several callers make it at once.

Cycle n runs from the subscription's first day plus (n - 1) package cycles to its first day plus
n cycles (exclusive), always counted from that first day, so months never drift: a subscription
from 31 January has cycles from 31 January, 28 (or 29) February, 31 March, 30 April, ...
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import effective_settings
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.kit.deps import Runtime
from halaqa.models import Subscription, SubscriptionCycle


class CycleUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class CyclePlan:
    """A package's cycle: `length` days, weeks or months."""

    length: int
    unit: CycleUnit


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 January plus
    one month is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def cycle_start(origin: date, plan: CyclePlan, number: int) -> date:
    """The first day of cycle `number` (1-based) of a subscription starting on `origin`."""
    cycles = number - 1
    if plan.unit is CycleUnit.MONTH:
        return add_months(origin, cycles * plan.length)
    days = plan.length * (7 if plan.unit is CycleUnit.WEEK else 1)
    return origin + timedelta(days=cycles * days)


def cycle_bounds(origin: date, plan: CyclePlan, number: int) -> tuple[date, date]:
    """[first day, first day of the next cycle) of cycle `number`."""
    return cycle_start(origin, plan, number), cycle_start(origin, plan, number + 1)


def cycle_number(origin: date, plan: CyclePlan, day: date) -> int:
    """The number of the cycle `day` falls in (the subscription starts on `origin`, not after)."""
    if day < origin:
        raise ValueError(f"{day} is before the first cycle begins on {origin}")
    if plan.unit is not CycleUnit.MONTH:
        days = plan.length * (7 if plan.unit is CycleUnit.WEEK else 1)
        return (day - origin).days // days + 1
    # A first guess from the calendar months between them, then a step either way at most.
    months = (day.year - origin.year) * 12 + day.month - origin.month
    number = months // plan.length + 1
    while cycle_start(origin, plan, number) > day:
        number -= 1
    while cycle_start(origin, plan, number + 1) <= day:
        number += 1
    return number


def carried_over(previous_quota: int, previous_used: int, cap: int) -> int:
    """What a cycle carries into the next: its unused sessions, at most `cap` of them."""
    return min(max(previous_quota - previous_used, 0), cap)


async def cycle_for(rt: Runtime, subscription: Subscription, day: date) -> SubscriptionCycle | None:
    """The subscription's cycle containing `day`, made (with any missing cycles before it, in
    order, each carrying over from the one before) when the day is within the subscription's
    dates; None when it is not, or the subscription is still pending. Whether the day was
    covered (pauses, cancellation) is the caller's question (subscription_lifecycle.covers).

    Two callers making the same cycle at once both get the one row the database kept."""
    if subscription.status == SubscriptionStatus.PENDING or day < subscription.starts_on:
        return None
    if subscription.ends_on is not None and day > subscription.ends_on:
        return None
    subscriptions = SubscriptionRepository(rt.session, subscription.academy_id)
    package = await subscriptions.package(subscription.package_id)
    assert package is not None  # a foreign key holds it
    plan = CyclePlan(package.cycle_length, CycleUnit(package.cycle_unit))
    number = cycle_number(subscription.starts_on, plan, day)
    made = {cycle.number: cycle for cycle in await subscriptions.cycles(subscription.id)}
    if number in made:
        return made[number]
    academy = await AcademyRepository(rt.session).get(subscription.academy_id)
    assert academy is not None
    cap = effective_settings(academy.settings).carry_over_max_sessions
    previous: SubscriptionCycle | None = None
    for n in range(1, number + 1):
        if n in made:
            previous = made[n]
            continue
        carried = 0
        if previous is not None and cap > 0:
            used = (await subscriptions.used_in_cycles([previous.id]))[previous.id]
            carried = carried_over(previous.quota, used, cap)
        starts_on, ends_on = cycle_bounds(subscription.starts_on, plan, n)
        previous = await subscriptions.add_cycle_once(
            SubscriptionCycle(
                academy_id=subscription.academy_id,
                subscription_id=subscription.id,
                number=n,
                starts_on=starts_on,
                ends_on=ends_on,
                quota=package.sessions_per_cycle + carried,
                carried_over=carried,
                payment_status="pending",
            )
        )
    return previous
