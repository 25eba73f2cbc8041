"""Queries of notifications: what people are told and muted, calendar feeds and the sessions
a feed lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from halaqa.models import (
    Academy,
    AttendanceRecord,
    Booking,
    CalendarFeed,
    ClassSession,
    Group,
    Guardianship,
    Membership,
    MembershipRole,
    Notification,
    NotificationMute,
    Package,
    Schedule,
    SessionParticipant,
    SessionReschedule,
    Subscription,
    SubscriptionCycle,
    User,
)
from halaqa.schedules.lifecycle import ScheduleStatus
from halaqa.schedules.planning import occurrence_date


@dataclass(frozen=True)
class FeedSession:
    session: ClassSession
    academy_slug: str
    zone: str
    reschedules: int


class CalendarFeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, user_id: int) -> CalendarFeed | None:
        found = await self.session.scalars(
            select(CalendarFeed).where(
                CalendarFeed.user_id == user_id, CalendarFeed.revoked_at.is_(None)
            )
        )
        return found.first()

    async def by_digest(self, digest: str) -> tuple[CalendarFeed, User] | None:
        row = (
            await self.session.execute(
                select(CalendarFeed, User)
                .join(User, User.id == CalendarFeed.user_id)
                .where(CalendarFeed.token_digest == digest)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def add(self, feed: CalendarFeed) -> CalendarFeed:
        self.session.add(feed)
        await self.session.flush()
        return feed

    async def revoke_all(self, user_id: int, now: datetime) -> int:
        result = await self.session.execute(
            update(CalendarFeed)
            .where(CalendarFeed.user_id == user_id, CalendarFeed.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await self.session.flush()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def sessions_for(
        self, user_id: int, starts_from: datetime, limit: int
    ) -> Sequence[FeedSession]:
        """The sessions of a user and of the children they look after, in every academy where
        they are an active member, from `starts_from` on (cancelled ones included)."""
        academies = select(Membership.academy_id).where(
            Membership.user_id == user_id, Membership.is_active.is_(True)
        )
        children = select(Guardianship.student_user_id).where(
            Guardianship.parent_user_id == user_id, Guardianship.academy_id.in_(academies)
        )
        people = select(SessionParticipant.session_id).where(
            SessionParticipant.academy_id.in_(academies),
            (SessionParticipant.user_id == user_id) | SessionParticipant.user_id.in_(children),
            SessionParticipant.starts_at >= starts_from,
        )
        reschedules = (
            select(func.count())
            .where(SessionReschedule.session_id == ClassSession.id)
            .correlate(ClassSession)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(ClassSession, Academy.slug, Academy.time_zone, Group.time_zone, reschedules)
            .join(Academy, Academy.id == ClassSession.academy_id)
            .outerjoin(
                Group,
                (Group.academy_id == ClassSession.academy_id) & (Group.id == ClassSession.group_id),
            )
            .where(ClassSession.id.in_(people), ClassSession.starts_at.is_not(None))
            .order_by(ClassSession.starts_at, ClassSession.id)
            .limit(limit)
        )
        return [
            FeedSession(
                session=session,
                academy_slug=slug,
                zone=session.time_zone or group_zone or academy_zone,
                reschedules=int(count),
            )
            for session, slug, academy_zone, group_zone, count in rows
        ]


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mutes(self, user_ids: Sequence[int], kind: str) -> set[tuple[int, str]]:
        """(user, channel) pairs muted for this kind."""
        rows = await self.session.execute(
            select(NotificationMute.user_id, NotificationMute.channel).where(
                NotificationMute.user_id.in_(user_ids), NotificationMute.kind == kind
            )
        )
        return {(user_id, channel) for user_id, channel in rows}

    async def mutes_of(self, user_id: int) -> Sequence[NotificationMute]:
        found = await self.session.scalars(
            select(NotificationMute).where(NotificationMute.user_id == user_id)
        )
        return found.all()

    async def replace_mutes(
        self, user_id: int, wanted: set[tuple[str, str]], now: datetime
    ) -> None:
        await self.session.execute(
            delete(NotificationMute).where(NotificationMute.user_id == user_id)
        )
        self.session.add_all(
            NotificationMute(user_id=user_id, kind=kind, channel=channel, created_at=now)
            for kind, channel in sorted(wanted)
        )
        await self.session.flush()

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        found = await self.session.scalars(
            select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))
        )
        return {key for key in found if key is not None}

    async def add(self, notification: Notification) -> bool:
        """False when a notification with its dedupe key was written meanwhile (a race)."""
        try:
            async with self.session.begin_nested():
                self.session.add(notification)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def get(self, notification_id: int, *, lock: bool = False) -> Notification | None:
        query = select(Notification).where(Notification.id == notification_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def of_user(
        self, user_id: int, *, unread_only: bool, offset: int, limit: int
    ) -> tuple[Sequence[Notification], int]:
        where = [Notification.user_id == user_id]
        if unread_only:
            where.append(Notification.read_at.is_(None))
        total = await self.session.scalar(
            select(func.count()).where(*where).select_from(Notification)
        )
        found = await self.session.scalars(
            select(Notification)
            .where(*where)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return found.all(), int(total or 0)

    async def unread_count(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int(count or 0)

    async def mark_read(self, user_id: int, ids: Sequence[int] | None, now: datetime) -> int:
        where = [Notification.user_id == user_id, Notification.read_at.is_(None)]
        if ids is not None:
            where.append(Notification.id.in_(ids))
        result = await self.session.execute(update(Notification).where(*where).values(read_at=now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def recipient(self, notification: Notification) -> User:
        user = await self.session.get(User, notification.user_id)
        assert user is not None
        return user


@dataclass(frozen=True)
class Audience:
    """A session and who hears about it: its people (with their role and name), the parents of
    its students, and its academy."""

    session: ClassSession
    academy: Academy
    zone: str
    people: dict[int, tuple[str, str]]  # user id -> (role, name)
    parents: dict[int, list[int]]  # student id -> their parents' ids
    reschedules: int

    @property
    def teacher_and_students(self) -> set[int]:
        return set(self.people)

    @property
    def with_parents(self) -> set[int]:
        return set(self.people) | {p for ps in self.parents.values() for p in ps}


async def audience(session: AsyncSession, academy_id: int, session_id: int) -> Audience | None:
    found = (
        await session.execute(
            select(ClassSession, Academy, Group.time_zone)
            .join(Academy, Academy.id == ClassSession.academy_id)
            .outerjoin(
                Group,
                (Group.academy_id == ClassSession.academy_id) & (Group.id == ClassSession.group_id),
            )
            .where(ClassSession.academy_id == academy_id, ClassSession.id == session_id)
        )
    ).first()
    if found is None:
        return None
    class_session, academy, group_zone = found
    people_rows = await session.execute(
        select(SessionParticipant.user_id, SessionParticipant.role, User.name)
        .join(User, User.id == SessionParticipant.user_id)
        .where(
            SessionParticipant.academy_id == academy_id,
            SessionParticipant.session_id == session_id,
        )
    )
    people = {user_id: (role, name) for user_id, role, name in people_rows}
    students = [user_id for user_id, (role, _n) in people.items() if role == "student"]
    parents: dict[int, list[int]] = {}
    if students:
        links = await session.execute(
            select(Guardianship.student_user_id, Guardianship.parent_user_id).where(
                Guardianship.academy_id == academy_id,
                Guardianship.student_user_id.in_(students),
            )
        )
        for student, parent in links:
            parents.setdefault(student, []).append(parent)
    zone = class_session.time_zone or group_zone or academy.time_zone
    moves = await session.scalar(
        select(func.count())
        .select_from(SessionReschedule)
        .where(
            SessionReschedule.academy_id == academy_id,
            SessionReschedule.session_id == session_id,
        )
    )
    return Audience(class_session, academy, zone, people, parents, int(moves or 0))


async def series_opened_by(session: AsyncSession, booked: ClassSession) -> bool | None:
    """For a class of a weekly series: None unless it is the series' first (the one its people
    hear of the whole series by); else whether the series continues another (a change)."""
    first = await session.scalar(
        select(func.min(ClassSession.occurrence_key)).where(
            ClassSession.academy_id == booked.academy_id,
            ClassSession.schedule_id == booked.schedule_id,
        )
    )
    if first != booked.occurrence_key:
        return None
    follows = await session.scalar(
        select(Schedule.follows_schedule_id).where(
            Schedule.academy_id == booked.academy_id, Schedule.id == booked.schedule_id
        )
    )
    return follows is not None


@dataclass(frozen=True)
class SeriesEnd:
    """How a weekly series stopped having a class: from which local day, and whether another
    series takes over from then (a change) or none does (it ended)."""

    from_date: date
    continued: bool


async def series_end(session: AsyncSession, cancelled: ClassSession) -> SeriesEnd | None:
    """For a cancelled class of a weekly series: the series' end, when that is what took the
    class off (its people hear of the end once, not class by class); None when the class was
    cancelled on its own, the series still having its day."""
    schedule = await session.scalar(
        select(Schedule).where(
            Schedule.academy_id == cancelled.academy_id, Schedule.id == cancelled.schedule_id
        )
    )
    if schedule is None or cancelled.occurrence_key is None:
        return None
    if schedule.status == ScheduleStatus.CANCELLED.value:
        from_date = schedule.starts_on
    elif schedule.status == ScheduleStatus.ENDED.value and schedule.until is not None:
        if occurrence_date(schedule.starts_on, cancelled.occurrence_key) <= schedule.until:
            return None
        from_date = schedule.until + timedelta(days=1)
    else:
        return None
    followers = await session.scalar(
        select(func.count()).where(
            Schedule.academy_id == schedule.academy_id,
            Schedule.follows_schedule_id == schedule.id,
        )
    )
    return SeriesEnd(from_date, bool(followers))


async def starting_between(
    session: AsyncSession, after: datetime, until: datetime, statuses: Sequence[str]
) -> Sequence[tuple[int, int, datetime]]:
    """(academy, session, start) of every academy's classes starting in (after, until]."""
    rows = await session.execute(
        select(ClassSession.academy_id, ClassSession.id, ClassSession.starts_at)
        .where(
            ClassSession.starts_at > after,
            ClassSession.starts_at <= until,
            ClassSession.status.in_(statuses),
        )
        .order_by(ClassSession.starts_at, ClassSession.id)
    )
    return [(academy, found, starts) for academy, found, starts in rows if starts is not None]


