"""Meeting rooms for sessions: configured per academy, opened when a session is ready, closed
when it ends, and joined only through `join`, which asks the lifecycle who may come in when."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.repository import AcademyRepository, UserRepository
from halaqa.academies.service import audit
from halaqa.academies.settings import effective_settings
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.config import Settings
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from halaqa.kit.crypto import SecretUnreadable
from halaqa.kit.deps import Runtime
from halaqa.meetings.providers.base import (
    Access,
    JoinCredentials,
    JoinGrant,
    MeetingProvider,
    ProviderError,
    RoomSpec,
)
from halaqa.meetings.providers.link import LinkProvider
from halaqa.meetings.providers.livekit import LiveKitProvider
from halaqa.meetings.repository import MeetingRepository, sealed_configs
from halaqa.meetings.schemas import MeetingConfigIn
from halaqa.models import Academy, ClassSession, MeetingConfig, SessionRoom
from halaqa.scheduling import lifecycle
from halaqa.scheduling.lifecycle import JoinDecision, Part
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import view_of, viewer_of

_ALL_GROUPS = CatalogViewer(user_id=None, sees_all=True)
# Places kept for staff and parents watching, beyond the session's own people.
OBSERVER_PLACES = 5


def _secret_context(academy_id: int) -> str:
    return f"academy:{academy_id}:livekit"


def _s3_context(academy_id: int) -> str:
    return f"academy:{academy_id}:recordings-s3"


# --- configuration ---------------------------------------------------------------------------


async def get_config(rt: Runtime, ctx: AcademyContext) -> MeetingConfig | None:
    return await MeetingRepository(rt.session, ctx.academy.id).config()


async def set_config(rt: Runtime, ctx: AcademyContext, data: MeetingConfigIn) -> MeetingConfig:
    """Replaces how the academy meets. The LiveKit secret may be left out to keep the stored one
    (as long as the key stays the same); it is sealed, audited as "changed", never returned."""
    meetings = MeetingRepository(rt.session, ctx.academy.id)
    config = await meetings.config() or MeetingConfig(academy_id=ctx.academy.id)
    sealed = config.livekit_api_secret_sealed
    if data.provider == "livekit":
        if data.livekit_url is None or data.livekit_api_key is None:
            missing = "livekit_url" if data.livekit_url is None else "livekit_api_key"
            raise InvalidInput.field(missing, "LiveKit needs its server URL and API key")
        if data.livekit_api_secret is not None:
            sealed = rt.settings.secret_box().seal(
                data.livekit_api_secret.get_secret_value(),
                context=_secret_context(ctx.academy.id),
            )
        elif sealed is None or data.livekit_api_key != config.livekit_api_key:
            raise InvalidInput.field(
                "livekit_api_secret", "give the API secret that goes with this API key"
            )
    s3_sealed = _recording_secret(rt, ctx, config, data)
    secret_changed = sealed != config.livekit_api_secret_sealed
    s3_secret_changed = s3_sealed != config.recording_s3_secret_sealed
    storage = data.recordings
    config.recording_path_prefix = storage.path_prefix if storage else None
    config.recording_s3_bucket = storage.s3_bucket if storage else None
    config.recording_s3_region = storage.s3_region if storage else None
    config.recording_s3_endpoint = storage.s3_endpoint if storage else None
    config.recording_s3_access_key = storage.s3_access_key if storage else None
    config.recording_s3_secret_sealed = s3_sealed
    config.provider = data.provider
    config.livekit_url = data.livekit_url
    config.livekit_api_key = data.livekit_api_key
    config.livekit_api_secret_sealed = sealed if data.provider == "livekit" else None
    config.jitsi_base_url = data.jitsi_base_url
    config.updated_by_user_id = ctx.user_id
    await meetings.save_config(config)
    await audit(
        rt,
        ctx.actor,
        "meetings.configured",
        academy_id=ctx.academy.id,
        entity_type="academy",
        entity_id=ctx.academy.id,
        after={
            "provider": config.provider,
            "livekit_url": config.livekit_url,
            "livekit_api_key": config.livekit_api_key,
            "livekit_api_secret": "changed" if secret_changed else "kept",
            "jitsi_base_url": config.jitsi_base_url,
            "recordings": storage
            and {
                **storage.model_dump(mode="json", exclude={"s3_secret"}),
                "s3_secret": "changed" if s3_secret_changed else "kept",
            },
        },
    )
    return config


def _recording_secret(
    rt: Runtime, ctx: AcademyContext, config: MeetingConfig, data: MeetingConfigIn
) -> str | None:
    """The sealed S3 secret the new configuration keeps (like the API secret, it may be left
    out to keep the stored one while the access key stays the same)."""
    storage = data.recordings
    if storage is None:
        return None
    if data.provider != "livekit":
        raise InvalidInput.field(
            "recordings", "recordings need LiveKit; meeting links record on their own side"
        )
    if storage.s3_bucket is None:
        return None
    if storage.s3_access_key is None:
        raise InvalidInput.field(
            "recordings.s3_access_key", "an S3 bucket needs its access key and secret"
        )
    if storage.s3_secret is not None:
        return rt.settings.secret_box().seal(
            storage.s3_secret.get_secret_value(), context=_s3_context(ctx.academy.id)
        )
    kept = config.recording_s3_secret_sealed
    if kept is None or storage.s3_access_key != config.recording_s3_access_key:
        raise InvalidInput.field(
            "recordings.s3_secret", "give the S3 secret that goes with this access key"
        )
    return kept


async def reseal_secrets(rt: Runtime) -> tuple[int, int]:
    """Seals every stored secret again under the current server secret (after a rotation).
    Returns (re-sealed, already current); one that no known secret opens is an error."""
    box = rt.settings.secret_box()
    resealed = current = 0
    for config in await sealed_configs(rt.session):
        for field, context in (
            ("livekit_api_secret_sealed", _secret_context(config.academy_id)),
            ("recording_s3_secret_sealed", _s3_context(config.academy_id)),
        ):
            sealed = getattr(config, field)
            if sealed is None:
                continue
            if box.is_current(sealed):
                current += 1
                continue
            try:
                plain = box.open(sealed, context=context)
            except SecretUnreadable as error:
                raise Conflict(
                    f"academy {config.academy_id}'s {field.removesuffix('_sealed')} cannot be "
                    f"opened ({error}); list the secret it was sealed under in "
                    "HALAQA_PREVIOUS_SECRET_KEYS"
                ) from None
            setattr(config, field, box.seal(plain, context=context))
            resealed += 1
    await rt.session.flush()
    return resealed, current


def provider_for(rt: Runtime, config: MeetingConfig | None) -> MeetingProvider:
    """The academy's provider; meeting links when nothing else is configured."""
    if config is None or config.provider == "link":
        return LinkProvider(config.jitsi_base_url if config else None)
    return livekit_provider(rt.settings, config)


