"""What happens after a session's status changes: other parts of Halaqa register a kind of job
for the statuses they care about (a room to open when a session is ready, to close when it ends),
and `service.transition` queues those jobs in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from halaqa.kit.deps import Runtime
from halaqa.models import ClassSession
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.jobs import enqueue_kinds

# target status -> the kinds of job queued when a session reaches it
REACTIONS: dict[Status, list[str]] = {status: [] for status in Status}


def on_status(kind: str, *statuses: Status) -> None:
    """Queue a job of `kind` whenever a session reaches one of `statuses`."""
    for status in statuses:
        if kind not in REACTIONS[status]:
            REACTIONS[status].append(kind)


async def queue(rt: Runtime, session: ClassSession, current: Status | None, target: Status) -> None:
    """The jobs registered for a move to `target`, in one statement."""
    payload = {
        "academy_id": session.academy_id,
        "session_id": session.id,
        "from": current.value if current else None,
        "to": target.value,
    }
    await enqueue_kinds(rt, REACTIONS[target], payload, academy_id=session.academy_id)


# The kinds of job queued when a session moves to another time (its status may stay the same).
MOVE_REACTIONS: list[str] = []


def on_move(kind: str) -> None:
    if kind not in MOVE_REACTIONS:
        MOVE_REACTIONS.append(kind)


async def queue_move(rt: Runtime, session: ClassSession, old_starts_at: datetime | None) -> None:
    payload = {
        "academy_id": session.academy_id,
        "session_id": session.id,
        "old_starts_at": old_starts_at.isoformat() if old_starts_at else None,
    }
    await enqueue_kinds(rt, MOVE_REACTIONS, payload, academy_id=session.academy_id)
