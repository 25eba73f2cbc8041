"""Packages and subscriptions: who may do what, the subscription lifecycle applied, pauses that
suspend (and resume brings back) the student's lessons, renewal, each cycle's balance and
payment, and the worker's sweeps (pauses that ran out, expiry). Services flush but never
commit; every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.catalog.balance import facts_of
from halaqa.catalog.cycles import cycle_for
from halaqa.catalog.lifecycle import EnrollmentStatus, InvalidTransition
from halaqa.catalog.repository import EnrollmentRepository, GroupRepository, Viewer
from halaqa.catalog.service import viewer_of
from halaqa.catalog.subscription_lifecycle import (
    PauseFacts,
    SubscriptionStatus,
    check_transition,
    day_of,
    days_paused,
    last_grace_day,
    renewable,
    sources_of,
)
from halaqa.catalog.subscription_repository import (
    PackageRepository,
    SubscriptionFilter,
    SubscriptionRepository,
    academies_with,
    expire_ended,
    reactivate_after_pauses,
)
from halaqa.catalog.subscription_schemas import (
    CancelRequest,
    PackageCreate,
    PackageUpdate,
    PauseRequest,
    PaymentChange,
    RenewRequest,
    SubscriptionCreate,
)
from halaqa.exceptions import Conflict, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.kit.pagination import PageParams
from halaqa.models import (
    ClassSession,
    Package,
    Subscription,
    SubscriptionCycle,
    SubscriptionPause,
)
from halaqa.scheduling.calendar import busy_until, conflict_error, find_conflicts
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import transition

S = SubscriptionStatus
# Subscriptions read groups whoever is looking: the subscription's visibility was decided already.
_ALL_GROUPS = Viewer(user_id=None, sees_all=True)
SWEEP_BATCH = 500  # subscriptions moved per academy per worker tick; the rest wait for the next
# How far back a subscription may begin: its cycles up to today are made when it is first read.
LONGEST_BACKDATING = timedelta(days=366)


def _settings(ctx: AcademyContext) -> AcademySettings:
    return effective_settings(ctx.academy.settings)


def _today(rt: Runtime, ctx: AcademyContext) -> date:
    """Subscription dates are days in the academy's time zone."""
    return day_of(rt.clock.now(), ctx.academy.time_zone)


def _refused(error: InvalidTransition) -> Conflict:
    return Conflict(
        str(error),
        code="invalid_transition",
        details={"from": error.current, "to": error.target, "allowed": error.allowed},
    )


# --- packages --------------------------------------------------------------------------------


def package_snapshot(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "kind": package.kind,
        "sessions_per_cycle": package.sessions_per_cycle,
        "cycle_length": package.cycle_length,
        "cycle_unit": package.cycle_unit,
        "session_minutes": package.session_minutes,
        "price_cents": package.price_cents,
        "currency": package.currency,
        "active": package.active,
    }


async def list_packages(
    rt: Runtime, ctx: AcademyContext, pages: PageParams, *, active: bool | None, kind: str | None
) -> tuple[Sequence[Package], int]:
    """Staff see every package; everyone else the ones offered now."""
    if not ctx.roles & STAFF:
        if active is False:
            return [], 0
        active = True
    return await PackageRepository(rt.session, ctx.academy.id).page(
        active=active, kind=kind, offset=pages.offset, limit=pages.per_page
    )


async def get_package(rt: Runtime, ctx: AcademyContext, package_id: int) -> Package:
    package = await PackageRepository(rt.session, ctx.academy.id).get(
        package_id, offered_only=not ctx.roles & STAFF
    )
    if package is None:
        raise NotFound(f"no package {package_id} in this academy")
    return package


def _check_price(price_cents: int | None, currency: str | None) -> None:
    if price_cents is not None and currency is None:
        raise InvalidInput.field("currency", "give the currency of the price, e.g. SAR")


