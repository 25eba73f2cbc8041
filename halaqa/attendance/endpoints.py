"""HTTP API: presence from Halaqa's own meeting page, and who is in a class now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.attendance import intake, service
from halaqa.attendance.schemas import HeartbeatIn, HeartbeatOut, PresenceOut
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


@router.get(
    "/{session_id}/presence",
    response_model=list[PresenceOut],
    summary="Who is in the class now, since when, and present how long so far",
)
async def presence(session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime) -> list[PresenceOut]:
    people = await service.live_presence(rt, ctx, session_id)
    return [PresenceOut.model_validate(p, from_attributes=True) for p in people]
