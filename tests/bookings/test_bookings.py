"""Tutoring bookings over HTTP: availability, free slots, requests, answers, expiry, races."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.bookings.lifecycle import TRANSITIONS, sources_of
from halaqa.bookings.schemas import BookingStatus
from halaqa.bookings.service import expire_bookings
from halaqa.kit.clock import FrozenClock
from halaqa.models import AuditEntry, Booking, ClassSession
from halaqa.scheduling import calendar
from halaqa.worker import runner
from halaqa.worker.runner import Worker
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, ok, school
from tests.conftest import START

BASE = f"/api/v1/academies/{SLUG}"
BOOKINGS = f"{BASE}/bookings"
SESSIONS = f"{BASE}/sessions"
TOMORROW = START + timedelta(days=1)  # Monday 2 March 2026, 09:00Z = 12:00 in Riyadh
# Every day 08:00–20:00 in the teacher's zone (Asia/Riyadh, UTC+3): 05:00Z–17:00Z.
ALL_WEEK = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)]


def at(hours: float, day: datetime = TOMORROW) -> str:
    return (day + timedelta(hours=hours)).isoformat()


def availability_path(teacher: Person) -> str:
    return f"{BASE}/teachers/{teacher.id}/availability"


async def publish(
    api: Api,
    teacher: Person,
    who: Person | None = None,
    windows: list[dict[str, Any]] | None = None,
    **body: Any,
) -> httpx.Response:
    return await api.client.put(
        availability_path(teacher),
        json={"windows": ALL_WEEK if windows is None else windows, **body},
        headers=(who or teacher).headers,
    )


async def bookable(api: Api, s: School) -> School:
    """The school with both teachers offering every day 08:00–20:00 Riyadh time."""
    for teacher in (s.teacher, s.other_teacher):
        ok(await publish(api, teacher))
    return s


def body_of(
    s: School, hours: float = 0, *, teacher: Person | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "teacher_user_id": (teacher or s.teacher).id,
        "starts_at": at(hours),
        "duration_minutes": 60,
        **fields,
    }


async def post_booking(api: Api, who: Person, body: dict[str, Any]) -> httpx.Response:
    return await api.client.post(BOOKINGS, json=body, headers=who.headers)


async def requested(
    api: Api, s: School, hours: float = 0, *, student: int = 0, **fields: Any
) -> dict[str, Any]:
    """A request made by the student themself."""
    return ok(await post_booking(api, s.students[student], body_of(s, hours, **fields)), 201)


async def act(api: Api, who: Person, booking_id: int, action: str, **body: Any) -> httpx.Response:
    return await api.client.post(
        f"{BOOKINGS}/{booking_id}/{action}", json=body, headers=who.headers
    )


async def fetch(api: Api, who: Person, booking_id: int) -> dict[str, Any]:
    return ok(await api.client.get(f"{BOOKINGS}/{booking_id}", headers=who.headers))


async def count(api: Api, model: type[Booking] | type[ClassSession]) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def audit_actions(api: Api, prefix: str) -> list[str]:
    async with api.database.transaction() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
        return list(rows)


# --- availability ------------------------------------------------------------------------------


async def test_a_teacher_publishes_their_week(api: Api) -> None:
    s = await school(api, students=1)
    empty = ok(await api.client.get(availability_path(s.teacher), headers=s.students[0].headers))
    assert empty == {"teacher_user_id": s.teacher.id, "time_zone": "Asia/Riyadh", "windows": []}
    windows = [
        {"weekday": 3, "start": "16:00", "end": "18:30"},
        {"weekday": 0, "start": "12:00", "end": "14:00"},
        {"weekday": 0, "start": "09:00", "end": "12:00"},  # touching is fine
    ]
    put = ok(await publish(api, s.teacher, windows=windows, time_zone="America/New_York"))
    assert put["time_zone"] == "America/New_York"
    assert put["windows"] == [windows[2], windows[1], windows[0]]
    for viewer in (s.students[0], s.parent, s.other_teacher, s.admin):
        got = ok(await api.client.get(availability_path(s.teacher), headers=viewer.headers))
        assert got == put
    # A new week replaces the whole old one; the zone defaults to the teacher's own.
    again = ok(await publish(api, s.teacher, windows=[windows[0]]))
    assert (again["time_zone"], again["windows"]) == ("Asia/Riyadh", [windows[0]])
    assert ok(await publish(api, s.teacher, windows=[]))["windows"] == []
    assert await audit_actions(api, "availability.") == ["availability.replaced"] * 3


async def test_who_may_set_availability(api: Api) -> None:
    s = await school(api, students=1)
    assert_error(await publish(api, s.teacher, s.other_teacher), 403, "role_required")
    for person in (s.students[0], s.parent):
        assert_error(await publish(api, s.teacher, person), 403, "role_required")
    ok(await publish(api, s.teacher, s.supervisor))
    ok(await publish(api, s.other_teacher, s.admin))
    # Staff can only set a teacher's week.
    assert error_fields(await publish(api, s.students[0], s.admin)) == {"teacher_user_id"}
    response = await api.client.get(availability_path(s.students[0]), headers=s.admin.headers)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("windows", "extra", "field"),
    [
        ([{"weekday": 0, "start": "10:00", "end": "09:00"}], {}, "windows.0"),
        ([{"weekday": 0, "start": "10:00", "end": "10:00"}], {}, "windows.0"),
        (
            [
                {"weekday": 2, "start": "09:00", "end": "11:00"},
                {"weekday": 2, "start": "10:59", "end": "12:00"},
            ],
            {},
            "windows",
        ),
        ([{"weekday": 7, "start": "09:00", "end": "10:00"}], {}, "windows.0.weekday"),
        ([{"weekday": 0, "start": "9:00", "end": "10:00"}], {}, "windows.0.start"),
        ([{"weekday": 0, "start": "09:00", "end": "24:00"}], {}, "windows.0.end"),
        ([], {"time_zone": "Mars/Base"}, "time_zone"),
        ([], {"unknown": 1}, "unknown"),
    ],
)
async def test_bad_weeks_name_the_field(
    api: Api, windows: list[dict[str, Any]], extra: dict[str, Any], field: str
) -> None:
    s = await school(api, students=1)
    response = await publish(api, s.teacher, windows=windows, **extra)
    assert error_fields(response) == {field}, response.text
    if field == "windows":
        assert "Wednesday 09:00–11:00 overlaps Wednesday 10:59–12:00" in response.text


# --- free slots --------------------------------------------------------------------------------


async def slots(api: Api, who: Person, teacher: Person, **params: Any) -> list[str]:
    response = await api.client.get(
        f"{BASE}/teachers/{teacher.id}/slots", params=params, headers=who.headers
    )
    body = ok(response)
    assert body["teacher_user_id"] == teacher.id
    return [slot.replace("+00:00", "Z") for slot in body["slots"]]


async def individual_session(
    api: Api, s: School, starts_at: str, *, student: int = 1, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Lesson",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": starts_at,
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def test_slots_leave_out_the_teachers_sessions_and_the_break(api: Api) -> None:
    s = await school(api, students=2)
    # Monday 09:00–13:00 in Riyadh: 06:00Z–10:00Z.
    ok(await publish(api, s.teacher, windows=[{"weekday": 0, "start": "09:00", "end": "13:00"}]))
    monday = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z"}
    hourly = {**monday, "duration_minutes": 60, "step_minutes": 60}
    assert await slots(api, s.students[0], s.teacher, **hourly) == [
        "2026-03-02T06:00:00Z",
        "2026-03-02T07:00:00Z",
        "2026-03-02T08:00:00Z",
        "2026-03-02T09:00:00Z",
    ]
    ok(
        await api.client.patch(
            f"{BASE}/settings", json={"session_break_minutes": 10}, headers=s.admin.headers
        )
    )
    await individual_session(api, s, "2026-03-02T07:00:00Z")  # busy until 08:10
    assert await slots(api, s.students[0], s.teacher, **monday, duration_minutes=60) == [
        "2026-03-02T08:30:00Z",
        "2026-03-02T09:00:00Z",
    ]
    # Requests do not block a slot; only sessions do. Other teachers' sessions do not either.
    await requested(api, s, -0.5)  # 08:30Z
    await individual_session(
        api, s, "2026-03-02T09:00:00Z", teacher_user_id=s.other_teacher.id, student=1
    )
    assert await slots(api, s.students[0], s.teacher, **monday, duration_minutes=60) == [
        "2026-03-02T08:30:00Z",
        "2026-03-02T09:00:00Z",
    ]


async def test_slots_start_after_the_notice(api: Api, clock: FrozenClock) -> None:
    s = await bookable(api, await school(api, students=1))
    sunday = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T18:00:00Z"}
    # Now is 09:00Z; the academy's notice is 2 hours; the window closes at 17:00Z.
    found = await slots(api, s.students[0], s.teacher, **sunday, duration_minutes=60)
    assert found[0] == "2026-03-01T11:00:00Z"
    assert found[-1] == "2026-03-01T16:00:00Z"
    clock.advance(timedelta(hours=8))
    assert await slots(api, s.students[0], s.teacher, **sunday, duration_minutes=60) == []


async def test_slots_keep_the_teachers_wall_time_across_dst(api: Api) -> None:
    s = await school(api, students=1)
    ok(
        await publish(
            api,
            s.teacher,
            windows=[{"weekday": 6, "start": "09:00", "end": "10:00"}],
            time_zone="America/New_York",
        )
    )
    found = await slots(
        api,
        s.students[0],
        s.teacher,
        **{"from": "2026-03-01T00:00:00Z", "to": "2026-03-16T00:00:00Z"},
        duration_minutes=60,
    )
    # 09:00 in New York every Sunday: EST, then EDT from 8 March.
    assert found == ["2026-03-01T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-15T13:00:00Z"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-03T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "to"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "to"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-04-02T00:00:01Z"}, "to"),
        ({"from": "2026-03-02T00:00:00", "to": "2026-03-03T00:00:00Z"}, "from"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00"}, "to"),
        (
            {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z", "duration_minutes": 0},
            "duration_minutes",
        ),
        ({"from": "2026-03-02T00:00:00Z"}, "to"),
    ],
)
async def test_slot_questions_are_checked(api: Api, params: dict[str, Any], field: str) -> None:
    s = await bookable(api, await school(api, students=1))
    response = await api.client.get(
        f"{BASE}/teachers/{s.teacher.id}/slots",
        params={"duration_minutes": 60, **params},
        headers=s.students[0].headers,
    )
    assert error_fields(response) == {field}, response.text


async def test_slots_of_someone_who_does_not_teach_are_not_found(api: Api) -> None:
    s = await school(api, students=1)
    response = await api.client.get(
        f"{BASE}/teachers/{s.students[0].id}/slots",
        params={"from": at(0), "to": at(24), "duration_minutes": 30},
        headers=s.admin.headers,
    )
    assert_error(response, 404, "not_found")
    # A whole 31 days, far ahead, answers (empty past the booking horizon) without trouble.
    far = {"from": "2030-01-01T00:00:00Z", "to": "2030-02-01T00:00:00Z", "duration_minutes": 30}
    await bookable(api, s)
    assert await slots(api, s.admin, s.teacher, **far) == []


# --- requesting --------------------------------------------------------------------------------


async def test_a_student_asks_for_a_slot(api: Api) -> None:
    s = await bookable(api, await school(api, students=1))
    made = await requested(api, s, 48, note="Surah Al-Mulk, please")
    assert made["status"] == "requested"
    assert made["kind"] == "individual"
    assert (made["teacher_user_id"], made["student_user_id"]) == (s.teacher.id, s.students[0].id)
    assert made["starts_at"].startswith("2026-03-04T09:00:00")
    assert made["ends_at"].startswith("2026-03-04T10:00:00")
    assert made["time_zone"] == "Asia/Riyadh"
    # Unanswered, it lapses after the academy's 48 hours.
    assert made["expires_at"].startswith("2026-03-03T09:00:00")
    assert made["requested_by_user_id"] == s.students[0].id
    assert made["session_id"] is None
    assert made["note"] == "Surah Al-Mulk, please"
    # Never later than the start itself.
    soon = await requested(api, s, -18)  # Sunday 15:00Z, 6 hours from now
    assert soon["expires_at"] == soon["starts_at"]
    assert await audit_actions(api, "booking.") == ["booking.requested"] * 2


async def test_local_start_is_read_in_the_requesters_zone(api: Api) -> None:
    s = await bookable(api, await school(api, students=1))
    student = s.students[0]
    ok(
        await api.client.patch(
            "/api/v1/me", json={"time_zone": "Europe/London"}, headers=student.headers
        )
    )
    body = body_of(s, starts_at=None, local_start={"date": "2026-03-02", "time": "14:00"})
    made = ok(await post_booking(api, student, body), 201)
    assert made["starts_at"].startswith("2026-03-02T14:00:00")
    assert made["time_zone"] == "Europe/London"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"starts_at": at(-25)}, "starts_at", "validation_error"),  # the past
        ({"starts_at": at(-23)}, "starts_at", "validation_error"),  # inside the 2 hours' notice
        ({"starts_at": at(24 * 367)}, "starts_at", "validation_error"),  # past the horizon
        ({"starts_at": at(9)}, "starts_at", "outside_availability"),  # 21:00 in Riyadh
        ({"starts_at": at(7.5)}, "starts_at", "outside_availability"),  # runs past 20:00
        (
            {"starts_at": None, "local_start": {"date": "2026-03-02", "time": "07:00"}},
            "local_start",
            "outside_availability",
        ),
        (
            {"starts_at": None, "local_start": {"date": "2026-03-01", "time": "12:30"}},
            "local_start",
            "validation_error",  # 09:30Z today: inside the notice
        ),
        (
            {"local_start": {"date": "2026-03-02", "time": "12:00"}},
            "local_start",
            "validation_error",
        ),
        ({"starts_at": None}, "starts_at", "validation_error"),
        ({"starts_at": "2026-03-02T09:00:00"}, "starts_at", "validation_error"),
        ({"duration_minutes": 0}, "duration_minutes", "validation_error"),
        ({"duration_minutes": 721}, "duration_minutes", "validation_error"),
        ({"kind": "group"}, "kind", "validation_error"),
        ({"note": "x" * 1001}, "note", "validation_error"),
        ({"unknown": 1}, "unknown", "validation_error"),
    ],
)
async def test_bad_requests_name_the_field(
    api: Api, changes: dict[str, Any], field: str, code: str
) -> None:
    s = await bookable(api, await school(api, students=1))
    response = await post_booking(api, s.students[0], body_of(s) | changes)
    error = assert_error(response, 422, code)
    assert {d["field"] for d in error["details"]} == {field}, response.text
    assert await count(api, Booking) == 0


async def test_nobody_books_outside_a_published_week(api: Api) -> None:
    s = await school(api, students=1)
    response = await post_booking(api, s.students[0], body_of(s))
    assert_error(response, 422, "outside_availability")


async def test_people_must_have_the_right_roles(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    outsider = await api.user()
    for changes, field in (
        ({"teacher_user_id": s.students[1].id}, "teacher_user_id"),
        ({"teacher_user_id": outsider.id}, "teacher_user_id"),
        ({"student_user_id": s.teacher.id}, "student_user_id"),
        ({"student_user_id": s.parent.id}, "student_user_id"),
        ({"student_user_id": outsider.id}, "student_user_id"),
    ):
        body = body_of(s, student_user_id=s.students[0].id) | changes
        response = await post_booking(api, s.admin, body)
        assert error_fields(response) == {field}, (changes, response.text)
    response = await post_booking(api, s.admin, body_of(s))  # staff name the student
    assert error_fields(response) == {"student_user_id"}
    assert await count(api, Booking) == 0


async def test_who_may_ask_for_whom(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    child, other = s.students
    ok(await post_booking(api, child, body_of(s, 0)), 201)
    ok(await post_booking(api, child, body_of(s, 1, student_user_id=child.id)), 201)
    ok(await post_booking(api, s.parent, body_of(s, 2, student_user_id=child.id)), 201)
    ok(await post_booking(api, s.supervisor, body_of(s, 3, student_user_id=other.id)), 201)
    for who, student in ((child, other), (s.parent, other)):
        body = body_of(s, 4, student_user_id=student.id)
        assert_error(await post_booking(api, who, body), 403, "not_allowed")
    assert error_fields(await post_booking(api, s.parent, body_of(s, 4))) == {"student_user_id"}
    assert_error(await post_booking(api, s.teacher, body_of(s, 4)), 403, "role_required")
    assert await count(api, Booking) == 4


async def test_a_busy_teacher_or_student_cannot_be_asked(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    lesson = await individual_session(api, s, at(0), student=1)
    response = await post_booking(api, s.students[0], body_of(s, 0.5))
    error = assert_error(response, 409, "schedule_conflict")
    assert error["details"][0]["session_code"] == lesson["code"]
    assert error["details"][0]["role"] == "teacher"
    # The student is busy too, with whichever teacher.
    body = body_of(s, -0.5, teacher=s.other_teacher)
    error = assert_error(await post_booking(api, s.students[1], body), 409, "schedule_conflict")
    assert error["details"][0]["role"] == "student"
    ok(await post_booking(api, s.students[0], body_of(s, 1)), 201)  # back to back is fine


async def test_one_open_request_per_student_and_time(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    first = await requested(api, s)
    body = body_of(s, 0.5, teacher=s.other_teacher)
    error = assert_error(await post_booking(api, s.students[0], body), 409, "booking_overlap")
    assert error["details"] == {"booking_id": first["id"]}
    # Another student may ask the same teacher for the same time; the teacher picks one.
    await requested(api, s, student=1)
    ok(await act(api, s.students[0], first["id"], "withdraw"))
    ok(await post_booking(api, s.students[0], body), 201)


# --- answering ---------------------------------------------------------------------------------


async def test_confirming_books_the_session(api: Api) -> None:
    s = await bookable(api, await school(api, students=1))
    made = await requested(api, s, note="Tajweed rules")
    confirmed = ok(await act(api, s.teacher, made["id"], "confirm"))
    assert confirmed["status"] == "confirmed"
    assert confirmed["answered_by_user_id"] == s.teacher.id
    assert confirmed["answered_at"].startswith("2026-03-01T09:00:00")
    session = ok(
        await api.client.get(f"{SESSIONS}/{confirmed['session_id']}", headers=s.students[0].headers)
    )
    assert (session["kind"], session["status"], session["code"]) == (
        "individual",
        "scheduled",
        "IN-000001",
    )
    assert session["title"] == "Student 0 with Teacher"
    assert session["description"] == "Tajweed rules"
    assert session["starts_at"] == confirmed["starts_at"]
    assert session["duration_minutes"] == 60
    assert {(p["user_id"], p["role"]) for p in session["participants"]} == {
        (s.teacher.id, "teacher"),
        (s.students[0].id, "student"),
    }
    # A trial booking makes a trial session; staff may answer, and may name the session.
    trial = await requested(api, s, 2, kind="trial")
    answer = ok(await act(api, s.supervisor, trial["id"], "confirm", title="First lesson"))
    session = ok(
        await api.client.get(f"{SESSIONS}/{answer['session_id']}", headers=s.admin.headers)
    )
    assert (session["kind"], session["code"], session["title"]) == (
        "trial",
        "TR-000001",
        "First lesson",
    )
    assert await audit_actions(api, "booking.") == [
        "booking.requested",
        "booking.confirmed",
        "booking.requested",
        "booking.confirmed",
    ]


async def test_a_conflicting_confirmation_changes_nothing(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    first = await requested(api, s, student=0)
    second = await requested(api, s, 0.5, student=1)
    ok(await act(api, s.teacher, first["id"], "confirm"))
    response = await act(api, s.teacher, second["id"], "confirm")
    assert_error(response, 409, "schedule_conflict")
    assert (await fetch(api, s.admin, second["id"]))["status"] == "requested"
    assert await count(api, ClassSession) == 1
    declined = ok(await act(api, s.teacher, second["id"], "decline", reason="taken, sorry"))
    assert (declined["status"], declined["answer_reason"]) == ("declined", "taken, sorry")
    assert declined["session_id"] is None


async def test_who_may_answer_or_withdraw(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    made = await requested(api, s)
    for person, code in (
        (s.students[0], "not_allowed"),
        (s.parent, "not_allowed"),
        (s.other_teacher, "not_found"),
        (s.students[1], "not_found"),
    ):
        for action, body in (("confirm", {}), ("decline", {"reason": "no"})):
            response = await act(api, person, made["id"], action, **body)
            assert_error(response, 403 if code == "not_allowed" else 404, code)
    assert_error(await act(api, s.teacher, made["id"], "withdraw"), 403, "not_allowed")
    assert_error(await act(api, s.other_teacher, made["id"], "withdraw"), 404, "not_found")
    assert error_fields(await act(api, s.teacher, made["id"], "decline")) == {"reason"}
    assert (await fetch(api, s.admin, made["id"]))["status"] == "requested"
    withdrawn = ok(await act(api, s.parent, made["id"], "withdraw", reason="travelling"))
    assert (withdrawn["status"], withdrawn["answered_by_user_id"]) == ("withdrawn", s.parent.id)
    assert withdrawn["answer_reason"] == "travelling"


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("confirm", "decline"),
        ("confirm", "withdraw"),
        ("decline", "confirm"),
        ("withdraw", "confirm"),
        ("withdraw", "withdraw"),
        ("decline", "decline"),
    ],
)
async def test_an_answered_request_is_final(api: Api, first: str, then: str) -> None:
    s = await bookable(api, await school(api, students=1))
    made = await requested(api, s)
    bodies = {"decline": {"reason": "no"}, "confirm": {}, "withdraw": {}}
    done = ok(await act(api, s.admin, made["id"], first, **bodies[first]))
    error = assert_error(
        await act(api, s.admin, made["id"], then, **bodies[then]), 409, "invalid_transition"
    )
    assert error["details"] == {"from": done["status"], "to": error["details"]["to"], "allowed": []}
    assert (await fetch(api, s.admin, made["id"]))["status"] == done["status"]


def test_the_transition_table() -> None:
    requested_to = TRANSITIONS[BookingStatus.REQUESTED]
    assert requested_to == {"confirmed", "declined", "expired", "withdrawn"}
    assert all(not TRANSITIONS[status] for status in BookingStatus if status != "requested")
    assert sources_of(BookingStatus.EXPIRED) == [BookingStatus.REQUESTED]


# --- expiry ------------------------------------------------------------------------------------


async def run_expiry(api: Api) -> int:
    async with api.database.transaction() as session:
        return await expire_bookings(api.runtime(session))


async def test_unanswered_requests_expire(api: Api, clock: FrozenClock) -> None:
    s = await bookable(api, await school(api, students=3))
    lapsing = await requested(api, s, 48, student=0)  # expires 48 hours from now
    answered = await requested(api, s, 49, student=1)
    ok(await act(api, s.teacher, answered["id"], "confirm"))
    clock.advance(timedelta(seconds=1))
    later = await requested(api, s, 24 * 4, student=2)  # expires a second after the first
    clock.set(START + timedelta(hours=48) - timedelta(seconds=1))
    assert await run_expiry(api) == 0
    clock.advance(timedelta(seconds=1))
    # Confirming refuses it at once; reading still shows it requested until the worker runs.
    error = assert_error(
        await act(api, s.teacher, lapsing["id"], "confirm"), 409, "booking_expired"
    )
    expires_at = datetime.fromisoformat(error["details"]["expires_at"])
    assert expires_at == datetime.fromisoformat(lapsing["expires_at"]) == clock.now()
    assert (await fetch(api, s.students[0], lapsing["id"]))["status"] == "requested"
    worker = Worker(api.app.state.database, api.app.state.settings, api.app.state.secret)
    assert "expire_bookings" in runner.STEPS
    assert (await worker.tick())["expire_bookings"] == 1
    expired = await fetch(api, s.students[0], lapsing["id"])
    assert (expired["status"], expired["answered_by_user_id"]) == ("expired", None)
    assert (await fetch(api, s.admin, answered["id"]))["status"] == "confirmed"
    assert (await fetch(api, s.admin, later["id"]))["status"] == "requested"
    assert_error(await act(api, s.teacher, lapsing["id"], "confirm"), 409, "booking_expired")
    assert_error(
        await act(api, s.students[0], lapsing["id"], "withdraw"), 409, "invalid_transition"
    )
    assert await run_expiry(api) == 0  # nothing twice
    clock.advance(timedelta(seconds=1))
    assert await run_expiry(api) == 1
    assert await audit_actions(api, "booking.expired") == ["booking.expired"] * 2


async def test_expiry_covers_every_academy(api: Api, clock: FrozenClock) -> None:
    s = await bookable(api, await school(api, students=1))
    other_admin = await api.academy("other-academy")
    teacher = await api.member("other-academy", other_admin, "teacher")
    student = await api.member("other-academy", other_admin, "student")
    ok(
        await api.client.put(
            f"/api/v1/academies/other-academy/teachers/{teacher.id}/availability",
            json={"windows": ALL_WEEK},
            headers=teacher.headers,
        )
    )
    ok(
        await api.client.post(
            "/api/v1/academies/other-academy/bookings",
            json={"teacher_user_id": teacher.id, "starts_at": at(48), "duration_minutes": 30},
            headers=student.headers,
        ),
        201,
    )
    await requested(api, s, 48)
    clock.advance(timedelta(hours=48))
    assert await run_expiry(api) == 2
    async with api.database.transaction() as session:
        statuses = await session.execute(select(Booking.academy_id, Booking.status))
        rows = list(statuses)
    assert len({academy for academy, _ in rows}) == 2
    assert {status for _, status in rows} == {"expired"}


# --- who sees what -----------------------------------------------------------------------------


async def test_viewers_see_their_own_bookings(api: Api) -> None:
    s = await bookable(api, await school(api, students=2))
    mine = await requested(api, s, student=0)
    theirs = await requested(api, s, 2, student=1, teacher=s.other_teacher)
    ok(await act(api, s.other_teacher, theirs["id"], "decline", reason="full"))

    async def visible(person: Person, **params: Any) -> list[int]:
        body = ok(await api.client.get(BOOKINGS, params=params, headers=person.headers))
        return [item["id"] for item in body["items"]]

    both = [mine["id"], theirs["id"]]
    assert await visible(s.admin) == both
    assert await visible(s.supervisor) == both
    assert await visible(s.teacher) == [mine["id"]]
    assert await visible(s.other_teacher) == [theirs["id"]]
    assert await visible(s.students[0]) == [mine["id"]]
    assert await visible(s.parent) == [mine["id"]]
    assert await visible(s.students[1]) == [theirs["id"]]
    assert await visible(s.admin, status="declined") == [theirs["id"]]
    assert await visible(s.admin, status=["requested", "declined"]) == both
    assert await visible(s.admin, teacher_user_id=s.teacher.id) == [mine["id"]]
    assert await visible(s.admin, student_user_id=s.students[1].id) == [theirs["id"]]
    assert await visible(s.students[0], teacher_user_id=s.other_teacher.id) == []
    for person in (s.teacher, s.students[0], s.parent):
        response = await api.client.get(f"{BOOKINGS}/{theirs['id']}", headers=person.headers)
        assert_error(response, 404, "not_found")
    assert (await fetch(api, s.parent, mine["id"]))["id"] == mine["id"]
    response = await api.client.get(BOOKINGS, params={"status": "lost"}, headers=s.admin.headers)
    assert error_fields(response) == {"status.0"}


# --- races -------------------------------------------------------------------------------------


def race_after_the_checks(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, holds each request after its conflict check until the other has made its
    own, so both see a free calendar and only the exclusion constraint can stop the second.
    (SQLite runs one writing transaction at a time: there the second simply sees the first.)"""
    if api.database.dialect != "postgresql":
        return
    barrier = asyncio.Barrier(2)
    original = calendar.check_conflicts

    async def checked_then_wait(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        await asyncio.wait_for(barrier.wait(), timeout=10)

    monkeypatch.setattr(calendar, "check_conflicts", checked_then_wait)


async def test_two_confirmations_of_one_time_book_it_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await bookable(api, await school(api, students=2))
    first = await requested(api, s, student=0)
    second = await requested(api, s, 0.5, student=1)
    race_after_the_checks(api, monkeypatch)
    responses = await asyncio.gather(
        act(api, s.teacher, first["id"], "confirm"),
        act(api, s.admin, second["id"], "confirm"),
    )
    await one_won(api, s, dict(zip((first["id"], second["id"]), responses, strict=True)))


async def test_a_confirmation_racing_a_new_session_books_the_time_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await bookable(api, await school(api, students=2))
    made = await requested(api, s, student=0)
    race_after_the_checks(api, monkeypatch)
    lesson = {
        "kind": "individual",
        "title": "Lesson",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[1].id,
        "starts_at": at(0.25),
        "duration_minutes": 60,
    }
    confirmation, creation = await asyncio.gather(
        act(api, s.teacher, made["id"], "confirm"),
        api.client.post(SESSIONS, json=lesson, headers=s.admin.headers),
    )
    assert sorted([confirmation.status_code, creation.status_code]) in ([200, 409], [201, 409])
    await one_won(api, s, {made["id"]: confirmation, None: creation})


async def one_won(api: Api, s: School, responses: dict[int | None, httpx.Response]) -> None:
    """Exactly one request succeeded; the other is a 409 schedule_conflict and, if it was a
    confirmation, left its booking requested; one session holds the time, the winner's."""
    won = [r for r in responses.values() if r.status_code in (200, 201)]
    lost = [r for r in responses.values() if r.status_code not in (200, 201)]
    assert len(won) == 1, [r.text for r in responses.values()]
    error = assert_error(lost[0], 409, "schedule_conflict")
    if api.database.dialect == "postgresql":  # both checks passed: the constraint stopped it
        assert error["message"] == calendar.RACE_LOST
    for booking_id, response in responses.items():
        if booking_id is not None:
            status = (await fetch(api, s.admin, booking_id))["status"]
            assert status == ("confirmed" if response in won else "requested")
    async with api.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ClassSession)) == 1
        confirmed = list(
            await session.scalars(select(Booking).where(Booking.status == "confirmed"))
        )
    assert [b.session_id is not None for b in confirmed] == [True] * len(confirmed)
