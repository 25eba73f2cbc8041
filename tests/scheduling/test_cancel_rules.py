"""Who may cancel a session, when it counts as late, and whether a make-up is owed: the notice per
role, students and parents on their own individual sessions only and only before the start, and
only staff deciding the make-up themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, audit, enrolled, new_group, ok, school
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"


async def booked(
    api: Api, s: School, hours: float, *, student: int = 0, **fields: Any
) -> dict[str, Any]:
    """An individual session of the teacher and a student, `hours` after the clock's start."""
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": (START + timedelta(hours=hours)).isoformat(),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def cancel(api: Api, who: Person, session_id: int, **body: Any) -> httpx.Response:
    return await api.client.post(
        f"{SESSIONS}/{session_id}/cancel", json={"reason": "ill", **body}, headers=who.headers
    )


async def detail(api: Api, who: Person, session_id: int) -> dict[str, Any]:
    return ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=who.headers))


def person(s: School, who: str) -> Person:
    if who == "student":
        return s.students[0]
    found: Person = getattr(s, who)
    return found


async def configure(api: Api, s: School, **values: Any) -> None:
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings", json=values, headers=s.admin.headers
        )
    )


@pytest.mark.parametrize(
    ("who", "hours", "body", "late", "owed"),
    [
        # The teacher: a make-up is always owed; under 24 h it is late.
        ("teacher", 48, {}, False, True),
        ("teacher", 10, {}, True, True),
        # The student, or their parent: owed with notice, late and not owed without.
        ("student", 48, {}, False, True),
        ("student", 10, {}, True, False),
        ("parent", 48, {}, False, True),
        ("parent", 10, {}, True, False),
        # Staff are never late; a make-up is owed unless they say otherwise.
        ("admin", 10, {}, False, True),
        ("supervisor", 48, {}, False, True),
        ("admin", 10, {"makeup_owed": False}, False, False),
        ("supervisor", 48, {"makeup_owed": False}, False, False),
        ("admin", 48, {"makeup_owed": True}, False, True),
    ],
)
async def test_lateness_and_makeup_per_role(
    api: Api, who: str, hours: float, body: dict[str, Any], late: bool, owed: bool
) -> None:
    s = await school(api, students=1)
    made = await booked(api, s, hours)
    cancelled = ok(await cancel(api, person(s, who), made["id"], **body))
    assert (cancelled["status"], cancelled["late_cancellation"], cancelled["makeup_owed"]) == (
        "cancelled",
        late,
        owed,
    )
    again = await detail(api, s.admin, made["id"])
    assert (again["late_cancellation"], again["makeup_owed"]) == (late, owed)
    [entry] = await audit(api, s.admin, "session.cancelled")
    assert (entry["actor_user_id"], entry["after"]["late"], entry["after"]["makeup_owed"]) == (
        person(s, who).id,
        late,
        owed,
    )
    expected_by = {"parent": "student", "supervisor": "staff", "admin": "staff"}.get(who, who)
    assert entry["after"]["by"] == expected_by


@pytest.mark.parametrize(
    ("who", "hours", "late"),
    [
        ("teacher", 47.5, True),
        ("teacher", 48, False),  # exactly the notice is enough
        ("student", 5.5, True),
        ("student", 6, False),
        ("parent", 5.5, True),
    ],
)
async def test_the_notice_is_an_academy_setting_per_role(
    api: Api, who: str, hours: float, late: bool
) -> None:
    s = await school(api, students=1)
    await configure(api, s, teacher_cancel_notice_hours=48, student_cancel_notice_hours=6)
    made = await booked(api, s, hours)
    cancelled = ok(await cancel(api, person(s, who), made["id"]))
    assert cancelled["late_cancellation"] is late
    assert cancelled["makeup_owed"] is (who == "teacher" or not late)


@pytest.mark.parametrize("who", ["teacher", "student", "parent"])
async def test_only_staff_send_makeup_owed(api: Api, who: str) -> None:
    s = await school(api, students=1)
    made = await booked(api, s, 48)
    for value in (True, False):
        response = await cancel(api, person(s, who), made["id"], makeup_owed=value)
        assert_error(response, 403, "role_required")
    assert (await detail(api, s.admin, made["id"]))["status"] == "scheduled"


