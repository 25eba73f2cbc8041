"""Queries of notifications: calendar feeds and the sessions a feed lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.models import (
    Academy,
    CalendarFeed,
    ClassSession,
    Group,
    Guardianship,
    Membership,
    SessionParticipant,
    SessionReschedule,
    User,
)


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