async def academy_settings(session: AsyncSession) -> dict[int, dict[str, Any]]:
    rows = await session.execute(select(Academy.id, Academy.settings))
    return {academy_id: dict(settings) for academy_id, settings in rows}


async def absent_students(session: AsyncSession, academy_id: int, session_id: int) -> list[int]:
    found = await session.scalars(
        select(AttendanceRecord.user_id).where(
            AttendanceRecord.academy_id == academy_id,
            AttendanceRecord.session_id == session_id,
            AttendanceRecord.role == "student",
            AttendanceRecord.status == "absent",
        )
    )
    return list(found)


async def recent_outcomes(
    session: AsyncSession, academy_id: int, student_id: int, limit: int
) -> list[tuple[int, datetime, str]]:
    """(session, start, status) of the student's latest classes that took place, newest first."""
    rows = await session.execute(
        select(ClassSession.id, ClassSession.starts_at, AttendanceRecord.status)
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .where(
            AttendanceRecord.academy_id == academy_id,
            AttendanceRecord.user_id == student_id,
            AttendanceRecord.role == "student",
            ClassSession.status.in_(("completed", "absent")),
        )
        .order_by(ClassSession.starts_at.desc(), ClassSession.id.desc())
        .limit(limit)
    )
    return [(found, starts, status) for found, starts, status in rows if starts is not None]


