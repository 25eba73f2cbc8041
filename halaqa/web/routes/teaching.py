"""Teacher pages: today and this week, scheduling a session, make-ups owed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
