"""/admin/subscriptions/{id}: one subscription with its cycles' balances and payments, its
pauses and its ledger; activate, pause, resume, cancel, renew and record a cycle's payment, by
the subscription service as the subscriptions API does (staff)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

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
from halaqa.kit.pagination import PageParams
from halaqa.web.forms import FieldErrors, read_form, validate
from halaqa.web.pages import AcademyPage, see_other
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import (
    Paging,
    Refusal,
    StaffPage,
    attempt,
    prefixed,
    saved,
    show,
    unprefixed,
)

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


async def _act(
    page: AcademyPage,
    subscription_id: int,
    paging: PageParams,
    form: dict[str, Any],
    prefix: str,
    schema: type[BaseModel] | None,
    call: Callable[[Any], Awaitable[object]],
) -> Response:
    """One change to the subscription from one of its forms (fields named `prefix`…): the form
    checked by the API's schema, then one service call; errors go next to that form's fields."""
    body = None
    if schema is not None:
        body, errors = validate(schema, unprefixed(form, prefix), page.visitor.gettext)
        if body is None:
            return await _subscription_page(
                page, subscription_id, paging, 422, form=form, errors=prefixed(errors, prefix)
            )
    result = await attempt(page, lambda: call(body))
    if isinstance(result, Refusal):
        errors = prefixed(result.errors, prefix)
        return await _subscription_page(
            page, subscription_id, paging, result.status_code, form=form, errors=errors
        )
    return see_other(saved(page, f"/admin/subscriptions/{subscription_id}"))


@router.post("/admin/subscriptions/{subscription_id}/activate")
async def activate(
    slug: str, subscription_id: SubscriptionId, page: StaffPage, paging: Paging
) -> Response:
    return await _act(
        page,
        subscription_id,
        paging,
        {},
        "activate.",
        None,
        lambda _: service.activate(page.rt, page.ctx, subscription_id),
    )


@router.post("/admin/subscriptions/{subscription_id}/pause")
async def pause(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _act(
        page,
        subscription_id,
        paging,
        await read_form(request),
        "pause.",
        PauseRequest,
        lambda body: service.pause(page.rt, page.ctx, subscription_id, body),
    )


@router.post("/admin/subscriptions/{subscription_id}/resume")
async def resume(
    slug: str, subscription_id: SubscriptionId, page: StaffPage, paging: Paging
) -> Response:
    return await _act(
        page,
        subscription_id,
        paging,
        {},
        "resume.",
        None,
        lambda _: service.resume(page.rt, page.ctx, subscription_id),
    )


@router.post("/admin/subscriptions/{subscription_id}/cancel")
async def cancel(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _act(
        page,
        subscription_id,
        paging,
        await read_form(request),
        "cancel.",
        CancelRequest,
        lambda body: service.cancel(page.rt, page.ctx, subscription_id, body),
    )


@router.post("/admin/subscriptions/{subscription_id}/renew")
async def renew(
    slug: str, subscription_id: SubscriptionId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    return await _act(
        page,
        subscription_id,
        paging,
        await read_form(request),
        "renew.",
        RenewRequest,
        lambda body: service.renew(page.rt, page.ctx, subscription_id, body),
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
    return await _act(
        page,
        subscription_id,
        paging,
        await read_form(request),
        f"payment-{number}.",
        PaymentChange,
        lambda body: service.set_payment(page.rt, page.ctx, subscription_id, number, body),
    )
