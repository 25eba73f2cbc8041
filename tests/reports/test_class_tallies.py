"""Every class held across the academy at once (the overview's weekly rate): the same figures as
all the teacher reports together, for staff only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import pytest
from fastapi import FastAPI

from halaqa.academies.auth import AcademyContext, Principal
from halaqa.academies.repository import AcademyRepository, UserRepository
from halaqa.academies.roles import Role
from halaqa.exceptions import Forbidden
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.reports import service
from halaqa.reports.summary import HELD
from tests.api import Api, Person
from tests.catalog.school import SLUG, ok, school
from tests.meetings.test_livekit import SESSIONS, TOMORROW
from tests.reports.classes import DAY, HOUR, MINUTE, Beat, book_individual, hold, term

# (first day, last day) in Riyadh: (attended, counted) of the classes held, how many classes.
PERIODS = [
    ((date(2026, 3, 2), date(2026, 3, 4)), (5, 11), 5),  # the term and the other teacher's lesson
    ((date(2026, 3, 4), date(2026, 3, 4)), (2, 4), 2),  # day 3 alone
    ((date(2026, 3, 2), date(2026, 3, 5)), (5, 12), 6),  # with the lesson of 5 March, missed
]


@asynccontextmanager
async def as_member(
    api: Api, who: Person, *roles: Role
) -> AsyncIterator[tuple[Runtime, AcademyContext]]:
    """A transaction, and `who` in the academy with `roles`, as a request would have them."""
    async with api.database.transaction() as session:
        academy = await AcademyRepository(session).by_slug(SLUG)
        user = await UserRepository(session).get(who.id)
        assert academy is not None
        assert user is not None
        ctx = AcademyContext(
            academy=academy, principal=Principal(user=user), roles=frozenset(roles)
        )
        yield api.runtime(session), ctx


async def test_every_class_held_adds_up_to_the_teacher_reports(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=3)
    _, s1, s2 = s.students
    other = s.other_teacher
    # Booked now, while all are ahead: the other teacher's lesson with s1 on day 3 (held, s1
    # came), one cancelled that day (not held), and one on 5 March, after the term (s2 missed).
    lesson = await book_individual(api, s, s1, TOMORROW + 2 * DAY + 6 * HOUR, teacher=other)
    cancelled = await book_individual(api, s, s2, TOMORROW + 2 * DAY + 8 * HOUR, teacher=other)
    after = await book_individual(api, s, s2, TOMORROW + 3 * DAY, teacher=other)
    path = f"{SESSIONS}/{cancelled['id']}/cancel"
    ok(await api.client.post(path, json={"reason": "ill"}, headers=s.admin.headers))
    await term(api, app, clock, s)  # the school's teacher: four classes, s1 and s2 absent often
    teaching = [Beat(0 * MINUTE, other), Beat(HOUR, other)]
    await hold(api, app, clock, lesson, [*teaching, Beat(0 * MINUTE, s1), Beat(HOUR, s1)])
    await hold(api, app, clock, after, teaching)

    for (first, last), figures, held in PERIODS:
        period = service.period_of(first, last, "Asia/Riyadh", last)
        async with as_member(api, s.supervisor, Role.SUPERVISOR) as (rt, ctx):
            classes = await service.class_tallies(rt, ctx, period)
            reports = [
                await service.teacher_attendance(rt, ctx, teacher.id, period)
                for teacher in (s.teacher, other)
            ]
        found = [(c.starts_at, c.students.attended, c.students.counted) for c in classes]
        rows = [
            (row.session.starts_at, row.students.attended, row.students.counted)
            for report in reports
            for row in report.sessions
            if row.session.status.value in HELD
        ]
        assert found == sorted(rows), (first, last)  # in time order, whoever taught
        totals = (
            sum(r.students.attended for r in reports),
            sum(r.students.counted for r in reports),
        )
        assert (sum(f[1] for f in found), sum(f[2] for f in found)) == totals == figures
        assert len(found) == held


async def test_only_staff_see_every_class(api: Api) -> None:
    s = await school(api, students=1)
    period = service.period_of(None, None, "Asia/Riyadh", date(2026, 3, 4))
    for roles in [(Role.TEACHER,), (Role.STUDENT,), (Role.PARENT,), ()]:
        async with as_member(api, s.teacher, *roles) as (rt, ctx):
            with pytest.raises(Forbidden) as refused:
                await service.class_tallies(rt, ctx, period)
        assert refused.value.code == "not_allowed", roles
    for who, role in [(s.admin, Role.ADMIN), (s.supervisor, Role.SUPERVISOR)]:
        async with as_member(api, who, role) as (rt, ctx):
            assert await service.class_tallies(rt, ctx, period) == []
