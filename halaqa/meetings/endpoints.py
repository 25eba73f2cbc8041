"""HTTP API: how an academy meets, and joining a session's room."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.kit.deps import CurrentRuntime
from halaqa.meetings import service
from halaqa.meetings.schemas import JoinOut, MeetingConfigIn, MeetingConfigOut
from halaqa.models import MeetingConfig

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["meetings"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Admin = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN))]
SessionId = Annotated[int, Path(ge=1, le=2**62)]


def config_out(config: MeetingConfig | None) -> MeetingConfigOut:
    if config is None:
        return MeetingConfigOut(
            provider="link",
            livekit_url=None,
            livekit_api_key=None,
            livekit_api_secret_set=False,
            jitsi_base_url=None,
        )
    return MeetingConfigOut(
        provider=config.provider,
        livekit_url=config.livekit_url,
        livekit_api_key=config.livekit_api_key,
        livekit_api_secret_set=config.livekit_api_secret_sealed is not None,
        jitsi_base_url=config.jitsi_base_url,
    )


@router.get(
    "/meeting-provider",
    response_model=MeetingConfigOut,
    summary="How the academy's classes meet (secrets are never shown)",
)
async def get_meeting_provider(ctx: Admin, rt: CurrentRuntime) -> MeetingConfigOut:
    return config_out(await service.get_config(rt, ctx))


@router.put(
    "/meeting-provider",
    response_model=MeetingConfigOut,
    summary="Set how the academy's classes meet: LiveKit, or meeting links",
)
async def set_meeting_provider(
    body: MeetingConfigIn, ctx: Admin, rt: CurrentRuntime
) -> MeetingConfigOut:
    return config_out(await service.set_config(rt, ctx, body))


@router.post(
    "/sessions/{session_id}/join",
    response_model=JoinOut,
    summary="Join the class: credentials when the viewer may come in now; 403 with why if not",
)
async def join_session(session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime) -> JoinOut:
    credentials = await service.join(rt, ctx, session_id)
    return JoinOut(
        provider=credentials.provider,
        expires_at=credentials.expires_at,
        server_url=credentials.server_url,
        token=credentials.token,
        join_url=credentials.join_url,
    )
