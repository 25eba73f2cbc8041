"""HTTP API: how an academy meets, and joining a session's room."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.exceptions import (
    InvalidInput,
    NotAuthenticated,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.metrics import WEBHOOK_EVENTS
from halaqa.meetings import controls, recordings, service
from halaqa.meetings.inbox import WebhookInbox
from halaqa.meetings.schemas import (
    JoinOut,
    MeetingConfigIn,
    MeetingConfigOut,
    MuteIn,
    MuteOut,
    RecordingOut,
    RecordingStorageOut,
    RemovedOut,
    ScreenShareIn,
    ScreenShareOut,
)
from halaqa.models import MeetingConfig, SessionRecording
from halaqa.scheduling.endpoints import session_out
from halaqa.scheduling.schemas import SessionOut

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["meetings"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["meetings"])
MAX_WEBHOOK_BYTES = 64 * 1024  # LiveKit's events are a few kB
WEBHOOK_TYPES = {"application/webhook+json", "application/json"}

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Admin = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN))]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
RecordingId = Annotated[int, Path(ge=1, le=2**62)]
UserId = Annotated[int, Path(ge=1, le=2**62)]


def config_out(config: MeetingConfig | None) -> MeetingConfigOut:
    if config is None:
        return MeetingConfigOut(
            provider="link",
            livekit_url=None,
            livekit_api_key=None,
            livekit_api_secret_set=False,
            jitsi_base_url=None,
            recordings=None,
        )
    return MeetingConfigOut(
        provider=config.provider,
        livekit_url=config.livekit_url,
        livekit_api_key=config.livekit_api_key,
        livekit_api_secret_set=config.livekit_api_secret_sealed is not None,
        jitsi_base_url=config.jitsi_base_url,
        recordings=None
        if config.recording_path_prefix is None
        else RecordingStorageOut(
            path_prefix=config.recording_path_prefix,
            s3_bucket=config.recording_s3_bucket,
            s3_region=config.recording_s3_region,
            s3_endpoint=config.recording_s3_endpoint,
            s3_access_key=config.recording_s3_access_key,
            s3_secret_set=config.recording_s3_secret_sealed is not None,
        ),
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
        identity=credentials.identity,
        may_publish=list(credentials.may_publish),
        may_send_data=credentials.may_send_data,
    )


@webhooks_router.post(
    "/livekit",
    summary="LiveKit's webhooks: verified, kept once, processed afterwards",
    responses={401: {"description": "The signature does not verify; nothing is kept"}},
)
async def livekit_webhook(request: Request) -> dict[str, bool]:
    # No request transaction here: the inbox writes the events of many requests together.
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
    state = request.app.state
    try:
        arrival = await state.livekit_verifier.verify(
            body, request.headers.get("authorization"), state.clock.now()
        )
    except NotAuthenticated:
        WEBHOOK_EVENTS.labels(provider="livekit", outcome="rejected").inc()
        raise
    inbox: WebhookInbox = state.webhook_inbox
    stored = await inbox.keep(arrival)
    WEBHOOK_EVENTS.labels(provider="livekit", outcome="received" if stored else "duplicate").inc()
    return {"stored": stored}


def recording_out(recording: SessionRecording) -> RecordingOut:
    return RecordingOut.model_validate(recording, from_attributes=True)


@router.get(
    "/sessions/{session_id}/recordings",
    response_model=list[RecordingOut],
    summary="The session's recordings and where their files are",
)
async def list_recordings(
    session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime
) -> list[RecordingOut]:
    return [recording_out(r) for r in await recordings.visible_recordings(rt, ctx, session_id)]


@router.post(
    "/sessions/{session_id}/recordings",
    response_model=RecordingOut,
    status_code=201,
    summary="Start recording the class (its teacher or staff; LiveKit)",
)
async def start_recording(
    session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime
) -> RecordingOut:
    return recording_out(await recordings.start_by_hand(rt, ctx, session_id))


@router.post(
    "/sessions/{session_id}/recordings/{recording_id}/stop",
    response_model=RecordingOut,
    summary="Stop a recording; its file is kept once LiveKit has finished it",
)
async def stop_recording(
    session_id: SessionId, recording_id: RecordingId, ctx: AnyMember, rt: CurrentRuntime
) -> RecordingOut:
    return recording_out(await recordings.stop_by_hand(rt, ctx, session_id, recording_id))


@router.put(
    "/sessions/{session_id}/screen-share",
    response_model=ScreenShareOut,
    summary="Let the session's students share their screens, or stop them (at once, in the room)",
)
async def set_screen_share(
    session_id: SessionId, body: ScreenShareIn, ctx: AnyMember, rt: CurrentRuntime
) -> ScreenShareOut:
    changed = await controls.set_screen_share(rt, ctx, session_id, body.students_may_share)
    return ScreenShareOut(students_may_share=body.students_may_share, updated_participants=changed)


@router.post(
    "/sessions/{session_id}/participants/{user_id}/mute",
    response_model=MuteOut,
    summary="Mute someone's microphone, camera or screen in the room (the teacher or staff)",
)
async def mute_participant(
    session_id: SessionId, user_id: UserId, body: MuteIn, ctx: AnyMember, rt: CurrentRuntime
) -> MuteOut:
    muted = await controls.mute(rt, ctx, session_id, user_id, body.track)
    return MuteOut(user_id=user_id, track=body.track, muted_tracks=muted)


@router.post(
    "/sessions/{session_id}/participants/{user_id}/remove",
    response_model=RemovedOut,
    summary="Take someone out of the room now (the teacher or staff); they may join again",
)
async def remove_participant(
    session_id: SessionId, user_id: UserId, ctx: AnyMember, rt: CurrentRuntime
) -> RemovedOut:
    await controls.remove(rt, ctx, session_id, user_id)
    return RemovedOut(user_id=user_id)


@router.post(
    "/sessions/{session_id}/end",
    response_model=SessionOut,
    summary="End the class now: completes it and closes its room at once, everyone leaves",
)
async def end_class(session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime) -> SessionOut:
    return await session_out(rt, ctx, await controls.end_now(rt, ctx, session_id))