async def create_package(rt: Runtime, ctx: AcademyContext, data: PackageCreate) -> Package:
    _check_price(data.price_cents, data.currency)
    package = await PackageRepository(rt.session, ctx.academy.id).add(
        Package(
            academy_id=ctx.academy.id,
            name=data.name,
            kind=data.kind,
            sessions_per_cycle=data.sessions_per_cycle,
            cycle_length=data.cycle_length,
            cycle_unit=data.cycle_unit.value,
            session_minutes=data.session_minutes,
            price_cents=data.price_cents,
            currency=data.currency,
            active=data.active,
        )
    )
    await audit(
        rt,
        ctx.actor,
        "package.created",
        academy_id=ctx.academy.id,
        entity_type="package",
        entity_id=package.id,
        after=package_snapshot(package),
    )
    return package


async def update_package(
    rt: Runtime, ctx: AcademyContext, package_id: int, data: PackageUpdate
) -> Package:
    package = await get_package(rt, ctx, package_id)
    before = package_snapshot(package)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "sessions_per_cycle", "session_minutes", "active"):
        if name in changes and changes[name] is None:
            raise InvalidInput.field(name, "may be left out but not null")
    _check_price(
        changes.get("price_cents", package.price_cents), changes.get("currency", package.currency)
    )
    for name, value in changes.items():
        setattr(package, name, value)
    await rt.session.flush()
    await audit(
        rt,
        ctx.actor,
        "package.updated",
        academy_id=ctx.academy.id,
        entity_type="package",
        entity_id=package.id,
        before=before,
        after=package_snapshot(package),
    )
    return package


# --- subscriptions: reading ------------------------------------------------------------------


def subscription_snapshot(subscription: Subscription) -> dict[str, Any]:
    def iso(value: date | datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "package_id": subscription.package_id,
        "student_user_id": subscription.student_user_id,
        "teacher_user_id": subscription.teacher_user_id,
        "group_id": subscription.group_id,
        "status": subscription.status,
        "starts_on": iso(subscription.starts_on),
        "ends_on": iso(subscription.ends_on),
        "ended_at": iso(subscription.ended_at),
    }


async def get_subscription(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, *, lock: bool = False
) -> Subscription:
    """The subscription, if the caller may see it; otherwise 404, as for another academy's."""
    subscription = await SubscriptionRepository(rt.session, ctx.academy.id).get(
        viewer_of(ctx), subscription_id, lock=lock
    )
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id} in this academy")
    return subscription


async def list_subscriptions(
    rt: Runtime, ctx: AcademyContext, pages: PageParams, where: SubscriptionFilter
) -> tuple[Sequence[Subscription], int]:
    return await SubscriptionRepository(rt.session, ctx.academy.id).page(
        viewer_of(ctx), where, offset=pages.offset, limit=pages.per_page
    )


@dataclass(frozen=True)
class CycleBalance:
    cycle: SubscriptionCycle
    used: int  # from the ledger

    @property
    def left(self) -> int:
        return self.cycle.quota - self.used


@dataclass(frozen=True)
class SubscriptionView:
    subscription: Subscription
    cycles: list[CycleBalance]
    current: CycleBalance | None  # the cycle of today, while the subscription runs
    low_balance: bool
    pauses: list[SubscriptionPause]


async def view_of(rt: Runtime, ctx: AcademyContext, subscription: Subscription) -> SubscriptionView:
    """The subscription with its cycles' balances. While it runs, the cycle of today is made if
    it is not yet (so its balance and payment can be shown and set)."""
    subscriptions = SubscriptionRepository(rt.session, ctx.academy.id)
    settings = _settings(ctx)
    current = None
    if subscription.status in (S.ACTIVE, S.PAUSED):
        current = await cycle_for(rt, subscription, _today(rt, ctx))
    cycles = await subscriptions.cycles(subscription.id)
    used = await subscriptions.used_in_cycles([c.id for c in cycles])
    balances = [CycleBalance(cycle, used[cycle.id]) for cycle in cycles]
    current_balance = next((b for b in balances if current and b.cycle.id == current.id), None)
    return SubscriptionView(
        subscription=subscription,
        cycles=balances,
        current=current_balance,
        low_balance=current_balance is not None
        and current_balance.left <= settings.low_balance_sessions,
        pauses=(await subscriptions.pauses([subscription.id]))[subscription.id],
    )


