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
from halaqa.web.forms import FieldErrors, read_form, validate
from halaqa.web.pages import AcademyPage, see_other
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import (
    Paging,
    Refusal,
    StaffPage,
    attempt,
    choices,
    names,
    prefixed,
    saved,
    show,
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


@router.post("/admin/packages")
async def create_package(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    form = await read_form(request)
    data = unprefixed(form, PACKAGE)
    data["active"] = "true" if data.get("active") else "false"
    body, errors = validate(PackageCreate, data, page.visitor.gettext)
    if body is None:
        return await _subscriptions_page(
            page, paging, 422, form=form, errors=prefixed(errors, PACKAGE)
        )
    result = await attempt(page, lambda: service.create_package(page.rt, page.ctx, body))
    if isinstance(result, Refusal):
        errors = prefixed(result.errors, PACKAGE)
        return await _subscriptions_page(page, paging, result.status_code, form=form, errors=errors)
    return see_other(saved(page, "/admin/subscriptions") + "#packages")


@router.post("/admin/subscriptions")
async def subscribe(slug: str, request: Request, page: StaffPage, paging: Paging) -> Response:
    data = await read_form(request)
    body, errors = validate(SubscriptionCreate, data, page.visitor.gettext)
    if body is None:
        return await _subscriptions_page(page, paging, 422, form=data, errors=errors)
    result = await attempt(page, lambda: service.create_subscription(page.rt, page.ctx, body))
    if isinstance(result, Refusal):
        return await _subscriptions_page(
            page, paging, result.status_code, form=data, errors=result.errors
        )
    return see_other(saved(page, f"/admin/subscriptions/{result.id}"))


@router.post("/admin/ledger-flags/{flag_id}/retry")
async def retry_flag(slug: str, flag_id: FlagId, page: StaffPage, paging: Paging) -> Response:
    result = await attempt(page, lambda: ledger.retry_flag(page.rt, page.ctx, flag_id))
    if isinstance(result, Refusal):
        errors = prefixed(result.errors, f"flag-{flag_id}.")
        return await _subscriptions_page(page, paging, result.status_code, errors=errors)
    return see_other(saved(page, "/admin/subscriptions") + "#flags")


@router.post("/admin/ledger-flags/{flag_id}/dismiss")
async def dismiss_flag(
    slug: str, flag_id: FlagId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    form = await read_form(request)
    prefix = f"flag-{flag_id}."
    body, errors = validate(DismissIn, unprefixed(form, prefix), page.visitor.gettext)
    if body is None:
        return await _subscriptions_page(
            page, paging, 422, form=form, errors=prefixed(errors, prefix)
        )
    result = await attempt(page, lambda: ledger.dismiss_flag(page.rt, page.ctx, flag_id, body.note))
    if isinstance(result, Refusal):
        errors = prefixed(result.errors, prefix)
        return await _subscriptions_page(page, paging, result.status_code, form=form, errors=errors)
    return see_other(saved(page, "/admin/subscriptions") + "#flags")
