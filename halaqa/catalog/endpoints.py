"""HTTP API for groups and enrollments: parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.repository import UserRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.schemas import PersonRef
from halaqa.catalog import service
from halaqa.catalog.lifecycle import (
    GROUP_TRANSITIONS,
    EnrollmentStatus,
    GroupKind,
    GroupStatus,
    enrolment_open,
)
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.schemas import (
    EnrollmentCreate,
    EnrollmentOut,
    EnrollmentStatusChange,
    GroupCreate,
    GroupOut,
    GroupStatusChange,
    GroupUpdate,
)
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import Enrollment, Group

groups_router = APIRouter(prefix="/api/v1/academies/{slug}/groups", tags=["groups"])

Pages = Annotated[PageParams, Depends(page_params)]
AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Staff = Annotated[AcademyContext, Depends(require_roles(*STAFF))]
StaffOrStudent = Annotated[AcademyContext, Depends(require_roles(*STAFF, Role.STUDENT))]
# FastAPI's Path carries the bounds (a bare pydantic Field is ignored for path parameters), so an
# id past 64 bits is a 422, never a database error.
PathId = Annotated[int, Path(ge=1, le=2**62)]
QueryId = Annotated[int | None, Query(ge=1, le=2**62)]


# --- shaping ---------------------------------------------------------------------------------


async def _names(rt: Runtime, user_ids: set[int]) -> dict[int, str]:
    return {u.id: u.name for u in await UserRepository(rt.session).get_many(user_ids)}


async def _groups_out(rt: Runtime, ctx: AcademyContext, groups: Sequence[Group]) -> list[GroupOut]:
    names = await _names(rt, {g.teacher_user_id for g in groups})
    enrolled = await GroupRepository(rt.session, ctx.academy.id).enrolled_counts(
        [g.id for g in groups]
    )
    return [
        GroupOut(
            id=g.id,
            kind=GroupKind(g.kind),
            name=g.name,
            description=g.description,
            teacher=PersonRef(user_id=g.teacher_user_id, name=names[g.teacher_user_id]),
            capacity=g.capacity,
            enrolled=enrolled.get(g.id, 0),
            time_zone=g.time_zone,
            meeting_url=g.meeting_url,
            status=GroupStatus(g.status),
            enrolment_open=enrolment_open(GroupStatus(g.status)),
            next_statuses=sorted(GROUP_TRANSITIONS[GroupStatus(g.status)]),
            created_at=g.created_at,
            updated_at=g.updated_at,
        )
        for g in groups
    ]


async def _group_out(rt: Runtime, ctx: AcademyContext, group: Group) -> GroupOut:
    return (await _groups_out(rt, ctx, [group]))[0]


async def _enrollments_out(rt: Runtime, enrollments: Sequence[Enrollment]) -> list[EnrollmentOut]:
    names = await _names(rt, {e.student_user_id for e in enrollments})
    return [
        EnrollmentOut(
            id=e.id,
            group_id=e.group_id,
            student=PersonRef(user_id=e.student_user_id, name=names[e.student_user_id]),
            status=EnrollmentStatus(e.status),
            enrolled_at=e.enrolled_at,
            ended_at=e.ended_at,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )
        for e in enrollments
    ]


# --- groups ----------------------------------------------------------------------------------


@groups_router.get(
    "",
    response_model=Page[GroupOut],
    summary="Groups you may see: staff all, teachers theirs, students theirs and open courses, "
    "parents their children's",
)
async def list_groups(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    kind: GroupKind | None = None,
    status: GroupStatus | None = None,
    teacher_user_id: QueryId = None,
) -> Page[GroupOut]:
    rows, total = await service.list_groups(
        rt,
        ctx,
        pages,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        teacher_user_id=teacher_user_id,
    )
    return Page.of(await _groups_out(rt, ctx, rows), total, pages)


@groups_router.post(
    "",
    status_code=201,
    response_model=GroupOut,
    summary="Create a circle, course or interactive course",
)
async def create_group(body: GroupCreate, ctx: Staff, rt: CurrentRuntime) -> GroupOut:
    return await _group_out(rt, ctx, await service.create_group(rt, ctx, body))


@groups_router.get("/{group_id}", response_model=GroupOut, summary="One group")
async def get_group(group_id: PathId, ctx: AnyMember, rt: CurrentRuntime) -> GroupOut:
    return await _group_out(rt, ctx, await service.get_group(rt, ctx, group_id))


@groups_router.patch(
    "/{group_id}",
    response_model=GroupOut,
    summary="Rename, describe, change teacher, capacity or time zone",
)
async def update_group(
    group_id: PathId, body: GroupUpdate, ctx: Staff, rt: CurrentRuntime
) -> GroupOut:
    return await _group_out(rt, ctx, await service.update_group(rt, ctx, group_id, body))


@groups_router.post(
    "/{group_id}/status",
    response_model=GroupOut,
    summary="Publish, start, complete or cancel a group (ending one ends its open enrollments)",
)
async def change_group_status(
    group_id: PathId, body: GroupStatusChange, ctx: Staff, rt: CurrentRuntime
) -> GroupOut:
    group = await service.change_group_status(rt, ctx, group_id, body.status)
    return await _group_out(rt, ctx, group)


# --- enrollments -----------------------------------------------------------------------------


@groups_router.get(
    "/{group_id}/enrollments",
    response_model=Page[EnrollmentOut],
    summary="A group's enrollments: staff and its teacher all, students their own, parents "
    "their children's",
)
async def list_enrollments(
    group_id: PathId,
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    status: EnrollmentStatus | None = None,
    student_user_id: QueryId = None,
) -> Page[EnrollmentOut]:
    rows, total = await service.list_enrollments(
        rt,
        ctx,
        group_id,
        pages,
        status=status.value if status else None,
        student_user_id=student_user_id,
    )
    return Page.of(await _enrollments_out(rt, rows), total, pages)


@groups_router.post(
    "/{group_id}/enrollments",
    status_code=201,
    response_model=EnrollmentOut,
    summary="Staff enrol a student; a student asks for a place (pending)",
)
async def enrol(
    group_id: PathId, body: EnrollmentCreate, ctx: StaffOrStudent, rt: CurrentRuntime
) -> EnrollmentOut:
    enrollment = await service.enrol(rt, ctx, group_id, body)
    return (await _enrollments_out(rt, [enrollment]))[0]


@groups_router.patch(
    "/{group_id}/enrollments/{enrollment_id}",
    response_model=EnrollmentOut,
    summary="Staff approve, decline, complete or cancel; a student cancels their own",
)
async def change_enrollment_status(
    group_id: PathId,
    enrollment_id: PathId,
    body: EnrollmentStatusChange,
    ctx: StaffOrStudent,
    rt: CurrentRuntime,
) -> EnrollmentOut:
    enrollment = await service.change_enrollment_status(
        rt, ctx, group_id, enrollment_id, body.status
    )
    return (await _enrollments_out(rt, [enrollment]))[0]