def expires_after(ctx: AcademyContext, subscription: Subscription) -> date | None:
    """Its last day of grace: it expires after this unless renewed (None: open-ended)."""
    if subscription.ends_on is None:
        return None
    return last_grace_day(subscription.ends_on, _settings(ctx).subscription_grace_days)


# --- subscriptions: changing -----------------------------------------------------------------


def _move(subscription: Subscription, target: SubscriptionStatus) -> str:
    """Where a subscription's status changes (besides the worker's sweeps): checked against the
    lifecycle table; gives the change's name for the audit entry its caller writes once the
    change's other effects are made."""
    try:
        action = check_transition(S(subscription.status), target)
    except InvalidTransition as error:
        raise _refused(error) from None
    subscription.status = target.value
    return action


async def _audited(
    rt: Runtime,
    actor: Actor,
    action: str,
    subscription: Subscription,
    before: dict[str, Any],
    **extra: Any,
) -> None:
    await rt.session.flush()
    await audit(
        rt,
        actor,
        f"subscription.{action}",
        academy_id=subscription.academy_id,
        entity_type="subscription",
        entity_id=subscription.id,
        before=before,
        after={**subscription_snapshot(subscription), **extra},
    )


async def create_subscription(
    rt: Runtime, ctx: AcademyContext, data: SubscriptionCreate
) -> Subscription:
    """A student's subscription to an offered package, with a teacher (individual lessons) or in
    a group they are enrolled in; pending until activated."""
    package = await PackageRepository(rt.session, ctx.academy.id).get(
        data.package_id, offered_only=True
    )
    if package is None:
        raise InvalidInput.field(
            "package_id", f"no package {data.package_id} is offered in this academy"
        )
    earliest = _today(rt, ctx) - LONGEST_BACKDATING
    if data.starts_on < earliest:
        raise InvalidInput.field("starts_on", f"may not be earlier than {earliest}")
    await require_member_with_role(rt, ctx, "student_user_id", data.student_user_id, Role.STUDENT)
    if package.kind == "individual":
        await _check_teacher(rt, ctx, data)
    else:
        await _check_group(rt, ctx, data)
    subscription = await SubscriptionRepository(rt.session, ctx.academy.id).add(
        Subscription(
            academy_id=ctx.academy.id,
            package_id=package.id,
            student_user_id=data.student_user_id,
            teacher_user_id=data.teacher_user_id,
            group_id=data.group_id,
            status=S.PENDING.value,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            notes=data.notes,
        )
    )
    await audit(
        rt,
        ctx.actor,
        "subscription.created",
        academy_id=ctx.academy.id,
        entity_type="subscription",
        entity_id=subscription.id,
        after=subscription_snapshot(subscription),
    )
    return subscription


async def _check_teacher(rt: Runtime, ctx: AcademyContext, data: SubscriptionCreate) -> None:
    if data.group_id is not None:
        raise InvalidInput.field("group_id", "an individual package is taken with a teacher")
    if data.teacher_user_id is None:
        raise InvalidInput.field("teacher_user_id", "an individual package needs the teacher")
    if data.teacher_user_id == data.student_user_id:
        raise InvalidInput.field("teacher_user_id", "a student cannot be their own teacher")
    await require_member_with_role(rt, ctx, "teacher_user_id", data.teacher_user_id, Role.TEACHER)


async def _check_group(rt: Runtime, ctx: AcademyContext, data: SubscriptionCreate) -> None:
    if data.teacher_user_id is not None:
        raise InvalidInput.field("teacher_user_id", "a group package is taken in a group")
    if data.group_id is None:
        raise InvalidInput.field("group_id", "a group package needs the group")
    group = await GroupRepository(rt.session, ctx.academy.id).get(_ALL_GROUPS, data.group_id)
    if group is None:
        raise InvalidInput.field("group_id", f"no group {data.group_id} in this academy")
    enrollment = await EnrollmentRepository(rt.session, ctx.academy.id).open_of(
        group, data.student_user_id
    )
    if enrollment is None or enrollment.status != EnrollmentStatus.ENROLLED:
        raise InvalidInput.field(
            "group_id", f"student {data.student_user_id} is not enrolled in group {group.id}"
        )


