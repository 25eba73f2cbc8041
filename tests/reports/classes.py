"""Real attendance for the report tests: sessions booked through the API, presence sent as the
meeting page's heartbeats at chosen instants of the project clock, and the worker's ticks that
complete and finalise them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, enrolled, new_group, ok
from tests.meetings.test_livekit import SESSIONS, TOMORROW, tick

REPORTS = f"/api/v1/academies/{SLUG}/reports"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Beat:
    """A heartbeat `after` the session's start, from `who`'s meeting page `page`."""

    after: timedelta
    who: Person
    page: str = "page-one-0001"


async def circle(api: Api, s: School, students: list[Person]) -> int:
    """A circle the school's teacher teaches, with `students` enrolled."""
    group = await new_group(api, s.admin, s.teacher, "circle", name="Hifz circle")
    for student in students:
        await enrolled(api, s.admin, group["id"], student)
    group_id: int = group["id"]
    return group_id


async def book_group(
    api: Api, s: School, group_id: int, starts_at: datetime = TOMORROW, minutes: int = 60
) -> dict[str, Any]:
    body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group_id,
        "starts_at": starts_at.isoformat(),
        "duration_minutes": minutes,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def book_individual(
    api: Api,
    s: School,
    student: Person,
    starts_at: datetime,
    minutes: int = 60,
    teacher: Person | None = None,
) -> dict[str, Any]:
    """A lesson of `student` with `teacher` (the school's teacher unless told)."""
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": (teacher or s.teacher).id,
        "student_user_id": student.id,
        "starts_at": starts_at.isoformat(),
        "duration_minutes": minutes,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


def starts(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["starts_at"])


def ends(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["ends_at"])


async def hold(
    api: Api, app: FastAPI, clock: FrozenClock, session: dict[str, Any], beats: list[Beat]
) -> None:
    """The class as the beats say, in time order, then the worker after its end + 5 minutes
    (completion, then finalisation) until it has nothing more to do."""
    begin = starts(session)
    for beat in sorted(beats, key=lambda b: b.after):
        clock.set(begin + beat.after)
        response = await api.client.post(
            f"{SESSIONS}/{session['id']}/heartbeat",
            json={"page_id": beat.page},
            headers=beat.who.headers,
        )
        assert response.status_code == 200, response.text
    await settle(app, clock, ends(session) + 5 * MINUTE)


async def settle(app: FastAPI, clock: FrozenClock, at: datetime) -> None:
    """The clock moved to `at` (never back), and the worker run until it does nothing more."""
    clock.set(max(at, clock.now()))
    for _ in range(5):
        if sum((await tick(app)).values()) == 0:
            return
    raise AssertionError("the worker kept finding work")


async def report(api: Api, who: Person, path: str, **params: Any) -> httpx.Response:
    return await api.client.get(f"{REPORTS}{path}", headers=who.headers, params=params)


async def report_json(api: Api, who: Person, path: str, **params: Any) -> dict[str, Any]:
    return ok(await report(api, who, path, **params))


@dataclass(frozen=True)
class Term:
    """Three days of a circle and one individual class, held for real:

    day 1  circle   teacher 0–60; s0 on two pages 0–20 and 25–60 (present, 3,300 s, one
                    reconnect); s1 from 15:07 (late, 2,693 s); s2 never (absent)
    day 2  circle   teacher 0–60; s0 0–60 (present, 3,600 s); s1 and s2 absent
    day 2  lesson   12:00 UTC, s0 alone: teacher 0–60; s0 never (absent; the session `absent`)
    day 3  circle   teacher 0–60; s0 0–35 (left early, 2,100 s); s1 and s2 absent

    s0 is the parent's child. Days are 2–4 March 2026 in Riyadh (the circle at 12:00 there).
    """

    school: School
    group_id: int
    circle: list[dict[str, Any]]  # days 1, 2, 3
    lesson: dict[str, Any]

    @property
    def students(self) -> list[Person]:
        return self.school.students

    @property
    def session_ids(self) -> list[int]:
        """In time order: circle day 1, circle day 2, lesson, circle day 3."""
        return [self.circle[0]["id"], self.circle[1]["id"], self.lesson["id"], self.circle[2]["id"]]


DAY = timedelta(days=1)
PERIOD = {"from": "2026-03-02", "to": "2026-03-04"}


async def term(api: Api, app: FastAPI, clock: FrozenClock, s: School) -> Term:
    s0, s1, s2 = s.students[:3]
    group_id = await circle(api, s, [s0, s1, s2])
    days = [await book_group(api, s, group_id, TOMORROW + n * DAY) for n in range(3)]
    lesson = await book_individual(api, s, s0, TOMORROW + DAY + 3 * HOUR)
    teacher = [Beat(0 * MINUTE, s.teacher), Beat(HOUR, s.teacher)]
    await hold(
        api,
        app,
        clock,
        days[0],
        [
            *teacher,
            Beat(0 * MINUTE, s0, "page-a-00001"),
            Beat(20 * MINUTE, s0, "page-a-00001"),
            Beat(25 * MINUTE, s0, "page-b-00001"),
            Beat(HOUR, s0, "page-b-00001"),
            Beat(15 * MINUTE + timedelta(seconds=7), s1),
            Beat(HOUR, s1),
        ],
    )
    await hold(api, app, clock, days[1], [*teacher, Beat(0 * MINUTE, s0), Beat(HOUR, s0)])
    await hold(api, app, clock, lesson, teacher)
    await hold(api, app, clock, days[2], [*teacher, Beat(0 * MINUTE, s0), Beat(35 * MINUTE, s0)])
    return Term(s, group_id, days, lesson)
