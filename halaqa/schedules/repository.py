"""All SQL for recurring schedules and holidays, scoped by academy (the worker's scan excepted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.repository import TenantRepository
from halaqa.models import AcademyHoliday, ClassSession, Enrollment, Schedule

# Occurrences not begun yet: a change or cancellation of the series takes these off.
NOT_BEGUN = ("unscheduled", "scheduled", "ready")


class ScheduleRepository(TenantRepository):
    async def get(
        self, schedule_id: int, *, visible_to: frozenset[int] | None = None, lock: bool = False
    ) -> Schedule | None:
        """The schedule; with `visible_to`, only if one of those people takes part in it."""
        query = self._scoped(Schedule).where(Schedule.id == schedule_id)
        if visible_to is not None:
            query = query.where(self._involving(visible_to))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    def _involving(self, people: frozenset[int]) -> ColumnElement[bool]:
        enrolled_groups = select(Enrollment.group_id).where(
            Enrollment.academy_id == self.academy_id,
            Enrollment.student_user_id.in_(people),
            Enrollment.status == "enrolled",
        )
        return or_(
            Schedule.teacher_user_id.in_(people),
            Schedule.student_user_id.in_(people),
            Schedule.group_id.in_(enrolled_groups),
        )

    async def page(
        self,
        *,
        visible_to: frozenset[int] | None,
        status: str | None,
        teacher_user_id: int | None,
        student_user_id: int | None,
        group_id: int | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Schedule], int]:
        query = self._scoped(Schedule)
        if visible_to is not None:
            query = query.where(self._involving(visible_to))
        if status is not None:
            query = query.where(Schedule.status == status)
        if teacher_user_id is not None:
            query = query.where(Schedule.teacher_user_id == teacher_user_id)
        if student_user_id is not None:
            query = query.where(Schedule.student_user_id == student_user_id)
        if group_id is not None:
            query = query.where(Schedule.group_id == group_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Schedule.id.desc()).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def add(self, schedule: Schedule) -> Schedule:
        assert schedule.academy_id == self.academy_id
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def sessions_not_begun(self, schedule_id: int) -> Sequence[ClassSession]:
        result = await self.session.scalars(
            self._scoped(ClassSession)
            .where(
                ClassSession.schedule_id == schedule_id,
                ClassSession.status.in_(NOT_BEGUN),
            )
            .order_by(ClassSession.occurrence_key)
        )
        return result.all()

    async def booked_keys(self, schedule_id: int) -> set[int]:
        """Occurrences already materialised, whatever became of them."""
        result = await self.session.scalars(
            select(ClassSession.occurrence_key).where(
                ClassSession.academy_id == self.academy_id,
                ClassSession.schedule_id == schedule_id,
            )
        )
        return {index for index in result if index is not None}

    async def sessions_between(
        self, starts_from: datetime, starts_before: datetime
    ) -> Sequence[tuple[ClassSession, Schedule]]:
        """Schedules' sessions not begun whose start lies in the range, with their schedule."""
        result = await self.session.execute(
            self._scoped(ClassSession)
            .add_columns(Schedule)
            .join(Schedule, Schedule.id == ClassSession.schedule_id)
            .where(
                ClassSession.status.in_(NOT_BEGUN),
                ClassSession.starts_at >= starts_from,
                ClassSession.starts_at < starts_before,
            )
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
        return [(session, schedule) for session, schedule in result]


async def due_schedules(session: AsyncSession, today: date, limit: int) -> Sequence[Schedule]:
    """Active schedules of every academy whose horizon is due to be extended (index-backed)."""
    result = await session.scalars(
        select(Schedule)
        .where(Schedule.status == "active", Schedule.materialise_due_on <= today)
        .order_by(Schedule.materialise_due_on, Schedule.id)
        .limit(limit)
    )
    return result.all()


class HolidayRepository(TenantRepository):
    async def get(self, holiday_id: int) -> AcademyHoliday | None:
        query = self._scoped(AcademyHoliday).where(AcademyHoliday.id == holiday_id)
        return (await self.session.scalars(query)).one_or_none()

    async def page(
        self, *, on_or_after: date | None, on_or_before: date | None, offset: int, limit: int
    ) -> tuple[Sequence[AcademyHoliday], int]:
        query = self._scoped(AcademyHoliday)
        if on_or_after is not None:
            query = query.where(AcademyHoliday.ends_on >= on_or_after)
        if on_or_before is not None:
            query = query.where(AcademyHoliday.starts_on <= on_or_before)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(AcademyHoliday.starts_on, AcademyHoliday.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def days_between(self, first: date, last: date) -> frozenset[date]:
        """Every holiday date in [first, last]."""
        result = await self.session.scalars(
            self._scoped(AcademyHoliday).where(
                AcademyHoliday.ends_on >= first, AcademyHoliday.starts_on <= last
            )
        )
        days: set[date] = set()
        for holiday in result:
            day = max(holiday.starts_on, first)
            while day <= min(holiday.ends_on, last):
                days.add(day)
                day += timedelta(days=1)
        return frozenset(days)

    async def add(self, holiday: AcademyHoliday) -> AcademyHoliday:
        assert holiday.academy_id == self.academy_id
        self.session.add(holiday)
        await self.session.flush()
        return holiday

    async def delete(self, holiday: AcademyHoliday) -> None:
        await self.session.delete(holiday)
        await self.session.flush()
