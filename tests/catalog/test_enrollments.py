"""Enrollments over HTTP: staff enrolling, students asking, capacity, closed groups, one open
enrollment per student, who may change what and who sees what; the database's own guard; and
the last seat under concurrent requests on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from halaqa.academies.auth import AcademyContext, Principal
from halaqa.academies.repository import AcademyRepository, UserRepository
from halaqa.academies.roles import Role
from halaqa.catalog import service
from halaqa.catalog.repository import EnrollmentRepository
from halaqa.catalog.schemas import EnrollmentCreate
from halaqa.exceptions import Conflict
from halaqa.models import Enrollment
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import (
    GROUPS,
    SLUG,
    audit,
    enrol,
    enrolled,
    get_group,
    list_enrollments,
    new_group,
    ok,
    open_course,
    rows,
    school,
    set_enrollment,
    set_group_status,
)
from tests.conftest import START

NOW = START.isoformat().replace("+00:00", "Z")


async def statuses(api: Api, who: Person, group_id: int) -> dict[int, str]:
    """Student id → enrollment status, for every enrollment `who` can see in the group."""
    response = await list_enrollments(api, who, group_id, per_page=100)
    return {e["student"]["user_id"]: e["status"] for e in ok(response)["items"]}


# --- staff enrol -------------------------------------------------------------------------------


async def test_staff_enrol_a_student(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    student = s.students[0]
    created = ok(await enrol(api, s.supervisor, group["id"], student_user_id=student.id), 201)
    enrollment_id = created.pop("id")
    assert created == {
        "group_id": group["id"],
        "student": {"user_id": student.id, "name": "Student 0"},
        "status": "enrolled",
        "enrolled_at": NOW,
        "ended_at": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert ok(await get_group(api, s.admin, group["id"]))["enrolled"] == 1
    [entry] = await audit(api, s.admin, "enrollment.")
    assert (entry["action"], entry["entity_type"], entry["entity_id"]) == (
        "enrollment.created",
        "enrollment",
        str(enrollment_id),
    )
    assert entry["after"] == {
        "group_id": group["id"],
        "student_user_id": student.id,
        "status": "enrolled",
        # The group has no sessions yet for the student to join.
        "sessions": {"session_ids": [], "clashes": []},
    }
    assert entry["actor_user_id"] == s.supervisor.id


async def test_staff_may_enrol_as_pending_then_approve(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    created = ok(
        await enrol(api, s.admin, group["id"], student_user_id=s.students[0].id, status="pending"),
        201,
    )
    assert (created["status"], created["enrolled_at"]) == ("pending", None)
    assert ok(await get_group(api, s.admin, group["id"]))["enrolled"] == 0
    approved = ok(await set_enrollment(api, s.admin, group["id"], created["id"], "enrolled"))
    assert (approved["status"], approved["enrolled_at"]) == ("enrolled", NOW)
    completed = ok(await set_enrollment(api, s.admin, group["id"], created["id"], "completed"))
    assert (completed["status"], completed["ended_at"]) == ("completed", NOW)
    changes = await audit(api, s.admin, "enrollment.status_changed")
    assert [(e["before"]["status"], e["after"]["status"]) for e in changes] == [
        ("pending", "enrolled"),
        ("enrolled", "completed"),
    ]


async def test_a_staff_api_key_enrols(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    headers = {"Authorization": f"Bearer {await api.api_key(SLUG, s.admin, 'admin')}"}
    response = await api.client.post(
        f"{GROUPS}/{group['id']}/enrollments",
        json={"student_user_id": s.students[0].id},
        headers=headers,
    )
    assert ok(response, 201)["status"] == "enrolled"


async def test_the_student_must_be_an_active_member_with_the_student_role(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    gone = s.students[2]
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/members/{gone.id}",
            json={"is_active": False},
            headers=s.admin.headers,
        )
    )
    outsider = await api.user()
    before = await rows(api)
    for user_id, message in (
        (outsider.id, f"user {outsider.id} is not an active member of this academy"),
        (gone.id, f"user {gone.id} is not an active member of this academy"),
        (10**9, f"user {10**9} is not an active member of this academy"),
        (s.teacher.id, f"user {s.teacher.id} does not have the student role"),
        (s.parent.id, f"user {s.parent.id} does not have the student role"),
    ):
        error = assert_error(
            await enrol(api, s.admin, group["id"], student_user_id=user_id), 422, "validation_error"
        )
        assert error["details"] == [{"field": "student_user_id", "message": message}]
    error = assert_error(await enrol(api, s.admin, group["id"]), 422, "validation_error")
    assert error["details"] == [
        {"field": "student_user_id", "message": "name the student to enrol"}
    ]
    for body, field in (
        ({"student_user_id": 0}, "student_user_id"),
        ({"student_user_id": "me"}, "student_user_id"),
        ({"student_user_id": s.students[0].id, "status": "completed"}, "status"),
        ({"student_user_id": s.students[0].id, "status": "cancelled"}, "status"),
        ({"student_user_id": s.students[0].id, "academy_id": 1}, "academy_id"),
    ):
        assert field in error_fields(await enrol(api, s.admin, group["id"], **body)), body
    assert await rows(api) == before


# --- capacity ----------------------------------------------------------------------------------


async def test_capacity_counts_enrolled_students(api: Api) -> None:
    s = await school(api, students=4)
    group = await new_group(api, s.admin, s.teacher, capacity=2)
    first, second, third, fourth = s.students
    await enrolled(api, s.admin, group["id"], first)
    await enrolled(api, s.admin, group["id"], second)

    before = await rows(api)
    error = assert_error(
        await enrol(api, s.admin, group["id"], student_user_id=third.id), 409, "group_full"
    )
    assert error["details"] == {"capacity": 2, "enrolled": 2}
    assert "all 2 places" in error["message"]
    assert await rows(api) == before  # no half-made enrollment is left behind

    # A request waits without taking a place, and cannot be approved while the group is full.
    waiting = await enrolled(api, s.admin, group["id"], third, status="pending")
    before = await rows(api)
    assert_error(
        await set_enrollment(api, s.admin, group["id"], waiting, "enrolled"), 409, "group_full"
    )
    assert await rows(api) == before
    assert (await statuses(api, s.admin, group["id"]))[third.id] == "pending"

    # A place freed (cancelled or completed) can be taken.
    [first_enrollment] = [
        e["id"]
        for e in ok(await list_enrollments(api, s.admin, group["id"], student_user_id=first.id))[
            "items"
        ]
    ]
    ok(await set_enrollment(api, s.admin, group["id"], first_enrollment, "completed"))
    ok(await set_enrollment(api, s.admin, group["id"], waiting, "enrolled"))
    assert_error(
        await enrol(api, s.admin, group["id"], student_user_id=fourth.id), 409, "group_full"
    )
    assert ok(await get_group(api, s.admin, group["id"]))["enrolled"] == 2

    # Raising the capacity makes room at once; no limit at all, room for everyone.
    ok(
        await api.client.patch(
            f"{GROUPS}/{group['id']}", json={"capacity": None}, headers=s.admin.headers
        )
    )
    await enrolled(api, s.admin, group["id"], fourth)


# --- closed groups and one open enrollment each ------------------------------------------------


async def test_enrolment_is_open_only_while_published_or_active(api: Api) -> None:
    s = await school(api)
    student = s.students[0]
    course = await new_group(api, s.admin, s.teacher, "course")
    before = await rows(api)
    error = assert_error(
        await enrol(api, s.admin, course["id"], student_user_id=student.id),
        409,
        "enrollment_closed",
    )
    assert "this group is draft" in error["message"]
    assert await rows(api) == before
    ok(await set_group_status(api, s.admin, course["id"], "published"))
    pending = await enrolled(api, s.admin, course["id"], student, status="pending")
    ok(await set_group_status(api, s.admin, course["id"], "active"))
    ok(await set_enrollment(api, s.admin, course["id"], pending, "enrolled"))
    await enrolled(api, s.admin, course["id"], s.students[1])
    ok(await set_group_status(api, s.admin, course["id"], "cancelled"))
    for who in (s.admin, s.students[2]):
        body = {"student_user_id": s.students[2].id} if who is s.admin else {}
        response = await enrol(api, who, course["id"], **body)
        if who is s.admin:
            assert_error(response, 409, "enrollment_closed")
        else:
            # The cancelled course is no longer advertised: to this student it does not exist.
            assert_error(response, 404, "not_found")


async def test_one_open_enrollment_per_student_and_group(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    student = s.students[0]
    first = await enrolled(api, s.admin, group["id"], student, status="pending")
    before = await rows(api)
    for who, body in (
        (s.admin, {"student_user_id": student.id}),
        (s.supervisor, {"student_user_id": student.id, "status": "pending"}),
        (student, {}),
    ):
        error = assert_error(await enrol(api, who, group["id"], **body), 409, "already_enrolled")
        assert f"user {student.id} already has" in error["message"]
    assert await rows(api) == before
    ok(await set_enrollment(api, s.admin, group["id"], first, "enrolled"))
    assert_error(
        await enrol(api, s.admin, group["id"], student_user_id=student.id), 409, "already_enrolled"
    )
    # Once it is over, the student may be enrolled again; the history stays.
    ok(await set_enrollment(api, s.admin, group["id"], first, "cancelled"))
    again = await enrolled(api, s.admin, group["id"], student)
    assert again != first
    response = await list_enrollments(api, s.admin, group["id"], student_user_id=student.id)
    assert [(e["id"], e["status"]) for e in ok(response)["items"]] == [
        (first, "cancelled"),
        (again, "enrolled"),
    ]
    # The same student may be in another group at the same time.
    await enrolled(api, s.admin, (await new_group(api, s.admin, s.teacher))["id"], student)


async def test_the_database_allows_one_open_enrollment_per_student_and_group(api: Api) -> None:
    """The partial unique index, on each backend: open means pending or enrolled; any number of
    finished enrollments may sit next to one open one."""
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    student = s.students[0]
    async with api.database.transaction() as session:
        academy = await AcademyRepository(session).by_slug(SLUG)
        assert academy is not None
        academy_id = academy.id

    def row(status: str) -> Enrollment:
        return Enrollment(
            academy_id=academy_id, group_id=group["id"], student_user_id=student.id, status=status
        )

    async with api.database.transaction() as session:
        session.add_all([row("completed"), row("cancelled"), row("cancelled"), row("enrolled")])
    for status in ("pending", "enrolled"):
        with pytest.raises(IntegrityError, match=r"ix_enrollments_one_open|UNIQUE"):
            async with api.database.transaction() as session:
                session.add(row(status))
    async with api.database.transaction() as session:
        found = await session.scalars(select(Enrollment.status).order_by(Enrollment.id))
        assert list(found) == ["completed", "cancelled", "cancelled", "enrolled"]
        # Another student's open enrollment in the same group is no conflict.
        session.add(
            Enrollment(
                academy_id=academy_id,
                group_id=group["id"],
                student_user_id=s.students[1].id,
                status="pending",
            )
        )


async def test_the_database_keeps_enrollments_inside_their_academy(api: Api) -> None:
    """An enrollment's group and student are keyed together with its academy: even written by
    hand, one cannot point at another academy's group or member."""
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    other_admin = await api.academy("other")
    other_teacher = await api.member("other", other_admin, "teacher")
    other_student = await api.member("other", other_admin, "student")
    response = await api.client.post(
        "/api/v1/academies/other/groups",
        json={"kind": "circle", "name": "Theirs", "teacher_user_id": other_teacher.id},
        headers=other_admin.headers,
    )
    their_group = ok(response, 201)["id"]
    async with api.database.transaction() as session:
        academy = await AcademyRepository(session).by_slug(SLUG)
        assert academy is not None
        academy_id = academy.id
    for group_id, student_id in (
        (their_group, s.students[0].id),  # another academy's group
        (group["id"], other_student.id),  # another academy's student
    ):
        with pytest.raises(IntegrityError):
            async with api.database.transaction() as session:
                session.add(
                    Enrollment(
                        academy_id=academy_id,
                        group_id=group_id,
                        student_user_id=student_id,
                        status="pending",
                    )
                )


