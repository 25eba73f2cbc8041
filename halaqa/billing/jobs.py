"""The ledger follows every change of a session's outcome: each finalisation of its attendance,
and each status change that can charge or free its students (completed, absent, cancelled,
suspended, reopened). The job is idempotent, so running it once too often costs nothing."""

from __future__ import annotations

from typing import Any

from halaqa.attendance.finalisation import on_finalized
from halaqa.billing.service import apply_session
from halaqa.kit.deps import Runtime
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.jobs import handles

APPLY = "billing.apply_session"


@handles(APPLY)
async def apply_session_job(rt: Runtime, payload: dict[str, Any]) -> None:
    await apply_session(rt, payload["academy_id"], payload["session_id"])


on_finalized(APPLY)
follow_ups.on_status(
    APPLY, Status.COMPLETED, Status.ABSENT, Status.CANCELLED, Status.SUSPENDED, Status.ONGOING
)
