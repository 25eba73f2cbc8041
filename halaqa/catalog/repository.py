"""All SQL for groups and enrollments, scoped by academy (TenantRepository) and by viewer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true

from halaqa.academies.repository import TenantRepository
from halaqa.catalog.lifecycle import ENROLMENT_OPEN, OPEN_ENROLLMENT, EnrollmentStatus, GroupKind
from halaqa.models import Enrollment, Group, Guardianship, Membership

# Courses are advertised: a student sees those taking students, so they can ask for a place.
# Circles are formed by staff and stay out of a student's sight until they are in one.
ADVERTISED_KINDS = frozenset({GroupKind.COURSE, GroupKind.INTERACTIVE_COURSE})


@dataclass(frozen=True)
class Viewer:
    """Whose eyes a query looks through. Staff see the whole academy; everyone else sees what
    concerns them as a person, so an API key without a staff role (it is nobody) sees nothing."""

    user_id: int | None
    sees_all: bool = False
    teaches: bool = False
    studies: bool = False
    parents: bool = False


class GroupRepository(TenantRepository):
    async def get(self, viewer: Viewer, group_id: int, *, lock: bool = False) -> Group | None:
        """The group if `viewer` may see it. With `lock`, its row stays locked until the
        transaction ends (PostgreSQL; SQLite has one writer at a time anyway), so seat counts
        and status checks made after it cannot be overtaken by a concurrent request."""
        query = self._scoped(Group).where(Group.id == group_id, self._visible(viewer))
        if lock:
            # populate_existing: the values read under the lock win over any read before it.
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).one_or_none()

    async def page(
        self,
        viewer: Viewer,
        *,
        kind: str | None,
        status: str | None,
        teacher_user_id: int | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Group], int]:
        query = self._scoped(Group).where(self._visible(viewer))
        if kind is not None:
            query = query.where(Group.kind == kind)
        if status is not None:
            query = query.where(Group.status == status)
        if teacher_user_id is not None:
            query = query.where(Group.teacher_user_id == teacher_user_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Group.name, Group.id).offset(offset).limit(limit)
        )
        return rows.all(), total or 0

    async def enrolled_counts(self, group_ids: Sequence[int]) -> dict[int, int]:
        """Places taken (enrolled students) per group."""
        if not group_ids:
            return {}
        result = await self.session.execute(
            select(Enrollment.group_id, func.count())
            .where(
                Enrollment.academy_id == self.academy_id,
                Enrollment.group_id.in_(group_ids),
                Enrollment.status == EnrollmentStatus.ENROLLED.value,
            )
            .group_by(Enrollment.group_id)
        )
        return {group_id: int(count) for group_id, count in result}

    async def add(self, group: Group) -> Group:
        assert group.academy_id == self.academy_id
        self.session.add(group)
        await self.session.flush()
        return group

    def _visible(self, viewer: Viewer) -> ColumnElement[bool]:
        if viewer.sees_all:
            return true()
        if viewer.user_id is None:
            return false()
        seen: list[ColumnElement[bool]] = []
        if viewer.teaches:
            seen.append(Group.teacher_user_id == viewer.user_id)
        if viewer.studies:
            seen.append(Group.id.in_(self._groups_of(Enrollment.student_user_id == viewer.user_id)))
            seen.append(
                and_(
                    Group.kind.in_([k.value for k in ADVERTISED_KINDS]),
                    Group.status.in_([s.value for s in ENROLMENT_OPEN]),
                )
            )
        if viewer.parents:
            children = Enrollment.student_user_id.in_(_children_of(self.academy_id, viewer.user_id))
            seen.append(Group.id.in_(self._groups_of(children)))
        return or_(false(), *seen)

    def _groups_of(self, whose: ColumnElement[bool]) -> Select[int]:
        """Groups in which the students `whose` picks have (or had) an enrollment."""
        return select(Enrollment.group_id).where(Enrollment.academy_id == self.academy_id, whose)


class EnrollmentRepository(TenantRepository):
    async def get(self, viewer: Viewer, group: Group, enrollment_id: int) -> Enrollment | None:
        result = await self.session.scalars(
            self._in_group(group).where(
                Enrollment.id == enrollment_id, self._visible(viewer, group)
            )
        )
        return result.one_or_none()

    async def page(
        self,
        viewer: Viewer,
        group: Group,
        *,
        status: str | None,
        student_user_id: int | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Enrollment], int]:
        query = self._in_group(group).where(self._visible(viewer, group))
        if status is not None:
            query = query.where(Enrollment.status == status)
        if student_user_id is not None:
            query = query.where(Enrollment.student_user_id == student_user_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(query.order_by(Enrollment.id).offset(offset).limit(limit))
        return rows.all(), total or 0

    async def open_of(self, group: Group, student_user_id: int) -> Enrollment | None:
        """The student's pending or enrolled enrollment in the group, if any (at most one)."""
        result = await self.session.scalars(
            self._in_group(group).where(
                Enrollment.student_user_id == student_user_id,
                Enrollment.status.in_([s.value for s in OPEN_ENROLLMENT]),
            )
        )
        return result.one_or_none()

    async def all_open(self, group: Group) -> Sequence[Enrollment]:
        result = await self.session.scalars(
            self._in_group(group)
            .where(Enrollment.status.in_([s.value for s in OPEN_ENROLLMENT]))
            .order_by(Enrollment.id)
        )
        return result.all()

    async def count_enrolled(self, group: Group) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(
                Enrollment.academy_id == self.academy_id,
                Enrollment.group_id == group.id,
                Enrollment.status == EnrollmentStatus.ENROLLED.value,
            )
        )
        return count or 0

    async def add(self, enrollment: Enrollment) -> Enrollment:
        assert enrollment.academy_id == self.academy_id
        self.session.add(enrollment)
        await self.session.flush()
        return enrollment

    def _in_group(self, group: Group) -> Select[Enrollment]:
        assert group.academy_id == self.academy_id
        return self._scoped(Enrollment).where(Enrollment.group_id == group.id)

    def _visible(self, viewer: Viewer, group: Group) -> ColumnElement[bool]:
        """Within a group the viewer sees: staff and the group's teacher, the whole roster;
        students, their own enrollments; parents, their children's."""
        if viewer.sees_all or (viewer.teaches and group.teacher_user_id == viewer.user_id):
            return true()
        if viewer.user_id is None:
            return false()
        seen: list[ColumnElement[bool]] = []
        if viewer.studies:
            seen.append(Enrollment.student_user_id == viewer.user_id)
        if viewer.parents:
            seen.append(
                Enrollment.student_user_id.in_(_children_of(self.academy_id, viewer.user_id))
            )
        return or_(false(), *seen)


def _children_of(academy_id: int, parent_user_id: int) -> Select[int]:
    """The parent's linked students whose membership is active (as everywhere children are
    shown: a deactivated member is nobody's child here)."""
    return (
        select(Guardianship.student_user_id)
        .join(
            Membership,
            (Membership.academy_id == Guardianship.academy_id)
            & (Membership.user_id == Guardianship.student_user_id),
        )
        .where(
            Guardianship.academy_id == academy_id,
            Guardianship.parent_user_id == parent_user_id,
            Membership.is_active.is_(True),
        )
    )
