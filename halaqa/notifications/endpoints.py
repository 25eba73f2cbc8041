"""HTTP API of calendar feeds: manage your own (signed in), and read one by its secret address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from halaqa.academies.auth import UserPrincipal
from halaqa.kit.deps import CurrentRuntime
from halaqa.notifications import service
from halaqa.notifications.schemas import CalendarFeedCreated, CalendarFeedOut

feed_router = APIRouter(prefix="/api/v1/me/calendar-feed", tags=["calendar"])
calendars_router = APIRouter(prefix="/api/v1/calendars", tags=["calendar"])


@feed_router.get("", response_model=CalendarFeedOut, summary="Whether you have a calendar feed")
async def get_feed(principal: UserPrincipal, rt: CurrentRuntime) -> CalendarFeedOut:
    assert principal.user is not None
    feed = await service.active_feed(rt, principal.user)
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
    issued = await service.create_feed(rt, principal)
    return CalendarFeedCreated(active=True, created_at=issued.feed.created_at, url=issued.url)


@feed_router.delete("", status_code=204, summary="Revoke your calendar address")
async def revoke_feed(principal: UserPrincipal, rt: CurrentRuntime) -> Response:
    await service.revoke_feed(rt, principal)
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
    body = await service.read_feed(rt, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
