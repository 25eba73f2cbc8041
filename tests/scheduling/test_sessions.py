"""Class sessions over HTTP: scheduling, codes, conflicts, viewers, cancelling, status actions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.academies.auth import Actor
from halaqa.kit.clock import FrozenClock
from halaqa.models import ClassSession, SessionReschedule, SessionStatusChange
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.service import transition
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, new_group, ok, school
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
TOMORROW = START + timedelta(days=1)


def at(hours: float, day: datetime = TOMORROW) -> str:
    return (day + timedelta(hours=hours)).isoformat()


async def post(api: Api, who: Person, **fields: Any) -> httpx.Response:
    return await api.client.post(SESSIONS, json=fields, headers=who.headers)


async def individual(
    api: Api, s: School, who: Person | None = None, *, student: int = 0, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": at(0),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await post(api, who or s.admin, **body), 201)


async def listed(api: Api, who: Person, path: str) -> list[dict[str, Any]]:
    response = await api.client.get(path, headers=who.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def count_sessions(api: Api) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ClassSession)) or 0)


async def enrol(api: Api, s: School, group_id: int, student: Person) -> None:
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/groups/{group_id}/enrollments",
        json={"student_user_id": student.id},
        headers=s.admin.headers,
    )
    assert response.status_code == 201, response.text


# --- creating --------------------------------------------------------------------------------


async def test_schedule_an_individual_session(api: Api) -> None:
    s = await school(api)
    made = await individual(api, s)
    assert made["code"] == "IN-000001"
    assert made["status"] == "scheduled"
    assert made["starts_at"].startswith("2026-03-02T09:00:00")
    assert made["ends_at"].startswith("2026-03-02T10:00:00")
    assert made["time_zone"] == "Asia/Riyadh"
    assert {(p["user_id"], p["role"]) for p in made["participants"]} == {
        (s.teacher.id, "teacher"),
        (s.students[0].id, "student"),
    }
    assert made["status_display"]["label_ar"] == "مجدولة"
    assert made["join"]["reason"] == "too_early"


async def test_codes_count_per_prefix_and_are_never_reused(api: Api) -> None:
    s = await school(api)
    first = await individual(api, s)
    second = await individual(api, s, starts_at=at(2))
    trial = await individual(api, s, kind="trial", starts_at=at(4))
    cancelled = ok(
        await api.client.post(
            f"{SESSIONS}/{second['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    third = await individual(api, s, starts_at=at(6))
    assert [first["code"], second["code"], trial["code"], third["code"]] == [
        "IN-000001",
        "IN-000002",
        "TR-000001",
        "IN-000003",
    ]
    assert cancelled["code"] == "IN-000002"


async def test_academy_sets_the_prefixes(api: Api) -> None:
    s = await school(api)
    response = await api.client.patch(
        f"/api/v1/academies/{SLUG}/settings",
        json={"code_prefix_individual": "QI"},
        headers=s.admin.headers,
    )
    assert response.status_code == 200, response.text
    assert (await individual(api, s))["code"] == "QI-000001"


async def test_local_start_is_read_in_the_sessions_zone(api: Api) -> None:
    s = await school(api)
    made = await individual(
        api,
        s,
        starts_at=None,
        local_start={"date": "2026-03-09", "time": "17:00"},
        time_zone="America/New_York",
    )
    # 9 March 2026 is the day after the US moved to summer time (UTC-4).
    assert made["starts_at"].startswith("2026-03-09T21:00:00")
    assert made["time_zone"] == "America/New_York"


async def test_group_session_books_the_enrolled_students(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher, "circle", time_zone="Africa/Cairo")
    for student in s.students[:2]:
        await enrol(api, s, group["id"], student)
    made = ok(
        await post(
            api,
            s.admin,
            kind="group",
            title="Circle",
            group_id=group["id"],
            starts_at=at(0),
            duration_minutes=45,
        ),
        201,
    )
    assert made["code"] == "GR-000001"
    assert made["teacher_user_id"] == s.teacher.id
    assert made["time_zone"] == "Africa/Cairo"
    students = {p["user_id"] for p in made["participants"] if p["role"] == "student"}
    assert students == {s.students[0].id, s.students[1].id}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": START.isoformat()}, "starts_at"),  # not in the future
        ({"starts_at": (START - timedelta(days=3)).isoformat()}, "starts_at"),
        ({"starts_at": "2026-03-02T09:00:00"}, "starts_at"),  # no offset
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": -30}, "duration_minutes"),
        ({"duration_minutes": 721}, "duration_minutes"),
        ({"student_user_id": None}, "student_user_id"),
        ({"group_id": 1}, "group_id"),
        ({"kind": "lecture"}, "kind"),
        ({"title": " "}, "title"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"local_start": {"date": "2026-03-03", "time": "10:00"}}, "local_start"),  # and starts_at
        # 02:30 does not exist on 8 March 2026 in New York; 01:30 on 1 November happens twice.
        (
            {
                "starts_at": None,
                "local_start": {"date": "2026-03-08", "time": "02:30"},
                "time_zone": "America/New_York",
            },
            "local_start",
        ),
        (
            {
                "starts_at": None,
                "local_start": {"date": "2026-11-01", "time": "01:30"},
                "time_zone": "America/New_York",
            },
            "local_start",
        ),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_bad_input_names_the_field(api: Api, changes: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": at(0),
        "duration_minutes": 60,
        **changes,
    }
    response = await post(api, s.admin, **body)
    assert response.status_code == 422, response.text
    assert field in error_fields(response), response.text
    assert await count_sessions(api) == 0


async def test_people_must_have_the_right_roles(api: Api) -> None:
    s = await school(api, students=1)
    outsider = await api.user()
    for changes, field in (
        ({"teacher_user_id": s.students[0].id}, "teacher_user_id"),
        ({"teacher_user_id": outsider.id}, "teacher_user_id"),
        (
            {"student_user_id": s.teacher.id, "teacher_user_id": s.other_teacher.id},
            "student_user_id",
        ),
        ({"student_user_id": outsider.id}, "student_user_id"),
        ({"student_user_id": s.parent.id}, "student_user_id"),
    ):
        body = {
            "kind": "individual",
            "title": "T",
            "teacher_user_id": s.teacher.id,
            "student_user_id": s.students[0].id,
            "starts_at": at(0),
            "duration_minutes": 60,
            **changes,
        }
        response = await post(api, s.admin, **body)
        assert error_fields(response) == {field}, (changes, response.text)
    assert await count_sessions(api) == 0


async def test_who_may_schedule(api: Api) -> None:
    s = await school(api, students=1)
    # Teachers schedule their own classes only; students and parents not at all.
    ok(await post(api, s.teacher, **_body(s, s.teacher)), 201)
    assert_error(await post(api, s.teacher, **_body(s, s.other_teacher, 2)), 403, "role_required")
    for person in (s.students[0], s.parent):
        assert_error(await post(api, person, **_body(s, s.teacher, 4)), 403, "role_required")
    ok(await post(api, s.supervisor, **_body(s, s.other_teacher, 6)), 201)
    assert await count_sessions(api) == 2


def _body(s: School, teacher: Person, hours: float = 0) -> dict[str, Any]:
    return {
        "kind": "individual",
        "title": "T",
        "teacher_user_id": teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": at(hours),
        "duration_minutes": 60,
    }


# --- conflicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teacher", "student", "start_hours", "clash"),
    [
        ("teacher", 1, 0.5, True),  # the teacher is busy
        ("other_teacher", 0, 0.5, True),  # the student is busy
        ("teacher", 1, -0.5, True),  # overlaps the start
        ("teacher", 1, 1, False),  # back to back is fine without a break
        ("teacher", 1, -1, False),
        ("other_teacher", 1, 0, False),  # other people, same time
    ],
)
async def test_nobody_is_double_booked(
    api: Api, teacher: str, student: int, start_hours: float, clash: bool
) -> None:
    s = await school(api, students=2)
    first = await individual(api, s)
    body = _body(s, getattr(s, teacher), start_hours) | {"student_user_id": s.students[student].id}
    response = await post(api, s.admin, **body)
    if clash:
        assert_error(response, 409, "schedule_conflict")
        assert response.json()["error"]["details"][0]["session_code"] == first["code"]
        assert await count_sessions(api) == 1
    else:
        assert response.status_code == 201, response.text


async def test_the_break_between_sessions_counts(api: Api) -> None:
    s = await school(api, students=2)
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings",
            json={"session_break_minutes": 10},
            headers=s.admin.headers,
        )
    )
    await individual(api, s)
    body = _body(s, s.teacher, 1) | {"student_user_id": s.students[1].id}
    assert_error(await post(api, s.admin, **body), 409, "schedule_conflict")
    body["starts_at"] = at(1 + 10 / 60)
    assert (await post(api, s.admin, **body)).status_code == 201


async def test_a_cancelled_session_frees_the_time(api: Api) -> None:
    s = await school(api, students=1)
    first = await individual(api, s)
    assert_error(await post(api, s.admin, **_body(s, s.teacher)), 409, "schedule_conflict")
    ok(
        await api.client.post(
            f"{SESSIONS}/{first['id']}/cancel", json={"reason": "holiday"}, headers=s.admin.headers
        )
    )
    assert (await post(api, s.admin, **_body(s, s.teacher))).status_code == 201


async def test_concurrent_requests_for_one_slot_book_it_once(api: Api) -> None:
    s = await school(api, students=3)
    bodies = [_body(s, s.teacher) | {"student_user_id": p.id} for p in s.students]
    responses = await asyncio.gather(*(post(api, s.admin, **body) for body in bodies))
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert await count_sessions(api) == 1


# --- who sees what ---------------------------------------------------------------------------


async def test_viewers_see_their_own_sessions(api: Api) -> None:
    s = await school(api, students=2)
    mine = await individual(api, s, student=0)
    theirs = await individual(api, s, student=1, teacher_user_id=s.other_teacher.id)

    async def visible(person: Person) -> set[int]:
        body = ok(await api.client.get(SESSIONS, headers=person.headers))
        return {item["id"] for item in body["items"]}

    assert await visible(s.admin) == {mine["id"], theirs["id"]}
    assert await visible(s.supervisor) == {mine["id"], theirs["id"]}
    assert await visible(s.teacher) == {mine["id"]}
    assert await visible(s.students[0]) == {mine["id"]}
    assert await visible(s.parent) == {mine["id"]}  # parent of students[0]
    assert await visible(s.students[1]) == {theirs["id"]}
    for person in (s.teacher, s.students[0], s.parent):
        response = await api.client.get(f"{SESSIONS}/{theirs['id']}", headers=person.headers)
        assert_error(response, 404, "not_found")


async def test_list_filters_and_scopes(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    today = await individual(api, s, starts_at=at(3, START))  # 12:00 UTC, 15:00 in Riyadh
    tomorrow = await individual(api, s, student=1)
    later = await individual(api, s, kind="trial", starts_at=at(24 * 9))

    async def ids(**params: Any) -> list[int]:
        body = ok(await api.client.get(SESSIONS, params=params, headers=s.admin.headers))
        return [item["id"] for item in body["items"]]

    assert await ids() == [today["id"], tomorrow["id"], later["id"]]
    assert await ids(scope="today") == [today["id"]]
    assert await ids(scope="week") == [today["id"]]  # 1 March 2026 is a Sunday
    assert await ids(scope="upcoming", kind="trial") == [later["id"]]
    assert await ids(student_user_id=s.students[1].id) == [tomorrow["id"]]
    assert await ids(**{"from": at(-1), "to": at(1)}) == [tomorrow["id"]]
    assert await ids(status="cancelled") == []
    clock.advance(timedelta(days=2))
    assert await ids(scope="past") == [today["id"], tomorrow["id"]]
    response = await api.client.get(
        SESSIONS, params={"from": "2026-03-01T00:00:00"}, headers=s.admin.headers
    )
    assert error_fields(response) == {"from"}


# --- cancelling and acting -------------------------------------------------------------------


async def test_cancel_records_who_why_and_lateness(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    early = await individual(api, s, starts_at=at(48))
    late = await individual(api, s, student=1, starts_at=at(10, START))
    for made, is_late in ((early, False), (late, True)):
        body = ok(
            await api.client.post(
                f"{SESSIONS}/{made['id']}/cancel",
                json={"reason": "sick"},
                headers=s.teacher.headers,
            )
        )
        assert (body["status"], body["cancellation_reason"], body["late_cancellation"]) == (
            "cancelled",
            "sick",
            is_late,
        )
    again = await api.client.post(
        f"{SESSIONS}/{early['id']}/cancel", json={"reason": "x"}, headers=s.admin.headers
    )
    assert_error(again, 409, "invalid_transition")
    history = await listed(api, s.admin, f"{SESSIONS}/{early['id']}/history")
    assert [(h["from_status"], h["to_status"], h["action"]) for h in history] == [
        (None, "scheduled", "create"),
        ("scheduled", "cancelled", "cancel"),
    ]
    assert history[1]["actor_user_id"] == s.teacher.id


async def test_other_students_cannot_cancel_and_reasons_are_required(api: Api) -> None:
    s = await school(api, students=2)
    made = await individual(api, s)
    path = f"{SESSIONS}/{made['id']}/cancel"
    response = await api.client.post(path, json={"reason": "x"}, headers=s.students[1].headers)
    assert_error(response, 404, "not_found")
    response = await api.client.post(path, json={}, headers=s.admin.headers)
    assert error_fields(response) == {"reason"}
    assert (
        ok(await api.client.get(f"{SESSIONS}/{made['id']}", headers=s.admin.headers))["status"]
        == "scheduled"
    )


async def test_start_complete_and_mark_absent_follow_the_clock(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api, students=2)
    made = await individual(api, s)
    path = f"{SESSIONS}/{made['id']}"

    async def do(action: str, who: Person) -> httpx.Response:
        return await api.client.post(f"{path}/{action}", json={}, headers=who.headers)

    assert_error(await do("start", s.teacher), 409, "action_not_allowed")  # a day early
    clock.set(TOMORROW - timedelta(minutes=15))
    assert_error(await do("start", s.students[0]), 403, "not_allowed")
    started = ok(await do("start", s.teacher))
    assert started["status"] == "ongoing"
    assert_error(await do("complete", s.teacher), 409, "action_not_allowed")  # before the start
    clock.set(TOMORROW + timedelta(minutes=50))
    assert ok(await do("complete", s.teacher))["status"] == "completed"
    assert ok(await do("mark-absent", s.teacher))["status"] == "absent"
    assert_error(await do("complete", s.teacher), 409, "action_not_allowed")
    history = await listed(api, s.students[0], f"{path}/history")
    assert [h["action"] for h in history] == ["create", "start", "complete", "mark_absent"]
    async with api.database.transaction() as session:
        changes = await session.scalar(select(func.count()).select_from(SessionStatusChange))
    assert changes == 4


# --- rescheduling ----------------------------------------------------------------------------


async def move(api: Api, who: Person, session_id: int, **fields: Any) -> httpx.Response:
    body = {"reason": "clash with exams", **fields}
    return await api.client.post(
        f"{SESSIONS}/{session_id}/reschedule", json=body, headers=who.headers
    )


async def test_reschedule_moves_the_session_and_the_calendars(api: Api) -> None:
    s = await school(api, students=2)
    made = await individual(api, s, starts_at=at(24))  # two days ahead: before the deadline
    moved = ok(await move(api, s.teacher, made["id"], starts_at=at(27), duration_minutes=45))
    assert moved["starts_at"].startswith("2026-03-03T12:00:00")
    assert moved["ends_at"].startswith("2026-03-03T12:45:00")
    assert (moved["status"], moved["code"]) == ("scheduled", made["code"])
    # The old time is free again, the new one is taken.
    assert (await post(api, s.admin, **_body(s, s.teacher, 24))).status_code == 201
    clash = _body(s, s.teacher, 27) | {"student_user_id": s.students[1].id}
    assert_error(await post(api, s.admin, **clash), 409, "schedule_conflict")
    async with api.database.transaction() as session:
        moves = (await session.execute(select(SessionReschedule))).scalars().all()
    assert [(m.reason, m.from_duration_minutes, m.to_duration_minutes) for m in moves] == [
        ("clash with exams", 60, 45)
    ]


async def test_reschedule_rules(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    made = await individual(api, s)
    other = await individual(api, s, student=1, starts_at=at(5))
    # Into someone else's booking: refused, nothing moves.
    assert_error(await move(api, s.admin, made["id"], starts_at=at(5)), 409, "schedule_conflict")
    # Into the past, or with no time, or without a reason: refused, naming the field.
    assert error_fields(await move(api, s.admin, made["id"], starts_at=at(-48))) == {"starts_at"}
    assert error_fields(await move(api, s.admin, made["id"])) == {"starts_at"}
    response = await api.client.post(
        f"{SESSIONS}/{made['id']}/reschedule", json={"starts_at": at(8)}, headers=s.admin.headers
    )
    assert error_fields(response) == {"reason"}
    # Students and parents do not move sessions.
    assert_error(await move(api, s.students[0], made["id"], starts_at=at(8)), 403, "not_allowed")
    # Within 24 hours of the start, the teacher may no longer; an admin still may.
    clock.set(TOMORROW - timedelta(hours=23))
    response = await move(api, s.teacher, made["id"], starts_at=at(8))
    assert_error(response, 409, "action_not_allowed")
    assert "24 h" in response.json()["error"]["message"]
    assert ok(await move(api, s.admin, made["id"], starts_at=at(8)))["status"] == "scheduled"
    # A cancelled session stays where it is.
    ok(
        await api.client.post(
            f"{SESSIONS}/{other['id']}/cancel", json={"reason": "x"}, headers=s.admin.headers
        )
    )
    assert_error(await move(api, s.admin, other["id"], starts_at=at(10)), 409, "action_not_allowed")
    detail = ok(await api.client.get(f"{SESSIONS}/{made['id']}", headers=s.admin.headers))
    assert detail["starts_at"].startswith("2026-03-02T17:00:00")


async def test_an_unscheduled_session_gets_its_time(api: Api) -> None:
    s = await school(api, students=1)
    made = await individual(api, s, starts_at=None)
    assert (made["status"], made["starts_at"]) == ("unscheduled", None)
    moved = ok(
        await move(api, s.admin, made["id"], local_start={"date": "2026-03-04", "time": "16:00"})
    )
    assert moved["status"] == "scheduled"
    assert moved["starts_at"].startswith("2026-03-04T13:00:00")  # 16:00 in Riyadh
    history = await listed(api, s.admin, f"{SESSIONS}/{made['id']}/history")
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "unscheduled"),
        ("unscheduled", "scheduled"),
    ]


async def test_a_ready_session_moved_out_of_its_window_waits_again(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await individual(api, s)
    clock.set(TOMORROW - timedelta(minutes=10))
    async with api.database.transaction() as session:
        row = await session.get(ClassSession, made["id"])
        assert row is not None
        await transition(api.runtime(session), row, Status.READY, By.SYSTEM, Actor())
    moved = ok(await move(api, s.admin, made["id"], starts_at=at(4)))
    assert moved["status"] == "scheduled"
    history = await listed(api, s.admin, f"{SESSIONS}/{made['id']}/history")
    assert [h["action"] for h in history] == ["create", "prepare", "unprepare"]
