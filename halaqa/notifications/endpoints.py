"""HTTP API of notifications (your own: the bell, read marks, what you mute) and calendar feeds
(manage your own; read one by its secret address)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from halaqa.academies.auth import UserPrincipal
from halaqa.exceptions import InvalidInput
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.kit.pagination import PageParams, page_params
from halaqa.models import Notification, User
from halaqa.models.notifications import Channel, EmailStatus, NotificationKind
from halaqa.notifications import feeds, service
from halaqa.notifications.messages import compose
from halaqa.notifications.schemas import (
    CalendarFeedCreated,
    CalendarFeedOut,
    KindChoice,
    MarkedOut,
    MarkRead,
    NotificationOut,
    NotificationPage,
    NotificationSettings,
    UnreadOut,
)
from halaqa.web.i18n import supported

feed_router = APIRouter(prefix="/api/v1/me/calendar-feed", tags=["calendar"])
calendars_router = APIRouter(prefix="/api/v1/calendars", tags=["calendar"])


@feed_router.get("", response_model=CalendarFeedOut, summary="Whether you have a calendar feed")
async def get_feed(principal: UserPrincipal, rt: CurrentRuntime) -> CalendarFeedOut:
    assert principal.user is not None
    feed = await feeds.active_feed(rt, principal.user)
    if feed is None:
        return CalendarFeedOut(active=False)
    return CalendarFeedOut(active=True, created_at=feed.created_at, last_read_at=feed.last_read_at)


@feed_router.post(
    "",
    status_code=201,
    response_model=CalendarFeedCreated,
    summary="A new private calendar address (the old one stops working)",
)
async def create_feed(principal: UserPrincipal, rt: CurrentRuntime) -> CalendarFeedCreated:
    issued = await feeds.create_feed(rt, principal)
    return CalendarFeedCreated(active=True, created_at=issued.feed.created_at, url=issued.url)


@feed_router.delete("", status_code=204, summary="Revoke your calendar address")
async def revoke_feed(principal: UserPrincipal, rt: CurrentRuntime) -> Response:
    await feeds.revoke_feed(rt, principal)
    return Response(status_code=204)


@calendars_router.get(
    "/{token}.ics",
    summary="A calendar feed (iCalendar), by its secret address",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def read_calendar(
    token: Annotated[str, Path(max_length=100)], rt: CurrentRuntime
) -> Response:
    body = await feeds.read_feed(rt, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


notifications_router = APIRouter(prefix="/api/v1/me", tags=["notifications"])
Pages = Annotated[PageParams, Depends(page_params)]


def notification_out(rt: Runtime, user: User, notification: Notification) -> NotificationOut:
    composed = compose(
        notification.kind,
        notification.payload,
        supported(user.locale) or "en",
        user.time_zone,
        rt.settings.base_url,
    )
    return NotificationOut(
        id=notification.id,
        kind=NotificationKind(notification.kind),
        academy_id=notification.academy_id,
        subject=composed.subject,
        body=composed.body,
        link=composed.link,
        payload=notification.payload,
        created_at=notification.created_at,
        read_at=notification.read_at,
        email_status=EmailStatus(notification.email_status),
        email_attempts=notification.email_attempts,
        email_error=notification.email_error,
    )


@notifications_router.get(
    "/notifications", response_model=NotificationPage, summary="Your notifications, newest first"
)
async def list_notifications(
    principal: UserPrincipal, rt: CurrentRuntime, pages: Pages, unread: bool = False
) -> NotificationPage:
    assert principal.user is not None
    found, total = await service.my_notifications(
        rt, principal, unread_only=unread, offset=pages.offset, limit=pages.per_page
    )
    return NotificationPage(
        items=[notification_out(rt, principal.user, n) for n in found],
        total=total,
        page=pages.page,
        per_page=pages.per_page,
        unread=await service.unread_count(rt, principal.user.id),
    )


@notifications_router.get(
    "/notifications/unread", response_model=UnreadOut, summary="How many are unread (the bell)"
)
async def unread(principal: UserPrincipal, rt: CurrentRuntime) -> UnreadOut:
    assert principal.user is not None
    return UnreadOut(unread=await service.unread_count(rt, principal.user.id))


@notifications_router.post(
    "/notifications/read", response_model=MarkedOut, summary="Mark some, or all, read"
)
async def mark_read(body: MarkRead, principal: UserPrincipal, rt: CurrentRuntime) -> MarkedOut:
    return MarkedOut(marked=await service.mark_read(rt, principal, body.ids))


@notifications_router.post(
    "/notifications/{notification_id}/resend",
    response_model=NotificationOut,
    summary="Send a failed email again",
)
async def resend(
    notification_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: UserPrincipal,
    rt: CurrentRuntime,
) -> NotificationOut:
    assert principal.user is not None
    notification = await service.resend(rt, principal, notification_id)
    return notification_out(rt, principal.user, notification)


@notifications_router.get(
    "/notification-settings",
    response_model=NotificationSettings,
    summary="Which kinds you receive in the app and by email",
)
async def get_settings(principal: UserPrincipal, rt: CurrentRuntime) -> NotificationSettings:
    return _settings_out(await service.mutes(rt, principal))


@notifications_router.put(
    "/notification-settings", response_model=NotificationSettings, summary="Mute or unmute kinds"
)
async def put_settings(
    body: NotificationSettings, principal: UserPrincipal, rt: CurrentRuntime
) -> NotificationSettings:
    kinds = [choice.kind for choice in body.kinds]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput.field("kinds", "each kind at most once")
    wanted = {
        choice.kind: {
            channel
            for channel, on in ((Channel.IN_APP, choice.in_app), (Channel.EMAIL, choice.email))
            if not on
        }
        for choice in body.kinds
    }
    await service.set_mutes(rt, principal, wanted)
    return _settings_out(await service.mutes(rt, principal))


def _settings_out(muted: dict[str, set[str]]) -> NotificationSettings:
    return NotificationSettings(
        kinds=[
            KindChoice(
                kind=kind,
                in_app=Channel.IN_APP.value not in muted.get(kind.value, set()),
                email=Channel.EMAIL.value not in muted.get(kind.value, set()),
            )
            for kind in NotificationKind
        ]
    )
