"""Meeting links (Zoom, Google Meet, Jitsi): Halaqa hands out the URL; attendance comes from its
own join clicks and page heartbeats, not from the meeting."""

from __future__ import annotations

from halaqa.meetings.providers.base import (
    InvalidWebhook,
    JoinCredentials,
    JoinGrant,
    OpenedRoom,
    ProviderError,
    RecordingTarget,
    RoomParticipant,
    RoomSpec,
    TrackKind,
)


class LinkProvider:
    name = "link"

    def __init__(self, jitsi_base_url: str | None) -> None:
        self.jitsi_base_url = jitsi_base_url.rstrip("/") if jitsi_base_url else None

    def url_for(self, room_name: str, own_url: str | None) -> str | None:
        """The session's (or its group's) own URL, else a Jitsi room of its own, if configured."""
        if own_url:
            return own_url
        if self.jitsi_base_url:
            return f"{self.jitsi_base_url}/{room_name}"
        return None

    async def create_room(self, spec: RoomSpec) -> OpenedRoom:
        return OpenedRoom(name=spec.name, join_url=self.url_for(spec.name, None))

    async def close_room(self, room_name: str) -> None:
        return None  # a link has nothing to close

    def join_credentials(self, grant: JoinGrant) -> JoinCredentials:
        if grant.join_url is None:
            raise ProviderError(
                "this session has no meeting link yet: set one on the session or its group, "
                "or a Jitsi base for the academy"
            )
        return JoinCredentials(
            provider=self.name, expires_at=grant.expires_at, join_url=grant.join_url
        )

    async def list_participants(self, room_name: str) -> list[RoomParticipant]:
        return []  # nothing to ask a link; heartbeats tell who is there

    def verify_webhook(self, body: str, authorization: str | None) -> object:
        raise InvalidWebhook("meeting links send no webhooks")

    async def start_recording(self, room_name: str, target: RecordingTarget) -> str:
        raise ProviderError("recordings need LiveKit; meeting links record on their own side")

    async def stop_recording(self, recording_id: str) -> None:
        raise ProviderError("recordings need LiveKit; meeting links record on their own side")

    async def allow_screen_share(self, room_name: str, identities: list[str], allowed: bool) -> int:
        raise ProviderError("in a linked meeting, its host allows screen sharing there")

    async def mute_participant(self, room_name: str, identity: str, kind: TrackKind) -> int:
        raise ProviderError("in a linked meeting, its host mutes people there")

    async def remove_participant(self, room_name: str, identity: str) -> None:
        raise ProviderError("in a linked meeting, its host removes people there")
