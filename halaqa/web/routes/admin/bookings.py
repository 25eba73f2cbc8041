"""/admin/bookings: booking requests, confirmed (which books the session in the same step) or
declined with a reason, by the bookings service, as POST /bookings/{id}/confirm and /decline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from halaqa.bookings import service
from halaqa.bookings.repository import BookingFilter
from halaqa.bookings.schemas import BookingStatus, ConfirmRequest, DeclineRequest
from halaqa.kit.pagination import PageParams
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin import labels
from halaqa.web.routes.admin.common import Paging, StaffPage, names, show, submit

router = APIRouter()
BookingId = Annotated[int, Path(ge=1, le=2**62)]


def _status(page: AcademyPage) -> str:
    """The statuses shown: requests waiting for an answer unless another is chosen ("all")."""
    chosen = page.visitor.request.query_params.get("status", BookingStatus.REQUESTED.value)
    return chosen if chosen in labels.BOOKING_STATUSES or chosen == "all" else "requested"


async def _bookings_page(
    page: AcademyPage,
    paging: PageParams,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    status = _status(page)
    where = BookingFilter(statuses=() if status == "all" else (status,))
    rows, total = await service.list_bookings(
        page.rt, page.ctx, where, offset=paging.offset, limit=paging.per_page
    )
    people = {b.teacher_user_id for b in rows} | {b.student_user_id for b in rows}
    return show(
        page,
        "bookings.html",
        status_code,
        bookings=rows,
        total=total,
        paging=paging,
        status=status,
        people=await names(page, people),
        labels=labels,
        form=form or {},
        errors=errors or {},
    )


@router.get("/admin/bookings")
async def bookings(slug: str, page: StaffPage, paging: Paging) -> Response:
    return await _bookings_page(page, paging)


@router.post("/admin/bookings/{booking_id}/confirm")
async def confirm(
    slug: str, booking_id: BookingId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    form = await read_form(request)
    return await submit(
        page,
        form,
        ConfirmRequest,
        lambda body: service.confirm_booking(page.rt, page.ctx, booking_id, body),
        lambda status, errors: _bookings_page(page, paging, status, form=form, errors=errors),
        "/admin/bookings",
        prefix=f"confirm-{booking_id}.",
    )


@router.post("/admin/bookings/{booking_id}/decline")
async def decline(
    slug: str, booking_id: BookingId, request: Request, page: StaffPage, paging: Paging
) -> Response:
    form = await read_form(request)
    return await submit(
        page,
        form,
        DeclineRequest,
        lambda body: service.decline_booking(page.rt, page.ctx, booking_id, body),
        lambda status, errors: _bookings_page(page, paging, status, form=form, errors=errors),
        "/admin/bookings",
        prefix=f"decline-{booking_id}.",
    )
