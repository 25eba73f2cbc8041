"""LiveKit, through the official `livekit-api` SDK (Twirp to the server, HS256 access tokens)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from livekit import api

from halaqa.meetings.providers.base import (
    Access,
    InvalidWebhook,
    JoinCredentials,
    JoinGrant,
    NotInRoom,
    OpenedRoom,
    ProviderError,
    RecordingTarget,
    RoomParticipant,
    RoomSpec,
    TrackKind,
)

# Stopping an egress that has ended already answers one of these.
FINISHED_EGRESS = frozenset({"failed_precondition", "not_found"})
# Participants that are not people: recorders and agents never count as attendance.
NOT_PEOPLE = frozenset({api.ParticipantInfo.Kind.EGRESS, api.ParticipantInfo.Kind.AGENT})


class LiveKitProvider:
    name = "livekit"

    def __init__(self, url: str, api_key: str, api_secret: str) -> None:
        self.url, self.api_key, self._secret = url, api_key, api_secret

    @asynccontextmanager
    async def _api(self) -> AsyncIterator[api.LiveKitAPI]:
        try:
            async with api.LiveKitAPI(self.url, self.api_key, self._secret) as client:
                yield client
        except api.TwirpError as error:
            raise ProviderError(f"LiveKit refused: {error.code} {error.message}") from error
        except OSError as error:
            raise ProviderError(f"LiveKit at {self.url} is unreachable: {error}") from error

    async def create_room(self, spec: RoomSpec) -> OpenedRoom:
        async with self._api() as client:
            room = await client.room.create_room(
                api.CreateRoomRequest(
                    name=spec.name,
                    max_participants=spec.max_participants,
                    empty_timeout=spec.empty_timeout_seconds,
                    departure_timeout=spec.departure_timeout_seconds,
                    metadata=spec.metadata,
                )
            )
        return OpenedRoom(name=room.name, sid=room.sid)

    async def close_room(self, room_name: str) -> None:
        try:
            async with self._api() as client:
                await client.room.delete_room(api.DeleteRoomRequest(room=room_name))
        except ProviderError as error:
            cause = error.__cause__
            if isinstance(cause, api.TwirpError) and cause.code == "not_found":
                return  # already gone: closing is idempotent
            raise

    def join_credentials(self, grant: JoinGrant) -> JoinCredentials:
        grants = _grants(grant)
        token = (
            api.AccessToken(self.api_key, self._secret)
            .with_identity(grant.identity)
            .with_name(grant.display_name)
            .with_metadata(grant.metadata)
            .with_grants(grants)
            .with_ttl(grant.expires_at - grant.now)
            .to_jwt()
        )
        return JoinCredentials(
            provider=self.name,
            expires_at=grant.expires_at,
            server_url=self.url,
            token=token,
            identity=grant.identity,
            may_publish=_publishable(grants),
            may_send_data=bool(grants.can_publish_data),
        )

    async def list_participants(self, room_name: str) -> list[RoomParticipant]:
        async with self._api() as client:
            found = await client.room.list_participants(api.ListParticipantsRequest(room=room_name))
        return [
            RoomParticipant(
                sid=p.sid,
                identity=p.identity,
                name=p.name,
                joined_at=datetime.fromtimestamp(p.joined_at_ms / 1000, UTC)
                if p.joined_at_ms
                else None,
                kind=api.ParticipantInfo.Kind.Name(p.kind),
            )
            for p in found.participants
            if p.kind not in NOT_PEOPLE
        ]

    def verify_webhook(self, body: str, authorization: str | None) -> api.WebhookEvent:
        receiver = api.WebhookReceiver(api.TokenVerifier(self.api_key, self._secret))
        try:
            return receiver.receive(body, authorization or "")
        except Exception as error:  # the SDK raises jwt errors and plain Exceptions alike
            raise InvalidWebhook(str(error) or type(error).__name__) from error

    async def start_recording(self, room_name: str, target: RecordingTarget) -> str:
        output = api.EncodedFileOutput(filepath=target.file_path)
        if target.s3 is not None:
            output.s3.CopyFrom(
                api.S3Upload(
                    bucket=target.s3.bucket,
                    access_key=target.s3.access_key,
                    secret=target.s3.secret,
                    region=target.s3.region or "",
                    endpoint=target.s3.endpoint or "",
                    force_path_style=target.s3.endpoint is not None,
                )
            )
        async with self._api() as client:
            info = await client.egress.start_room_composite_egress(
                api.RoomCompositeEgressRequest(room_name=room_name, file_outputs=[output])
            )
        return info.egress_id

    async def stop_recording(self, recording_id: str) -> None:
        try:
            async with self._api() as client:
                await client.egress.stop_egress(api.StopEgressRequest(egress_id=recording_id))
        except ProviderError as error:
            cause = error.__cause__
            if isinstance(cause, api.TwirpError) and cause.code in FINISHED_EGRESS:
                return  # ended already: stopping is idempotent
            raise

    async def allow_screen_share(self, room_name: str, identities: list[str], allowed: bool) -> int:
        wanted = set(identities)
        async with self._api() as client:
            present = await client.room.list_participants(
                api.ListParticipantsRequest(room=room_name)
            )
            changed = 0
            for participant in present.participants:
                if participant.identity not in wanted:
                    continue
                try:
                    await client.room.update_participant(
                        api.UpdateParticipantRequest(
                            room=room_name,
                            identity=participant.identity,
                            permission=_student_permission(allowed),
                        )
                    )
                except api.TwirpError as error:
                    if error.code == "not_found":
                        continue  # left since the room was listed: their next token says it
                    raise
                changed += 1
        return changed

    async def mute_participant(self, room_name: str, identity: str, kind: TrackKind) -> int:
        sources = _MUTED_SOURCES[kind]
        try:
            async with self._api() as client:
                person = await client.room.get_participant(
                    api.RoomParticipantIdentity(room=room_name, identity=identity)
                )
                muted = 0
                for track in person.tracks:
                    if track.source not in sources or track.muted:
                        continue
                    try:
                        await client.room.mute_published_track(
                            api.MuteRoomTrackRequest(
                                room=room_name, identity=identity, track_sid=track.sid, muted=True
                            )
                        )
                    except api.TwirpError as error:
                        if error.code == "not_found":
                            continue  # unpublished (or gone) since it was listed: nothing to mute
                        raise
                    muted += 1
        except ProviderError as error:
            _raise_if_not_in_room(error, identity)
            raise
        return muted

    async def remove_participant(self, room_name: str, identity: str) -> None:
        try:
            async with self._api() as client:
                await client.room.remove_participant(
                    api.RoomParticipantIdentity(room=room_name, identity=identity)
                )
        except ProviderError as error:
            _raise_if_not_in_room(error, identity)
            raise


def _raise_if_not_in_room(error: ProviderError, identity: str) -> None:
    """LiveKit's not_found for a person (or their room, closed when it emptied): not there."""
    cause = error.__cause__
    if isinstance(cause, api.TwirpError) and cause.code == "not_found":
        raise NotInRoom(f"{identity} is not in the room") from None


