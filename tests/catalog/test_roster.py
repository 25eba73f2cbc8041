"""A group's roster follows its enrollments: a student who becomes enrolled joins the group's
sessions that have not begun (never a past one, never one that clashes with their own sessions,
which is reported in the audit log), and one whose enrollment ends leaves them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error
from tests.catalog.school import (
    SLUG,
    School,
    audit,
    enrol,
    enrolled,
    new_group,
    ok,
    school,
    set_enrollment,
    set_group_status,
)
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


async def group_session(
    api: Api, s: School, group_id: int, hours: float | None, minutes: int = 60
) -> int:
    body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group_id,
        "starts_at": None if hours is None else at(hours),
        "duration_minutes": minutes,
    }
    made = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    session_id: int = made["id"]
    return session_id


async def individual(
    api: Api, s: School, student: Person, hours: float, minutes: int = 60
) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.other_teacher.id,
        "student_user_id": student.id,
        "starts_at": at(hours),
        "duration_minutes": minutes,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def students_of(api: Api, s: School, session_id: int) -> set[int]:
    made = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.admin.headers))
    return {p["user_id"] for p in made["participants"] if p["role"] == "student"}


async def last_entry(api: Api, s: School, action: str) -> dict[str, Any]:
    entries = await audit(api, s.admin, action)
    assert entries, action
    return entries[-1]


async def configure(api: Api, s: School, **values: Any) -> None:
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings", json=values, headers=s.admin.headers
        )
    )


async def test_a_new_student_joins_only_the_sessions_not_begun(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api, students=2)
    group = await new_group(api, s.admin, s.teacher, "circle")
    await enrolled(api, s.admin, group["id"], s.students[0])
    started = await group_session(api, s, group["id"], 1)
    passed = await group_session(api, s, group["id"], 2)  # its time has come, nobody started it
    coming = await group_session(api, s, group["id"], 48)
    later = await group_session(api, s, group["id"], 72)
    unscheduled = await group_session(api, s, group["id"], None)
    cancelled = await group_session(api, s, group["id"], 96)
    ok(
        await api.client.post(
            f"{SESSIONS}/{cancelled}/cancel", json={"reason": "x"}, headers=s.admin.headers
        )
    )
    clock.set(START + timedelta(hours=1))
    ok(await api.client.post(f"{SESSIONS}/{started}/start", json={}, headers=s.teacher.headers))
    clock.set(START + timedelta(hours=2, minutes=5))
    newcomer = s.students[1]
    enrollment_id = await enrolled(api, s.admin, group["id"], newcomer)
    joined = {coming, later, unscheduled}
    for session_id in (started, passed, coming, later, unscheduled, cancelled):
        expected = {s.students[0].id} | ({newcomer.id} if session_id in joined else set())
        assert await students_of(api, s, session_id) == expected, session_id
    entry = await last_entry(api, s, "enrollment.created")
    assert entry["entity_id"] == str(enrollment_id)
    assert sorted(entry["after"]["sessions"]["session_ids"]) == sorted(joined)
    assert entry["after"]["sessions"]["clashes"] == []
    # The newcomer now sees those sessions, and is busy at their times.
    listed = ok(await api.client.get(SESSIONS, headers=newcomer.headers))
    assert {item["id"] for item in listed["items"]} == joined
    clash = await api.client.post(
        SESSIONS,
        json={
            "kind": "individual",
            "title": "Tajweed",
            "teacher_user_id": s.other_teacher.id,
            "student_user_id": newcomer.id,
            "starts_at": at(48.5),
            "duration_minutes": 30,
        },
        headers=s.admin.headers,
    )
    assert_error(clash, 409, "schedule_conflict")


@pytest.mark.parametrize(
    ("offset", "pause", "cancel_it", "clashes"),
    [
        pytest.param(0.5, 0, False, True, id="overlaps"),
        pytest.param(-0.5, 0, False, True, id="overlaps-the-start"),
        pytest.param(1, 0, False, False, id="right-after"),
        pytest.param(-1, 0, False, False, id="right-before"),
        pytest.param(1, 10, False, True, id="right-after-without-the-break"),
        pytest.param(0, 0, True, False, id="cancelled-frees-the-time"),
    ],
)
async def test_a_session_that_clashes_is_skipped_and_reported(
    api: Api, offset: float, pause: int, cancel_it: bool, clashes: bool
) -> None:
    s = await school(api, students=1)
    await configure(api, s, session_break_minutes=pause)
    student = s.students[0]
    group = await new_group(api, s.admin, s.teacher, "circle")
    other = await group_session(api, s, group["id"], 24)
    target = await group_session(api, s, group["id"], 48)
    own = await individual(api, s, student, 48 + offset)
    if cancel_it:
        ok(
            await api.client.post(
                f"{SESSIONS}/{own['id']}/cancel", json={"reason": "x"}, headers=s.admin.headers
            )
        )
    await enrolled(api, s.admin, group["id"], student)
    entry = await last_entry(api, s, "enrollment.created")
    assert await students_of(api, s, other) == {student.id}
    if clashes:
        assert await students_of(api, s, target) == set()
        target_code = ok(await api.client.get(f"{SESSIONS}/{target}", headers=s.admin.headers))[
            "code"
        ]
        assert entry["after"]["sessions"] == {
            "session_ids": [other],
            "clashes": [
                {
                    "session_id": target,
                    "session_code": target_code,
                    "busy_in_session_id": own["id"],
                    "busy_in_session_code": own["code"],
                }
            ],
        }
    else:
        assert await students_of(api, s, target) == {student.id}
        assert entry["after"]["sessions"] == {"session_ids": [other, target], "clashes": []}


async def test_an_approved_request_joins_the_sessions(api: Api) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    course = await new_group(api, s.admin, s.teacher, "course")
    ok(await set_group_status(api, s.admin, course["id"], "published"))
    upcoming = await group_session(api, s, course["id"], 48)
    request = ok(await enrol(api, student, course["id"]), 201)
    assert request["status"] == "pending"
    assert await students_of(api, s, upcoming) == set()
    assert "sessions" not in (await last_entry(api, s, "enrollment.created"))["after"]
    approved = ok(await set_enrollment(api, s.admin, course["id"], request["id"], "enrolled"))
    assert approved["status"] == "enrolled"
    assert await students_of(api, s, upcoming) == {student.id}
    entry = await last_entry(api, s, "enrollment.status_changed")
    assert (entry["before"]["status"], entry["after"]["status"]) == ("pending", "enrolled")
    assert entry["after"]["sessions"] == {"session_ids": [upcoming], "clashes": []}


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", "cancelled"), ("admin", "completed"), ("student", "cancelled")],
)
async def test_an_enrollment_that_ends_leaves_the_sessions_not_begun(
    api: Api, clock: FrozenClock, who: str, status: str
) -> None:
    s = await school(api, students=2)
    leaver, stayer = s.students
    group = await new_group(api, s.admin, s.teacher, "circle")
    enrollment_id = await enrolled(api, s.admin, group["id"], leaver)
    await enrolled(api, s.admin, group["id"], stayer)
    attended = await group_session(api, s, group["id"], 1)
    coming = await group_session(api, s, group["id"], 48)
    unscheduled = await group_session(api, s, group["id"], None)
    clock.set(START + timedelta(hours=1))
    ok(await api.client.post(f"{SESSIONS}/{attended}/start", json={}, headers=s.teacher.headers))
    actor = leaver if who == "student" else s.admin
    ended = ok(await set_enrollment(api, actor, group["id"], enrollment_id, status))
    assert ended["status"] == status
    both = {leaver.id, stayer.id}
    assert await students_of(api, s, attended) == both  # on their record
    assert await students_of(api, s, coming) == {stayer.id}
    assert await students_of(api, s, unscheduled) == {stayer.id}
    entry = await last_entry(api, s, "enrollment.status_changed")
    assert entry["after"]["status"] == status
    assert sorted(entry["after"]["sessions"]["session_ids"]) == sorted([coming, unscheduled])
    # The time is theirs again, and the session is no longer theirs to see.
    await individual(api, s, leaver, 48)
    response = await api.client.get(f"{SESSIONS}/{coming}", headers=leaver.headers)
    assert_error(response, 404, "not_found")
    ok(await api.client.get(f"{SESSIONS}/{attended}", headers=leaver.headers))


async def test_a_group_schedules_sessions_follow_the_roster(api: Api) -> None:
    s = await school(api, students=2)
    group = await new_group(api, s.admin, s.teacher, "circle", time_zone="Africa/Cairo")
    await enrolled(api, s.admin, group["id"], s.students[0])
    made = ok(
        await api.client.post(
            SCHEDULES,
            json={
                "kind": "group",
                "title": "Circle",
                "group_id": group["id"],
                "slots": [{"weekday": 1, "start": "17:00"}],
                "duration_minutes": 60,
                "starts_on": "2026-03-02",
            },
            headers=s.admin.headers,
        ),
        201,
    )
    sessions = made["session_ids"]
    assert len(sessions) == 8
    # The newcomer has a class of their own on one of the Tuesdays (15:00 UTC in Cairo).
    own = await individual(api, s, s.students[1], 24 * 16 + 6)  # 17 March, 15:00 UTC
    newcomer = await enrolled(api, s.admin, group["id"], s.students[1])
    entry = await last_entry(api, s, "enrollment.created")
    [clash] = entry["after"]["sessions"]["clashes"]
    assert clash["busy_in_session_id"] == own["id"]
    assert sorted(entry["after"]["sessions"]["session_ids"]) == sorted(
        i for i in sessions if i != clash["session_id"]
    )
    # Completing the group ends its enrollments: its students leave what has not begun.
    ok(await set_group_status(api, s.admin, group["id"], "completed"))
    for session_id in sessions:
        assert await students_of(api, s, session_id) == set()
    entries = await audit(api, s.admin, "enrollment.status_changed")
    left = {e["entity_id"]: e["after"]["sessions"]["session_ids"] for e in entries}
    assert sorted(left[str(newcomer)]) == sorted(i for i in sessions if i != clash["session_id"])
