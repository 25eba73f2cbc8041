"""Admin and supervisor pages: settings, people, groups, schedules, bookings, subscriptions,
meetings, reports and the audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
