"""The consecutive-absence rule, table-driven: absent extends the current run, a class the
student came to ends it, excused neither breaks nor extends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from halaqa.attendance.policy import AttendanceStatus
from halaqa.reports.absences import Outcome, Run, current_run, flagged

DAY = timedelta(days=1)
FIRST = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
CODES = {
    "P": AttendanceStatus.PRESENT,
    "L": AttendanceStatus.LATE,
    "E": AttendanceStatus.LEFT_EARLY,
    "T": AttendanceStatus.PARTIAL,  # parTial
    "A": AttendanceStatus.ABSENT,
    "X": AttendanceStatus.EXCUSED,
}


def history(codes: str) -> list[Outcome]:
    """One session a day, oldest first: session i on day i."""
    return [Outcome(i, FIRST + i * DAY, CODES[code]) for i, code in enumerate(codes)]


@pytest.mark.parametrize(
    ("codes", "length", "excused", "unbroken", "run_ids"),
    [
        ("", 0, 0, True, []),
        ("P", 0, 0, False, []),
        ("A", 1, 0, True, [0]),
        ("AAA", 3, 0, True, [0, 1, 2]),
        ("PAAA", 3, 0, False, [1, 2, 3]),
        ("AAAP", 0, 0, False, []),  # came back: the run is over
        ("AAPA", 1, 0, False, [3]),
        # Every way of coming breaks it.
        ("AALA", 1, 0, False, [3]),
        ("AAEA", 1, 0, False, [3]),
        ("AATA", 1, 0, False, [3]),
        # Excused neither breaks nor extends.
        ("PAXA", 2, 1, False, [1, 3]),
        ("PAXXA", 2, 2, False, [1, 4]),
        ("PAAX", 2, 1, False, [1, 2]),  # excused after the last absence: still inside
        ("PXAA", 2, 0, False, [2, 3]),  # excused before the first absence: not inside
        ("PX", 0, 0, False, []),
        ("XXX", 0, 0, True, []),
        ("XAX", 1, 1, True, [1]),
        ("AXPXA", 1, 0, False, [4]),
    ],
)
def test_the_current_run(
    codes: str, length: int, excused: int, unbroken: bool, run_ids: list[int]
) -> None:
    run = current_run(history(codes))
    assert (run.length, run.excused, run.unbroken) == (length, excused, unbroken)
    assert [o.session_id for o in run.absences] == run_ids
    if run_ids:
        assert run.first is not None
        assert run.last is not None
        assert (run.first.session_id, run.last.session_id) == (run_ids[0], run_ids[-1])
    else:
        assert (run.first, run.last) == (None, None)


def test_order_of_arrival_never_matters() -> None:
    outcomes = history("PAXAPAAXA")
    assert current_run(reversed(outcomes)) == current_run(outcomes)
    assert current_run(sorted(outcomes, key=lambda o: o.status)) == current_run(outcomes)
    assert current_run(outcomes).length == 3


def test_sessions_at_the_same_instant_are_read_by_id() -> None:
    same = FIRST
    absent_first = [
        Outcome(1, same, AttendanceStatus.ABSENT),
        Outcome(2, same, AttendanceStatus.PRESENT),
    ]
    present_first = [
        Outcome(1, same, AttendanceStatus.PRESENT),
        Outcome(2, same, AttendanceStatus.ABSENT),
    ]
    assert current_run(absent_first).length == 0  # session 2 (present) is the later one
    assert current_run(present_first).length == 1


def test_flagged_lists_runs_at_least_that_long_longest_first() -> None:
    runs: dict[int, Run] = {
        10: current_run(history("AA")),
        11: current_run(history("PAAA")),
        12: current_run(history("AAAA")),
        13: current_run(history("AAP")),
        14: current_run(history("XAXAX")),
    }
    assert [student for student, _ in flagged(runs, 3)] == [12, 11]
    assert [(student, run.length) for student, run in flagged(runs, 2)] == [
        (12, 4),
        (11, 3),
        (10, 2),
        (14, 2),
    ]
    assert flagged(runs, 5) == []