# --- students ask for themselves ---------------------------------------------------------------


async def test_a_student_asks_for_a_place_and_staff_approve(api: Api) -> None:
    s = await school(api)
    course = await open_course(api, s.admin, s.teacher, capacity=1)
    student = s.students[0]
    asked = ok(await enrol(api, student, course["id"]), 201)
    assert (asked["status"], asked["student"]["user_id"]) == ("pending", student.id)
    assert ok(await get_group(api, s.admin, course["id"]))["enrolled"] == 0
    # Naming oneself is the same as leaving it out.
    other_course = await open_course(api, s.admin, s.teacher)
    asked_too = ok(await enrol(api, student, other_course["id"], student_user_id=student.id), 201)
    assert asked_too["status"] == "pending"
    [entry, _] = await audit(api, s.admin, "enrollment.created")
    assert entry["actor_user_id"] == student.id
    assert entry["after"]["status"] == "pending"

    # The student cannot approve themself, nor complete; staff can.
    before = await rows(api)
    for status in ("enrolled", "completed"):
        error = assert_error(
            await set_enrollment(api, student, course["id"], asked["id"], status), 403, "forbidden"
        )
        assert "only cancel their own" in error["message"]
    assert await rows(api) == before
    ok(await set_enrollment(api, s.admin, course["id"], asked["id"], "enrolled"))
    assert (await statuses(api, student, course["id"])) == {student.id: "enrolled"}


