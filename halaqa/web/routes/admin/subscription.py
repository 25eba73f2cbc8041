"""/admin/subscriptions/{id}: one subscription with its cycles' balances and payments, its
pauses and its ledger; activate, pause, resume, cancel, renew and record a cycle's payment, by
the subscription service as the subscriptions API does (staff)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.academies.auth import AcademyContext
from halaqa.academies.repository import UserRepository
from halaqa.billing import service as ledger
from halaqa.catalog import subscription_service as service
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus, next_statuses
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.catalog.subscription_schemas import (
    CancelRequest,
    PauseRequest,
    PaymentChange,
    RenewRequest,
)
from halaqa.kit.deps import Runtime
from halaqa.kit.pagination import PageParams
from halaqa.web.forms import FieldErrors, Model, read_form
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import Paging, Rerender, StaffPage, show, submit

router = APIRouter()
SubscriptionId = Annotated[int, Path(ge=1, le=2**62)]
CycleNumber = Annotated[int, Path(ge=1, le=100_000)]


async def _subscription_page(
    page: AcademyPage,
    subscription_id: int,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    subscription = await service.get_subscription(page.rt, page.ctx, subscription_id)
    view = await service.view_of(page.rt, page.ctx, subscription)
    entries, total = await ledger.subscription_ledger(
        page.rt, page.ctx, subscription.id, offset=paging.offset, limit=paging.per_page
    )
    repository = SubscriptionRepository(page.rt.session, page.academy.id)
    package = (await repository.packages({subscription.package_id}))[subscription.package_id]
    people = {subscription.student_user_id, subscription.teacher_user_id or 0}
    named = {u.id: u.name for u in await UserRepository(page.rt.session).get_many(people)}
    groups = await repository.group_names(
        {subscription.group_id} if subscription.group_id else set()
    )
    status = SubscriptionStatus(subscription.status)
    return show(
        page,
        "subscription.html",
        status_code,
        subscription=subscription,
        view=view,
        # A cycle is stored up to the next one's first day; people read its last day.
        last_days={b.cycle.number: b.cycle.ends_on - timedelta(days=1) for b in view.cycles},
        package=package,
        people=named,
        group_name=groups.get(subscription.group_id or 0),
        expires_after=service.expires_after(page.ctx, subscription),
        next_statuses={s.value for s in next_statuses(status)},
        entries=entries,
        total=total,
        paging=paging,
        labels=labels,
        form=form or {},
        errors=errors or {},
    )


@router.get("/admin/subscriptions/{subscription_id}")
async def subscription(
    slug: str, subscription_id: SubscriptionId, page: StaffPage, paging: Paging
) -> Response:
    return await _subscription_page(page, subscription_id, paging)


def _again(
    page: AcademyPage, subscription_id: int, paging: PageParams, form: dict[str, Any]
) -> Rerender:
    """The subscription's page again, with what was wrong with one of its forms."""
    return lambda status, errors: _subscription_page(
        page, subscription_id, paging, status, form=form, errors=errors
    )


async def _form_action(
    page: AcademyPage,
    subscription_id: int,
    paging: PageParams,
    request: Request,
    action: str,
    model: type[Model],
    change: Callable[[Runtime, AcademyContext, int, Model], Awaitable[object]],
) -> Response:
    """The `action` form (fields named `action.`…) read by `model`, then `change` of the service."""
    form = await read_form(request)
    return await submit(
        page,
        form,
        model,
        lambda body: change(page.rt, page.ctx, subscription_id, body),
        _again(page, subscription_id, paging, form),
        f"/admin/subscriptions/{subscription_id}",
        prefix=f"{action}.",
    )


async def _button_action(
    page: AcademyPage,
    subscription_id: int,
    paging: PageParams,
    action: str,
    change: Callable[[Runtime, AcademyContext, int], Awaitable[object]],
) -> Response:
    """The `action` button (no fields): `change` of the service."""
    return await submit(
        page,
        {},
        None,
        lambda _: change(page.rt, page.ctx, subscription_id),
        _again(page, subscription_id, paging, {}),
        f"/admin/subscriptions/{subscription_id}",
        prefix=f"{action}.",
    )


@router.post("/admin/subscriptions/{subscription_id}/activate")
async def activate(
    slug: str, subscription_id: SubscriptionId, page: StaffPage, paging: Paging
) -> Response:
    return await _button_action(page, subscription_id, paging, "activate", service.activate)


@router.post("/admin/subscriptions/{subscription_id}/pause")
async def pause(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _form_action(
        page, subscription_id, paging, request, "pause", PauseRequest, service.pause
    )


@router.post("/admin/subscriptions/{subscription_id}/resume")
async def resume(
    slug: str, subscription_id: SubscriptionId, page: StaffPage, paging: Paging
) -> Response:
    return await _button_action(page, subscription_id, paging, "resume", service.resume)


@router.post("/admin/subscriptions/{subscription_id}/cancel")
async def cancel(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _form_action(
        page, subscription_id, paging, request, "cancel", CancelRequest, service.cancel
    )


@router.post("/admin/subscriptions/{subscription_id}/renew")
async def renew(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _form_action(
        page, subscription_id, paging, request, "renew", RenewRequest, service.renew
    )


@router.post("/admin/subscriptions/{subscription_id}/cycles/{number}/payment")
async def set_payment(
    slug: str,
    subscription_id: SubscriptionId,
    number: CycleNumber,
    request: Request,
    page: StaffPage,
    paging: Paging,
) -> Response:
    form = await read_form(request)
    return await submit(
        page,
        form,
        PaymentChange,
        lambda body: service.set_payment(page.rt, page.ctx, subscription_id, number, body),
        _again(page, subscription_id, paging, form),
        f"/admin/subscriptions/{subscription_id}",
        prefix=f"payment-{number}.",
    )
