"""Student pages: upcoming classes with Join, past classes, the package balance and absence
requests."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
