"""The classroom page: LiveKit through livekit-client, or the external meeting link; with
heartbeats while it is open."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
