"""The attendance policy at every threshold edge, the counted window, teachers, overrides and
the session's outcome."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.attendance.folding import Kind, Presence, PresenceEvent, Source, fold
from halaqa.attendance.policy import (
    STUDENT_EXCUSED,
    AttendanceStatus,
    Decider,
    Decision,
    Outcome,
    Override,
    counted_window,
    effective,
    outcome_transition,
    session_outcome,
    student_status,
    teacher_status,
)
from halaqa.scheduling.lifecycle import (
    TEACHER_ABSENT,
    By,
    Status,
    TransitionRefused,
    check_transition,
)

S = AttendanceStatus
START = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=1)  # a 3,600-second slot
# Defaults: absent below 50 %, present from 80 %, late after 10 min, left early 10 min before.
DEFAULTS = effective_settings({})


def t(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def attended(
    *stays: tuple[int, int], window_start: datetime = START, user: int = 2
) -> Presence | None:
    """Folded presence of stays given in seconds from the start (merging off: every gap shows)."""
    events = [
        PresenceEvent(user, str(n), kind, t(at), Source.WEBHOOK, f"{n}:{kind}")
        for n, (joined, left) in enumerate(stays)
        for kind, at in ((Kind.JOINED, joined), (Kind.LEFT, left))
    ]
    folded = fold(
        events, window_start=window_start, window_end=END, scheduled_end=END, merge_seconds=0
    )
    return folded.get(user)


STUDENT_CASES: list[tuple[str, Presence | None, AttendanceStatus]] = [
    ("no presence", None, S.ABSENT),
    ("only outside the window", attended((-600, -60)), S.ABSENT),
    # 1. absent below partial_percent (50 % = 1,800 s)
    ("p just under 50 %", attended((0, 1799)), S.ABSENT),
    ("p exactly 50 % is not absent", attended((0, 1800)), S.LEFT_EARLY),
    # 2. present at 100 %, whatever else
    ("p 100 %", attended((0, 3600)), S.PRESENT),
    ("p 100 % with time outside the window", attended((-300, 3900)), S.PRESENT),
    ("p 100 % over two devices", attended((0, 2000), (1500, 3600)), S.PRESENT),
    # 3. late when the first join is more than 10 min after the window start
    ("first join exactly at +10 min is not late", attended((600, 3600)), S.PRESENT),
    ("a second later is late, though p = 83 %", attended((601, 3600)), S.LATE),
    ("late with a low share", attended((900, 3600)), S.LATE),  # p = 75 %
    ("late and left early: late first", attended((700, 2800)), S.LATE),
    # 4. present from present_percent (80 % = 2,880 s)
    ("p exactly 80 % is present, even leaving at 48 min", attended((0, 2880)), S.PRESENT),
    ("p just under 80 % leaving at 48 min", attended((0, 2879)), S.LEFT_EARLY),
    # 5. left early when the last leave is more than 10 min before the end
    ("last leave exactly at end - 10 min: not early", attended((0, 1200), (2000, 3000)), S.PARTIAL),
    ("last leave one second earlier is early", attended((0, 1200), (2000, 2999)), S.LEFT_EARLY),
    # 6. partial otherwise
    ("away in the middle, there at both ends", attended((0, 1200), (2400, 3600)), S.PARTIAL),
    ("joined at +10 min, away, back to the end", attended((600, 1800), (2400, 3600)), S.PARTIAL),
]


@pytest.mark.parametrize(
    ("presence", "expected"),
    [case[1:] for case in STUDENT_CASES],
    ids=[case[0] for case in STUDENT_CASES],
)
def test_student_rules_in_order(presence: Presence | None, expected: AttendanceStatus) -> None:
    assert student_status(presence, window_start=START, scheduled_end=END, settings=DEFAULTS) == (
        expected
    )


@pytest.mark.parametrize(
    ("overrides", "stays", "expected"),
    [
        # A threshold of 0 still needs someone there.
        ({"partial_percent": 0}, (), S.ABSENT),
        ({"partial_percent": 0}, ((3599, 3600),), S.LATE),
        ({"partial_percent": 0, "late_after_minutes": 60}, ((3599, 3600),), S.PARTIAL),
        ({"late_after_minutes": 0}, ((1, 3600),), S.LATE),
        ({"late_after_minutes": 0}, ((0, 2000),), S.LEFT_EARLY),
        ({"present_percent": 100}, ((0, 3599),), S.PARTIAL),  # 3,599 s leaves at end - 1 s
        ({"left_early_minutes": 0}, ((0, 2000), (3000, 3599)), S.LEFT_EARLY),
        ({"left_early_minutes": 0}, ((0, 2000), (3000, 3600)), S.PARTIAL),
        ({"partial_percent": 70, "present_percent": 70}, ((0, 2519),), S.ABSENT),
        ({"partial_percent": 70, "present_percent": 70}, ((0, 2520),), S.PRESENT),
    ],
)
def test_student_rules_follow_the_academy(
    overrides: dict[str, int], stays: tuple[tuple[int, int], ...], expected: AttendanceStatus
) -> None:
    settings = effective_settings(overrides)
    status = student_status(
        attended(*stays), window_start=START, scheduled_end=END, settings=settings
    )
    assert status == expected


@pytest.mark.parametrize(
    ("teacher_first_join", "window_start"),
    [
        (None, START),  # never came: the scheduled window
        (t(-300), START),  # early
        (START, START),
        (t(900), t(900)),  # 15 min late: students are measured from then
        (t(3599), t(3599)),
        (END, START),  # came only when the slot was over: as if never
        (t(4000), START),
    ],
)
def test_counted_window(teacher_first_join: datetime | None, window_start: datetime) -> None:
    assert counted_window(START, END, teacher_first_join) == (window_start, END)


def test_a_late_teacher_never_makes_a_student_late() -> None:
    """The teacher comes at +15 min, the student at +20 min and stays: against the scheduled
    start that is late, against the counted window it is on time and present (40 of 45 min)."""
    teacher = attended((900, 3600), user=1)
    assert teacher is not None
    window_start, window_end = counted_window(START, END, teacher.first_join)
    shifted = attended((1200, 3600), window_start=window_start)
    unshifted = attended((1200, 3600))
    assert shifted is not None
    assert (window_start, window_end, shifted.seconds) == (t(900), END, 2400)
    assert student_status(
        shifted, window_start=window_start, scheduled_end=END, settings=DEFAULTS
    ) == (S.PRESENT)
    assert student_status(unshifted, window_start=START, scheduled_end=END, settings=DEFAULTS) == (
        S.LATE
    )


def test_a_late_teacher_shifts_the_edges_too() -> None:
    window_start = t(900)  # 45 min counted: 50 % = 1,350 s, late after +25 min
    for stays, expected in [
        (((900, 2249),), S.ABSENT),
        (((900, 2250),), S.LEFT_EARLY),
        (((1500, 3600),), S.PARTIAL),  # exactly 10 min after the teacher: on time, 78 %
        (((1501, 3600),), S.LATE),
    ]:
        presence = attended(*stays, window_start=window_start)
        status = student_status(
            presence, window_start=window_start, scheduled_end=END, settings=DEFAULTS
        )
        assert status == expected, stays


@pytest.mark.parametrize(
    ("settings", "stays", "expected"),
    [
        (DEFAULTS, None, S.ABSENT),
        (DEFAULTS, ((0, 3600),), S.PRESENT),
        (DEFAULTS, ((0, 3240),), S.PRESENT),  # exactly 90 %
        (DEFAULTS, ((0, 3239),), S.PARTIAL),
        (DEFAULTS, ((1800, 3600),), S.PARTIAL),  # exactly 50 %, however late
        (DEFAULTS, ((1801, 3600),), S.ABSENT),
        (DEFAULTS, ((-900, 0),), S.ABSENT),  # only before the slot
        (effective_settings({"teacher_partial_percent": 0}), ((-900, 0),), S.ABSENT),
        (effective_settings({"teacher_present_percent": 60}), ((0, 2160),), S.PRESENT),
        (effective_settings({"teacher_partial_percent": 20}), ((0, 719),), S.ABSENT),
        (effective_settings({"teacher_partial_percent": 20}), ((0, 720),), S.PARTIAL),
    ],
)
def test_teacher_status(
    settings: AcademySettings, stays: tuple[tuple[int, int], ...] | None, expected: AttendanceStatus
) -> None:
    presence = None if stays is None else attended(*stays, user=1)
    status = teacher_status(presence, scheduled_start=START, scheduled_end=END, settings=settings)
    assert status == expected


# --- overrides -------------------------------------------------------------------------------


def by(source: Decider, status: AttendanceStatus, minute: int) -> Override:
    return Override(status, source, END + timedelta(minutes=minute))


TEA, ADM = Decider.TEACHER, Decider.ADMIN


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([], Decision(S.ABSENT, Decider.AUTO)),
        ([by(TEA, S.EXCUSED, 1)], Decision(S.EXCUSED, TEA)),
        ([by(TEA, S.LATE, 1), by(TEA, S.PRESENT, 2)], Decision(S.PRESENT, TEA)),
        ([by(TEA, S.LATE, 1), by(ADM, S.PRESENT, 2)], Decision(S.PRESENT, ADM)),
        ([by(ADM, S.PRESENT, 1), by(TEA, S.LATE, 2)], Decision(S.PRESENT, ADM)),  # teacher later
        (
            [by(ADM, S.PRESENT, 1), by(ADM, S.ABSENT, 5), by(TEA, S.LATE, 9)],
            Decision(S.ABSENT, ADM),
        ),
        ([by(TEA, S.LATE, 1), by(TEA, S.PARTIAL, 1)], Decision(S.PARTIAL, TEA)),  # exact tie
    ],
)
def test_override_precedence(overrides: list[Override], expected: Decision) -> None:
    for order in itertools.permutations(overrides):
        assert effective(S.ABSENT, order) == expected


def test_the_computation_is_no_override() -> None:
    with pytest.raises(ValueError, match="teacher or an admin"):
        Override(S.PRESENT, Decider.AUTO, END)


# --- the session's outcome -------------------------------------------------------------------

CAME = [S.PRESENT, S.LATE, S.LEFT_EARLY, S.PARTIAL]
AWAY = [S.ABSENT, S.EXCUSED]
DONE = Outcome(Status.COMPLETED)
NO_SHOW = Outcome(Status.ABSENT)
EXCUSED = Outcome(Status.ABSENT, STUDENT_EXCUSED)
MAKE_UP = Outcome(Status.CANCELLED, TEACHER_ABSENT)

OUTCOME_CASES: list[tuple[str, bool, AttendanceStatus, dict[int, AttendanceStatus], Outcome]] = [
    # individual: teacher + one student
    ("both present", False, S.PRESENT, {2: S.PRESENT}, DONE),
    ("partial teacher, late student", False, S.PARTIAL, {2: S.LATE}, DONE),
    ("student left early", False, S.PRESENT, {2: S.LEFT_EARLY}, DONE),
    ("student partial", False, S.PRESENT, {2: S.PARTIAL}, DONE),
    ("student absent", False, S.PRESENT, {2: S.ABSENT}, NO_SHOW),
    ("student absent, teacher partial", False, S.PARTIAL, {2: S.ABSENT}, NO_SHOW),
    ("student excused", False, S.PRESENT, {2: S.EXCUSED}, EXCUSED),
    ("teacher absent, student came", False, S.ABSENT, {2: S.PRESENT}, MAKE_UP),
    ("nobody came", False, S.ABSENT, {2: S.ABSENT}, MAKE_UP),
    ("teacher absent, student excused", False, S.ABSENT, {2: S.EXCUSED}, MAKE_UP),
    ("teacher excused", False, S.EXCUSED, {2: S.PRESENT}, MAKE_UP),
    # overrides may give a teacher any status: late or left early still came
    ("teacher overridden late", False, S.LATE, {2: S.PRESENT}, DONE),
    ("teacher overridden left early", False, S.LEFT_EARLY, {2: S.ABSENT}, NO_SHOW),
    # group
    ("group, all came", True, S.PRESENT, {2: S.PRESENT, 3: S.LATE}, DONE),
    ("group, some absent", True, S.PRESENT, {2: S.PRESENT, 3: S.ABSENT, 4: S.EXCUSED}, DONE),
    ("group, every student absent", True, S.PARTIAL, {2: S.ABSENT, 3: S.ABSENT}, DONE),
    ("group, one student, absent", True, S.PRESENT, {2: S.ABSENT}, DONE),
    ("group, nobody enrolled", True, S.PRESENT, {}, DONE),
    ("group, teacher absent", True, S.ABSENT, {2: S.PRESENT, 3: S.PRESENT}, MAKE_UP),
    ("group, nobody came", True, S.ABSENT, {2: S.ABSENT, 3: S.ABSENT}, MAKE_UP),
    ("group, teacher absent, nobody enrolled", True, S.ABSENT, {}, MAKE_UP),
]


@pytest.mark.parametrize(
    ("group", "teacher", "students", "expected"),
    [case[1:] for case in OUTCOME_CASES],
    ids=[case[0] for case in OUTCOME_CASES],
)
def test_session_outcome(
    group: bool,
    teacher: AttendanceStatus,
    students: dict[int, AttendanceStatus],
    expected: Outcome,
) -> None:
    assert session_outcome(group=group, teacher=teacher, students=students) == expected


@pytest.mark.parametrize("teacher", list(S))
@pytest.mark.parametrize("student", list(S))
def test_individual_outcome_for_every_pair(
    teacher: AttendanceStatus, student: AttendanceStatus
) -> None:
    outcome = session_outcome(group=False, teacher=teacher, students={2: student})
    if teacher in AWAY:
        assert outcome == MAKE_UP
    elif student in AWAY:
        assert outcome.status is Status.ABSENT
    else:
        assert outcome == DONE


@pytest.mark.parametrize("teacher", list(S))
def test_group_outcome_never_depends_on_the_students(teacher: AttendanceStatus) -> None:
    expected = MAKE_UP if teacher in AWAY else DONE
    for first, second in itertools.product(S, repeat=2):
        students = {2: first, 3: second}
        assert session_outcome(group=True, teacher=teacher, students=students) == expected


@pytest.mark.parametrize("students", [{}, {2: S.PRESENT, 3: S.PRESENT}])
def test_an_individual_session_has_one_student(students: dict[int, AttendanceStatus]) -> None:
    with pytest.raises(ValueError, match="one student"):
        session_outcome(group=False, teacher=S.PRESENT, students=students)


OUTCOMES = [DONE, NO_SHOW, EXCUSED, MAKE_UP]

# (current status, its cancellation reason, outcome, the target the system moves it to)
TRANSITION_CASES: list[tuple[Status, str | None, Outcome, Status | None]] = [
    (Status.ONGOING, None, DONE, Status.COMPLETED),
    (Status.ONGOING, None, NO_SHOW, Status.ABSENT),
    (Status.ONGOING, None, EXCUSED, Status.ABSENT),
    (Status.ONGOING, None, MAKE_UP, Status.CANCELLED),
    (Status.COMPLETED, None, DONE, None),
    (Status.COMPLETED, None, NO_SHOW, Status.ABSENT),  # the student's presence was a mistake
    (Status.COMPLETED, None, MAKE_UP, Status.CANCELLED),
    (Status.ABSENT, None, DONE, Status.COMPLETED),  # a late webhook: the student came
    (Status.ABSENT, None, EXCUSED, None),  # an excuse approved afterwards: the status stays
    (Status.ABSENT, None, MAKE_UP, Status.CANCELLED),
    (Status.CANCELLED, TEACHER_ABSENT, DONE, Status.COMPLETED),  # late events: the teacher came
    (Status.CANCELLED, TEACHER_ABSENT, NO_SHOW, Status.ABSENT),
    (Status.CANCELLED, TEACHER_ABSENT, EXCUSED, Status.ABSENT),
    (Status.CANCELLED, TEACHER_ABSENT, MAKE_UP, None),
    # refused by the lifecycle: left as it is
    (Status.CANCELLED, "holiday", DONE, None),
    (Status.CANCELLED, "holiday", NO_SHOW, None),
    (Status.CANCELLED, None, DONE, None),
    (Status.CANCELLED, "holiday", MAKE_UP, None),  # cancelled already, for its own reason
    # never due to be held: the lifecycle would let the system cancel them, but no make-up is owed
    (Status.SUSPENDED, None, DONE, None),
    (Status.SUSPENDED, None, MAKE_UP, None),
    (Status.UNSCHEDULED, None, DONE, None),
    (Status.UNSCHEDULED, None, MAKE_UP, None),
    # never started: only the teacher's absence is a direct change
    (Status.SCHEDULED, None, MAKE_UP, Status.CANCELLED),
    (Status.READY, None, MAKE_UP, Status.CANCELLED),
    (Status.SCHEDULED, None, DONE, None),
    (Status.READY, None, NO_SHOW, None),
]


@pytest.mark.parametrize(("current", "reason", "outcome", "expected"), TRANSITION_CASES)
def test_outcome_transition(
    current: Status, reason: str | None, outcome: Outcome, expected: Status | None
) -> None:
    assert outcome_transition(current, outcome, cancellation_reason=reason) == expected


@pytest.mark.parametrize(
    ("current", "reason"),
    [
        (Status.ONGOING, None),
        (Status.COMPLETED, None),
        (Status.ABSENT, None),
        (Status.CANCELLED, TEACHER_ABSENT),
    ],
)
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_finalisation_move_is_one_the_system_may_make(
    current: Status, reason: str | None, outcome: Outcome
) -> None:
    """From every status finalisation meets, each outcome is reached, by a change the lifecycle
    lets the system make, or is there already."""
    target = outcome_transition(current, outcome, cancellation_reason=reason)
    if target is None:
        assert current is outcome.status
    else:
        assert target is outcome.status
        check_transition(current, target, By.SYSTEM, cancellation_reason=reason)


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("reason", [None, TEACHER_ABSENT, "holiday"])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_outcome_transition_agrees_with_the_lifecycle(
    current: Status, reason: str | None, outcome: Outcome
) -> None:
    """None exactly where the system may not move the session, or it is there already, or it was
    never due to be held (suspended, unscheduled)."""
    target = outcome_transition(current, outcome, cancellation_reason=reason)
    if target is not None:
        check_transition(current, target, By.SYSTEM, cancellation_reason=reason)
    elif current is not outcome.status and current not in {Status.SUSPENDED, Status.UNSCHEDULED}:
        with pytest.raises(TransitionRefused):
            check_transition(current, outcome.status, By.SYSTEM, cancellation_reason=reason)
