"""Rules for groups and enrollments: who may do what, capacity, and the status machines applied.
Services flush but never commit; every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from halaqa.academies.auth import AcademyContext, Actor
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.service import audit, require_member_with_role
from halaqa.catalog.lifecycle import (
    ON_GROUP_END,
    EnrollmentStatus,
    GroupStatus,
    InvalidTransition,
    check_enrollment_transition,
    check_group_transition,
    enrolment_open,
    initial_group_status,
)
from halaqa.catalog.repository import EnrollmentRepository, GroupRepository, Viewer
from halaqa.catalog.schemas import EnrollmentCreate, GroupCreate, GroupUpdate
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.kit.pagination import PageParams
from halaqa.models import Enrollment, Group
from halaqa.scheduling.roster import (
    RosterChange,
    join_upcoming_sessions,
    leave_upcoming_sessions,
)


def viewer_of(ctx: AcademyContext) -> Viewer:
    return Viewer(
        user_id=ctx.user_id,
        sees_all=bool(ctx.roles & STAFF),
        teaches=Role.TEACHER in ctx.roles,
        studies=Role.STUDENT in ctx.roles,
        parents=Role.PARENT in ctx.roles,
    )


def _transition_refused(error: InvalidTransition) -> Conflict:
    return Conflict(
        str(error),
        code="invalid_transition",
        details={"from": error.current, "to": error.target, "allowed": error.allowed},
    )


# --- groups ----------------------------------------------------------------------------------


def group_snapshot(group: Group) -> dict[str, Any]:
    return {
        "kind": group.kind,
        "name": group.name,
        "description": group.description,
        "teacher_user_id": group.teacher_user_id,
        "capacity": group.capacity,
        "time_zone": group.time_zone,
        "meeting_url": group.meeting_url,
        "status": group.status,
    }


async def get_group(
    rt: Runtime, ctx: AcademyContext, group_id: int, *, lock: bool = False
) -> Group:
    """The group, if the caller may see it; otherwise 404, exactly as for another academy's."""
    group = await GroupRepository(rt.session, ctx.academy.id).get(
        viewer_of(ctx), group_id, lock=lock
    )
    if group is None:
        raise NotFound(f"no group {group_id} in this academy")
    return group


async def list_groups(
    rt: Runtime,
    ctx: AcademyContext,
    pages: PageParams,
    *,
    kind: str | None = None,
    status: str | None = None,
    teacher_user_id: int | None = None,
) -> tuple[Sequence[Group], int]:
    return await GroupRepository(rt.session, ctx.academy.id).page(
        viewer_of(ctx),
        kind=kind,
        status=status,
        teacher_user_id=teacher_user_id,
        offset=pages.offset,
        limit=pages.per_page,
    )


async def create_group(rt: Runtime, ctx: AcademyContext, data: GroupCreate) -> Group:
    await require_member_with_role(rt, ctx, "teacher_user_id", data.teacher_user_id, Role.TEACHER)
    group = await GroupRepository(rt.session, ctx.academy.id).add(
        Group(
            academy_id=ctx.academy.id,
            kind=data.kind.value,
            name=data.name,
            description=data.description,
            teacher_user_id=data.teacher_user_id,
            capacity=data.capacity,
            time_zone=data.time_zone,
            meeting_url=data.meeting_url,
            status=initial_group_status(data.kind).value,
        )
    )
    await audit(
        rt,
        ctx.actor,
        "group.created",
        academy_id=ctx.academy.id,
        entity_type="group",
        entity_id=group.id,
        after=group_snapshot(group),
    )
    return group


