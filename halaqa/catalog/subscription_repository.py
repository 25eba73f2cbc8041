"""All SQL for packages, subscriptions, their cycles and pauses: scoped by academy
(TenantRepository) and by viewer; and the worker's cross-academy sweeps (expiry, pauses run out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, false, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.repository import TenantRepository
from halaqa.catalog.repository import Viewer, _children_of
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.models import (
    ClassSession,
    Group,
    LedgerEntry,
    Package,
    Subscription,
    SubscriptionCycle,
    SubscriptionPause,
)


class PackageRepository(TenantRepository):
    async def get(self, package_id: int, *, offered_only: bool = False) -> Package | None:
        query = self._scoped(Package).where(Package.id == package_id)
        if offered_only:
            query = query.where(Package.active.is_(True))
        return (await self.session.scalars(query)).one_or_none()

    async def page(
        self, *, active: bool | None, kind: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Package], int]:
        query = self._scoped(Package)
        if active is not None:
            query = query.where(Package.active.is_(active))
        if kind is not None:
            query = query.where(Package.kind == kind)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Package.name, Package.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def add(self, package: Package) -> Package:
        assert package.academy_id == self.academy_id
        self.session.add(package)
        await self.session.flush()
        return package


@dataclass(frozen=True)
class SubscriptionFilter:
    student_user_id: int | None = None
    # Subscriptions with this teacher, or in a group this teacher teaches.
    teacher_user_id: int | None = None
    group_id: int | None = None
    package_id: int | None = None
    status: str | None = None


class SubscriptionRepository(TenantRepository):
    async def get(
        self, viewer: Viewer, subscription_id: int, *, lock: bool = False
    ) -> Subscription | None:
        """The subscription if `viewer` may see it; with `lock`, its row stays locked until the
        transaction ends (PostgreSQL; SQLite has one writer at a time) and is read afresh, so a
        status change cannot be overtaken by a concurrent one."""
        query = self._scoped(Subscription).where(
            Subscription.id == subscription_id, self._visible(viewer)
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    async def page(
        self, viewer: Viewer, where: SubscriptionFilter, *, offset: int, limit: int
    ) -> tuple[Sequence[Subscription], int]:
        query = self._scoped(Subscription).where(self._visible(viewer))
        if where.student_user_id is not None:
            query = query.where(Subscription.student_user_id == where.student_user_id)
        if where.teacher_user_id is not None:
            query = query.where(self._with_teacher(where.teacher_user_id))
        if where.group_id is not None:
            query = query.where(Subscription.group_id == where.group_id)
        if where.package_id is not None:
            query = query.where(Subscription.package_id == where.package_id)
        if where.status is not None:
            query = query.where(Subscription.status == where.status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Subscription.id.desc()).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def of_student(
        self, student_user_id: int, teacher_user_id: int, statuses: Sequence[SubscriptionStatus]
    ) -> Sequence[Subscription]:
        """The student's subscriptions with this teacher (individual lessons) in `statuses`,
        oldest first: the order in which the ledger charges them."""
        result = await self.session.scalars(
            self._scoped(Subscription)
            .where(
                Subscription.student_user_id == student_user_id,
                Subscription.teacher_user_id == teacher_user_id,
                Subscription.status.in_([status.value for status in statuses]),
            )
            .order_by(Subscription.starts_on, Subscription.id)
        )
        return result.all()

    async def add(self, subscription: Subscription) -> Subscription:
        assert subscription.academy_id == self.academy_id
        self.session.add(subscription)
        await self.session.flush()
        return subscription

    async def package(self, package_id: int) -> Package | None:
        return await PackageRepository(self.session, self.academy_id).get(package_id)

    async def packages(self, package_ids: set[int]) -> dict[int, Package]:
        if not package_ids:
            return {}
        result = await self.session.scalars(
            self._scoped(Package).where(Package.id.in_(package_ids))
        )
        return {package.id: package for package in result}

    async def group_names(self, group_ids: set[int]) -> dict[int, str]:
        if not group_ids:
            return {}
        result = await self.session.execute(
            select(Group.id, Group.name).where(
                Group.academy_id == self.academy_id, Group.id.in_(group_ids)
            )
        )
        return dict(result.all())

    # --- cycles ------------------------------------------------------------------------------

    async def cycles(self, subscription_id: int) -> Sequence[SubscriptionCycle]:
        result = await self.session.scalars(
            self._scoped(SubscriptionCycle)
            .where(SubscriptionCycle.subscription_id == subscription_id)
            .order_by(SubscriptionCycle.number)
        )
        return result.all()

    async def cycle(self, subscription_id: int, number: int) -> SubscriptionCycle | None:
        result = await self.session.scalars(
            self._scoped(SubscriptionCycle).where(
                SubscriptionCycle.subscription_id == subscription_id,
                SubscriptionCycle.number == number,
            )
        )
        return result.one_or_none()

    async def add_cycle_once(self, cycle: SubscriptionCycle) -> SubscriptionCycle:
        """Inserts the cycle, or, when a concurrent caller inserted the same (subscription,
        number) first, gives theirs: the unique constraint decides, inside a savepoint so the
        caller's transaction goes on."""
        assert cycle.academy_id == self.academy_id
        try:
            async with self.session.begin_nested():
                self.session.add(cycle)
                await self.session.flush()
        except IntegrityError:
            winner = await self.cycle(cycle.subscription_id, cycle.number)
            if winner is None:  # the failure was something else
                raise
            return winner
        return cycle

    async def used_in_cycles(self, cycle_ids: Sequence[int]) -> dict[int, int]:
        """Sessions each cycle has used: its charges less its refunds, from the ledger."""
        if not cycle_ids:
            return {}
        net = func.sum(case((LedgerEntry.kind == "consumed", 1), else_=-1))
        rows = await self.session.execute(
            select(LedgerEntry.cycle_id, net)
            .where(LedgerEntry.academy_id == self.academy_id, LedgerEntry.cycle_id.in_(cycle_ids))
            .group_by(LedgerEntry.cycle_id)
        )
        found = {cycle_id: int(total) for cycle_id, total in rows}
        return {cycle_id: found.get(cycle_id, 0) for cycle_id in cycle_ids}

    # --- pauses ------------------------------------------------------------------------------

    async def pauses(self, subscription_ids: Sequence[int]) -> dict[int, list[SubscriptionPause]]:
        """Each subscription's pauses, oldest first."""
        found: dict[int, list[SubscriptionPause]] = {sid: [] for sid in subscription_ids}
        if not subscription_ids:
            return found
        result = await self.session.scalars(
            self._scoped(SubscriptionPause)
            .where(SubscriptionPause.subscription_id.in_(subscription_ids))
            .order_by(SubscriptionPause.starts_on, SubscriptionPause.id)
        )
        for pause in result:
            found[pause.subscription_id].append(pause)
        return found

    async def open_pause(self, subscription_id: int) -> SubscriptionPause | None:
        """The pause that made the subscription paused: the latest one not resumed."""
        result = await self.session.scalars(
            self._scoped(SubscriptionPause)
            .where(
                SubscriptionPause.subscription_id == subscription_id,
                SubscriptionPause.resumed_at.is_(None),
            )
            .order_by(SubscriptionPause.id.desc())
            .limit(1)
        )
        return result.one_or_none()

    async def add_pause(self, pause: SubscriptionPause) -> SubscriptionPause:
        assert pause.academy_id == self.academy_id
        self.session.add(pause)
        await self.session.flush()
        return pause

    # --- the sessions a subscription governs -------------------------------------------------

    async def lessons(
        self,
        student_user_id: int,
        teacher_user_id: int,
        statuses: Sequence[str],
        *,
        starts_from: datetime,
        starts_before: datetime,
    ) -> Sequence[ClassSession]:
        """The student's individual sessions with the teacher in `statuses` starting within
        [starts_from, starts_before)."""
        result = await self.session.scalars(
            self._scoped(ClassSession)
            .where(
                ClassSession.kind == "individual",
                ClassSession.student_user_id == student_user_id,
                ClassSession.teacher_user_id == teacher_user_id,
                ClassSession.status.in_(statuses),
                ClassSession.starts_at >= starts_from,
                ClassSession.starts_at < starts_before,
            )
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
        return result.all()

    # --- who sees what -----------------------------------------------------------------------

    def _with_teacher(self, teacher_user_id: int) -> ColumnElement[bool]:
        taught = select(Group.id).where(
            Group.academy_id == self.academy_id, Group.teacher_user_id == teacher_user_id
        )
        return or_(
            Subscription.teacher_user_id == teacher_user_id, Subscription.group_id.in_(taught)
        )

    def _visible(self, viewer: Viewer) -> ColumnElement[bool]:
        """Staff see every subscription; a student their own; a parent their children's; a
        teacher those with them or in the groups they teach. An API key without a staff role
        is nobody, and sees none."""
        if viewer.sees_all:
            return true()
        if viewer.user_id is None:
            return false()
        seen: list[ColumnElement[bool]] = []
        if viewer.studies:
            seen.append(Subscription.student_user_id == viewer.user_id)
        if viewer.parents:
            seen.append(
                Subscription.student_user_id.in_(_children_of(self.academy_id, viewer.user_id))
            )
        if viewer.teaches:
            seen.append(self._with_teacher(viewer.user_id))
        return or_(false(), *seen)


# --- the worker's sweeps, across academies ---------------------------------------------------


async def academies_with(
    session: AsyncSession, status: SubscriptionStatus, *, ending_before: date | None = None
) -> list[int]:
    """Academies with a subscription in `status` (whose last day is before `ending_before`)."""
    query = select(Subscription.academy_id).where(Subscription.status == status.value)
    if ending_before is not None:
        query = query.where(Subscription.ends_on < ending_before)
    return list(await session.scalars(query.distinct().order_by(Subscription.academy_id)))


async def expire_ended(
    session: AsyncSession,
    academy_id: int,
    *,
    from_status: SubscriptionStatus,
    ended_before: date,
    now: datetime,
    limit: int,
) -> list[int]:
    """Moves up to `limit` of the academy's subscriptions in `from_status` whose last day is
    before `ended_before` to expired, ended now; gives their ids. The UPDATE checks the status
    again, so two workers never expire one twice, nor one renewed meanwhile."""
    due = (
        select(Subscription.id)
        .where(
            Subscription.academy_id == academy_id,
            Subscription.status == from_status.value,
            Subscription.ends_on < ended_before,
        )
        .order_by(Subscription.ends_on, Subscription.id)
        .limit(limit)
    )
    result = await session.scalars(
        update(Subscription)
        .where(
            Subscription.id.in_(due.scalar_subquery()),
            Subscription.status == from_status.value,
            Subscription.ends_on < ended_before,
        )
        .values(status=SubscriptionStatus.EXPIRED.value, ended_at=now, updated_at=now)
        .returning(Subscription.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result)


async def reactivate_after_pauses(
    session: AsyncSession, academy_id: int, *, today: date, now: datetime, limit: int
) -> list[int]:
    """Makes the academy's paused subscriptions whose pause has run out (no pause still open on
    or after `today`) active again; gives their ids. Conditional, like `expire_ended`."""
    still_paused = (
        select(SubscriptionPause.id)
        .where(
            SubscriptionPause.subscription_id == Subscription.id,
            SubscriptionPause.resumed_at.is_(None),
            SubscriptionPause.ends_on >= today,
        )
        .exists()
    )
    due = (
        select(Subscription.id)
        .where(
            Subscription.academy_id == academy_id,
            Subscription.status == SubscriptionStatus.PAUSED.value,
            ~still_paused,
        )
        .order_by(Subscription.id)
        .limit(limit)
    )
    result = await session.scalars(
        update(Subscription)
        .where(
            Subscription.id.in_(due.scalar_subquery()),
            Subscription.status == SubscriptionStatus.PAUSED.value,
            ~still_paused,
        )
        .values(status=SubscriptionStatus.ACTIVE.value, updated_at=now)
        .returning(Subscription.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result)
