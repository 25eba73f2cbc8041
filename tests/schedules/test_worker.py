"""The worker's "materialise_schedules" step: active schedules are extended to the horizon when due,
never twice, clashes kept as problems, finished groups and counted series ended."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from halaqa.kit.clock import FrozenClock
from halaqa.models import ClassSession, Schedule, SessionParticipant
from halaqa.worker.runner import Worker
from tests.api import Api, Person
from tests.catalog.school import (
    SLUG,
    School,
    enrolled,
    new_group,
    ok,
    school,
    set_group_status,
)

SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
STEP = "materialise_schedules"
MON, TUE, WED = 0, 1, 2
ZONE = "Asia/Riyadh"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def weekly(s: School, **changes: Any) -> dict[str, Any]:
    """Mondays and Wednesdays at 17:00 in Riyadh (14:00 UTC) from 2 March; booked to 26 April."""
    return {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "slots": [{"weekday": MON, "start": "17:00"}, {"weekday": WED, "start": "17:00"}],
        "duration_minutes": 45,
        "starts_on": "2026-03-02",
        **changes,
    }


async def create(api: Api, who: Person, body: dict[str, Any]) -> dict[str, Any]:
    return ok(await api.client.post(SCHEDULES, json=body, headers=who.headers), 201)


async def tick(app: FastAPI) -> int:
    done = await Worker(app.state.database, app.state.settings, app.state.secret).tick()
    assert done[STEP] >= 0, done
    return done[STEP]


async def schedule_row(api: Api, schedule_id: int) -> Schedule:
    async with api.database.transaction() as session:
        found = await session.get(Schedule, schedule_id)
        assert found is not None
        return found


async def booked_days(api: Api, schedule_id: int, status: str | None = None) -> list[str]:
    async with api.database.transaction() as session:
        query = select(ClassSession).where(ClassSession.schedule_id == schedule_id)
        if status is not None:
            query = query.where(ClassSession.status == status)
        rows = (await session.scalars(query.order_by(ClassSession.starts_at))).all()
    zone = zoneinfo.ZoneInfo(ZONE)
    return [r.starts_at.astimezone(zone).date().isoformat() for r in rows if r.starts_at]


async def count_sessions(api: Api) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ClassSession)) or 0)


async def test_nothing_to_do_until_a_schedule_is_due(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    # Booked to 26 April; extended once a week of the horizon has gone by (8 March).
    assert (await schedule_row(api, schedule_id)).materialise_due_on == date(2026, 3, 8)
    assert await tick(app) == 0
    clock.set(at("2026-03-07", 23))
    assert await tick(app) == 0
    assert len(await booked_days(api, schedule_id)) == 16
    clock.set(at("2026-03-08"))
    assert await tick(app) == 2  # Monday 27 and Wednesday 29 April
    row = await schedule_row(api, schedule_id)
    assert (row.materialised_through, row.materialise_due_on) == (
        date(2026, 5, 3),
        date(2026, 3, 15),
    )
    assert (await booked_days(api, schedule_id))[-3:] == ["2026-04-22", "2026-04-27", "2026-04-29"]
    detail = ok(await api.client.get(f"{SCHEDULES}/{schedule_id}", headers=s.teacher.headers))
    assert (detail["materialised_through"], detail["status"], detail["problems"]) == (
        "2026-05-03",
        "active",
        [],
    )


async def test_running_twice_books_nothing_twice(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    clock.set(at("2026-03-08"))
    assert await tick(app) == 2
    assert await tick(app) == 0
    # Even when told it is due again (a lost update, a second worker), nothing is booked twice.
    async with api.database.transaction() as session:
        await session.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(materialise_due_on=date(2026, 3, 1), materialised_through=None)
        )
    assert await tick(app) == 0
    days = await booked_days(api, schedule_id)
    assert len(days) == len(set(days)) == 18
    async with api.database.transaction() as session:
        keys = (
            await session.scalars(
                select(ClassSession.occurrence_key).where(ClassSession.schedule_id == schedule_id)
            )
        ).all()
        participants = await session.scalar(select(func.count()).select_from(SessionParticipant))
    assert len(keys) == len(set(keys)) == 18
    assert participants == 2 * 18


async def test_a_clash_is_kept_as_a_problem_and_the_rest_is_booked(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    # Beyond the horizon, the student gets another class at the Monday slot.
    busy = ok(
        await api.client.post(
            SESSIONS,
            json={
                "kind": "individual",
                "title": "Tajweed",
                "teacher_user_id": s.other_teacher.id,
                "student_user_id": s.students[0].id,
                "starts_at": "2026-04-27T14:30:00Z",
                "duration_minutes": 30,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    clock.set(at("2026-03-08"))
    assert await tick(app) == 1  # Wednesday 29 April only
    detail = ok(await api.client.get(f"{SCHEDULES}/{schedule_id}", headers=s.admin.headers))
    assert detail["status"] == "active"
    [problem] = detail["problems"]
    assert (problem["local_date"], problem["local_start"], problem["reason"]) == (
        "2026-04-27",
        "17:00",
        "conflict",
    )
    assert [(c["session_id"], c["user_id"], c["role"]) for c in problem["conflicts"]] == [
        (busy["id"], s.students[0].id, "student")
    ]
    assert (await booked_days(api, schedule_id))[-2:] == ["2026-04-22", "2026-04-29"]
    # The next extension goes on from there; the old problem is kept, not repeated.
    clock.set(at("2026-03-15", 1))
    assert await tick(app) == 2
    detail = ok(await api.client.get(f"{SCHEDULES}/{schedule_id}", headers=s.admin.headers))
    assert [p["local_date"] for p in detail["problems"]] == ["2026-04-27"]


async def test_a_counted_series_ends_once_its_count_is_booked(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, count=20))
    schedule_id = made["schedule"]["id"]
    assert (made["schedule"]["status"], len(made["session_ids"])) == ("active", 16)
    clock.set(at("2026-03-08"))
    assert await tick(app) == 2
    assert (await schedule_row(api, schedule_id)).status == "active"
    clock.set(at("2026-03-15", 1))
    assert await tick(app) == 2  # 4 and 6 May: the 19th and 20th
    row = await schedule_row(api, schedule_id)
    assert (row.status, row.materialise_due_on) == ("ended", None)
    assert len(await booked_days(api, schedule_id)) == 20
    clock.set(at("2026-06-01"))
    assert await tick(app) == 0
    assert len(await booked_days(api, schedule_id)) == 20


async def test_a_dated_series_ends_on_its_last_day(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, until="2026-05-04"))
    schedule_id = made["schedule"]["id"]
    clock.set(at("2026-03-08"))
    assert await tick(app) == 2
    assert (await schedule_row(api, schedule_id)).status == "active"
    clock.set(at("2026-03-15", 1))
    assert await tick(app) == 1  # Monday 4 May, the last day
    assert (await schedule_row(api, schedule_id)).status == "ended"
    assert (await booked_days(api, schedule_id))[-1] == "2026-05-04"


@pytest.mark.parametrize("group_status", ["completed", "cancelled"])
async def test_a_schedule_whose_group_ended_ends_too(
    api: Api, app: FastAPI, clock: FrozenClock, group_status: str
) -> None:
    s = await school(api, students=1)
    group = await new_group(api, s.admin, s.teacher, "circle")
    await enrolled(api, s.admin, group["id"], s.students[0])
    made = await create(
        api,
        s.admin,
        {
            "kind": "group",
            "title": "Circle",
            "group_id": group["id"],
            "slots": [{"weekday": TUE, "start": "17:00"}],
            "duration_minutes": 60,
            "starts_on": "2026-03-02",
        },
    )
    schedule_id = made["schedule"]["id"]
    ok(await set_group_status(api, s.admin, group["id"], group_status))
    before = await count_sessions(api)
    clock.set(at("2026-03-08"))
    assert await tick(app) == 0
    row = await schedule_row(api, schedule_id)
    assert (row.status, row.materialise_due_on) == ("ended", None)
    assert await count_sessions(api) == before
    clock.set(at("2026-03-15", 1))
    assert await tick(app) == 0


async def test_an_extension_books_the_groups_students_of_the_day(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=2)
    group = await new_group(api, s.admin, s.teacher, "circle")
    first = await enrolled(api, s.admin, group["id"], s.students[0])
    made = await create(
        api,
        s.admin,
        {
            "kind": "group",
            "title": "Circle",
            "group_id": group["id"],
            "slots": [{"weekday": TUE, "start": "17:00"}],
            "duration_minutes": 60,
            "starts_on": "2026-03-02",
        },
    )
    schedule_id = made["schedule"]["id"]
    # One student leaves, another joins, before the next extension.
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/groups/{group['id']}/enrollments/{first}",
            json={"status": "cancelled"},
            headers=s.admin.headers,
        )
    )
    await enrolled(api, s.admin, group["id"], s.students[1])
    clock.set(at("2026-03-08"))
    assert await tick(app) == 1  # Tuesday 28 April
    async with api.database.transaction() as session:
        newest = await session.scalar(
            select(ClassSession)
            .where(ClassSession.schedule_id == schedule_id)
            .order_by(ClassSession.starts_at.desc())
            .limit(1)
        )
        assert newest is not None
        people = {
            p.user_id: p.role
            for p in await session.scalars(
                select(SessionParticipant).where(SessionParticipant.session_id == newest.id)
            )
        }
    assert people == {s.teacher.id: "teacher", s.students[1].id: "student"}


async def test_holidays_added_later_are_skipped_by_the_extension(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/holidays",
            json={"name": "Spring break", "starts_on": "2026-04-27", "ends_on": "2026-04-28"},
            headers=s.admin.headers,
        ),
        201,
    )
    clock.set(at("2026-03-08"))
    assert await tick(app) == 1
    assert (await booked_days(api, made["schedule"]["id"]))[-2:] == ["2026-04-22", "2026-04-29"]
    detail = ok(
        await api.client.get(f"{SCHEDULES}/{made['schedule']['id']}", headers=s.admin.headers)
    )
    assert detail["problems"] == []  # a holiday is no problem


async def test_a_late_worker_books_no_session_in_the_past(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    clock.set(at("2026-05-01"))  # the worker was down for two months
    # 27 and 29 April have passed; 4 May to 24 June (horizon: 26 June) are booked.
    assert await tick(app) == 16
    days = await booked_days(api, made["schedule"]["id"])
    assert "2026-04-27" not in days
    assert "2026-04-29" not in days
    assert days[16] == "2026-05-04"
    assert days[-1] == "2026-06-24"


@pytest.mark.parametrize("how", ["cancel", "change"])
async def test_a_schedule_no_longer_active_is_not_extended(
    api: Api, app: FastAPI, clock: FrozenClock, how: str
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    body: dict[str, Any] = {"reason": "term ends", "from_date": "2026-04-01"}
    if how == "change":
        body |= {"slots": [{"weekday": TUE, "start": "17:00"}], "until": "2026-04-30"}
    ok(
        await api.client.post(
            f"{SCHEDULES}/{schedule_id}/{how}", json=body, headers=s.admin.headers
        ),
        201 if how == "change" else 200,
    )
    assert (await schedule_row(api, schedule_id)).status == "ended"
    before = await booked_days(api, schedule_id)
    clock.set(at("2026-03-08"))
    booked = await tick(app)
    assert await booked_days(api, schedule_id) == before
    # A change's new series, ending 30 April, is extended to its end; the old one not at all.
    assert booked == (1 if how == "change" else 0)  # Tuesday 28 April


async def test_a_series_starting_beyond_the_horizon_is_booked_as_it_comes_near(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, starts_on="2026-06-01"))
    assert (made["session_ids"], made["schedule"]["status"]) == ([], "active")
    schedule_id = made["schedule"]["id"]
    clock.set(at("2026-03-08"))
    assert await tick(app) == 0  # booked to 3 May: nothing yet
    assert (await schedule_row(api, schedule_id)).status == "active"
    clock.set(at("2026-04-12"))
    assert await tick(app) == 2  # horizon 7 June: Monday 1 and Wednesday 3 June
    assert await booked_days(api, schedule_id) == ["2026-06-01", "2026-06-03"]
