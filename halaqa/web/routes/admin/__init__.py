"""Admin and supervisor pages: the overview, settings, people, groups, schedules, bookings,
subscriptions, meetings, reports and the audit log, one module per page group. Each page opens
for the roles its API endpoints allow and changes things only through their services."""

from __future__ import annotations

from fastapi import APIRouter

from halaqa.web.routes.admin import (
    audit,
    bookings,
    groups,
    meetings,
    overview,
    people,
    reports,
    schedules,
    settings,
    subscription,
    subscriptions,
)

router = APIRouter(prefix="/a/{slug}", include_in_schema=False)
for module in (
    overview,
    settings,
    people,
    groups,
    schedules,
    bookings,
    subscriptions,
    subscription,
    meetings,
    reports,
    audit,
):
    router.include_router(module.router)
