"""A schedule's status (pure): active while the worker keeps booking it, ended once it is booked
to its end (its sessions ahead may still change), cancelled when nothing of it is left."""

from __future__ import annotations

from enum import StrEnum

from halaqa.models import Schedule


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


# Cutting an ended series short leaves it ended; a cancelled one never comes back.
TRANSITIONS: dict[ScheduleStatus, frozenset[ScheduleStatus]] = {
    ScheduleStatus.ACTIVE: frozenset({ScheduleStatus.ENDED, ScheduleStatus.CANCELLED}),
    ScheduleStatus.ENDED: frozenset({ScheduleStatus.ENDED, ScheduleStatus.CANCELLED}),
    ScheduleStatus.CANCELLED: frozenset(),
}


def stop(schedule: Schedule, target: ScheduleStatus) -> None:
    """THE way a schedule's status changes: it stops being extended, for good."""
    current = ScheduleStatus(schedule.status)
    if target not in TRANSITIONS[current]:
        raise ValueError(f"a {current} schedule cannot become {target}")
    schedule.status = target.value
    schedule.materialise_due_on = None
