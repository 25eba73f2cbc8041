"""HTTP API: presence from Halaqa's own meeting page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.attendance import intake
from halaqa.attendance.schemas import HeartbeatIn, HeartbeatOut
from halaqa.kit.deps import CurrentRuntime

router = APIRouter(prefix="/api/v1/academies/{slug}/sessions", tags=["attendance"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
SessionId = Annotated[int, Path(ge=1, le=2**62)]


@router.post(
    "/{session_id}/heartbeat",
    response_model=HeartbeatOut,
    summary="The meeting page says its viewer is still in the class (while they may be in it)",
    responses={429: {"description": "This page sent one moments ago; Retry-After says when"}},
)
async def heartbeat(
    session_id: SessionId, body: HeartbeatIn, ctx: AnyMember, rt: CurrentRuntime
) -> HeartbeatOut:
    await intake.heartbeat(rt, ctx, session_id, body.page_id)
    return HeartbeatOut(next_in_seconds=int(intake.HEARTBEAT_EVERY.total_seconds()))
