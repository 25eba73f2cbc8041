"""A schedule's status: every change allowed or refused, and a stopped schedule is not extended."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from halaqa.models import Schedule
from halaqa.schedules.lifecycle import ScheduleStatus, stop

S = ScheduleStatus
ALLOWED = {
    (S.ACTIVE, S.ENDED),
    (S.ACTIVE, S.CANCELLED),
    (S.ENDED, S.ENDED),
    (S.ENDED, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_change(current: ScheduleStatus, target: ScheduleStatus) -> None:
    schedule = Schedule(status=current.value, materialise_due_on=date(2026, 3, 8))
    if (current, target) in ALLOWED:
        stop(schedule, target)
        assert (schedule.status, schedule.materialise_due_on) == (target.value, None)
    else:
        with pytest.raises(ValueError, match=f"a {current} schedule cannot become {target}"):
            stop(schedule, target)
        assert schedule.status == current.value