async def activate(rt: Runtime, ctx: AcademyContext, subscription_id: int) -> Subscription:
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    before = subscription_snapshot(subscription)
    action = _move(subscription, S.ACTIVE)
    if subscription.ends_on is not None and _today(rt, ctx) > subscription.ends_on:
        raise Conflict(
            f"this subscription's last day ({subscription.ends_on}) has passed; it cannot start",
            code="subscription_over",
        )
    subscription.activated_at = rt.clock.now()
    await _audited(rt, ctx.actor, action, subscription, before)
    return subscription


async def cancel(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, data: CancelRequest
) -> Subscription:
    """Ends it now: sessions before now stay covered by it, none after."""
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    before = subscription_snapshot(subscription)
    action = _move(subscription, S.CANCELLED)
    subscription.ended_at = rt.clock.now()
    await _audited(rt, ctx.actor, action, subscription, before, reason=data.reason)
    return subscription


async def renew(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, data: RenewRequest
) -> Subscription:
    """Moves the last day later: an active subscription, or one expired while still within its
    grace days (it becomes active again). Its cycles go on, with their carry-over."""
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    grace_days = _settings(ctx).subscription_grace_days
    if not renewable(facts_of(subscription), grace_days, _today(rt, ctx)):
        why = (
            "it is open-ended: it has no last day to move"
            if subscription.ends_on is None
            else f"only an active subscription, or one expired within its {grace_days} grace "
            f"days, is renewed; this one is {subscription.status}"
        )
        raise Conflict(f"this subscription cannot be renewed: {why}", code="not_renewable")
    assert subscription.ends_on is not None
    if data.ends_on <= subscription.ends_on:
        raise InvalidInput.field(
            "ends_on", f"must be after the current last day, {subscription.ends_on}"
        )
    before = subscription_snapshot(subscription)
    action = "renewed"
    if subscription.status == S.EXPIRED:
        action = _move(subscription, S.ACTIVE)
        subscription.ended_at = None
    subscription.ends_on = data.ends_on
    await _audited(rt, ctx.actor, action, subscription, before)
    return subscription


async def set_payment(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, number: int, data: PaymentChange
) -> Subscription:
    """Records a cycle's payment. Cycles that have begun can be marked (the one of today is
    made if need be); later ones cannot yet, as what they carry over is not known."""
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    subscriptions = SubscriptionRepository(rt.session, ctx.academy.id)
    cycle = await subscriptions.cycle(subscription.id, number)
    if cycle is None:
        latest = await cycle_for(rt, subscription, _last_covered_day(rt, ctx, subscription))
        if latest is None or number > latest.number:
            raise Conflict(
                f"cycle {number} of this subscription has not begun", code="cycle_not_started"
            )
        cycle = await subscriptions.cycle(subscription.id, number)
        assert cycle is not None  # made with every cycle before the latest
    before = {"payment_status": cycle.payment_status, "payment_note": cycle.payment_note}
    cycle.payment_status, cycle.payment_note = data.status, data.note
    await rt.session.flush()
    await audit(
        rt,
        ctx.actor,
        "subscription_cycle.payment_changed",
        academy_id=ctx.academy.id,
        entity_type="subscription_cycle",
        entity_id=cycle.id,
        before=before,
        after={
            "subscription_id": subscription.id,
            "number": cycle.number,
            "payment_status": cycle.payment_status,
            "payment_note": cycle.payment_note,
        },
    )
    return subscription


def _last_covered_day(rt: Runtime, ctx: AcademyContext, subscription: Subscription) -> date:
    """Today, or the last day the subscription ran if it is over."""
    days = [_today(rt, ctx)]
    if subscription.ends_on is not None:
        days.append(subscription.ends_on)
    if subscription.ended_at is not None:
        days.append(day_of(subscription.ended_at, ctx.academy.time_zone))
    return min(days)


# --- pauses ----------------------------------------------------------------------------------