def livekit_provider(settings: Settings, config: MeetingConfig) -> LiveKitProvider:
    assert config.livekit_url is not None
    assert config.livekit_api_key is not None
    assert config.livekit_api_secret_sealed is not None
    try:
        secret = settings.secret_box().open(
            config.livekit_api_secret_sealed, context=_secret_context(config.academy_id)
        )
    except SecretUnreadable as error:
        raise ProviderError(
            f"the LiveKit secret cannot be read ({error}); an admin must enter it again"
        ) from None
    return LiveKitProvider(config.livekit_url, config.livekit_api_key, secret)


def open_s3_secret(settings: Settings, config: MeetingConfig) -> str:
    assert config.recording_s3_secret_sealed is not None
    try:
        return settings.secret_box().open(
            config.recording_s3_secret_sealed, context=_s3_context(config.academy_id)
        )
    except SecretUnreadable as error:
        raise ProviderError(
            f"the S3 secret for recordings cannot be read ({error}); an admin must enter it again"
        ) from None


# --- rooms -----------------------------------------------------------------------------------


def _room_spec(
    academy: Academy, session: ClassSession, room_name: str, people: int, now: datetime
) -> RoomSpec:
    settings = effective_settings(academy.settings)
    assert session.ends_at is not None
    # An empty room waits until joining closes; once people leave, long enough to come back.
    join_closes = session.ends_at + timedelta(minutes=settings.join_grace_minutes)
    return RoomSpec(
        name=room_name,
        max_participants=people + OBSERVER_PLACES,
        empty_timeout_seconds=max(int((join_closes - now).total_seconds()), 60),
        departure_timeout_seconds=max(settings.reconnect_merge_seconds, 20),
        metadata=json.dumps(
            {"session_id": session.id, "academy_id": academy.id, "code": session.code}
        ),
    )


async def _own_url(rt: Runtime, session: ClassSession) -> str | None:
    if session.meeting_url:
        return session.meeting_url
    if session.group_id is None:
        return None
    group = await GroupRepository(rt.session, session.academy_id).get(_ALL_GROUPS, session.group_id)
    return group.meeting_url if group else None


