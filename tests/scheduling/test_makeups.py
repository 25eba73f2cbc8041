"""Make-ups over HTTP: planned for a cancelled session that is owed one (by its teacher or staff),
one live make-up at a time, and listed per viewer until one is held."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.kit.clock import FrozenClock
from halaqa.models import ClassSession
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, enrolled, new_group, ok, school
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
MAKEUPS = f"/api/v1/academies/{SLUG}/makeups"
LATER = START + timedelta(days=5)  # Friday 6 March, 09:00 UTC


def at(instant: datetime, hours: float = 0) -> str:
    return (instant + timedelta(hours=hours)).isoformat()


async def booked(
    api: Api, s: School, *, teacher: Person | None = None, student: int = 0, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": (teacher or s.teacher).id,
        "student_user_id": s.students[student].id,
        "starts_at": at(START, 48),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def cancel(api: Api, who: Person, session_id: int, **body: Any) -> dict[str, Any]:
    response = await api.client.post(
        f"{SESSIONS}/{session_id}/cancel", json={"reason": "ill", **body}, headers=who.headers
    )
    return ok(response)


async def plan(api: Api, who: Person, session_id: int, **body: Any) -> httpx.Response:
    return await api.client.post(f"{SESSIONS}/{session_id}/makeup", json=body, headers=who.headers)


async def owed(api: Api, who: Person, **params: Any) -> list[tuple[int, int | None]]:
    """(owed session, its planned make-up) pairs `who` sees."""
    body = ok(await api.client.get(MAKEUPS, params=params, headers=who.headers))
    assert body["total"] == len(body["items"])
    return [(o["session"]["id"], o["makeup"] and o["makeup"]["id"]) for o in body["items"]]


async def act(api: Api, who: Person, session_id: int, action: str) -> dict[str, Any]:
    return ok(
        await api.client.post(f"{SESSIONS}/{session_id}/{action}", json={}, headers=who.headers)
    )


async def count_sessions(api: Api) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ClassSession)) or 0)


async def test_plan_a_makeup_for_a_session_owed_one(api: Api) -> None:
    s = await school(api, students=1)
    original = await booked(api, s)
    assert (await cancel(api, s.teacher, original["id"]))["makeup_owed"] is True
    assert await owed(api, s.admin) == [(original["id"], None)]
    made = ok(await plan(api, s.teacher, original["id"], starts_at=at(LATER)), 201)
    assert (made["makeup_of_id"], made["status"], made["kind"]) == (
        original["id"],
        "scheduled",
        "individual",
    )
    assert (made["title"], made["duration_minutes"], made["teacher_user_id"]) == (
        "Tajweed",
        60,
        s.teacher.id,
    )
    assert made["starts_at"].startswith("2026-03-06T09:00:00")
    assert {(p["user_id"], p["role"]) for p in made["participants"]} == {
        (s.teacher.id, "teacher"),
        (s.students[0].id, "student"),
    }
    assert made["code"] == "IN-000002"
    # Listed with its planned make-up; the original is still owed until that one is held.
    body = ok(await api.client.get(MAKEUPS, headers=s.admin.headers))
    [item] = body["items"]
    assert item["session"]["id"] == original["id"]
    assert item["session"]["makeup_owed"] is True
    assert item["makeup"] == {
        "id": made["id"],
        "code": made["code"],
        "status": "scheduled",
        "starts_at": made["starts_at"],
    }


async def test_a_makeup_may_change_its_length_and_title_and_uses_the_sessions_zone(
    api: Api,
) -> None:
    s = await school(api, students=1)
    original = await booked(api, s, time_zone="America/New_York")
    await cancel(api, s.admin, original["id"])
    made = ok(
        await plan(
            api,
            s.admin,
            original["id"],
            local_start={"date": "2026-03-09", "time": "17:00"},
            duration_minutes=30,
            title="Tajweed (make-up)",
            notes="Surah al-Mulk",
        ),
        201,
    )
    # 17:00 in New York on 9 March, after the change to summer time.
    assert made["starts_at"].startswith("2026-03-09T21:00:00")
    assert made["ends_at"].startswith("2026-03-09T21:30:00")
    assert (made["title"], made["notes"], made["time_zone"]) == (
        "Tajweed (make-up)",
        "Surah al-Mulk",
        "America/New_York",
    )


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("admin", 201, None),
        ("supervisor", 201, None),
        ("teacher", 201, None),
        ("other_teacher", 404, "not_found"),  # not their session: they cannot see it
        ("student", 403, "not_allowed"),
        ("parent", 403, "not_allowed"),
    ],
)
async def test_who_may_plan_a_makeup(api: Api, who: str, status: int, code: str | None) -> None:
    s = await school(api, students=1)
    original = await booked(api, s)
    await cancel(api, s.teacher, original["id"])
    person: Person = s.students[0] if who == "student" else getattr(s, who)
    response = await plan(api, person, original["id"], starts_at=at(LATER))
    if code is None:
        assert ok(response, status)["makeup_of_id"] == original["id"]
        assert await count_sessions(api) == 2
    else:
        assert_error(response, status, code)
        assert await count_sessions(api) == 1


@pytest.mark.parametrize(
    ("how", "hours"),
    [
        ("not_cancelled", 48),
        ("staff_said_no", 48),
        ("student_late", 10),
        ("cancelled_makeup", 48),
    ],
)
async def test_no_makeup_without_one_owed(api: Api, how: str, hours: float) -> None:
    s = await school(api, students=1)
    session = await booked(api, s, starts_at=at(START, hours))
    target = session["id"]
    if how == "staff_said_no":
        await cancel(api, s.admin, target, makeup_owed=False)
    elif how == "student_late":
        await cancel(api, s.students[0], target)
    elif how == "cancelled_makeup":
        await cancel(api, s.teacher, target)
        makeup = ok(await plan(api, s.teacher, target, starts_at=at(LATER)), 201)
        await cancel(api, s.teacher, makeup["id"])
        target = makeup["id"]
    before = await count_sessions(api)
    response = await plan(api, s.admin, target, starts_at=at(LATER, 24))
    assert_error(response, 409, "makeup_not_owed")
    assert await count_sessions(api) == before


async def test_one_live_makeup_at_a_time(api: Api) -> None:
    s = await school(api, students=1)
    original = await booked(api, s)
    await cancel(api, s.teacher, original["id"])
    first = ok(await plan(api, s.teacher, original["id"], starts_at=at(LATER)), 201)
    response = await plan(api, s.admin, original["id"], starts_at=at(LATER, 24))
    error = assert_error(response, 409, "makeup_exists")
    assert error["details"] == {"session_id": first["id"], "session_code": first["code"]}
    assert await count_sessions(api) == 2
    # Once that one is cancelled, another may be planned.
    await cancel(api, s.teacher, first["id"])
    assert await owed(api, s.admin) == [(original["id"], None)]
    second = ok(await plan(api, s.admin, original["id"], starts_at=at(LATER, 24)), 201)
    assert await owed(api, s.admin) == [(original["id"], second["id"])]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "starts_at"),
        ({"starts_at": at(START, -1)}, "starts_at"),
        ({"starts_at": "2026-03-06T09:00:00"}, "starts_at"),  # no offset
        (
            {"starts_at": at(LATER), "local_start": {"date": "2026-03-06", "time": "12:00"}},
            "local_start",
        ),
        ({"starts_at": at(LATER), "duration_minutes": 0}, "duration_minutes"),
        ({"starts_at": at(LATER), "title": " "}, "title"),
    ],
)
async def test_bad_makeup_input_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    original = await booked(api, s)
    await cancel(api, s.teacher, original["id"])
    assert error_fields(await plan(api, s.teacher, original["id"], **body)) == {field}
    assert await count_sessions(api) == 1


async def test_a_makeup_is_checked_for_clashes(api: Api) -> None:
    s = await school(api, students=2)
    original = await booked(api, s)
    busy = await booked(api, s, teacher=s.other_teacher, starts_at=at(LATER))
    await cancel(api, s.teacher, original["id"])
    response = await plan(api, s.teacher, original["id"], starts_at=at(LATER, 0.5))
    error = assert_error(response, 409, "schedule_conflict")
    assert {(d["session_id"], d["role"]) for d in error["details"]} == {(busy["id"], "student")}
    assert await count_sessions(api) == 2


async def test_the_list_of_makeups_is_scoped_to_the_viewer(api: Api) -> None:
    s = await school(api, students=3)
    mine = await booked(api, s)
    theirs = await booked(api, s, teacher=s.other_teacher, student=1)
    settled = await booked(api, s, starts_at=at(START, 72))
    await cancel(api, s.teacher, mine["id"])
    await cancel(api, s.other_teacher, theirs["id"])
    await cancel(api, s.admin, settled["id"], makeup_owed=False)
    both = [(mine["id"], None), (theirs["id"], None)]
    cases: list[tuple[Person, list[tuple[int, None]]]] = [
        (s.admin, both),
        (s.supervisor, both),
        (s.teacher, [(mine["id"], None)]),
        (s.other_teacher, [(theirs["id"], None)]),
        (s.students[0], [(mine["id"], None)]),
        (s.parent, [(mine["id"], None)]),  # the parent of students[0]
        (s.students[1], [(theirs["id"], None)]),
        (s.students[2], []),
    ]
    for person, expected in cases:
        assert await owed(api, person) == expected, person
    assert await owed(api, s.admin, teacher_user_id=s.other_teacher.id) == [(theirs["id"], None)]
    assert await owed(api, s.admin, student_user_id=s.students[0].id) == [(mine["id"], None)]
    # Filters never widen what a viewer sees.
    assert await owed(api, s.teacher, teacher_user_id=s.other_teacher.id) == []


async def test_a_group_sessions_makeup_books_its_students(api: Api) -> None:
    s = await school(api, students=2)
    group = await new_group(api, s.admin, s.teacher, "circle")
    for student in s.students:
        await enrolled(api, s.admin, group["id"], student)
    session = ok(
        await api.client.post(
            SESSIONS,
            json={
                "kind": "group",
                "title": "Circle",
                "group_id": group["id"],
                "starts_at": at(START, 48),
                "duration_minutes": 60,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    assert (await cancel(api, s.teacher, session["id"]))["makeup_owed"] is True
    made = ok(await plan(api, s.teacher, session["id"], starts_at=at(LATER)), 201)
    assert (made["kind"], made["group_id"], made["code"]) == ("group", group["id"], "GR-000002")
    assert {p["user_id"] for p in made["participants"] if p["role"] == "student"} == {
        s.students[0].id,
        s.students[1].id,
    }
    for student in s.students:
        assert await owed(api, student) == [(session["id"], made["id"])]


@pytest.mark.parametrize("outcome", ["complete", "mark-absent"])
async def test_a_held_makeup_settles_what_it_replaced(
    api: Api, clock: FrozenClock, outcome: str
) -> None:
    s = await school(api, students=1)
    original = await booked(api, s)
    await cancel(api, s.teacher, original["id"])
    made = ok(await plan(api, s.teacher, original["id"], starts_at=at(LATER)), 201)
    clock.set(LATER)
    assert (await act(api, s.teacher, made["id"], "start"))["status"] == "ongoing"
    # Under way is not held yet.
    assert await owed(api, s.teacher) == [(original["id"], made["id"])]
    clock.set(LATER + timedelta(minutes=50))
    held = await act(api, s.teacher, made["id"], outcome)
    assert held["status"] == {"complete": "completed", "mark-absent": "absent"}[outcome]
    for person in (s.admin, s.teacher, s.students[0], s.parent):
        assert await owed(api, person) == [], person
    # And no second make-up for it.
    response = await plan(api, s.admin, original["id"], starts_at=at(LATER, 48))
    assert_error(response, 409, "makeup_exists")
