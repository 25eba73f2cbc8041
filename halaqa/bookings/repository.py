"""All SQL for availability and bookings, scoped by academy (TenantRepository); the worker's
expiry scan is the one query that spans academies, on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.repository import TenantRepository
from halaqa.models import Booking, Membership, TeacherAvailability

# The longest booking (the table's check): how far back a request that overlaps can start.
LONGEST_BOOKING = timedelta(minutes=720)


@dataclass(frozen=True)
class Visibility:
    """Whose bookings a viewer outside the staff sees: those they teach, and those of these
    students (themself, or a parent's children)."""

    teacher_user_id: int
    student_user_ids: frozenset[int]


@dataclass(frozen=True)
class BookingFilter:
    statuses: tuple[str, ...] = ()
    teacher_user_id: int | None = None
    student_user_id: int | None = None
    visible_to: Visibility | None = None  # None: the whole academy (staff)


class _MemberLocking(TenantRepository):
    async def lock_member(self, user_id: int) -> None:
        """Holds the member's row until the transaction ends (PostgreSQL; SQLite has one writer at
        a time anyway), so changes about one person are made one after the other. FOR NO KEY
        UPDATE: rows that merely reference the member (foreign keys) are not held up."""
        await self.session.execute(
            select(Membership.user_id)
            .where(Membership.academy_id == self.academy_id, Membership.user_id == user_id)
            .with_for_update(key_share=True)
        )


class AvailabilityRepository(_MemberLocking):
    async def of_teacher(self, teacher_user_id: int) -> Sequence[TeacherAvailability]:
        result = await self.session.scalars(
            self._scoped(TeacherAvailability)
            .where(TeacherAvailability.teacher_user_id == teacher_user_id)
            .order_by(TeacherAvailability.weekday, TeacherAvailability.starts_at)
        )
        return result.all()

    async def replace(self, teacher_user_id: int, windows: Sequence[TeacherAvailability]) -> None:
        """The teacher's week becomes exactly `windows` (lock_member first, so that two
        replacements of one week run one after the other and their rows never mix)."""
        await self.session.execute(
            delete(TeacherAvailability).where(
                TeacherAvailability.academy_id == self.academy_id,
                TeacherAvailability.teacher_user_id == teacher_user_id,
            )
        )
        assert all(w.academy_id == self.academy_id for w in windows)
        self.session.add_all(windows)
        await self.session.flush()


class BookingRepository(_MemberLocking):
    async def get(self, booking_id: int, *, lock: bool = False) -> Booking | None:
        """With `lock`, the row stays locked until the transaction ends (PostgreSQL; SQLite has
        one writer at a time anyway), so two answers to one request cannot both pass."""
        query = self._scoped(Booking).where(Booking.id == booking_id)
        if lock:
            # populate_existing: the values read under the lock win over any read before it.
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, booking: Booking) -> Booking:
        assert booking.academy_id == self.academy_id
        self.session.add(booking)
        await self.session.flush()
        return booking

    async def page(
        self, where: BookingFilter, *, offset: int, limit: int
    ) -> tuple[Sequence[Booking], int]:
        query = self._scoped(Booking)
        if where.statuses:
            query = query.where(Booking.status.in_(where.statuses))
        if where.teacher_user_id is not None:
            query = query.where(Booking.teacher_user_id == where.teacher_user_id)
        if where.student_user_id is not None:
            query = query.where(Booking.student_user_id == where.student_user_id)
        if where.visible_to is not None:
            query = query.where(
                or_(
                    Booking.teacher_user_id == where.visible_to.teacher_user_id,
                    Booking.student_user_id.in_(where.visible_to.student_user_ids),
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Booking.starts_at, Booking.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def open_requests_of_student(
        self, student_user_id: int, starts_at: datetime, ends_at: datetime, now: datetime
    ) -> list[Booking]:
        """The student's requests, still open at `now`, that overlap [starts_at, ends_at)."""
        result = await self.session.scalars(
            self._scoped(Booking).where(
                Booking.student_user_id == student_user_id,
                Booking.status == "requested",
                Booking.expires_at > now,
                Booking.starts_at < ends_at,
                Booking.starts_at > starts_at - LONGEST_BOOKING,
            )
        )
        return [
            b for b in result if b.starts_at + timedelta(minutes=b.duration_minutes) > starts_at
        ]


async def expire_due(
    session: AsyncSession, now: datetime, *, from_status: str, to_status: str, limit: int
) -> list[tuple[int, int]]:
    """Moves up to `limit` bookings in `from_status` whose expires_at has come to `to_status`,
    across academies, through ix_bookings_status_expires; gives (academy_id, booking_id) of each
    one moved. The UPDATE re-checks the status, so several workers never move a booking twice,
    nor one answered in the meantime."""
    due = (
        select(Booking.id)
        .where(Booking.status == from_status, Booking.expires_at <= now)
        .order_by(Booking.expires_at)
        .limit(limit)
    )
    result = await session.execute(
        update(Booking)
        .where(Booking.id.in_(due.scalar_subquery()), Booking.status == from_status)
        .values(status=to_status, updated_at=now)
        .returning(Booking.academy_id, Booking.id)
        .execution_options(synchronize_session=False)
    )
    return [(academy_id, booking_id) for academy_id, booking_id in result]
