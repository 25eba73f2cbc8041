"""The bell's page (one's notifications, marked read), which kinds come by which channel, and
one's private calendar address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from halaqa.academies.auth import UserPrincipal
from halaqa.kit.deps import CurrentRuntime
from halaqa.models.notifications import Channel, NotificationKind
from halaqa.notifications import feeds, service
from halaqa.notifications.messages import compose
from halaqa.web.nav import N_
from halaqa.web.pages import CurrentVisitor, render, see_other

router = APIRouter(include_in_schema=False)
PER_PAGE = 20

KIND_LABELS = {
    NotificationKind.SESSION_SCHEDULED: N_("A class is scheduled"),
    NotificationKind.SESSION_RESCHEDULED: N_("A class is moved"),
    NotificationKind.SESSION_CANCELLED: N_("A class is cancelled"),
    NotificationKind.SCHEDULE_PLANNED: N_("Weekly classes are planned"),
    NotificationKind.SCHEDULE_CHANGED: N_("Weekly classes are changed"),
    NotificationKind.SCHEDULE_ENDED: N_("Weekly classes end"),
    NotificationKind.REMINDER: N_("Reminders before a class"),
    NotificationKind.ROOM_OPEN: N_("The room is open"),
    NotificationKind.RECORDING_READY: N_("A recording is ready"),
    NotificationKind.ABSENCE_RECORDED: N_("An absence is recorded"),
    NotificationKind.CONSECUTIVE_ABSENCES: N_("Absences in a row"),
    NotificationKind.BALANCE_LOW: N_("The package runs low"),
    NotificationKind.BALANCE_EXHAUSTED: N_("The package has run out"),
    NotificationKind.BOOKING_REQUESTED: N_("A booking is requested"),
    NotificationKind.BOOKING_CONFIRMED: N_("A booking is confirmed"),
    NotificationKind.BOOKING_DECLINED: N_("A booking is declined"),
}


@router.get("/notifications")
async def notifications_page(
    who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime, page: int = 1
) -> Response:
    assert who.user is not None
    page = max(1, min(page, 100_000))
    found, total = await service.my_notifications(
        rt, principal, unread_only=False, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    items = [
        (n, compose(n.kind, n.payload, who.language, who.zone, rt.settings.base_url)) for n in found
    ]
    return render(
        who,
        "inbox/notifications.html",
        items=items,
        page_number=page,
        has_more=page * PER_PAGE < total,
        total=total,
    )


@router.post("/notifications/read")
async def mark_read(
    principal: UserPrincipal,
    rt: CurrentRuntime,
    notification_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    await service.mark_read(rt, principal, None if notification_id is None else [notification_id])
    return see_other("/notifications")


@router.get("/notifications/settings")
async def settings_page(
    who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    muted = await service.mutes(rt, principal)
    return render(who, "inbox/settings.html", labels=KIND_LABELS, muted=muted, saved=False)


@router.post("/notifications/settings")
async def save_settings(
    request: Request, who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    """Each box says "yes, this kind on this channel"; an unticked box is a mute."""
    ticked = set((await request.form()).keys())
    wanted = {
        kind: {channel for channel in Channel if f"{kind.value}:{channel.value}" not in ticked}
        for kind in NotificationKind
    }
    await service.set_mutes(rt, principal, wanted)
    muted = await service.mutes(rt, principal)
    return render(who, "inbox/settings.html", labels=KIND_LABELS, muted=muted, saved=True)


@router.post("/account/calendar")
async def new_calendar(
    who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    """A new private address, shown this once (only its digest is kept)."""
    issued = await feeds.create_feed(rt, principal)
    return render(who, "inbox/calendar.html", url=issued.url, revoked=False)


@router.post("/account/calendar/revoke")
async def revoke_calendar(
    who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    assert who.user is not None
    if await feeds.active_feed(rt, who.user) is not None:
        await feeds.revoke_feed(rt, principal)
    return render(who, "inbox/calendar.html", url=None, revoked=True)
