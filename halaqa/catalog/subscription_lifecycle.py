"""The subscription lifecycle (pure): one transition table, and the rules read from dates.

A subscription is pending until staff activate it, then active; a pause makes it paused until it
is resumed (or the pause runs out); it ends cancelled, or expired once its last day and the
academy's grace days have passed. Whether it covered a session is a question of dates and
instants, never of its status now: a session held before a cancellation was covered by it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from halaqa.catalog.lifecycle import InvalidTransition


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = SubscriptionStatus

# (from, to) -> what the audit log calls the change. A pair that is not listed is refused.
TRANSITIONS: dict[tuple[SubscriptionStatus, SubscriptionStatus], str] = {
    (S.PENDING, S.ACTIVE): "activated",
    (S.PENDING, S.CANCELLED): "cancelled",
    (S.ACTIVE, S.PAUSED): "paused",
    (S.ACTIVE, S.CANCELLED): "cancelled",
    (S.ACTIVE, S.EXPIRED): "expired",
    (S.PAUSED, S.ACTIVE): "resumed",
    (S.PAUSED, S.CANCELLED): "cancelled",
    # Renewed while still within its grace days (see `renewable`).
    (S.EXPIRED, S.ACTIVE): "renewed",
}


def next_statuses(current: SubscriptionStatus) -> frozenset[SubscriptionStatus]:
    return frozenset(target for source, target in TRANSITIONS if source is current)


def sources_of(target: SubscriptionStatus) -> list[SubscriptionStatus]:
    """Every status a subscription may reach `target` from, in the enum's order."""
    return [source for source in SubscriptionStatus if (source, target) in TRANSITIONS]


def check_transition(current: SubscriptionStatus, target: SubscriptionStatus) -> str:
    """The change's name, or InvalidTransition saying where it may go instead."""
    action = TRANSITIONS.get((current, target))
    if action is None:
        raise InvalidTransition("subscription", current, target, frozenset(next_statuses(current)))
    return action


@dataclass(frozen=True)
class SubscriptionFacts:
    status: SubscriptionStatus
    starts_on: date
    ends_on: date | None  # its last day; None: open-ended
    ended_at: datetime | None  # cancelled or expired then


@dataclass(frozen=True)
class PauseFacts:
    starts_on: date
    ends_on: date  # its last paused day
    resumed_at: datetime | None = None  # resumed before its end

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


def covers(
    subscription: SubscriptionFacts, pauses: Iterable[PauseFacts], day: date, at: datetime
) -> bool:
    """Whether the subscription covered a session on `day` (its date where it is taught) at the
    instant `at`: activated, within its dates (grace days delay expiry, they cover nothing), not
    ended by then, and not inside a pause that was still in force at that instant."""
    if subscription.status is S.PENDING or day < subscription.starts_on:
        return False
    if subscription.ends_on is not None and day > subscription.ends_on:
        return False
    if subscription.ended_at is not None and at >= subscription.ended_at:
        return False
    return not any(
        pause.starts_on <= day <= pause.ends_on
        and (pause.resumed_at is None or at < pause.resumed_at)
        for pause in pauses
    )


def days_paused(pause: PauseFacts, resumed_on: date) -> int:
    """How many days a pause resumed on `resumed_on` really held: the days before that one, from
    none (resumed before it began) to all of them (resumed after it ran out)."""
    return min(max((resumed_on - pause.starts_on).days, 0), pause.days)


def last_grace_day(ends_on: date, grace_days: int) -> date:
    return ends_on + timedelta(days=grace_days)


def due_to_expire(facts: SubscriptionFacts, grace_days: int, today: date) -> bool:
    """Active, and its last day and the grace days after it are over."""
    return (
        facts.status is S.ACTIVE
        and facts.ends_on is not None
        and today > last_grace_day(facts.ends_on, grace_days)
    )


def renewable(facts: SubscriptionFacts, grace_days: int, today: date) -> bool:
    """Renewal extends an active subscription (within its dates or its grace days), or one that
    expired while it is still within them (the academy gave more grace days since)."""
    if facts.ends_on is None:
        return False  # open-ended: nothing to extend
    if facts.status is S.ACTIVE:
        return True
    return facts.status is S.EXPIRED and today <= last_grace_day(facts.ends_on, grace_days)


def day_of(at: datetime, zone: str) -> date:
    """The calendar date of an instant in a time zone: what dates of subscriptions mean."""
    return at.astimezone(ZoneInfo(zone)).date()
