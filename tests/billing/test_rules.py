"""The counting rules (pure): every outcome of a session, for a student, charged or not."""

from __future__ import annotations

import pytest

from halaqa.attendance.policy import AttendanceStatus as A
from halaqa.attendance.policy import Decider
from halaqa.billing.rules import Verdict, Why, may_replace, next_entry, verdict
from halaqa.scheduling.lifecycle import Status as S

COMPLETED, ABSENT, CANCELLED = S.COMPLETED, S.ABSENT, S.CANCELLED


@pytest.mark.parametrize(
    ("status", "reason", "teacher", "student", "expected"),
    [
        # The teacher came: whoever came is charged, and a no-show too; an excuse is not.
        (COMPLETED, None, A.PRESENT, A.PRESENT, Verdict(True, Why.PRESENT)),
        (COMPLETED, None, A.PRESENT, A.LATE, Verdict(True, Why.LATE)),
        (COMPLETED, None, A.LATE, A.LEFT_EARLY, Verdict(True, Why.LEFT_EARLY)),
        (COMPLETED, None, A.PARTIAL, A.PARTIAL, Verdict(True, Why.PARTIAL)),
        (COMPLETED, None, A.PRESENT, A.ABSENT, Verdict(True, Why.NO_SHOW)),
        (ABSENT, None, A.PRESENT, A.ABSENT, Verdict(True, Why.NO_SHOW)),
        (ABSENT, "student_excused", A.PRESENT, A.EXCUSED, Verdict(False, Why.EXCUSED)),
        (COMPLETED, None, A.PRESENT, A.EXCUSED, Verdict(False, Why.EXCUSED)),
        # The teacher did not come: nobody is charged, whatever the session's status says.
        (COMPLETED, None, A.ABSENT, A.PRESENT, Verdict(False, Why.TEACHER_ABSENT)),
        (COMPLETED, None, A.EXCUSED, A.ABSENT, Verdict(False, Why.NOBODY_CAME)),
        (CANCELLED, "teacher_absent", A.ABSENT, A.PRESENT, Verdict(False, Why.TEACHER_ABSENT)),
        (CANCELLED, "teacher_absent", A.ABSENT, A.ABSENT, Verdict(False, Why.NOBODY_CAME)),
        (CANCELLED, "teacher_absent", None, None, Verdict(False, Why.NOBODY_CAME)),
        # Cancelled for anything else, or suspended: nobody, even if attendance was on record.
        (CANCELLED, "holiday", A.PRESENT, A.PRESENT, Verdict(False, Why.CANCELLED)),
        (S.SUSPENDED, None, None, None, Verdict(False, Why.SUSPENDED)),
        # Not over yet, or reopened: nothing until it is.
        (S.SCHEDULED, None, None, None, Verdict(False, Why.NOT_HELD)),
        (S.READY, None, None, None, Verdict(False, Why.NOT_HELD)),
        (S.ONGOING, None, A.PRESENT, A.PRESENT, Verdict(False, Why.NOT_HELD)),
        (S.UNSCHEDULED, None, None, None, Verdict(False, Why.NOT_HELD)),
        # Over, but nothing on record for the student (or the teacher): never charged blind.
        (COMPLETED, None, A.PRESENT, None, Verdict(False, Why.NOT_ON_RECORD)),
        (COMPLETED, None, None, A.PRESENT, Verdict(False, Why.NOT_ON_RECORD)),
    ],
)
def test_verdict(
    status: S, reason: str | None, teacher: A | None, student: A | None, expected: Verdict
) -> None:
    assert verdict(status, reason, teacher, student) == expected


AUTO, TEACHER, ADMIN = Decider.AUTO, Decider.TEACHER, Decider.ADMIN


@pytest.mark.parametrize(
    ("on_record", "new", "replaces"),
    [
        (None, AUTO, True),
        (AUTO, AUTO, True),
        (AUTO, TEACHER, True),
        (TEACHER, AUTO, False),
        (TEACHER, TEACHER, True),
        (TEACHER, ADMIN, True),
        (ADMIN, TEACHER, False),
        (ADMIN, AUTO, False),
        (ADMIN, ADMIN, True),
    ],
)
def test_a_lower_source_never_overrides_a_higher_one(
    on_record: Decider | None, new: Decider, replaces: bool
) -> None:
    assert may_replace(on_record, new) is replaces


CHARGE, FREE = Verdict(True, Why.PRESENT), Verdict(False, Why.CANCELLED)


@pytest.mark.parametrize(
    ("charged_now", "on_record", "wanted", "by", "entry"),
    [
        (False, None, CHARGE, AUTO, "consumed"),
        (True, AUTO, CHARGE, AUTO, None),  # charged once: never twice
        (True, AUTO, FREE, AUTO, "refunded"),
        (False, AUTO, FREE, AUTO, None),
        (False, None, FREE, AUTO, None),  # nothing to refund
        (False, AUTO, CHARGE, AUTO, "consumed"),  # charged again after a refund
        (True, ADMIN, FREE, AUTO, None),  # the admin charged it: the computation cannot refund
        (False, ADMIN, CHARGE, TEACHER, None),
        (True, TEACHER, FREE, ADMIN, "refunded"),
    ],
)
def test_next_entry(
    charged_now: bool, on_record: Decider | None, wanted: Verdict, by: Decider, entry: str | None
) -> None:
    assert next_entry(charged_now, on_record, wanted, by) == entry
