"""What is left of a subscription's cycle, and the academy's rule for scheduling beyond it.

Kept apart from subscription_service so the scheduling service can ask it without importing the
module that calls back into scheduling (pause and resume move sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.settings import effective_settings
from halaqa.catalog.cycles import CyclePlan, CycleUnit, cycle_bounds, cycle_for, cycle_number
from halaqa.catalog.subscription_lifecycle import (
    PauseFacts,
    SubscriptionFacts,
    SubscriptionStatus,
    covers,
    day_of,
)
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.exceptions import Conflict
from halaqa.kit.deps import Runtime
from halaqa.models import Subscription, SubscriptionPause
from halaqa.scheduling.calendar import SessionPlan

# Sessions booked and not yet held: each will take a session of its cycle when it is charged.
NOT_YET_HELD = ("scheduled", "ready", "ongoing")
# What can cover a lesson still to come: a paused subscription covers the days outside its pause.
RUNNING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)


def facts_of(subscription: Subscription) -> SubscriptionFacts:
    return SubscriptionFacts(
        status=SubscriptionStatus(subscription.status),
        starts_on=subscription.starts_on,
        ends_on=subscription.ends_on,
        ended_at=subscription.ended_at,
    )


def pause_facts(pauses: list[SubscriptionPause]) -> list[PauseFacts]:
    return [PauseFacts(p.starts_on, p.ends_on, p.resumed_at) for p in pauses]


@dataclass(frozen=True)
class Shortfall:
    """The cycle a new lesson would be charged to has no session left for it."""

    student_user_id: int
    subscription_id: int
    cycle_number: int
    quota: int
    used: int
    booked: int

    @property
    def message(self) -> str:
        return (
            f"student {self.student_user_id} has no session left for this lesson: cycle "
            f"{self.cycle_number} of subscription {self.subscription_id} has {self.quota}, "
            f"{self.used} used and {self.booked} more booked"
        )


async def shortfall(rt: Runtime, ctx: AcademyContext, plan: SessionPlan) -> Shortfall | None:
    """For an individual lesson: the shortfall of the student's subscription with its teacher
    that covers the lesson (the oldest, as the ledger charges), when its cycle of that day has
    nothing left once the lessons booked in it are counted."""
    if plan.kind != "individual" or plan.starts_at is None or plan.student_user_id is None:
        return None
    student = plan.student_user_id
    day = day_of(plan.starts_at, plan.time_zone or ctx.academy.time_zone)
    subscriptions = SubscriptionRepository(rt.session, ctx.academy.id)
    candidates = await subscriptions.of_student(student, plan.teacher_id, RUNNING)
    pauses = await subscriptions.pauses([s.id for s in candidates])
    covering = next(
        (
            s
            for s in candidates
            if covers(facts_of(s), pause_facts(pauses[s.id]), day, plan.starts_at)
        ),
        None,
    )
    if covering is None:
        return None
    cycle = await _cycle_of(rt, covering, day, day_of(rt.clock.now(), ctx.academy.time_zone))
    # Lessons are found by their instant; a day either side, then kept by their own date.
    nearby = await subscriptions.lessons(
        student,
        plan.teacher_id,
        NOT_YET_HELD,
        starts_from=_midnight_utc(cycle.starts_on) - timedelta(days=1),
        starts_before=_midnight_utc(cycle.ends_on) + timedelta(days=1),
    )
    facts, held = facts_of(covering), pause_facts(pauses[covering.id])
    booked = 0
    for lesson in nearby:
        assert lesson.starts_at is not None  # found by its start
        lesson_day = day_of(lesson.starts_at, lesson.time_zone or ctx.academy.time_zone)
        # Only the lessons this cycle will be charged for: in its days, and not in a pause.
        if cycle.starts_on <= lesson_day < cycle.ends_on and covers(
            facts, held, lesson_day, lesson.starts_at
        ):
            booked += 1
    if cycle.quota - cycle.used - booked > 0:
        return None
    return Shortfall(student, covering.id, cycle.number, cycle.quota, cycle.used, booked)


@dataclass(frozen=True)
class CycleSpan:
    number: int
    starts_on: date
    ends_on: date  # the next cycle's first day
    quota: int
    used: int


async def _cycle_of(rt: Runtime, subscription: Subscription, day: date, today: date) -> CycleSpan:
    """The cycle of `day`, a day the subscription covers. One that has begun is made if need be
    (cycle_for), with what it used; one still to come is not made for a lesson planned in it
    (what it will carry over is not known yet, and a lesson years ahead would make every cycle
    in between): it has its package's sessions, none used."""
    subscriptions = SubscriptionRepository(rt.session, subscription.academy_id)
    package = await subscriptions.package(subscription.package_id)
    assert package is not None  # a foreign key holds it
    plan = CyclePlan(package.cycle_length, CycleUnit(package.cycle_unit))
    number = cycle_number(subscription.starts_on, plan, day)
    made = await subscriptions.cycle(subscription.id, number)
    starts_on, ends_on = cycle_bounds(subscription.starts_on, plan, number)
    if made is None and starts_on > today:
        return CycleSpan(number, starts_on, ends_on, package.sessions_per_cycle, 0)
    if made is None:
        made = await cycle_for(rt, subscription, day)
        assert made is not None  # the day is covered: within the subscription's dates
    used = (await subscriptions.used_in_cycles([made.id]))[made.id]
    return CycleSpan(made.number, made.starts_on, made.ends_on, made.quota, used)


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def scheduling_warnings(rt: Runtime, ctx: AcademyContext, plan: SessionPlan) -> list[str]:
    """The academy's `over_balance_scheduling` rule for a new session: nothing to say, a
    warning to show with the created session, or a 409 `no_sessions_left` ("refuse")."""
    gap = await shortfall(rt, ctx, plan)
    if gap is None:
        return []
    if effective_settings(ctx.academy.settings).over_balance_scheduling == "refuse":
        raise Conflict(
            gap.message + "; the academy refuses to schedule beyond the balance",
            code="no_sessions_left",
            details={
                "subscription_id": gap.subscription_id,
                "cycle": gap.cycle_number,
                "quota": gap.quota,
                "used": gap.used,
                "booked": gap.booked,
            },
        )
    return [gap.message]
