"""The session lifecycle, table by table: every transition, every join window edge."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from halaqa.academies.roles import Role
from halaqa.academies.settings import effective_settings
from halaqa.scheduling.lifecycle import (
    LOOKS,
    TEACHER_ABSENT,
    By,
    Part,
    SessionFacts,
    Status,
    TransitionRefused,
    Viewer,
    abilities,
    can_join,
    check_transition,
    next_statuses,
    part_of,
    status_display,
)

S = Status
SYS, TEA, STA, STU = By.SYSTEM, By.TEACHER, By.STAFF, By.STUDENT
RUNNERS = (SYS, TEA, STA)  # a student (or parent) may only cancel their own session

# Written out by hand from DESIGN.md and the scheduling issue, not derived from the module:
# every (from, to, by) that is allowed. Everything else must be refused.
ALLOWED: set[tuple[Status, Status, By]] = {
    *((S.UNSCHEDULED, S.SCHEDULED, by) for by in RUNNERS),
    *((S.UNSCHEDULED, S.CANCELLED, by) for by in By),
    (S.SCHEDULED, S.READY, SYS),
    *((S.SCHEDULED, S.ONGOING, by) for by in RUNNERS),
    *((S.SCHEDULED, S.CANCELLED, by) for by in By),
    (S.SCHEDULED, S.SUSPENDED, SYS),
    (S.SCHEDULED, S.SUSPENDED, STA),
    *((S.READY, S.SCHEDULED, by) for by in RUNNERS),
    *((S.READY, S.ONGOING, by) for by in RUNNERS),
    *((S.READY, S.CANCELLED, by) for by in By),
    (S.READY, S.SUSPENDED, SYS),
    (S.READY, S.SUSPENDED, STA),
    *((S.ONGOING, S.COMPLETED, by) for by in RUNNERS),
    *((S.ONGOING, S.ABSENT, by) for by in RUNNERS),
    (S.ONGOING, S.CANCELLED, SYS),
    (S.ONGOING, S.CANCELLED, STA),
    *((S.COMPLETED, S.ABSENT, by) for by in RUNNERS),
    (S.COMPLETED, S.CANCELLED, SYS),
    (S.COMPLETED, S.CANCELLED, STA),
    (S.COMPLETED, S.ONGOING, STA),
    (S.ABSENT, S.COMPLETED, SYS),
    (S.ABSENT, S.COMPLETED, STA),
    (S.ABSENT, S.CANCELLED, SYS),
    (S.ABSENT, S.CANCELLED, STA),
    (S.SUSPENDED, S.SCHEDULED, SYS),
    (S.SUSPENDED, S.SCHEDULED, STA),
    *((S.SUSPENDED, S.CANCELLED, by) for by in RUNNERS),
}
# Allowed only when the session was cancelled because the teacher did not come.
ALLOWED_AFTER_TEACHER_ABSENCE = {(S.CANCELLED, S.COMPLETED, SYS), (S.CANCELLED, S.ABSENT, SYS)}

EVERY_CHANGE = list(itertools.product(Status, Status, By))


@pytest.mark.parametrize(("current", "target", "by"), EVERY_CHANGE)
def test_every_transition(current: Status, target: Status, by: By) -> None:
    for reason in (None, "other", TEACHER_ABSENT):
        expected = (current, target, by) in ALLOWED or (
            reason == TEACHER_ABSENT and (current, target, by) in ALLOWED_AFTER_TEACHER_ABSENCE
        )
        if expected:
            assert check_transition(current, target, by, cancellation_reason=reason).action
        else:
            with pytest.raises(TransitionRefused) as refused:
                check_transition(current, target, by, cancellation_reason=reason)
            assert str(current) in str(refused.value)
            assert str(target) in str(refused.value)


def test_refusal_says_what_is_allowed_instead() -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(S.SCHEDULED, S.COMPLETED, TEA)
    assert refused.value.allowed == [S.ONGOING, S.CANCELLED]
    assert "may become: ongoing, cancelled" in str(refused.value)


def test_nothing_leaves_a_session_stuck() -> None:
    """From every status that is not finished, the system can always reach a finished one."""
    finished = {S.COMPLETED, S.ABSENT, S.CANCELLED}
    for start in set(Status) - finished:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for target in next_statuses(current, SYS):
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & finished, start


def test_action_names_for_the_history() -> None:
    assert check_transition(S.SCHEDULED, S.READY, SYS).action == "prepare"
    assert check_transition(S.READY, S.SCHEDULED, STA).action == "unprepare"
    assert check_transition(S.ONGOING, S.COMPLETED, TEA).action == "complete"
    assert check_transition(S.SUSPENDED, S.SCHEDULED, SYS).action == "resume"
    assert check_transition(S.COMPLETED, S.ONGOING, STA).action == "reopen"


# --- joining ---------------------------------------------------------------------------------

START = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
TEACHER, STUDENT, OTHER_STUDENT, PARENT, ADMIN, STRANGER = 1, 2, 3, 4, 5, 6
SETTINGS = effective_settings({})


def facts(status: Status = S.SCHEDULED, **changes: object) -> SessionFacts:
    values: dict[str, object] = {
        "status": status,
        "starts_at": START,
        "duration": timedelta(minutes=60),
        "teacher_id": TEACHER,
        "student_ids": frozenset({STUDENT}),
    }
    values.update(changes)
    return SessionFacts(**values)  # type: ignore[arg-type]


VIEWERS = {
    "teacher": Viewer(TEACHER, frozenset({Role.TEACHER})),
    "student": Viewer(STUDENT, frozenset({Role.STUDENT})),
    "other_student": Viewer(OTHER_STUDENT, frozenset({Role.STUDENT})),
    "parent": Viewer(PARENT, frozenset({Role.PARENT}), children=frozenset({STUDENT})),
    "admin": Viewer(ADMIN, frozenset({Role.ADMIN})),
    "other_teacher": Viewer(STRANGER, frozenset({Role.TEACHER})),
}


@pytest.mark.parametrize(
    ("viewer", "part"),
    [
        ("teacher", Part.TEACHER),
        ("student", Part.STUDENT),
        ("other_student", Part.NONE),
        ("parent", Part.PARENT),
        ("admin", Part.OBSERVER),
        ("other_teacher", Part.NONE),
    ],
)
def test_part_of(viewer: str, part: Part) -> None:
    assert part_of(facts(), VIEWERS[viewer]) is part


MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
END = START + timedelta(minutes=60)
GRACE_END = END + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("viewer", "status", "now", "allowed", "reason"),
    [
        # Students: from 5 minutes before the start until 15 minutes after the end.
        ("student", S.SCHEDULED, START - 5 * MIN - SEC, False, "too_early"),
        ("student", S.SCHEDULED, START - 5 * MIN, True, None),
        ("student", S.READY, START - 5 * MIN, True, None),
        ("student", S.ONGOING, START + 30 * MIN, True, None),
        ("student", S.ONGOING, GRACE_END - SEC, True, None),
        ("student", S.ONGOING, GRACE_END, False, "ended"),
        # Teachers and staff: from 15 minutes before.
        ("teacher", S.READY, START - 15 * MIN - SEC, False, "too_early"),
        ("teacher", S.READY, START - 15 * MIN, True, None),
        ("teacher", S.SCHEDULED, START - 10 * MIN, True, None),
        ("admin", S.READY, START - 15 * MIN, True, None),
        ("student", S.READY, START - 10 * MIN, False, "too_early"),
        # Status decides before time does.
        ("student", S.CANCELLED, START, False, "cancelled"),
        ("student", S.SUSPENDED, START, False, "suspended"),
        ("student", S.COMPLETED, START + 30 * MIN, False, "ended"),
        ("student", S.ABSENT, START + 30 * MIN, False, "ended"),
        ("teacher", S.COMPLETED, START + 30 * MIN, False, "ended"),
        # Not part of it, whatever the time.
        ("other_student", S.ONGOING, START, False, "not_a_participant"),
        ("other_teacher", S.ONGOING, START, False, "not_a_participant"),
        ("parent", S.ONGOING, START, False, "not_a_participant"),
    ],
)
def test_can_join(
    viewer: str, status: Status, now: datetime, allowed: bool, reason: str | None
) -> None:
    decision = can_join(facts(status), VIEWERS[viewer], SETTINGS, now)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.message


def test_too_early_says_when_it_opens() -> None:
    decision = can_join(facts(), VIEWERS["student"], SETTINGS, START - timedelta(hours=2))
    assert decision.opens_at == START - 5 * MIN
    assert decision.closes_at == GRACE_END
    assert decision.opens_at.isoformat() in decision.message


def test_windows_follow_the_academy_settings() -> None:
    settings = effective_settings({"student_join_early_minutes": 10, "join_grace_minutes": 0})
    student = VIEWERS["student"]
    assert can_join(facts(), student, settings, START - 10 * MIN).allowed
    assert not can_join(facts(S.ONGOING), student, settings, END).allowed


def test_parents_observe_only_when_allowed() -> None:
    parent = VIEWERS["parent"]
    decision = can_join(facts(S.ONGOING), parent, SETTINGS, START, parents_may_observe=True)
    assert (decision.allowed, decision.part) == (True, Part.PARENT)


def test_unscheduled_session_cannot_be_joined() -> None:
    session = facts(S.UNSCHEDULED, starts_at=None)
    assert can_join(session, VIEWERS["teacher"], SETTINGS, START).reason == "not_scheduled"


# --- abilities and display -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "status", "now", "actions"),
    [
        ("teacher", S.SCHEDULED, START - timedelta(days=2), ["reschedule", "cancel"]),
        # The teacher's reschedule deadline (24 h) has passed; staff have none.
        ("teacher", S.SCHEDULED, START - timedelta(hours=23), ["cancel"]),
        ("admin", S.SCHEDULED, START - timedelta(hours=1), ["reschedule", "cancel"]),
        ("teacher", S.READY, START - 10 * MIN, ["join", "start", "cancel"]),
        ("teacher", S.ONGOING, START + 10 * MIN, ["join", "complete", "mark_absent"]),
        ("admin", S.ONGOING, START + 10 * MIN, ["join", "complete", "mark_absent", "cancel"]),
        # The student of an individual session (or their parent) may cancel it until it starts.
        ("student", S.READY, START - 2 * MIN, ["join", "cancel"]),
        ("student", S.SCHEDULED, START - timedelta(days=2), ["cancel"]),
        ("parent", S.SCHEDULED, START - timedelta(days=2), ["cancel"]),
        ("student", S.READY, START, ["join"]),
        ("student", S.SCHEDULED, START + MIN, ["join"]),
        ("parent", S.ONGOING, START, []),
        ("other_student", S.SCHEDULED, START - timedelta(days=2), []),
        ("teacher", S.COMPLETED, START + 90 * MIN, ["mark_absent"]),
        # Staff correct a finished session: reopen it, or cancel it after the fact.
        ("admin", S.COMPLETED, START + 90 * MIN, ["mark_absent", "reopen", "cancel"]),
        ("admin", S.ABSENT, START + 90 * MIN, ["cancel"]),
        ("teacher", S.CANCELLED, START, []),
    ],
)
def test_actions(viewer: str, status: Status, now: datetime, actions: list[str]) -> None:
    assert abilities(facts(status), VIEWERS[viewer], SETTINGS, now).actions == actions


@pytest.mark.parametrize("students", [frozenset({STUDENT, OTHER_STUDENT}), frozenset({STUDENT})])
def test_students_of_a_group_session_cannot_cancel_it(students: frozenset[int]) -> None:
    """Not even the only student of a group: the session is the group's."""
    group = facts(S.SCHEDULED, student_ids=students, group=True)
    early = START - timedelta(days=2)
    assert abilities(group, VIEWERS["student"], SETTINGS, early).actions == []
    assert abilities(group, VIEWERS["parent"], SETTINGS, early).actions == []
    ongoing = facts(S.ONGOING, student_ids=students, group=True)
    assert "mark_absent" not in abilities(ongoing, VIEWERS["teacher"], SETTINGS, START).actions


def test_nobody_marks_a_group_session_absent() -> None:
    group = facts(S.ONGOING, student_ids=frozenset({STUDENT, OTHER_STUDENT}))
    assert not abilities(group, VIEWERS["admin"], SETTINGS, START + MIN).can_mark_absent


def test_every_status_has_a_look_in_both_languages() -> None:
    assert set(LOOKS) == set(Status)
    for look in LOOKS.values():
        assert all((look.label_en, look.label_ar, look.colour, look.icon))
    assert len({look.label_ar for look in LOOKS.values()}) == len(Status)


def test_status_display_combines_look_and_actions() -> None:
    display = status_display(facts(S.READY), VIEWERS["student"], SETTINGS, START - 2 * MIN)
    assert (display.value, display.label_en, display.label_ar) == (
        S.READY,
        "Ready to join",
        "جاهزة للدخول",
    )
    assert display.actions == ["join", "cancel"]