async def members_with_roles(
    session: AsyncSession, academy_id: int, roles: Sequence[str]
) -> list[int]:
    found = await session.scalars(
        select(Membership.user_id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(
            Membership.academy_id == academy_id,
            Membership.is_active.is_(True),
            MembershipRole.role.in_(roles),
        )
        .distinct()
    )
    return list(found)


async def cycle_of(
    session: AsyncSession, academy_id: int, cycle_id: int
) -> tuple[SubscriptionCycle, str, User] | None:
    """A subscription's cycle, with its package's name and the student."""
    row = (
        await session.execute(
            select(SubscriptionCycle, Package.name, User)
            .join(
                Subscription,
                (Subscription.academy_id == SubscriptionCycle.academy_id)
                & (Subscription.id == SubscriptionCycle.subscription_id),
            )
            .join(
                Package,
                (Package.academy_id == Subscription.academy_id)
                & (Package.id == Subscription.package_id),
            )
            .join(User, User.id == Subscription.student_user_id)
            .where(SubscriptionCycle.academy_id == academy_id, SubscriptionCycle.id == cycle_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def parents_of(session: AsyncSession, academy_id: int, student_id: int) -> list[int]:
    found = await session.scalars(
        select(Guardianship.parent_user_id).where(
            Guardianship.academy_id == academy_id, Guardianship.student_user_id == student_id
        )
    )
    return list(found)


async def booking_of(
    session: AsyncSession, academy_id: int, booking_id: int
) -> tuple[Booking, Academy, str, str] | None:
    """A booking with its academy and the names of its student and teacher."""
    student, teacher = aliased(User), aliased(User)
    row = (
        await session.execute(
            select(Booking, Academy, student.name, teacher.name)
            .join(Academy, Academy.id == Booking.academy_id)
            .join(student, student.id == Booking.student_user_id)
            .join(teacher, teacher.id == Booking.teacher_user_id)
            .where(Booking.academy_id == academy_id, Booking.id == booking_id)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3])
