"""/admin/groups: groups, creating one, its details and status changes, and its enrollments
(enrolling, approving, withdrawing). The same services and roles (staff) as the groups API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.academies.roles import Role
from halaqa.catalog import service
from halaqa.catalog.lifecycle import (
    ENROLLMENT_TRANSITIONS,
    GROUP_TRANSITIONS,
    EnrollmentStatus,
    GroupStatus,
    enrolment_open,
)
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.schemas import (
    EnrollmentCreate,
    EnrollmentStatusChange,
    GroupCreate,
    GroupStatusChange,
    GroupUpdate,
)
from halaqa.kit.pagination import PageParams
from halaqa.models import Group
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import Paging, Rerender, StaffPage, choices, names, show, submit

router = APIRouter()
GroupId = Annotated[int, Path(ge=1, le=2**62)]
EnrollmentId = Annotated[int, Path(ge=1, le=2**62)]


def _filter(page: AcademyPage, name: str, allowed: dict[str, str]) -> str | None:
    value = page.visitor.request.query_params.get(name)
    return value if value in allowed else None


async def _groups_page(
    page: AcademyPage,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    status = _filter(page, "status", labels.GROUP_STATUSES)
    kind = _filter(page, "kind", labels.GROUP_KINDS)
    groups, total = await service.list_groups(page.rt, page.ctx, paging, kind=kind, status=status)
    counts = await GroupRepository(page.rt.session, page.academy.id).enrolled_counts(
        [g.id for g in groups]
    )
    return show(
        page,
        "groups.html",
        status_code,
        groups=groups,
        total=total,
        paging=paging,
        counts=counts,
        teachers_named=await names(page, {g.teacher_user_id for g in groups}),
        teachers=await choices(page, Role.TEACHER),
        status=status or "",
        kind=kind or "",
        labels=labels,
        form=form or {"kind": "circle"},
        errors=errors or {},
    )


@router.get("/admin/groups")
async def groups(slug: str, page: StaffPage, paging: Paging) -> Response:
    return await _groups_page(page, paging)


@router.post("/admin/groups")
async def create_group(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    data = await read_form(request)
    return await submit(
        page,
        data,
        GroupCreate,
        lambda body: service.create_group(page.rt, page.ctx, body),
        lambda status, errors: _groups_page(page, paging, status, form=data, errors=errors),
        lambda group: f"/admin/groups/{group.id}",
    )


def _group_form(group: Group) -> dict[str, Any]:
    return {
        "name": group.name,
        "description": group.description or "",
        "teacher_user_id": str(group.teacher_user_id),
        "capacity": group.capacity or "",
        "time_zone": group.time_zone or "",
        "meeting_url": group.meeting_url or "",
    }


async def _group_page(
    page: AcademyPage,
    group_id: int,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    group = await service.get_group(page.rt, page.ctx, group_id)
    enrollments, total = await service.list_enrollments(page.rt, page.ctx, group_id, paging)
    enrolled = await GroupRepository(page.rt.session, page.academy.id).enrolled_counts([group.id])
    status = GroupStatus(group.status)
    return show(
        page,
        "group.html",
        status_code,
        group=group,
        enrolled=enrolled.get(group.id, 0),
        next_statuses=sorted(GROUP_TRANSITIONS[status]),
        open=enrolment_open(status),
        enrollments=enrollments,
        total=total,
        paging=paging,
        moves={
            e.id: sorted(ENROLLMENT_TRANSITIONS[EnrollmentStatus(e.status)]) for e in enrollments
        },
        people=await names(
            page, {group.teacher_user_id} | {e.student_user_id for e in enrollments}
        ),
        teachers=await choices(page, Role.TEACHER),
        students=await choices(page, Role.STUDENT),
        labels=labels,
        form=form or _group_form(group),
        errors=errors or {},
    )


@router.get("/admin/groups/{group_id}")
async def group(slug: str, group_id: GroupId, page: StaffPage, paging: Paging) -> Response:
    return await _group_page(page, group_id, paging)


def _again(
    page: AcademyPage, group_id: int, paging: PageParams, form: dict[str, Any] | None = None
) -> Rerender:
    """The group's page again, with what was wrong with one of its forms."""
    return lambda status, errors: _group_page(
        page, group_id, paging, status, form=form, errors=errors
    )


@router.post("/admin/groups/{group_id}")
async def update_group(
    slug: str, group_id: GroupId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    data = await read_form(request)
    return await submit(
        page,
        data,
        GroupUpdate,
        lambda body: service.update_group(page.rt, page.ctx, group_id, body),
        _again(page, group_id, paging, data),
        f"/admin/groups/{group_id}",
    )


@router.post("/admin/groups/{group_id}/status")
async def change_status(
    slug: str, group_id: GroupId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await submit(
        page,
        await read_form(request),
        GroupStatusChange,
        lambda body: service.change_group_status(page.rt, page.ctx, group_id, body.status),
        _again(page, group_id, paging),
        f"/admin/groups/{group_id}",
    )


@router.post("/admin/groups/{group_id}/enrollments")
async def enrol(
    slug: str, group_id: GroupId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await submit(
        page,
        await read_form(request),
        EnrollmentCreate,
        lambda body: service.enrol(page.rt, page.ctx, group_id, body),
        _again(page, group_id, paging),
        f"/admin/groups/{group_id}#enrollments",
    )


@router.post("/admin/groups/{group_id}/enrollments/{enrollment_id}")
async def change_enrollment(
    slug: str,
    group_id: GroupId,
    enrollment_id: EnrollmentId,
    request: Request,
    page: StaffPage,
    paging: Paging,
) -> Response:
    return await submit(
        page,
        await read_form(request),
        EnrollmentStatusChange,
        lambda body: service.change_enrollment_status(
            page.rt, page.ctx, group_id, enrollment_id, body.status
        ),
        _again(page, group_id, paging),
        f"/admin/groups/{group_id}#enrollments",
    )
