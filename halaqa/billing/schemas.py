"""Response and request bodies for the session ledger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from halaqa.kit.validation import Input


class LedgerEntryOut(BaseModel):
    id: int
    subscription_id: int
    cycle_id: int
    session_id: int
    student_user_id: int
    seq: int = Field(description="Its place in the session's history for this student")
    kind: Literal["consumed", "refunded"]
    outcome: str = Field(description="What decided it: present, no_show, teacher_absent, ...")
    source: Literal["auto", "teacher", "admin"]
    reason: str | None
    at: dt.datetime


class LedgerFlagOut(BaseModel):
    id: int
    session_id: int
    student_user_id: int
    subscription_id: int | None
    reason: str = Field(description="quota_exhausted: the cycle had no session left")
    status: Literal["open", "resolved", "dismissed"]
    resolved_by_user_id: int | None
    resolution_note: str | None
    created_at: dt.datetime


class DismissIn(Input):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
