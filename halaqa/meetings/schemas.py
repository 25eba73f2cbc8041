"""Request and response bodies for meeting configuration and joining."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from halaqa.kit.validation import Input, ServerUrl, WebUrl


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


class MeetingConfigOut(BaseModel):
    provider: Literal["livekit", "link"]
    livekit_url: str | None
    livekit_api_key: str | None
    livekit_api_secret_set: bool = Field(description="The secret itself is never shown")
    jitsi_base_url: str | None


class JoinOut(BaseModel):
    provider: str
    expires_at: dt.datetime = Field(description="The end of the join window")
    server_url: str | None = Field(description="LiveKit: where to connect")
    token: str | None = Field(description="LiveKit: the access token")
    join_url: str | None = Field(description="Meeting links: where the class meets")
