"""Request and response bodies for presence."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from halaqa.kit.validation import Input


class HeartbeatIn(Input):
    page_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")] = Field(
        description="Made up by the meeting page when it opens: one id per open page"
    )


class HeartbeatOut(BaseModel):
    next_in_seconds: int = Field(description="When to send the next one")
