"""HTTP API: how an academy meets, and joining a session's room."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.exceptions import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from halaqa.kit.deps import CurrentRuntime
from halaqa.meetings import service, webhooks
from halaqa.meetings.schemas import JoinOut, MeetingConfigIn, MeetingConfigOut
from halaqa.models import MeetingConfig

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["meetings"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["meetings"])
MAX_WEBHOOK_BYTES = 64 * 1024  # LiveKit's events are a few kB
WEBHOOK_TYPES = {"application/webhook+json", "application/json"}

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


@webhooks_router.post(
    "/livekit",
    summary="LiveKit's webhooks: verified, kept once, processed afterwards",
    responses={401: {"description": "The signature does not verify; nothing is kept"}},
)
async def livekit_webhook(request: Request, rt: CurrentRuntime) -> dict[str, bool]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in WEBHOOK_TYPES:
        raise UnsupportedMediaType("send the event as application/webhook+json")
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"a webhook may be at most {MAX_WEBHOOK_BYTES} bytes")
    try:
        body = raw.decode()
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text") from None
    stored = await webhooks.receive_livekit(rt, body, request.headers.get("authorization"))
    return {"stored": stored}