async def update_group(rt: Runtime, ctx: AcademyContext, group_id: int, data: GroupUpdate) -> Group:
    group = await get_group(rt, ctx, group_id, lock=True)
    before = group_snapshot(group)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "teacher_user_id"):
        if field in changes and changes[field] is None:
            raise InvalidInput.field(field, "may be left out but not null")
    if "teacher_user_id" in changes and changes["teacher_user_id"] != group.teacher_user_id:
        await require_member_with_role(
            rt, ctx, "teacher_user_id", changes["teacher_user_id"], Role.TEACHER
        )
    if changes.get("capacity") is not None:
        enrolled = await EnrollmentRepository(rt.session, ctx.academy.id).count_enrolled(group)
        if changes["capacity"] < enrolled:
            raise Conflict(
                f"{enrolled} students are enrolled; the capacity cannot go below that",
                code="capacity_below_enrolled",
                details={"enrolled": enrolled},
            )
    for field, value in changes.items():
        setattr(group, field, value)
    await rt.session.flush()
    await audit(
        rt,
        ctx.actor,
        "group.updated",
        academy_id=ctx.academy.id,
        entity_type="group",
        entity_id=group.id,
        before=before,
        after=group_snapshot(group),
    )
    return group


async def change_group_status(
    rt: Runtime, ctx: AcademyContext, group_id: int, target: GroupStatus
) -> Group:
    group = await get_group(rt, ctx, group_id, lock=True)
    await _move_group(rt, ctx.actor, group, target)
    return group


async def _move_group(rt: Runtime, actor: Actor, group: Group, target: GroupStatus) -> None:
    """The one place a group's status changes: checked against the lifecycle and audited; a group
    that ends takes its open enrollments with it (ON_GROUP_END)."""
    current = GroupStatus(group.status)
    try:
        check_group_transition(current, target)
    except InvalidTransition as error:
        raise _transition_refused(error) from None
    group.status = target.value
    await rt.session.flush()
    await audit(
        rt,
        actor,
        "group.status_changed",
        academy_id=group.academy_id,
        entity_type="group",
        entity_id=group.id,
        before={"status": current.value},
        after={"status": target.value},
    )
    follow = ON_GROUP_END.get(target)
    if follow is None:
        return
    for enrollment in await EnrollmentRepository(rt.session, group.academy_id).all_open(group):
        next_status = follow[EnrollmentStatus(enrollment.status)]
        await _move_enrollment(rt, actor, group, enrollment, next_status)


# --- enrollments -----------------------------------------------------------------------------


def enrollment_snapshot(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "group_id": enrollment.group_id,
        "student_user_id": enrollment.student_user_id,
        "status": enrollment.status,
    }


async def list_enrollments(
    rt: Runtime,
    ctx: AcademyContext,
    group_id: int,
    pages: PageParams,
    *,
    status: str | None = None,
    student_user_id: int | None = None,
) -> tuple[Sequence[Enrollment], int]:
    group = await get_group(rt, ctx, group_id)
    return await EnrollmentRepository(rt.session, ctx.academy.id).page(
        viewer_of(ctx),
        group,
        status=status,
        student_user_id=student_user_id,
        offset=pages.offset,
        limit=pages.per_page,
    )


async def enrol(
    rt: Runtime, ctx: AcademyContext, group_id: int, data: EnrollmentCreate
) -> Enrollment:
    """Staff enrol a student (enrolled, or pending when asked); a student asks for a place for
    themself, which stays pending until staff approve it."""
    group = await get_group(rt, ctx, group_id, lock=True)
    if ctx.roles & STAFF:
        if data.student_user_id is None:
            raise InvalidInput.field("student_user_id", "name the student to enrol")
        student_user_id = data.student_user_id
        target = EnrollmentStatus(data.status or EnrollmentStatus.ENROLLED)
    else:
        assert ctx.user_id is not None  # a key without a staff role sees no group
        if data.student_user_id not in (None, ctx.user_id):
            raise Forbidden("students may only ask for a place for themselves")
        if data.status == EnrollmentStatus.ENROLLED.value:
            raise Forbidden("only staff enrol directly; ask for a place (pending) instead")
        student_user_id, target = ctx.user_id, EnrollmentStatus.PENDING
    await require_member_with_role(rt, ctx, "student_user_id", student_user_id, Role.STUDENT)
    _check_open(group)
    enrollments = EnrollmentRepository(rt.session, ctx.academy.id)
    if await enrollments.open_of(group, student_user_id) is not None:
        raise Conflict(
            f"user {student_user_id} already has a pending or enrolled enrollment in this group",
            code="already_enrolled",
        )
    # Every enrollment starts as a request; becoming enrolled goes through the lifecycle, which
    # is where the seat is checked.
    enrollment = await enrollments.add(
        Enrollment(
            academy_id=ctx.academy.id,
            group_id=group.id,
            student_user_id=student_user_id,
            status=EnrollmentStatus.PENDING.value,
        )
    )
    roster = None
    if target is EnrollmentStatus.ENROLLED:
        roster = await _apply_enrollment_status(rt, group, enrollment, target)
    await audit(
        rt,
        ctx.actor,
        "enrollment.created",
        academy_id=ctx.academy.id,
        entity_type="enrollment",
        entity_id=enrollment.id,
        after=_with_roster(enrollment_snapshot(enrollment), roster),
    )
    return enrollment


