"""/admin/subscriptions: packages (create), subscriptions (list, subscribe a student) and the
charges held for an admin (ledger flags: retry or dismiss), through the same services and
schemas as the packages, subscriptions and ledger APIs (staff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.academies.roles import Role
from halaqa.billing import service as ledger
from halaqa.billing.schemas import DismissIn
from halaqa.catalog import service as catalog
from halaqa.catalog import subscription_service as service
from halaqa.catalog.subscription_repository import SubscriptionFilter, SubscriptionRepository
from halaqa.catalog.subscription_schemas import PackageCreate, SubscriptionCreate
from halaqa.kit.pagination import PageParams
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import (
    Paging,
    Rerender,
    StaffPage,
    choices,
    names,
    show,
    submit,
    unprefixed,
)

router = APIRouter()
FlagId = Annotated[int, Path(ge=1, le=2**62)]
# Packages and groups offered in the forms' choice lists.
FIRST_HUNDRED = PageParams(page=1, per_page=100)
PACKAGE = "package."  # the package form's fields, apart from the subscription form's


async def _subscriptions_page(
    page: AcademyPage,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    status = page.visitor.request.query_params.get("status")
    status = status if status in labels.SUBSCRIPTION_STATUSES else None
    rows, total = await service.list_subscriptions(
        page.rt, page.ctx, paging, SubscriptionFilter(status=status)
    )
    repository = SubscriptionRepository(page.rt.session, page.academy.id)
    packages, _ = await service.list_packages(
        page.rt, page.ctx, FIRST_HUNDRED, active=None, kind=None
    )
    groups, _ = await catalog.list_groups(page.rt, page.ctx, FIRST_HUNDRED)
    flags = await ledger.flags(page.rt, page.ctx, "open")
    people = {s.student_user_id for s in rows} | {s.teacher_user_id or 0 for s in rows}
    people |= {f.student_user_id for f in flags}
    return show(
        page,
        "subscriptions.html",
        status_code,
        subscriptions=rows,
        total=total,
        paging=paging,
        status=status or "",
        package_names={
            i: p.name for i, p in (await repository.packages({s.package_id for s in rows})).items()
        },
        group_names=await repository.group_names({s.group_id for s in rows if s.group_id}),
        people=await names(page, people),
        packages=packages,
        offered=[(str(p.id), p.name) for p in packages if p.active],
        groups=[(str(g.id), g.name) for g in groups],
        students=await choices(page, Role.STUDENT),
        teachers=await choices(page, Role.TEACHER),
        flags=flags,
        labels=labels,
        form=form or {f"{PACKAGE}kind": "individual", f"{PACKAGE}cycle_unit": "month"},
        errors=errors or {},
    )


@router.get("/admin/subscriptions")
async def subscriptions(slug: str, page: StaffPage, paging: Paging) -> Response:
    return await _subscriptions_page(page, paging)


def _again(page: AcademyPage, paging: PageParams, form: dict[str, Any] | None = None) -> Rerender:
    """The page again, with what was wrong with one of its forms."""
    return lambda status, errors: _subscriptions_page(
        page, paging, status, form=form, errors=errors
    )


@router.post("/admin/packages")
async def create_package(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    form = await read_form(request)
    data = unprefixed(form, PACKAGE)
    data["active"] = "true" if data.get("active") else "false"
    return await submit(
        page,
        form,
        PackageCreate,
        lambda body: service.create_package(page.rt, page.ctx, body),
        _again(page, paging, form),
        "/admin/subscriptions#packages",
        prefix=PACKAGE,
        fields=data,
    )


@router.post("/admin/subscriptions")
async def subscribe(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    data = await read_form(request)
    return await submit(
        page,
        data,
        SubscriptionCreate,
        lambda body: service.create_subscription(page.rt, page.ctx, body),
        _again(page, paging, data),
        lambda subscription: f"/admin/subscriptions/{subscription.id}",
    )


@router.post("/admin/ledger-flags/{flag_id}/retry")
async def retry_flag(slug: str, flag_id: FlagId, page: StaffPage, paging: Paging) -> Response:
    return await submit(
        page,
        {},
        None,
        lambda _: ledger.retry_flag(page.rt, page.ctx, flag_id),
        _again(page, paging),
        "/admin/subscriptions#flags",
        prefix=f"flag-{flag_id}.",
    )


@router.post("/admin/ledger-flags/{flag_id}/dismiss")
async def dismiss_flag(
    slug: str, flag_id: FlagId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    form = await read_form(request)
    return await submit(
        page,
        form,
        DismissIn,
        lambda body: ledger.dismiss_flag(page.rt, page.ctx, flag_id, body.note),
        _again(page, paging, form),
        "/admin/subscriptions#flags",
        prefix=f"flag-{flag_id}.",
    )
