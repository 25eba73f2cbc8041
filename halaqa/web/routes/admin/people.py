"""/admin/people: members and their roles, adding a member (with a password or an invitation),
changing roles or deactivating, and linking parents to students. Staff see; admins change, as
in the API."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.academies import service
from halaqa.academies.repository import GuardianshipRepository, MemberRepository
from halaqa.academies.roles import Role
from halaqa.academies.schemas import GuardianshipCreate, MemberCreate, MemberUpdate
from halaqa.exceptions import NotFound
from halaqa.kit.pagination import PageParams
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage, see_other
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import (
    AdminPage,
    Paging,
    StaffPage,
    as_list,
    choices,
    names,
    saved,
    show,
    submit,
)

router = APIRouter()
UserId = Annotated[int, Path(ge=1, le=2**62)]
LinkId = Annotated[int, Path(ge=1, le=2**62)]
# Guardianships listed on the page; an academy with more narrows them through the API.
LINKS_SHOWN = 100


def _filters(page: AcademyPage) -> tuple[str | None, str | None]:
    query = page.visitor.request.query_params
    search = (query.get("q") or "").strip()[:100] or None
    role = query.get("role") if query.get("role") in labels.ROLES else None
    return search, role


async def _people_page(
    page: AcademyPage,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
    invitation: service.Member | None = None,
) -> Response:
    search, role = _filters(page)
    members, total = await MemberRepository(page.rt.session, page.academy.id).page(
        search=search, role=role, active=None, offset=paging.offset, limit=paging.per_page
    )
    links, _ = await GuardianshipRepository(page.rt.session, page.academy.id).page(
        parent_user_id=None, student_user_id=None, offset=0, limit=LINKS_SHOWN
    )
    linked = await names(
        page, {g.parent_user_id for g in links} | {g.student_user_id for g in links}
    )
    return show(
        page,
        "people.html",
        status_code,
        members=members,
        total=total,
        paging=paging,
        search=search or "",
        role=role or "",
        role_labels=labels.ROLES,
        links=links,
        linked=linked,
        parents=await choices(page, Role.PARENT),
        students=await choices(page, Role.STUDENT),
        form=form or {},
        errors=errors or {},
        invitation=invitation,
    )


@router.get("/admin/people")
async def people(slug: str, page: StaffPage, paging: Paging) -> Response:
    return await _people_page(page, paging)


@router.post("/admin/people")
async def add_member(slug: str, request: Request, page: AdminPage, paging: Paging) -> Response:
    data = await read_form(request)
    data["roles"] = as_list(data.get("roles"))
    form = {k: v for k, v in data.items() if k != "password"}

    def then(added: service.Member) -> str | Awaitable[Response]:
        if added.invitation is None:
            return "/admin/people"
        # The invitation is shown once, here, as the API shows it once in its answer.
        return _people_page(page, paging, 201, invitation=added)

    return await submit(
        page,
        data,
        MemberCreate,
        lambda body: service.add_member(page.rt, page.ctx, body),
        lambda status, errors: _people_page(page, paging, status, form=form, errors=errors),
        then,
    )


@router.post("/admin/guardianships")
async def link_guardian(slug: str, request: Request, page: AdminPage, paging: Paging) -> Response:
    data = await read_form(request)
    return await submit(
        page,
        data,
        GuardianshipCreate,
        lambda body: service.link_guardian(page.rt, page.ctx, body),
        lambda status, errors: _people_page(page, paging, status, form=data, errors=errors),
        "/admin/people#links",
    )


@router.post("/admin/guardianships/{link_id}/remove")
async def unlink_guardian(slug: str, link_id: LinkId, page: AdminPage) -> Response:
    await service.unlink_guardian(page.rt, page.ctx, link_id)
    return see_other(saved(page, "/admin/people#links"))


async def _member_page(
    page: AcademyPage,
    user_id: int,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    member = await service.get_member(page.rt, page.ctx, user_id)
    links, _ = await GuardianshipRepository(page.rt.session, page.academy.id).page(
        parent_user_id=None, student_user_id=None, offset=0, limit=LINKS_SHOWN
    )
    mine = [g for g in links if user_id in (g.parent_user_id, g.student_user_id)]
    current = {
        "roles": sorted(member.membership.role_names),
        "is_active": "true" if member.membership.is_active else "false",
    }
    return show(
        page,
        "member.html",
        status_code,
        member=member,
        role_labels=labels.ROLES,
        links=mine,
        linked=await names(
            page, {g.parent_user_id for g in mine} | {g.student_user_id for g in mine}
        ),
        form=form or current,
        errors=errors or {},
    )


@router.get("/admin/people/{user_id}")
async def member(slug: str, user_id: UserId, page: StaffPage) -> Response:
    return await _member_page(page, user_id)


@router.post("/admin/people/{user_id}")
async def update_member(slug: str, user_id: UserId, request: Request, page: AdminPage) -> Response:
    data = await read_form(request)
    data["roles"] = as_list(data.get("roles"))

    async def again(status_code: int, errors: FieldErrors) -> Response:
        if status_code == 404:  # not a member here: no page to show the form on
            raise NotFound(f"no member {user_id} in this academy")
        return await _member_page(page, user_id, status_code, form=data, errors=errors)

    return await submit(
        page,
        data,
        MemberUpdate,
        lambda body: service.update_member(page.rt, page.ctx, user_id, body),
        again,
        f"/admin/people/{user_id}",
    )