@dataclass
class PauseChange:
    """What a pause or a resume did to the student's lessons with the teacher."""

    subscription: Subscription
    suspended: list[ClassSession] = field(default_factory=list)
    resumed: list[ClassSession] = field(default_factory=list)
    # Lessons whose time was booked by someone else while suspended, with why.
    left_suspended: list[tuple[ClassSession, str]] = field(default_factory=list)

    def summary(self) -> dict[str, list[int]]:
        return {
            "suspended": [s.id for s in self.suspended],
            "resumed": [s.id for s in self.resumed],
            "left_suspended": [s.id for s, _ in self.left_suspended],
        }


async def pause(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, data: PauseRequest
) -> PauseChange:
    """Pauses from `starts_on` to `ends_on`: the subscription is paused now, its last day moves
    later by the pause's length, and the student's lessons with the teacher in those days that
    have not begun are suspended. A group's sessions go on for the others: the student is simply
    not charged for those in the pause."""
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    before = subscription_snapshot(subscription)
    action = _move(subscription, S.PAUSED)
    today = _today(rt, ctx)
    if data.starts_on < today:
        raise InvalidInput.field("starts_on", f"must be today ({today}) or later")
    if data.starts_on < subscription.starts_on:
        raise InvalidInput.field(
            "starts_on", f"must be within the subscription, from {subscription.starts_on}"
        )
    if subscription.ends_on is not None and data.starts_on > subscription.ends_on:
        raise InvalidInput.field(
            "starts_on", f"must be within the subscription, until {subscription.ends_on}"
        )
    now = rt.clock.now()
    held = await SubscriptionRepository(rt.session, ctx.academy.id).add_pause(
        SubscriptionPause(
            academy_id=ctx.academy.id,
            subscription_id=subscription.id,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            reason=data.reason,
            created_by_user_id=ctx.user_id,
            created_at=now,
        )
    )
    facts = PauseFacts(held.starts_on, held.ends_on)
    if subscription.ends_on is not None:
        subscription.ends_on += timedelta(days=facts.days)
    change = PauseChange(subscription)
    for lesson in await _lessons_in(rt, ctx, subscription, facts, (Status.SCHEDULED, Status.READY)):
        await transition(
            rt,
            lesson,
            Status.SUSPENDED,
            By.STAFF,
            ctx.actor,
            reason=f"subscription {subscription.id} paused",
        )
        change.suspended.append(lesson)
    await _audited(
        rt,
        ctx.actor,
        action,
        subscription,
        before,
        pause={"id": held.id, "starts_on": held.starts_on.isoformat(), "days": facts.days},
        reason=data.reason,
        sessions=change.summary(),
    )
    return change


async def resume(rt: Runtime, ctx: AcademyContext, subscription_id: int) -> PauseChange:
    """Ends the pause now. Resumed before its last day, the days it did not hold are taken off
    the extension and the suspended lessons that have not begun are scheduled again, unless
    someone else was booked at their time meanwhile (those stay suspended, and are reported)."""
    subscription = await get_subscription(rt, ctx, subscription_id, lock=True)
    before = subscription_snapshot(subscription)
    action = _move(subscription, S.ACTIVE)
    change = PauseChange(subscription)
    held = await SubscriptionRepository(rt.session, ctx.academy.id).open_pause(subscription.id)
    today = _today(rt, ctx)
    if held is None or today > held.ends_on:  # it ran out before the worker noticed
        await _audited(rt, ctx.actor, action, subscription, before, sessions=change.summary())
        return change
    held.resumed_at = rt.clock.now()
    facts = PauseFacts(held.starts_on, held.ends_on)
    not_held = facts.days - days_paused(facts, today)
    if subscription.ends_on is not None:
        subscription.ends_on -= timedelta(days=not_held)
    for lesson in await _lessons_in(rt, ctx, subscription, facts, (Status.SUSPENDED,)):
        people = {
            p.user_id: p.role
            for p in await SessionRepository(rt.session, ctx.academy.id).participants(lesson.id)
        }
        assert lesson.starts_at is not None
        clashes = await find_conflicts(
            rt,
            ctx,
            people,
            lesson.starts_at,
            busy_until(ctx, lesson.starts_at, lesson.duration_minutes),
            except_session_id=lesson.id,
        )
        if clashes:
            change.left_suspended.append((lesson, conflict_error(clashes).message))
            continue
        await transition(
            rt,
            lesson,
            Status.SCHEDULED,
            By.STAFF,
            ctx.actor,
            reason=f"subscription {subscription.id} resumed",
        )
        change.resumed.append(lesson)
    await _audited(
        rt,
        ctx.actor,
        action,
        subscription,
        before,
        pause={"id": held.id, "days_not_held": not_held},
        sessions=change.summary(),
    )
    return change


