"""Request and response bodies for meeting configuration and joining."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from halaqa.kit.validation import Input, ServerUrl, WebUrl
from halaqa.meetings.providers.base import TrackKind

PathPrefix = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-/]+$")]


class RecordingStorageIn(Input):
    """Where LiveKit's recorder (egress) writes recordings: under a path on its own disk, or in
    an S3 bucket (any S3-compatible store) when a bucket is given."""

    path_prefix: PathPrefix = Field("halaqa", description="Files go under it: prefix/academy/…")
    s3_bucket: Annotated[str, Field(min_length=3, max_length=200)] | None = None
    s3_region: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    s3_endpoint: ServerUrl | None = Field(None, description="For S3-compatible stores")
    s3_access_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    s3_secret: Annotated[SecretStr, Field(min_length=1, max_length=500)] | None = Field(
        None, description="Write-only; leave out to keep the stored one"
    )


class RecordingStorageOut(BaseModel):
    path_prefix: str
    s3_bucket: str | None
    s3_region: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret_set: bool = Field(description="The secret itself is never shown")


class MeetingConfigIn(Input):
    provider: Literal["livekit", "link"]
    livekit_url: ServerUrl | None = Field(None, description="e.g. wss://livekit.example.org")
    livekit_api_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    livekit_api_secret: Annotated[SecretStr, Field(min_length=1, max_length=500)] | None = Field(
        None, description="Write-only; leave out to keep the stored one"
    )
    jitsi_base_url: WebUrl | None = Field(
        None, description="Meeting links: rooms are made under it, e.g. https://meet.jit.si"
    )
    recordings: RecordingStorageIn | None = Field(
        None, description="LiveKit: where recordings go; leave out and nothing is recorded"
    )


class MeetingConfigOut(BaseModel):
    provider: Literal["livekit", "link"]
    livekit_url: str | None
    livekit_api_key: str | None
    livekit_api_secret_set: bool = Field(description="The secret itself is never shown")
    jitsi_base_url: str | None
    recordings: RecordingStorageOut | None


class RecordingOut(BaseModel):
    id: int
    status: Literal["starting", "active", "ending", "complete", "failed", "aborted"]
    started_by_user_id: int | None = Field(description="Null: recorded automatically")
    started_at: dt.datetime
    ended_at: dt.datetime | None
    location: str | None = Field(description="Where the file is, once the recording has ended")
    duration_seconds: int | None
    size_bytes: int | None
    error: str | None


class ScreenShareIn(Input):
    students_may_share: bool


class ScreenShareOut(BaseModel):
    students_may_share: bool
    updated_participants: int = Field(description="Students in the room now whose powers changed")


class JoinOut(BaseModel):
    provider: str
    expires_at: dt.datetime = Field(description="The end of the join window")
    server_url: str | None = Field(description="LiveKit: where to connect")
    token: str | None = Field(description="LiveKit: the access token")
    join_url: str | None = Field(description="Meeting links: where the class meets")
    identity: str | None = Field(None, description="LiveKit: who the viewer is in the room")
    may_publish: list[str] = Field(
        default_factory=list,
        description="LiveKit: what the viewer may publish (camera, microphone, screen_share, …)",
    )
    may_send_data: bool = Field(
        False, description="LiveKit: whether the viewer may send chat and a raised hand"
    )


class MuteIn(Input):
    track: TrackKind = Field(description="What to mute: screen_share includes its sound")


class MuteOut(BaseModel):
    user_id: int
    track: TrackKind
    muted_tracks: int = Field(description="Tracks muted now; 0 when nothing of it was on")


class RemovedOut(BaseModel):
    user_id: int = Field(description="Taken out of the room now; they may join again")