@pytest.mark.parametrize("who", ["student", "parent"])
async def test_students_and_parents_cancel_only_before_the_start(
    api: Api, clock: FrozenClock, who: str
) -> None:
    s = await school(api, students=1)
    made = await booked(api, s, 2)
    view = await detail(api, person(s, who), made["id"])
    assert "cancel" in view["status_display"]["actions"]
    clock.advance(timedelta(hours=2))  # the very start
    view = await detail(api, person(s, who), made["id"])
    assert "cancel" not in view["status_display"]["actions"]
    assert_error(await cancel(api, person(s, who), made["id"]), 409, "action_not_allowed")
    assert (await detail(api, s.admin, made["id"]))["status"] == "scheduled"
    # The teacher still may (late, and owing a make-up).
    cancelled = ok(await cancel(api, s.teacher, made["id"]))
    assert (cancelled["late_cancellation"], cancelled["makeup_owed"]) == (True, True)


@pytest.mark.parametrize("students", [1, 2])
async def test_students_do_not_cancel_a_group_session(api: Api, students: int) -> None:
    s = await school(api, students=students)
    group = await new_group(api, s.admin, s.teacher, "circle")
    for student in s.students:
        await enrolled(api, s.admin, group["id"], student)
    made = ok(
        await api.client.post(
            SESSIONS,
            json={
                "kind": "group",
                "title": "Circle",
                "group_id": group["id"],
                "starts_at": (START + timedelta(hours=48)).isoformat(),
                "duration_minutes": 60,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    # students[0] and their parent see the session, but may not cancel it for the group.
    for who in (s.students[0], s.parent):
        view = await detail(api, who, made["id"])
        assert "cancel" not in view["status_display"]["actions"], who
        assert_error(await cancel(api, who, made["id"]), 403, "not_allowed")
    assert (await detail(api, s.admin, made["id"]))["status"] == "scheduled"


async def test_nobody_else_cancels(api: Api) -> None:
    s = await school(api, students=2)
    made = await booked(api, s, 48)
    # Another student and another teacher cannot even see the session.
    for who in (s.students[1], s.other_teacher):
        assert_error(await cancel(api, who, made["id"]), 404, "not_found")
    assert error_fields(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/cancel", json={"reason": " "}, headers=s.admin.headers
        )
    ) == {"reason"}
    assert (await detail(api, s.admin, made["id"]))["status"] == "scheduled"


@pytest.mark.parametrize(
    ("who", "body"),
    [
        ("teacher", {}),
        ("student", {}),  # with notice: would owe one for an ordinary session
        ("admin", {}),
        ("admin", {"makeup_owed": True}),
    ],
)
async def test_a_cancelled_makeup_owes_nothing_itself(
    api: Api, who: str, body: dict[str, Any]
) -> None:
    s = await school(api, students=1)
    original = await booked(api, s, 48)
    ok(await cancel(api, s.teacher, original["id"]))
    makeup = ok(
        await api.client.post(
            f"{SESSIONS}/{original['id']}/makeup",
            json={"starts_at": (START + timedelta(days=5)).isoformat()},
            headers=s.teacher.headers,
        ),
        201,
    )
    cancelled = ok(await cancel(api, person(s, who), makeup["id"], **body))
    assert (cancelled["status"], cancelled["makeup_owed"]) == ("cancelled", False)
    # What it replaced is still owed, with nothing planned for it now.
    owed = ok(await api.client.get(f"/api/v1/academies/{SLUG}/makeups", headers=s.admin.headers))
    assert [(o["session"]["id"], o["makeup"]) for o in owed["items"]] == [(original["id"], None)]


@pytest.mark.parametrize("who", ["student", "teacher", "admin"])
async def test_nobody_types_the_reason_only_attendance_records(api: Api, who: str) -> None:
    """`teacher_absent` owes a make-up and lets attendance correct the outcome later: only the
    system records it, so a typed one is refused and nothing changes."""
    s = await school(api, students=1)
    made = await booked(api, s, 48)
    response = await cancel(api, person(s, who), made["id"], reason="teacher_absent")
    assert error_fields(response) == {"reason"}
    assert (await detail(api, s.admin, made["id"]))["status"] == "scheduled"
