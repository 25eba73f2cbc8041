"""All SQL for tenancy, people and auth. Tenant queries are scoped here, once, by academy id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.models import (
    AbsenceRequest,
    Academy,
    AcademyHoliday,
    ApiKey,
    AttendanceOverride,
    AttendanceRecord,
    AuditEntry,
    AuthToken,
    Booking,
    ClassSession,
    Enrollment,
    Group,
    Guardianship,
    LedgerEntry,
    LedgerFlag,
    LoginAttempt,
    Membership,
    MembershipRole,
    Package,
    PresenceEvent,
    Schedule,
    SessionRecording,
    SessionReport,
    SessionReportPassage,
    Subscription,
    SubscriptionCycle,
    SubscriptionPause,
    TeacherAvailability,
    User,
)

_Tenanted = TypeVar(
    "_Tenanted",
    Membership,
    Guardianship,
    ApiKey,
    AuditEntry,
    Group,
    Enrollment,
    ClassSession,
    Schedule,
    AcademyHoliday,
    TeacherAvailability,
    Booking,
    SessionRecording,
    PresenceEvent,
    AttendanceRecord,
    AttendanceOverride,
    AbsenceRequest,
    SessionReport,
    SessionReportPassage,
    Package,
    Subscription,
    SubscriptionPause,
    SubscriptionCycle,
    LedgerEntry,
    LedgerFlag,
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_many(self, user_ids: set[int]) -> Sequence[User]:
        if not user_ids:
            return []
        return (await self.session.scalars(select(User).where(User.id.in_(user_ids)))).all()

    async def by_email_key(self, email_key: str) -> User | None:
        result = await self.session.scalars(select(User).where(User.email_key == email_key))
        return result.one_or_none()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def memberships(self, user_id: int) -> Sequence[tuple[Membership, Academy]]:
        """Active memberships with their academies, for `/me` and academy lists."""
        result = await self.session.execute(
            select(Membership, Academy)
            .join(Academy, Academy.id == Membership.academy_id)
            .where(Membership.user_id == user_id, Membership.is_active.is_(True))
            .order_by(Academy.name)
        )
        return [(m, a) for m, a in result]


class AcademyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, academy_id: int) -> Academy | None:
        return await self.session.get(Academy, academy_id)

    async def by_slug(self, slug: str) -> Academy | None:
        result = await self.session.scalars(select(Academy).where(Academy.slug == slug))
        return result.one_or_none()

    async def add(self, academy: Academy) -> Academy:
        self.session.add(academy)
        await self.session.flush()
        return academy

    async def page_all(self, offset: int, limit: int) -> tuple[Sequence[Academy], int]:
        total = await self.session.scalar(select(func.count()).select_from(Academy))
        rows = await self.session.scalars(
            select(Academy).order_by(Academy.name, Academy.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def page_for_user(
        self, user_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Academy], int]:
        member_of = (
            select(Membership.academy_id)
            .where(Membership.user_id == user_id, Membership.is_active.is_(True))
            .scalar_subquery()
        )
        query = select(Academy).where(Academy.id.in_(member_of))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Academy.name, Academy.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0


class TenantRepository:
    """Base for everything that belongs to one academy: every query goes through `_scoped`."""

    def __init__(self, session: AsyncSession, academy_id: int) -> None:
        self.session = session
        self.academy_id = academy_id

    def _scoped(self, model: type[_Tenanted]) -> Select[_Tenanted]:
        return select(model).where(model.academy_id == self.academy_id)


class MemberRepository(TenantRepository):
    async def get(self, user_id: int) -> tuple[Membership, User] | None:
        result = await self.session.execute(
            self._scoped(Membership)
            .add_columns(User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.user_id == user_id)
        )
        row = result.one_or_none()
        return (row[0], row[1]) if row else None

    async def page(
        self,
        *,
        search: str | None,
        role: str | None,
        active: bool | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[tuple[Membership, User]], int]:
        query = self._scoped(Membership).add_columns(User).join(User, User.id == Membership.user_id)
        if search:
            pattern = f"%{_escape_like(search.lower())}%"
            query = query.where(
                or_(
                    func.lower(User.name).like(pattern, escape="\\"),
                    User.email_key.like(pattern, escape="\\"),
                )
            )
        if role:
            query = query.where(Membership.roles.any(MembershipRole.role == role))
        if active is not None:
            query = query.where(Membership.is_active.is_(active))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        result = await self.session.execute(
            query.order_by(User.name, User.id).offset(offset).limit(limit)
        )
        return [(m, u) for m, u in result], total or 0

    async def add(self, user_id: int, roles: set[str]) -> Membership:
        membership = Membership(
            academy_id=self.academy_id,
            user_id=user_id,
            is_active=True,
            roles=[MembershipRole(role=r) for r in sorted(roles)],
        )
        self.session.add(membership)
        await self.session.flush()
        return membership

    def set_roles(self, membership: Membership, roles: set[str]) -> None:
        assert membership.academy_id == self.academy_id
        kept = [r for r in membership.roles if r.role in roles]
        added = [MembershipRole(role=r) for r in sorted(roles - membership.role_names)]
        membership.roles = kept + added

    async def count_active_admins(self) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.academy_id == self.academy_id,
                Membership.is_active.is_(True),
                User.is_active.is_(True),
                Membership.roles.any(MembershipRole.role == "admin"),
            )
        )
        return count or 0


class GuardianshipRepository(TenantRepository):
    async def get(self, guardianship_id: int) -> Guardianship | None:
        result = await self.session.scalars(
            self._scoped(Guardianship).where(Guardianship.id == guardianship_id)
        )
        return result.one_or_none()

    async def find(self, parent_user_id: int, student_user_id: int) -> Guardianship | None:
        result = await self.session.scalars(
            self._scoped(Guardianship).where(
                Guardianship.parent_user_id == parent_user_id,
                Guardianship.student_user_id == student_user_id,
            )
        )
        return result.one_or_none()

    async def page(
        self, *, parent_user_id: int | None, student_user_id: int | None, offset: int, limit: int
    ) -> tuple[Sequence[Guardianship], int]:
        query = self._scoped(Guardianship)
        if parent_user_id is not None:
            query = query.where(Guardianship.parent_user_id == parent_user_id)
        if student_user_id is not None:
            query = query.where(Guardianship.student_user_id == student_user_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Guardianship.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def children_by_parent(self, parent_user_ids: Sequence[int]) -> dict[int, list[User]]:
        result = await self.session.execute(
            select(Guardianship.parent_user_id, User)
            .join(User, User.id == Guardianship.student_user_id)
            .join(
                Membership,
                (Membership.academy_id == Guardianship.academy_id)
                & (Membership.user_id == Guardianship.student_user_id),
            )
            .where(
                Guardianship.academy_id == self.academy_id,
                Guardianship.parent_user_id.in_(parent_user_ids),
                Membership.is_active.is_(True),
            )
            .order_by(User.name)
        )
        children: dict[int, list[User]] = {}
        for parent_id, child in result:
            children.setdefault(parent_id, []).append(child)
        return children

    async def add(self, guardianship: Guardianship) -> Guardianship:
        assert guardianship.academy_id == self.academy_id
        self.session.add(guardianship)
        await self.session.flush()
        return guardianship

    async def remove(self, guardianship: Guardianship) -> None:
        assert guardianship.academy_id == self.academy_id
        await self.session.delete(guardianship)
        await self.session.flush()


class ApiKeyRepository(TenantRepository):
    async def get(self, key_id: int) -> ApiKey | None:
        result = await self.session.scalars(self._scoped(ApiKey).where(ApiKey.id == key_id))
        return result.one_or_none()

    async def page(self, offset: int, limit: int) -> tuple[Sequence[ApiKey], int]:
        query = self._scoped(ApiKey)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(ApiKey.id.desc()).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def add(self, key: ApiKey) -> ApiKey:
        assert key.academy_id == self.academy_id
        self.session.add(key)
        await self.session.flush()
        return key


class AuditRepository(TenantRepository):
    async def page(
        self, *, action: str | None, offset: int, limit: int
    ) -> tuple[Sequence[AuditEntry], int]:
        query = self._scoped(AuditEntry)
        if action:
            query = query.where(AuditEntry.action == action)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
        )
        return rows.all(), total or 0


async def add_audit_entry(session: AsyncSession, entry: AuditEntry) -> None:
    """Audit entries are only ever inserted (the tables' triggers refuse the rest)."""
    session.add(entry)
    await session.flush()


class AuthRepository:
    """Lookups made before any academy is known: tokens, API keys, login attempts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def token_by_digest(self, digest: str) -> tuple[AuthToken, User] | None:
        result = await self.session.execute(
            select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(AuthToken.digest == digest)
        )
        row = result.one_or_none()
        return (row[0], row[1]) if row else None

    async def api_key_by_digest(self, digest: str) -> ApiKey | None:
        result = await self.session.scalars(select(ApiKey).where(ApiKey.digest == digest))
        return result.one_or_none()

    async def add_token(self, token: AuthToken) -> AuthToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def revoke_token(self, token_id: int, now: datetime) -> None:
        await self.session.execute(
            update(AuthToken)
            .where(AuthToken.id == token_id, AuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_tokens(
        self, user_id: int, purpose: str, now: datetime, *, except_id: int | None = None
    ) -> int:
        statement = update(AuthToken).where(
            AuthToken.user_id == user_id,
            AuthToken.purpose == purpose,
            AuthToken.revoked_at.is_(None),
        )
        if except_id is not None:
            statement = statement.where(AuthToken.id != except_id)
        result = await self.session.execute(statement.values(revoked_at=now))
        return int(getattr(result, "rowcount", 0))

    async def failures_since(
        self, column: str, value: str, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many failed logins for an account or address since `since`, and the oldest."""
        field: Any = getattr(LoginAttempt, column)
        count, oldest = (
            await self.session.execute(
                select(func.count(), func.min(LoginAttempt.created_at)).where(
                    field == value, LoginAttempt.created_at >= since
                )
            )
        ).one()
        if isinstance(oldest, str):  # SQLite hands aggregates back untyped
            oldest = datetime.fromisoformat(oldest)
        return int(count), oldest

    async def add_failure(self, email_key: str, address: str, now: datetime) -> None:
        self.session.add(LoginAttempt(email_key=email_key, address=address, created_at=now))
        await self.session.flush()

    async def clear_failures(self, email_key: str) -> None:
        await self.session.execute(delete(LoginAttempt).where(LoginAttempt.email_key == email_key))

    async def purge(self, *, tokens_expired_before: datetime, attempts_before: datetime) -> int:
        tokens = await self.session.execute(
            delete(AuthToken).where(AuthToken.expires_at < tokens_expired_before)
        )
        attempts = await self.session.execute(
            delete(LoginAttempt).where(LoginAttempt.created_at < attempts_before)
        )
        return int(getattr(tokens, "rowcount", 0)) + int(getattr(attempts, "rowcount", 0))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