_MUTED_SOURCES = {
    TrackKind.MICROPHONE: frozenset({api.TrackSource.MICROPHONE}),
    TrackKind.CAMERA: frozenset({api.TrackSource.CAMERA}),
    TrackKind.SCREEN_SHARE: frozenset(
        {api.TrackSource.SCREEN_SHARE, api.TrackSource.SCREEN_SHARE_AUDIO}
    ),
}


def _grants(grant: JoinGrant) -> api.VideoGrants:
    if grant.access is Access.TEACHER:
        return api.VideoGrants(
            room_join=True, room=grant.room_name, room_admin=True, room_record=True
        )
    if grant.access is Access.STUDENT:
        return api.VideoGrants(
            room_join=True,
            room=grant.room_name,
            can_publish=True,
            can_publish_sources=_student_sources(grant.may_share_screen),
            can_publish_data=True,
            can_subscribe=True,
        )
    return api.VideoGrants(
        room_join=True,
        room=grant.room_name,
        hidden=True,
        can_publish=False,
        can_publish_data=False,
        can_subscribe=True,
    )


_TRACK_SOURCES = {
    "camera": api.TrackSource.CAMERA,
    "microphone": api.TrackSource.MICROPHONE,
    "screen_share": api.TrackSource.SCREEN_SHARE,
    "screen_share_audio": api.TrackSource.SCREEN_SHARE_AUDIO,
}


def _student_sources(may_share_screen: bool) -> list[str]:
    screen = ["screen_share", "screen_share_audio"] if may_share_screen else []
    return ["camera", "microphone", *screen]


def _publishable(grants: api.VideoGrants) -> tuple[str, ...]:
    """What a token lets its holder publish: its listed sources, or every one when it lists
    none (LiveKit's rule for an empty can_publish_sources)."""
    if not grants.can_publish:
        return ()
    return tuple(grants.can_publish_sources or _TRACK_SOURCES)


def _student_permission(may_share_screen: bool) -> api.ParticipantPermission:
    """A student's powers in the room, as their token grants them (kept in step with _grants)."""
    return api.ParticipantPermission(
        can_subscribe=True,
        can_publish=True,
        can_publish_data=True,
        can_publish_sources=[_TRACK_SOURCES[name] for name in _student_sources(may_share_screen)],
    )
