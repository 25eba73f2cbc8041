"""HTTP API for tutoring bookings: teachers' availability and free slots, and booking requests
(ask, list, confirm, decline, withdraw)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import STAFF, Role
from halaqa.bookings import service
from halaqa.bookings.availability import WeeklyWindows
from halaqa.bookings.repository import BookingFilter
from halaqa.bookings.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    BookingCreate,
    BookingOut,
    BookingStatus,
    ConfirmRequest,
    DeclineRequest,
    SlotsOut,
    WindowOut,
    WithdrawRequest,
)
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import Booking
from halaqa.scheduling.service import aware

teachers_router = APIRouter(prefix="/api/v1/academies/{slug}/teachers", tags=["bookings"])
bookings_router = APIRouter(prefix="/api/v1/academies/{slug}/bookings", tags=["bookings"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
StaffOrTeacher = Annotated[AcademyContext, Depends(require_roles(*STAFF, Role.TEACHER))]
Requester = Annotated[AcademyContext, Depends(require_roles(*STAFF, Role.STUDENT, Role.PARENT))]
Pages = Annotated[PageParams, Depends(page_params)]
PathId = Annotated[int, Path(ge=1, le=2**62)]
UserFilter = Annotated[int | None, Query(ge=1, le=2**62)]


def availability_out(teacher_id: int, week: WeeklyWindows) -> AvailabilityOut:
    return AvailabilityOut(
        teacher_user_id=teacher_id,
        time_zone=week.zone,
        windows=[
            WindowOut(weekday=w.weekday, start=f"{w.start:%H:%M}", end=f"{w.end:%H:%M}")
            for w in week.windows
        ],
    )


def booking_out(booking: Booking) -> BookingOut:
    return BookingOut(
        id=booking.id,
        status=BookingStatus(booking.status),
        kind=booking.kind,
        teacher_user_id=booking.teacher_user_id,
        student_user_id=booking.student_user_id,
        starts_at=booking.starts_at,
        ends_at=booking.starts_at + timedelta(minutes=booking.duration_minutes),
        duration_minutes=booking.duration_minutes,
        time_zone=booking.time_zone,
        note=booking.note,
        expires_at=booking.expires_at,
        requested_by_user_id=booking.requested_by_user_id,
        answered_by_user_id=booking.answered_by_user_id,
        answered_at=booking.answered_at,
        answer_reason=booking.answer_reason,
        session_id=booking.session_id,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
    )


# --- availability ------------------------------------------------------------------------------


@teachers_router.get(
    "/{teacher_user_id}/availability",
    response_model=AvailabilityOut,
    summary="A teacher's weekly availability, in their zone",
)
async def get_availability(
    teacher_user_id: PathId, ctx: AnyMember, rt: CurrentRuntime
) -> AvailabilityOut:
    week = await service.get_availability(rt, ctx, teacher_user_id)
    return availability_out(teacher_user_id, week)


@teachers_router.put(
    "/{teacher_user_id}/availability",
    response_model=AvailabilityOut,
    summary="Replace a teacher's whole week (the teacher, or staff)",
)
async def set_availability(
    teacher_user_id: PathId, body: AvailabilityIn, ctx: StaffOrTeacher, rt: CurrentRuntime
) -> AvailabilityOut:
    week = await service.set_availability(rt, ctx, teacher_user_id, body)
    return availability_out(teacher_user_id, week)


@teachers_router.get(
    "/{teacher_user_id}/slots",
    response_model=SlotsOut,
    summary="Free slot starts: availability minus the teacher's sessions, after the notice",
)
async def free_slots(
    teacher_user_id: PathId,
    ctx: AnyMember,
    rt: CurrentRuntime,
    range_from: Annotated[datetime, Query(alias="from", description="With a UTC offset")],
    range_to: Annotated[
        datetime, Query(alias="to", description="With a UTC offset; at most 31 days after from")
    ],
    duration_minutes: Annotated[int, Query(ge=1, le=720)],
    step_minutes: Annotated[
        int, Query(ge=5, le=720, description="Slots start this far apart in each window")
    ] = 30,
) -> SlotsOut:
    low, high = aware(range_from, "from"), aware(range_to, "to")
    assert low is not None
    assert high is not None
    week, slots = await service.open_slots(
        rt, ctx, teacher_user_id, low, high, duration_minutes, step_minutes
    )
    return SlotsOut(
        teacher_user_id=teacher_user_id,
        time_zone=week.zone,
        duration_minutes=duration_minutes,
        slots=slots,
    )


# --- bookings ----------------------------------------------------------------------------------


@bookings_router.post(
    "",
    status_code=201,
    response_model=BookingOut,
    summary="Ask for a slot (students for themselves, parents for a child, staff for anyone)",
)
async def request_booking(body: BookingCreate, ctx: Requester, rt: CurrentRuntime) -> BookingOut:
    return booking_out(await service.request_booking(rt, ctx, body))


@bookings_router.get("", response_model=Page[BookingOut], summary="Bookings the viewer may see")
async def list_bookings(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    status: Annotated[list[BookingStatus] | None, Query()] = None,
    teacher_user_id: UserFilter = None,
    student_user_id: UserFilter = None,
) -> Page[BookingOut]:
    where = BookingFilter(
        statuses=tuple(status or ()),
        teacher_user_id=teacher_user_id,
        student_user_id=student_user_id,
    )
    rows, total = await service.list_bookings(
        rt, ctx, where, offset=pages.offset, limit=pages.per_page
    )
    return Page.of([booking_out(b) for b in rows], total, pages)


@bookings_router.get("/{booking_id}", response_model=BookingOut, summary="One booking")
async def get_booking(booking_id: PathId, ctx: AnyMember, rt: CurrentRuntime) -> BookingOut:
    return booking_out(await service.get_booking(rt, ctx, booking_id))


@bookings_router.post(
    "/{booking_id}/confirm",
    response_model=BookingOut,
    summary="Confirm: books the session in the same step (the teacher, or staff)",
)
async def confirm_booking(
    booking_id: PathId, body: ConfirmRequest, ctx: AnyMember, rt: CurrentRuntime
) -> BookingOut:
    return booking_out(await service.confirm_booking(rt, ctx, booking_id, body))


@bookings_router.post(
    "/{booking_id}/decline",
    response_model=BookingOut,
    summary="Decline with a reason (the teacher, or staff)",
)
async def decline_booking(
    booking_id: PathId, body: DeclineRequest, ctx: AnyMember, rt: CurrentRuntime
) -> BookingOut:
    return booking_out(await service.decline_booking(rt, ctx, booking_id, body))


@bookings_router.post(
    "/{booking_id}/withdraw",
    response_model=BookingOut,
    summary="Take an unanswered request back (the student, their parent, or staff)",
)
async def withdraw_booking(
    booking_id: PathId, body: WithdrawRequest, ctx: AnyMember, rt: CurrentRuntime
) -> BookingOut:
    return booking_out(await service.withdraw_booking(rt, ctx, booking_id, body))
