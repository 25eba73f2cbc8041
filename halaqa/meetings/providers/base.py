"""The one interface every meeting provider offers, and the values that cross it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ProviderError(Exception):
    """The provider could not do it (unreachable, refused); the message says why, for people."""


class NotInRoom(ProviderError):
    """The person is not in the room now (never came, or left)."""


class InvalidWebhook(Exception):
    """A webhook that does not verify: wrong signature, key, hash, expired or malformed."""


class TrackKind(StrEnum):
    """What the people running a class may mute of someone's: screen sharing includes its
    sound."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN_SHARE = "screen_share"


class Access(StrEnum):
    """What a person may do in the room, by how they take part."""

    TEACHER = "teacher"  # publish everything, room admin, may record
    STUDENT = "student"  # camera, microphone, data; screen only when the teacher allows
    OBSERVER = "observer"  # staff, or a parent the academy lets in: hidden, watch only


@dataclass(frozen=True)
class RoomSpec:
    name: str
    max_participants: int
    empty_timeout_seconds: int
    departure_timeout_seconds: int
    metadata: str


@dataclass(frozen=True)
class OpenedRoom:
    name: str
    sid: str | None = None
    join_url: str | None = None


@dataclass(frozen=True)
class JoinGrant:
    room_name: str
    identity: str  # stable per user
    display_name: str
    metadata: str
    access: Access
    expires_at: datetime
    now: datetime
    may_share_screen: bool = False
    join_url: str | None = None  # link providers: where the meeting is


@dataclass(frozen=True)
class JoinCredentials:
    provider: str
    expires_at: datetime
    server_url: str | None = None
    token: str | None = None
    join_url: str | None = None
    identity: str | None = None  # who they are in the room, where the provider names people
    # What the room lets them publish ("camera", "microphone", "screen_share", ...), and whether
    # they may send data messages (chat, a raised hand); a linked meeting decides that itself.
    may_publish: tuple[str, ...] = ()
    may_send_data: bool = False


@dataclass(frozen=True)
class RoomParticipant:
    sid: str
    identity: str
    name: str
    joined_at: datetime | None
    kind: str


@dataclass(frozen=True)
class S3Destination:
    bucket: str
    access_key: str
    secret: str
    region: str | None = None
    endpoint: str | None = None  # any S3-compatible store


@dataclass(frozen=True)
class RecordingTarget:
    """Where a recording's file goes: a path on the recorder's disk or, with s3, in a bucket."""

    file_path: str
    s3: S3Destination | None = None


class MeetingProvider(Protocol):
    name: str

    async def create_room(self, spec: RoomSpec) -> OpenedRoom: ...

    async def close_room(self, room_name: str) -> None: ...

    def join_credentials(self, grant: JoinGrant) -> JoinCredentials: ...

    async def list_participants(self, room_name: str) -> list[RoomParticipant]: ...

    def verify_webhook(self, body: str, authorization: str | None) -> object: ...

    async def start_recording(self, room_name: str, target: RecordingTarget) -> str: ...

    async def stop_recording(self, recording_id: str) -> None: ...

    async def allow_screen_share(self, room_name: str, identities: list[str], allowed: bool) -> int:
        """Gives (or takes) screen sharing to those of them in the room now; how many."""

    async def mute_participant(self, room_name: str, identity: str, kind: TrackKind) -> int:
        """Mutes what the person publishes of that kind; how many tracks it muted (none when
        nothing of it is on). NotInRoom if they are not in the room."""

    async def remove_participant(self, room_name: str, identity: str) -> None:
        """Takes the person out of the room now (they may join again). NotInRoom if they are not
        in it."""