async def open_room(rt: Runtime, academy: Academy, session: ClassSession) -> SessionRoom:
    """Makes sure the session's room exists (creating it again is harmless). A failure is kept
    on the room, with the number of attempts, for the session to show."""
    meetings = MeetingRepository(rt.session, academy.id)
    room = await meetings.room(session.id, lock=True)
    config = await meetings.config()
    if room is None:
        room = await meetings.add_room(
            SessionRoom(
                session_id=session.id,
                academy_id=academy.id,
                provider=config.provider if config else "link",
                room_name=f"hq-{secrets.token_urlsafe(18)}",
                status="pending",
                attempts=0,
            )
        )
    now = rt.clock.now()
    people = len(await SessionRepository(rt.session, academy.id).participants(session.id))
    room.attempts += 1
    try:
        provider = provider_for(rt, config)
        opened = await provider.create_room(
            _room_spec(academy, session, room.room_name, people, now)
        )
        if isinstance(provider, LinkProvider):
            room.join_url = provider.url_for(room.room_name, await _own_url(rt, session))
    except ProviderError as error:
        room.status, room.error = "failed", str(error)
        await rt.session.flush()
        return room
    room.status, room.error, room.room_sid = "open", None, opened.sid
    room.opened_at = room.opened_at or now
    await rt.session.flush()
    return room


async def close_room(rt: Runtime, academy: Academy, session: ClassSession) -> None:
    meetings = MeetingRepository(rt.session, academy.id)
    room = await meetings.room(session.id, lock=True)
    if room is None or room.status == "closed":
        return
    provider = provider_for(rt, await meetings.config())
    await provider.close_room(room.room_name)
    room.status, room.closed_at = "closed", rt.clock.now()
    await rt.session.flush()


async def academy_of(rt: Runtime, academy_id: int) -> Academy:
    academy = await AcademyRepository(rt.session).get(academy_id)
    assert academy is not None
    return academy


# --- joining ---------------------------------------------------------------------------------


_ACCESS = {
    Part.TEACHER: Access.TEACHER,
    Part.STUDENT: Access.STUDENT,
    Part.OBSERVER: Access.OBSERVER,
    Part.PARENT: Access.OBSERVER,
}


async def admitted(
    rt: Runtime, ctx: AcademyContext, session_id: int
) -> tuple[ClassSession, JoinDecision]:
    """THE place that decides who may be in a session's room now and until when (joining it,
    and telling Halaqa they are still there); it asks the lifecycle's can_join, so nothing can
    disagree with it. 403 with the reason when the viewer may not."""
    session = await SessionRepository(rt.session, ctx.academy.id).get(session_id)
    if session is None:
        raise NotFound(f"no session {session_id} in this academy")
    if ctx.user_id is None:
        raise Forbidden("an API key joins nobody's class; sign in", code="not_a_participant")
    view = await view_of(rt, ctx, session)
    viewer = await viewer_of(rt, ctx)
    settings = effective_settings(ctx.academy.settings)
    decision = lifecycle.can_join(
        view.facts,
        viewer,
        settings,
        rt.clock.now(),
        parents_may_observe=settings.parents_may_observe,
    )
    if not decision.allowed:
        assert decision.reason is not None
        raise Forbidden(
            decision.message,
            code=decision.reason,
            details={
                "opens_at": decision.opens_at.isoformat() if decision.opens_at else None,
                "closes_at": decision.closes_at.isoformat() if decision.closes_at else None,
            },
        )
    return session, decision


async def join(rt: Runtime, ctx: AcademyContext, session_id: int) -> JoinCredentials:
    """Credentials for the session's room, for those `admitted` now."""
    session, decision = await admitted(rt, ctx, session_id)
    assert decision.closes_at is not None
    assert ctx.user_id is not None
    now = rt.clock.now()
    room = await MeetingRepository(rt.session, ctx.academy.id).room(session.id)
    if room is None or room.status != "open":
        # The worker opens rooms ahead of time; joining does not wait for it if it is late.
        room = await open_room(rt, ctx.academy, session)
        if room.status != "open":
            raise Unavailable(f"the class's room could not be opened: {room.error}")
    user = await UserRepository(rt.session).get(ctx.user_id)
    assert user is not None
    try:
        provider = provider_for(rt, await MeetingRepository(rt.session, ctx.academy.id).config())
        return provider.join_credentials(
            JoinGrant(
                room_name=room.room_name,
                identity=f"user-{user.id}",
                display_name=user.name,
                metadata=json.dumps(
                    {"user_id": user.id, "role": decision.part.value, "session_id": session.id}
                ),
                access=_ACCESS[decision.part],
                expires_at=decision.closes_at,
                now=now,
                may_share_screen=room.students_may_share_screen,
                join_url=room.join_url,
            )
        )
    except ProviderError as error:
        raise Unavailable(str(error)) from None