async def test_students_act_only_for_themselves(api: Api) -> None:
    s = await school(api)
    course = await open_course(api, s.admin, s.teacher)
    me, other = s.students[0], s.students[1]
    before = await rows(api)
    error = assert_error(
        await enrol(api, me, course["id"], student_user_id=other.id), 403, "forbidden"
    )
    assert "for themselves" in error["message"]
    error = assert_error(await enrol(api, me, course["id"], status="enrolled"), 403, "forbidden")
    assert "only staff enrol directly" in error["message"]
    assert await rows(api) == before
    # A circle they are not in is not theirs to see, so not theirs to ask for.
    circle = await new_group(api, s.admin, s.teacher)
    assert_error(await enrol(api, me, circle["id"]), 404, "not_found")
    # Another student's enrollment is invisible: 404, as if it did not exist.
    theirs = await enrolled(api, s.admin, course["id"], other)
    assert_error(await set_enrollment(api, me, course["id"], theirs, "cancelled"), 404, "not_found")
    assert (await statuses(api, other, course["id"])) == {other.id: "enrolled"}
    assert await statuses(api, me, course["id"]) == {}


async def test_a_student_cancels_their_own(api: Api) -> None:
    s = await school(api)
    course = await open_course(api, s.admin, s.teacher)
    student = s.students[0]
    asked = ok(await enrol(api, student, course["id"]), 201)
    cancelled = ok(await set_enrollment(api, student, course["id"], asked["id"], "cancelled"))
    assert (cancelled["status"], cancelled["ended_at"]) == ("cancelled", NOW)
    # An enrolled place can be given up too.
    place = await enrolled(api, s.admin, course["id"], student)
    ok(await set_enrollment(api, student, course["id"], place, "cancelled"))
    error = assert_error(
        await set_enrollment(api, student, course["id"], place, "cancelled"),
        409,
        "invalid_transition",
    )
    assert (
        error["message"]
        == "this enrollment cannot go from cancelled to cancelled; cancelled is final"
    )
    changes = await audit(api, s.admin, "enrollment.status_changed")
    assert [(e["actor_user_id"], e["after"]["status"]) for e in changes] == [
        (student.id, "cancelled"),
        (student.id, "cancelled"),
    ]


