"""Bookings: the teacher hears of a request to answer; the student and their parents hear the
answer (whoever answered knows it already)."""

from __future__ import annotations

from typing import Any

from halaqa.bookings.schemas import BookingStatus
from halaqa.bookings.service import on_booking
from halaqa.kit.deps import Runtime
from halaqa.models.notifications import NotificationKind
from halaqa.notifications.repository import booking_of, parents_of
from halaqa.notifications.service import notify
from halaqa.worker.jobs import handles

BOOKING_CHANGED = "notifications.booking_changed"
KINDS = {
    BookingStatus.REQUESTED: NotificationKind.BOOKING_REQUESTED,
    BookingStatus.CONFIRMED: NotificationKind.BOOKING_CONFIRMED,
    BookingStatus.DECLINED: NotificationKind.BOOKING_DECLINED,
}


@handles(BOOKING_CHANGED)
async def booking_changed(rt: Runtime, payload: dict[str, Any]) -> None:
    academy_id, status = payload["academy_id"], BookingStatus(payload["status"])
    kind = KINDS.get(status)
    found = await booking_of(rt.session, academy_id, payload["booking_id"])
    if kind is None or found is None:
        return
    booking, academy, student, teacher = found
    if status is BookingStatus.REQUESTED:
        people, title = {booking.teacher_user_id}, student
    else:
        title = teacher
        family = await parents_of(rt.session, academy_id, booking.student_user_id)
        people = {booking.student_user_id, *family} - {booking.answered_by_user_id}
    path = f"/a/{academy.slug}/sessions/{booking.session_id}" if booking.session_id else None
    await notify(
        rt,
        kind=kind,
        user_ids=people,
        payload={
            "booking_id": booking.id,
            "title": title,
            "student": student,
            "starts_at": booking.starts_at.isoformat(),
            "reason": booking.answer_reason or "",
            **({"path": path} if path else {}),
        },
        academy_id=academy_id,
        dedupe=f"booking:{booking.id}:{status.value}",
    )


on_booking(BOOKING_CHANGED)