async def _lessons_in(
    rt: Runtime,
    ctx: AcademyContext,
    subscription: Subscription,
    days: PauseFacts,
    statuses: tuple[Status, ...],
) -> list[ClassSession]:
    """The student's lessons with the subscription's teacher in `statuses`, on the pause's days
    (each in its own zone, as the ledger dates it), that have not begun. A group subscription
    has none of its own: its group's sessions are everyone's."""
    if subscription.teacher_user_id is None:
        return []
    now = rt.clock.now()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=UTC)

    # Found by their instant, a day either side, then kept by their own date.
    nearby = await SubscriptionRepository(rt.session, ctx.academy.id).lessons(
        subscription.student_user_id,
        subscription.teacher_user_id,
        [status.value for status in statuses],
        starts_from=max(now, midnight(days.starts_on) - timedelta(days=1)),
        starts_before=midnight(days.ends_on) + timedelta(days=2),
    )
    return [
        lesson
        for lesson in nearby
        if lesson.starts_at is not None
        and lesson.starts_at > now
        and days.starts_on
        <= day_of(lesson.starts_at, lesson.time_zone or ctx.academy.time_zone)
        <= days.ends_on
    ]


# --- the worker's sweeps ---------------------------------------------------------------------


async def end_run_out_pauses(rt: Runtime) -> int:
    """Paused subscriptions whose pause has run out (nobody resumed them) become active again,
    in every academy, each audited as a resume by the system. Their lessons in the pause were
    all in its days, which have passed: nothing is scheduled again."""
    now = rt.clock.now()
    moved = 0
    for academy_id in await academies_with(rt.session, S.PAUSED):
        academy = await AcademyRepository(rt.session).get(academy_id)
        assert academy is not None
        ids = await reactivate_after_pauses(
            rt.session,
            academy_id,
            today=day_of(now, academy.time_zone),
            now=now,
            limit=SWEEP_BATCH,
        )
        for subscription_id in ids:
            await audit(
                rt,
                Actor(),
                f"subscription.{check_transition(S.PAUSED, S.ACTIVE)}",
                academy_id=academy_id,
                entity_type="subscription",
                entity_id=subscription_id,
                before={"status": S.PAUSED.value},
                after={"status": S.ACTIVE.value, "pause": "ran out"},
            )
        moved += len(ids)
    return moved


async def expire_subscriptions(rt: Runtime) -> int:
    """Active subscriptions whose last day and grace days are over expire, in every academy
    (each by its own grace days and time zone). A batch form of the lifecycle: the same table
    says from where, and each one is audited."""
    now = rt.clock.now()
    # No academy's today is later than UTC's tomorrow, so nothing ending since can be due.
    latest_end = now.date() + timedelta(days=1)
    moved = 0
    for source in sources_of(S.EXPIRED):
        for academy_id in await academies_with(rt.session, source, ending_before=latest_end):
            academy = await AcademyRepository(rt.session).get(academy_id)
            assert academy is not None
            grace_days = effective_settings(academy.settings).subscription_grace_days
            # Due once today > last day + grace, i.e. last day < today - grace.
            cutoff = day_of(now, academy.time_zone) - timedelta(days=grace_days)
            ids = await expire_ended(
                rt.session,
                academy_id,
                from_status=source,
                ended_before=cutoff,
                now=now,
                limit=SWEEP_BATCH,
            )
            for subscription_id in ids:
                await audit(
                    rt,
                    Actor(),
                    f"subscription.{check_transition(source, S.EXPIRED)}",
                    academy_id=academy_id,
                    entity_type="subscription",
                    entity_id=subscription_id,
                    before={"status": source.value},
                    after={"status": S.EXPIRED.value, "ended_at": now.isoformat()},
                )
            moved += len(ids)
    return moved