async def test_teachers_and_parents_do_not_enrol(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    place = await enrolled(api, s.admin, group["id"], s.students[0])
    before = await rows(api)
    for who in (s.teacher, s.parent):
        response = await enrol(api, who, group["id"], student_user_id=s.students[1].id)
        assert_error(response, 403, "role_required")
        response = await set_enrollment(api, who, group["id"], place, "cancelled")
        assert_error(response, 403, "role_required")
    assert await rows(api) == before


# --- the status machine through the API --------------------------------------------------------


async def test_forbidden_enrollment_transitions_answer_409(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    pending = await enrolled(api, s.admin, group["id"], s.students[0], status="pending")
    place = await enrolled(api, s.admin, group["id"], s.students[1])
    before = await rows(api)
    for enrollment_id, current, target, allowed in (
        (pending, "pending", "completed", ["cancelled", "enrolled"]),
        (pending, "pending", "pending", ["cancelled", "enrolled"]),
        (place, "enrolled", "enrolled", ["cancelled", "completed"]),
        (place, "enrolled", "pending", ["cancelled", "completed"]),
    ):
        error = assert_error(
            await set_enrollment(api, s.admin, group["id"], enrollment_id, target),
            409,
            "invalid_transition",
        )
        assert error["details"] == {"from": current, "to": target, "allowed": allowed}
        assert f"may go to: {', '.join(allowed)}" in error["message"]
    assert await rows(api) == before
    ok(await set_enrollment(api, s.admin, group["id"], place, "completed"))
    for target in ("enrolled", "cancelled", "pending"):
        assert_error(
            await set_enrollment(api, s.admin, group["id"], place, target),
            409,
            "invalid_transition",
        )
    for body, field in (({"status": "graduated"}, "status"), ({}, "status")):
        response = await api.client.patch(
            f"{GROUPS}/{group['id']}/enrollments/{pending}", json=body, headers=s.admin.headers
        )
        assert field in error_fields(response)


async def test_an_enrollment_is_reached_only_through_its_own_group(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    other = await new_group(api, s.admin, s.teacher)
    place = await enrolled(api, s.admin, group["id"], s.students[0])
    before = await rows(api)
    for group_id, enrollment_id in ((other["id"], place), (group["id"], 10**9)):
        response = await set_enrollment(api, s.admin, group_id, enrollment_id, "cancelled")
        assert_error(response, 404, "not_found")
    for bad in ("0", "abc", str(2**63)):
        response = await api.client.patch(
            f"{GROUPS}/{group['id']}/enrollments/{bad}",
            json={"status": "cancelled"},
            headers=s.admin.headers,
        )
        assert error_fields(response) == {"enrollment_id"}, bad
    assert await rows(api) == before


# --- who sees which enrollments ----------------------------------------------------------------


async def test_enrollment_lists_per_viewer(api: Api) -> None:
    s = await school(api, students=3)
    child, classmate, _ = s.students
    group = await new_group(api, s.admin, s.teacher)
    await enrolled(api, s.admin, group["id"], child)
    await enrolled(api, s.admin, group["id"], classmate, status="pending")
    everyone = {child.id: "enrolled", classmate.id: "pending"}
    for who, expected in (
        (s.admin, everyone),
        (s.supervisor, everyone),
        (s.teacher, everyone),  # the group's own teacher sees the roster
        (child, {child.id: "enrolled"}),
        (classmate, {classmate.id: "pending"}),
        (s.parent, {child.id: "enrolled"}),
    ):
        assert await statuses(api, who, group["id"]) == expected
    for who in (s.other_teacher, s.students[2]):
        assert_error(await list_enrollments(api, who, group["id"]), 404, "not_found")

    page = ok(await list_enrollments(api, s.admin, group["id"], status="pending"))
    assert (page["total"], [e["student"]["user_id"] for e in page["items"]]) == (1, [classmate.id])
    page = ok(await list_enrollments(api, s.admin, group["id"], per_page=1, page=2))
    assert (page["total"], [e["student"]["user_id"] for e in page["items"]]) == (2, [classmate.id])
    for params, field in (
        ({"status": "graduated"}, "status"),
        ({"student_user_id": -1}, "student_user_id"),
    ):
        response = await list_enrollments(api, s.admin, group["id"], **params)
        assert error_fields(response) == {field}


# --- the last seat, concurrently (PostgreSQL) ----------------------------------------------------

RACERS = 12
# How long each transaction lingers after reading what the race is about (the seats taken, or
# the student's open enrollment), as a slow request would. Without it the first transaction
# tends to commit before the others read anything and the race is never run; with it, every
# other read falls inside the first transaction unless the group's row lock makes them queue.
LINGER_SECONDS = 0.1


def postgres_only(api: Api) -> None:
    if api.database.dialect != "postgresql":
        pytest.skip(
            "SQLite runs one writer at a time (BEGIN IMMEDIATE); the row lock is for PostgreSQL"
        )


def widen_the_race(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    original = getattr(EnrollmentRepository, method)

    async def lingering(self: EnrollmentRepository, *args: Any) -> Any:
        found = await original(self, *args)
        await asyncio.sleep(LINGER_SECONDS)
        return found

    monkeypatch.setattr(EnrollmentRepository, method, lingering)


async def race(api: Api, admin_id: int, group_id: int, bodies: list[EnrollmentCreate]) -> list[str]:
    """Each body enrolled by the admin through the service in its own session and transaction,
    all started together; the outcome of each is its status or its refusal's code."""
    ready = asyncio.Barrier(len(bodies))

    async def one(body: EnrollmentCreate) -> str:
        try:
            async with api.database.transaction() as session:
                academy = await AcademyRepository(session).by_slug(SLUG)
                admin = await UserRepository(session).get(admin_id)
                assert academy is not None
                assert admin is not None
                ctx = AcademyContext(
                    academy=academy, principal=Principal(user=admin), roles=frozenset({Role.ADMIN})
                )
                await ready.wait()
                enrollment = await service.enrol(api.runtime(session), ctx, group_id, body)
                return enrollment.status
        except Conflict as refused:
            return refused.code

    return list(await asyncio.gather(*(one(body) for body in bodies)))


async def test_concurrent_requests_for_the_last_seat(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres_only(api)
    s = await school(api, students=RACERS + 2)
    group = await new_group(api, s.admin, s.teacher, capacity=3)
    for student in s.students[:2]:
        await enrolled(api, s.admin, group["id"], student)
    widen_the_race(monkeypatch, "count_enrolled")
    bodies = [EnrollmentCreate(student_user_id=student.id) for student in s.students[2:]]

    outcomes = await race(api, s.admin.id, group["id"], bodies)
    assert sorted(outcomes) == ["enrolled"] + ["group_full"] * (RACERS - 1), outcomes
    assert ok(await get_group(api, s.admin, group["id"]))["enrolled"] == 3
    assert list((await statuses(api, s.admin, group["id"])).values()).count("enrolled") == 3
    assert len(await audit(api, s.admin, "enrollment.created")) == 3


async def test_concurrent_requests_for_the_same_student(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres_only(api)
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    widen_the_race(monkeypatch, "open_of")
    bodies = [EnrollmentCreate(student_user_id=s.students[0].id) for _ in range(RACERS)]

    outcomes = await race(api, s.admin.id, group["id"], bodies)
    assert sorted(outcomes) == ["already_enrolled"] * (RACERS - 1) + ["enrolled"], outcomes
    assert await statuses(api, s.admin, group["id"]) == {s.students[0].id: "enrolled"}
