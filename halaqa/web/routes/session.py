"""One session's page for every role: details, actions, live presence, attendance, reports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
