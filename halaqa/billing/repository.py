"""All SQL for the session ledger: its entries, the subscriptions and cycles a charge goes to,
and the flags held for an admin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, select

from halaqa.academies.repository import TenantRepository
from halaqa.models import (
    LedgerEntry,
    LedgerFlag,
    Subscription,
    SubscriptionCycle,
    SubscriptionPause,
)


class LedgerRepository(TenantRepository):
    async def entries(self, session_id: int, student_id: int) -> Sequence[LedgerEntry]:
        """One (session, student)'s history, oldest first."""
        query = self._scoped(LedgerEntry).where(
            LedgerEntry.session_id == session_id, LedgerEntry.student_user_id == student_id
        )
        return (await self.session.scalars(query.order_by(LedgerEntry.seq))).all()

    async def students_charged_for(self, session_id: int) -> set[int]:
        """Everyone with any entry for the session (a refund may be due to one no longer in it)."""
        result = await self.session.scalars(
            select(LedgerEntry.student_user_id)
            .where(LedgerEntry.academy_id == self.academy_id, LedgerEntry.session_id == session_id)
            .distinct()
        )
        return set(result)

    async def add_entry(self, entry: LedgerEntry) -> None:
        """Flushes at once: a second writer of the same (session, student, seq) fails here."""
        assert entry.academy_id == self.academy_id
        self.session.add(entry)
        await self.session.flush()

    async def covering(
        self, student_id: int, teacher_id: int | None, group_id: int | None, day: date, at: datetime
    ) -> Subscription | None:
        """The student's subscription with that teacher (or group) that covered `day` at `at`:
        begun, not yet past its end, not ended before then, not paused that day. The oldest one
        first if several do."""
        paused = (
            select(SubscriptionPause.id)
            .where(
                SubscriptionPause.subscription_id == Subscription.id,
                SubscriptionPause.starts_on <= day,
                SubscriptionPause.ends_on >= day,
                or_(SubscriptionPause.resumed_at.is_(None), SubscriptionPause.resumed_at > at),
            )
            .exists()
        )
        owner = (
            Subscription.teacher_user_id == teacher_id
            if teacher_id is not None
            else Subscription.group_id == group_id
        )
        return await self.session.scalar(
            self._scoped(Subscription)
            .where(
                Subscription.student_user_id == student_id,
                owner,
                Subscription.status != "pending",
                Subscription.starts_on <= day,
                or_(Subscription.ends_on.is_(None), Subscription.ends_on >= day),
                or_(Subscription.ended_at.is_(None), Subscription.ended_at > at),
                ~paused,
            )
            .order_by(Subscription.starts_on, Subscription.id)
            .limit(1)
        )

    async def subscription(self, subscription_id: int) -> Subscription | None:
        return await self.session.scalar(
            self._scoped(Subscription).where(Subscription.id == subscription_id)
        )

    async def locked_cycle(self, cycle_id: int) -> SubscriptionCycle:
        """The cycle, its row locked until the transaction ends: charges to one cycle are made
        one at a time (PostgreSQL; SQLite has one writer anyway), so none overdraws it."""
        cycle = await self.session.scalar(
            self._scoped(SubscriptionCycle)
            .where(SubscriptionCycle.id == cycle_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert cycle is not None
        return cycle

    async def of_subscription(
        self, subscription_id: int, *, offset: int, limit: int
    ) -> tuple[Sequence[LedgerEntry], int]:
        where = (
            LedgerEntry.academy_id == self.academy_id,
            LedgerEntry.subscription_id == subscription_id,
        )
        total = await self.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(*where)
        )
        rows = await self.session.scalars(
            select(LedgerEntry)
            .where(*where)
            .order_by(LedgerEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), int(total or 0)

    async def cycles(self, subscription_id: int) -> Sequence[SubscriptionCycle]:
        query = self._scoped(SubscriptionCycle).where(
            SubscriptionCycle.subscription_id == subscription_id
        )
        return (await self.session.scalars(query.order_by(SubscriptionCycle.number))).all()

    # --- flags ----------------------------------------------------------------------------------

    async def open_flag(self, session_id: int, student_id: int) -> LedgerFlag | None:
        return await self.session.scalar(
            self._scoped(LedgerFlag).where(
                LedgerFlag.session_id == session_id,
                LedgerFlag.student_user_id == student_id,
                LedgerFlag.status == "open",
            )
        )

    async def add_flag(self, flag: LedgerFlag) -> None:
        assert flag.academy_id == self.academy_id
        self.session.add(flag)
        await self.session.flush()

    async def flag(self, flag_id: int) -> LedgerFlag | None:
        return await self.session.scalar(self._scoped(LedgerFlag).where(LedgerFlag.id == flag_id))

    async def flags(self, status: str | None, limit: int) -> Sequence[LedgerFlag]:
        query = self._scoped(LedgerFlag)
        if status is not None:
            query = query.where(LedgerFlag.status == status)
        return (await self.session.scalars(query.order_by(LedgerFlag.id.desc()).limit(limit))).all()