async def change_enrollment_status(
    rt: Runtime,
    ctx: AcademyContext,
    group_id: int,
    enrollment_id: int,
    target: EnrollmentStatus,
) -> Enrollment:
    """Staff approve, decline, complete or cancel; a student may only cancel their own."""
    group = await get_group(rt, ctx, group_id, lock=True)
    enrollment = await EnrollmentRepository(rt.session, ctx.academy.id).get(
        viewer_of(ctx), group, enrollment_id
    )
    if enrollment is None:
        raise NotFound(f"no enrollment {enrollment_id} in this group")
    if not ctx.roles & STAFF and (
        target is not EnrollmentStatus.CANCELLED or enrollment.student_user_id != ctx.user_id
    ):
        raise Forbidden("students may only cancel their own enrollment")
    await _move_enrollment(rt, ctx.actor, group, enrollment, target)
    return enrollment


def _check_open(group: Group) -> None:
    if not enrolment_open(GroupStatus(group.status)):
        raise Conflict(
            f"this group is {group.status}; enrolment is open only while it is published or active",
            code="enrollment_closed",
        )


async def _move_enrollment(
    rt: Runtime, actor: Actor, group: Group, enrollment: Enrollment, target: EnrollmentStatus
) -> None:
    before = enrollment_snapshot(enrollment)
    roster = await _apply_enrollment_status(rt, group, enrollment, target)
    await audit(
        rt,
        actor,
        "enrollment.status_changed",
        academy_id=group.academy_id,
        entity_type="enrollment",
        entity_id=enrollment.id,
        before=before,
        after=_with_roster(enrollment_snapshot(enrollment), roster),
    )


def _with_roster(snapshot: dict[str, Any], roster: RosterChange | None) -> dict[str, Any]:
    return snapshot if roster is None else {**snapshot, "sessions": roster.summary()}


async def _apply_enrollment_status(
    rt: Runtime, group: Group, enrollment: Enrollment, target: EnrollmentStatus
) -> RosterChange | None:
    """The one place an enrollment's status changes: checked against the lifecycle, and a place
    is taken only while the group is open and has one free. The caller holds the group's row
    lock, so the seat count cannot change between the check and the commit. The student joins
    (or leaves) the group's sessions that have not begun."""
    current = EnrollmentStatus(enrollment.status)
    try:
        check_enrollment_transition(current, target)
    except InvalidTransition as error:
        raise _transition_refused(error) from None
    now = rt.clock.now()
    if target is EnrollmentStatus.ENROLLED:
        _check_open(group)
        enrolled = await EnrollmentRepository(rt.session, group.academy_id).count_enrolled(group)
        if group.capacity is not None and enrolled >= group.capacity:
            raise Conflict(
                f"all {group.capacity} places in this group are taken",
                code="group_full",
                details={"capacity": group.capacity, "enrolled": enrolled},
            )
        enrollment.enrolled_at = now
    else:
        enrollment.ended_at = now
    enrollment.status = target.value
    await rt.session.flush()
    academy = await AcademyRepository(rt.session).get(group.academy_id)
    assert academy is not None
    if target is EnrollmentStatus.ENROLLED:
        return await join_upcoming_sessions(rt, academy, group, enrollment.student_user_id)
    if current is EnrollmentStatus.ENROLLED:
        return await leave_upcoming_sessions(rt, academy, group, enrollment.student_user_id)
    return None
