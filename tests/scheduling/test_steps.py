"""The automatic steps (pure): what the system does next to a session, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from halaqa.academies.settings import effective_settings
from halaqa.scheduling.lifecycle import SessionFacts, Status
from halaqa.scheduling.steps import NextStep, Step, completion_deferred_until, due_now, next_step

START = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MIN = timedelta(minutes=1)
SETTINGS = effective_settings({})  # the room opens 15 min early; completion 5 min after the end


def facts(
    status: Status,
    starts_at: datetime | None = START,
    *,
    reason: str | None = None,
    finalized: bool = False,
) -> SessionFacts:
    return SessionFacts(
        status,
        starts_at,
        HOUR,
        teacher_id=1,
        student_ids=frozenset({2}),
        cancellation_reason=reason,
        attendance_finalized=finalized,
    )


FINALIZE = NextStep(Step.FINALIZE, START + HOUR + 5 * MIN)  # finalize_delay_minutes = 5


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.UNSCHEDULED, None),
        (Status.SCHEDULED, NextStep(Step.PREPARE, START - 15 * MIN)),
        # A room nobody started is settled by its attendance after the end.
        (Status.READY, FINALIZE),
        (Status.ONGOING, NextStep(Step.COMPLETE, START + HOUR + 5 * MIN)),
        (Status.COMPLETED, FINALIZE),
        (Status.ABSENT, FINALIZE),
        (Status.CANCELLED, None),
        (Status.SUSPENDED, None),
    ],
)
def test_next_step_by_status(status: Status, expected: NextStep | None) -> None:
    starts_at = None if status is Status.UNSCHEDULED else START
    assert next_step(facts(status, starts_at), SETTINGS) == expected


@pytest.mark.parametrize(
    ("status", "reason", "finalized", "expected"),
    [
        (Status.COMPLETED, None, True, None),  # on record: nothing left to do
        (Status.ABSENT, None, True, None),
        (Status.CANCELLED, "teacher_absent", False, FINALIZE),  # late presence re-opened it
        (Status.CANCELLED, "teacher_absent", True, None),
        (Status.CANCELLED, "holiday", False, None),  # not about attendance
        (Status.READY, None, True, FINALIZE),  # never happens, but ready always waits for it
    ],
)
def test_finalisation_waits_only_for_what_is_not_on_record(
    status: Status, reason: str | None, finalized: bool, expected: NextStep | None
) -> None:
    assert next_step(facts(status, reason=reason, finalized=finalized), SETTINGS) == expected


def test_the_steps_follow_the_academy_settings() -> None:
    settings = effective_settings(
        {"meeting_prepare_minutes": 30, "auto_complete_buffer_minutes": 0}
    )
    assert next_step(facts(Status.SCHEDULED), settings) == NextStep(Step.PREPARE, START - 30 * MIN)
    assert next_step(facts(Status.ONGOING), settings) == NextStep(Step.COMPLETE, START + HOUR)
    late = effective_settings({"finalize_delay_minutes": 30})
    assert next_step(facts(Status.COMPLETED), late) == NextStep(Step.FINALIZE, START + 90 * MIN)


@pytest.mark.parametrize(
    ("status", "now", "step"),
    [
        (Status.SCHEDULED, START - 16 * MIN, None),
        (Status.SCHEDULED, START - 15 * MIN, Step.PREPARE),  # exactly when the room opens
        (Status.SCHEDULED, START + 3 * HOUR, Step.PREPARE),  # late (worker was down): still
        (Status.ONGOING, START + HOUR + 4 * MIN, None),
        (Status.ONGOING, START + HOUR + 5 * MIN, Step.COMPLETE),
        (Status.READY, START + HOUR + 4 * MIN, None),
        (Status.READY, START + 10 * HOUR, Step.FINALIZE),
        (Status.COMPLETED, START + HOUR + 5 * MIN, Step.FINALIZE),
        (Status.CANCELLED, START, None),
    ],
)
def test_due_now(status: Status, now: datetime, step: Step | None) -> None:
    assert due_now(facts(status), SETTINGS, now) == step


END = START + HOUR
CAP = END + 60 * MIN  # overtime_cap_minutes = 60


@pytest.mark.parametrize(
    ("now", "people_in_room", "later"),
    [
        (END + 5 * MIN, False, None),  # nobody in: complete now
        (END + 5 * MIN, True, END + 6 * MIN),  # still talking: look again in a minute
        (CAP - 30 * timedelta(seconds=1), True, CAP),  # never past the cap
        (CAP, True, None),  # the cap has come: complete even with people in
        (CAP + HOUR, True, None),
    ],
)
def test_a_completion_waits_while_people_are_in_the_room(
    now: datetime, people_in_room: bool, later: datetime | None
) -> None:
    facts_ = facts(Status.ONGOING)
    assert completion_deferred_until(facts_, SETTINGS, now, people_in_room) == later
