"""The attendance policy at every threshold edge, the counted window, teachers and overrides."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.attendance.folding import Kind, Presence, PresenceEvent, Source, fold
from halaqa.attendance.policy import (
    AttendanceStatus,
    Decider,
    Decision,
    Override,
    counted_window,
    effective,
    student_status,
    teacher_status,
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
