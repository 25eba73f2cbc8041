"""Groups over HTTP: creating, reading, changing, the status machine and what ending a group
does to its enrollments, filters and pages, and who sees which group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api import Api, assert_error, error_fields
from tests.catalog.school import (
    GROUPS,
    SLUG,
    audit,
    enrol,
    enrolled,
    get_group,
    group_ids,
    list_enrollments,
    list_groups,
    new_group,
    ok,
    open_course,
    post_group,
    rows,
    school,
    set_enrollment,
    set_group_status,
)
from tests.conftest import START

NOW = START.isoformat().replace("+00:00", "Z")

# --- creating ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "next_statuses"),
    [
        ("circle", "active", ["cancelled", "completed"]),
        ("course", "draft", ["cancelled", "published"]),
        ("interactive_course", "draft", ["cancelled", "published"]),
    ],
)
async def test_create_each_kind(api: Api, kind: str, status: str, next_statuses: list[str]) -> None:
    s = await school(api)
    response = await post_group(
        api,
        s.supervisor,
        kind=kind,
        name="  Hifz — Juz' Amma  ",
        description="Memorise the 30th juz'",
        teacher_user_id=s.teacher.id,
        capacity=12,
        time_zone="Africa/Cairo",
        meeting_url="https://meet.example.org/hifz/",
    )
    created = ok(response, 201)
    group_id = created.pop("id")
    assert created == {
        "kind": kind,
        "name": "Hifz — Juz' Amma",
        "description": "Memorise the 30th juz'",
        "teacher": {"user_id": s.teacher.id, "name": "Teacher"},
        "capacity": 12,
        "enrolled": 0,
        "time_zone": "Africa/Cairo",
        "meeting_url": "https://meet.example.org/hifz",
        "status": status,
        "enrolment_open": status == "active",
        "next_statuses": next_statuses,
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert ok(await get_group(api, s.admin, group_id)) == {"id": group_id, **created}
    [entry] = await audit(api, s.admin)
    assert (entry["action"], entry["entity_type"], entry["entity_id"]) == (
        "group.created",
        "group",
        str(group_id),
    )
    assert entry["actor_user_id"] == s.supervisor.id
    assert entry["before"] is None
    assert entry["after"] == {
        "kind": kind,
        "name": "Hifz — Juz' Amma",
        "description": "Memorise the 30th juz'",
        "teacher_user_id": s.teacher.id,
        "capacity": 12,
        "time_zone": "Africa/Cairo",
        "meeting_url": "https://meet.example.org/hifz",
        "status": status,
    }


async def test_optional_fields_default_to_none(api: Api) -> None:
    s = await school(api)
    created = await new_group(api, s.admin, s.teacher)
    assert (created["description"], created["capacity"], created["time_zone"]) == (None, None, None)
    assert created["meeting_url"] is None


@pytest.mark.parametrize(
    "url", ["meet.example.org/x", "ftp://meet.example.org", "javascript:alert(1)", "https://"]
)
async def test_a_meeting_url_must_be_a_web_address(api: Api, url: str) -> None:
    s = await school(api)
    response = await post_group(
        api, s.admin, kind="circle", name="C", teacher_user_id=s.teacher.id, meeting_url=url
    )
    assert error_fields(response) == {"meeting_url"}


async def test_a_staff_api_key_creates_groups(api: Api) -> None:
    s = await school(api)
    key = await api.api_key(SLUG, s.admin, "supervisor")
    response = await api.client.post(
        GROUPS,
        json={"kind": "course", "name": "Tajweed", "teacher_user_id": s.teacher.id},
        headers={"Authorization": f"Bearer {key}"},
    )
    ok(response, 201)
    [entry] = await audit(api, s.admin)
    assert entry["actor_user_id"] is None
    assert entry["actor_api_key_id"] is not None


INVALID_GROUPS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "seminar"}, "kind"),
    ({"kind": None}, "kind"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"description": "x" * 5001}, "description"),
    ({"description": "nul\x00"}, "description"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": -3}, "capacity"),
    ({"capacity": 10_001}, "capacity"),
    ({"capacity": "many"}, "capacity"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"teacher_user_id": 0}, "teacher_user_id"),
    ({"teacher_user_id": 2**63}, "teacher_user_id"),
    ({"status": "active"}, "status"),  # the status is the lifecycle's, not the caller's
    ({"academy_id": 1}, "academy_id"),
]


async def test_invalid_groups_name_the_field_and_create_nothing(api: Api) -> None:
    s = await school(api)
    before = await rows(api)
    base = {"kind": "course", "name": "Tajweed", "teacher_user_id": s.teacher.id}
    for fields, field in INVALID_GROUPS:
        response = await post_group(api, s.admin, **(base | fields))
        assert field in error_fields(response), (fields, response.text)
    for missing in ("kind", "name", "teacher_user_id"):
        body = dict(base)
        del body[missing]
        assert missing in error_fields(await post_group(api, s.admin, **body)), missing
    assert await rows(api) == before


async def test_the_teacher_must_be_an_active_member_with_the_teacher_role(api: Api) -> None:
    s = await school(api)
    outsider = await api.user()
    gone = await api.member(SLUG, s.admin, "teacher")
    response = await api.client.patch(
        f"/api/v1/academies/{SLUG}/members/{gone.id}",
        json={"is_active": False},
        headers=s.admin.headers,
    )
    ok(response)
    other_admin = await api.academy("other")
    stranger = await api.member("other", other_admin, "teacher")
    before = await rows(api)
    not_member, not_teacher = (
        "is not an active member of this academy",
        "does not have the teacher role",
    )
    for user_id, reason in (
        (outsider.id, not_member),
        (stranger.id, not_member),  # a teacher, but of another academy
        (gone.id, not_member),
        (10**9, not_member),
        (s.students[0].id, not_teacher),
        (s.admin.id, not_teacher),
    ):
        response = await post_group(
            api, s.admin, kind="circle", name="Hifz", teacher_user_id=user_id
        )
        error = assert_error(response, 422, "validation_error")
        assert error["details"] == [
            {"field": "teacher_user_id", "message": f"user {user_id} {reason}"}
        ]
    assert await rows(api) == before


async def test_only_staff_create_groups(api: Api) -> None:
    s = await school(api)
    before = await rows(api)
    for person in (s.teacher, s.students[0], s.parent):
        response = await post_group(
            api, person, kind="circle", name="Mine", teacher_user_id=s.teacher.id
        )
        assert_error(response, 403, "role_required")
    assert await rows(api) == before


# --- changing ----------------------------------------------------------------------------------


async def test_update_fields_with_audit(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher, description="old", time_zone="Asia/Riyadh")
    response = await api.client.patch(
        f"{GROUPS}/{group['id']}",
        json={
            "name": "Renamed",
            "description": None,
            "teacher_user_id": s.other_teacher.id,
            "capacity": 5,
            "time_zone": "Europe/London",
        },
        headers=s.supervisor.headers,
    )
    changed = ok(response)
    assert changed["name"] == "Renamed"
    assert changed["description"] is None
    assert changed["teacher"] == {"user_id": s.other_teacher.id, "name": "Other Teacher"}
    assert (changed["capacity"], changed["time_zone"]) == (5, "Europe/London")
    assert (changed["kind"], changed["status"]) == ("circle", "active")

    # Null capacity and zone go back to "no limit" and "the academy's"; left out is unchanged.
    response = await api.client.patch(
        f"{GROUPS}/{group['id']}",
        json={"capacity": None, "time_zone": None},
        headers=s.admin.headers,
    )
    again = ok(response)
    assert (again["capacity"], again["time_zone"], again["name"]) == (None, None, "Renamed")

    updates = await audit(api, s.admin, "group.updated")
    assert [(e["before"]["capacity"], e["after"]["capacity"]) for e in updates] == [
        (None, 5),
        (5, None),
    ]
    assert updates[0]["before"]["teacher_user_id"] == s.teacher.id
    assert updates[0]["after"]["teacher_user_id"] == s.other_teacher.id
    assert updates[0]["actor_user_id"] == s.supervisor.id


async def test_invalid_updates_name_the_field_and_change_nothing(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    before, counted = ok(await get_group(api, s.admin, group["id"])), await rows(api)
    for body, field in (
        ({"name": None}, "name"),
        ({"teacher_user_id": None}, "teacher_user_id"),
        ({"teacher_user_id": s.students[0].id}, "teacher_user_id"),
        ({"teacher_user_id": 10**9}, "teacher_user_id"),
        ({"capacity": 0}, "capacity"),
        ({"time_zone": "Nowhere"}, "time_zone"),
        ({"kind": "course"}, "kind"),  # a group keeps its kind
        ({"status": "completed"}, "status"),  # statuses change through /status only
    ):
        response = await api.client.patch(
            f"{GROUPS}/{group['id']}", json=body, headers=s.admin.headers
        )
        assert field in error_fields(response), (body, response.text)
    assert ok(await get_group(api, s.admin, group["id"])) == before
    assert await rows(api) == counted


async def test_capacity_cannot_go_below_the_enrolled(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher, capacity=5)
    for student in s.students[:2]:
        await enrolled(api, s.admin, group["id"], student)
    await enrolled(api, s.admin, group["id"], s.students[2], status="pending")  # holds no place
    before = await rows(api)
    response = await api.client.patch(
        f"{GROUPS}/{group['id']}", json={"capacity": 1}, headers=s.admin.headers
    )
    error = assert_error(response, 409, "capacity_below_enrolled")
    assert error["details"] == {"enrolled": 2}
    assert "2 students are enrolled" in error["message"]
    assert await rows(api) == before
    assert ok(await get_group(api, s.admin, group["id"]))["capacity"] == 5
    for capacity in (2, None):  # exactly full, and no limit, are both fine
        response = await api.client.patch(
            f"{GROUPS}/{group['id']}", json={"capacity": capacity}, headers=s.admin.headers
        )
        assert ok(response)["capacity"] == capacity


async def test_only_staff_change_groups(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    await enrolled(api, s.admin, group["id"], s.students[0])
    before = await rows(api)
    for person in (s.teacher, s.students[0], s.parent):
        response = await api.client.patch(
            f"{GROUPS}/{group['id']}", json={"name": "Mine"}, headers=person.headers
        )
        assert_error(response, 403, "role_required")
        assert_error(
            await set_group_status(api, person, group["id"], "completed"), 403, "role_required"
        )
    assert await rows(api) == before


# --- the status machine ------------------------------------------------------------------------


async def test_a_course_goes_from_draft_to_completed(api: Api) -> None:
    s = await school(api)
    course = await new_group(api, s.admin, s.teacher, "course")
    steps = [
        ("published", True, ["active", "cancelled"]),
        ("active", True, ["cancelled", "completed"]),
        ("completed", False, []),
    ]
    for status, open_, next_statuses in steps:
        changed = ok(await set_group_status(api, s.admin, course["id"], status))
        assert (changed["status"], changed["enrolment_open"], changed["next_statuses"]) == (
            status,
            open_,
            next_statuses,
        )
    changes = await audit(api, s.admin, "group.status_changed")
    assert [(e["before"], e["after"]) for e in changes] == [
        ({"status": "draft"}, {"status": "published"}),
        ({"status": "published"}, {"status": "active"}),
        ({"status": "active"}, {"status": "completed"}),
    ]
    assert all(e["entity_id"] == str(course["id"]) for e in changes)


async def test_forbidden_transitions_answer_409_listing_what_is_allowed(api: Api) -> None:
    s = await school(api)
    course = await new_group(api, s.admin, s.teacher, "course")
    circle = await new_group(api, s.admin, s.teacher, "circle")
    before = await rows(api)
    for group, status, allowed in (
        (course, "active", ["cancelled", "published"]),
        (course, "completed", ["cancelled", "published"]),
        (course, "draft", ["cancelled", "published"]),
        (circle, "published", ["cancelled", "completed"]),
        (circle, "draft", ["cancelled", "completed"]),
        (circle, "active", ["cancelled", "completed"]),
    ):
        error = assert_error(
            await set_group_status(api, s.admin, group["id"], status), 409, "invalid_transition"
        )
        assert error["details"] == {"from": group["status"], "to": status, "allowed": allowed}
        assert error["message"] == (
            f"this group cannot go from {group['status']} to {status}; "
            f"from {group['status']} it may go to: {', '.join(allowed)}"
        )
    ok(await set_group_status(api, s.admin, circle["id"], "cancelled"))
    error = assert_error(
        await set_group_status(api, s.admin, circle["id"], "active"), 409, "invalid_transition"
    )
    assert error["message"] == "this group cannot go from cancelled to active; cancelled is final"
    assert await rows(api) == (before[0], before[1], before[2] + 1)  # the one cancellation
    for body, field in (({"status": "archived"}, "status"), ({}, "status")):
        response = await api.client.post(
            f"{GROUPS}/{circle['id']}/status", json=body, headers=s.admin.headers
        )
        assert field in error_fields(response)


@pytest.mark.parametrize(
    ("end", "enrolled_becomes"), [("completed", "completed"), ("cancelled", "cancelled")]
)
async def test_ending_a_group_ends_its_open_enrollments(
    api: Api, end: str, enrolled_becomes: str
) -> None:
    s = await school(api, students=4)
    clock = api.app.state.clock
    group = await new_group(api, s.admin, s.teacher)
    a, b, c, d = s.students
    await enrolled(api, s.admin, group["id"], a)
    await enrolled(api, s.admin, group["id"], b, status="pending")
    done = await enrolled(api, s.admin, group["id"], c)
    ok(await set_enrollment(api, s.admin, group["id"], done, "completed"))
    dropped = await enrolled(api, s.admin, group["id"], d)
    ok(await set_enrollment(api, s.admin, group["id"], dropped, "cancelled"))
    earlier = clock.now()
    clock.advance(timedelta(hours=2))
    later = clock.now().isoformat().replace("+00:00", "Z")

    ok(await set_group_status(api, s.supervisor, group["id"], end))
    listed = ok(await list_enrollments(api, s.admin, group["id"]))["items"]
    by_student = {e["student"]["user_id"]: (e["status"], e["ended_at"]) for e in listed}
    first = earlier.isoformat().replace("+00:00", "Z")
    assert by_student == {
        a.id: (enrolled_becomes, later),
        b.id: ("cancelled", later),
        c.id: ("completed", first),  # already over: untouched
        d.id: ("cancelled", first),
    }
    changes = await audit(api, s.admin, "group.status_changed", "enrollment.status_changed")
    last = changes[-3:]
    assert [e["action"] for e in last] == [
        "group.status_changed",
        "enrollment.status_changed",
        "enrollment.status_changed",
    ]
    assert [(e["before"]["status"], e["after"]["status"]) for e in last[1:]] == [
        ("enrolled", enrolled_becomes),
        ("pending", "cancelled"),
    ]
    assert all(e["actor_user_id"] == s.supervisor.id for e in last)
    # Nobody can join a group that is over.
    assert_error(
        await enrol(api, s.admin, group["id"], student_user_id=a.id), 409, "enrollment_closed"
    )


# --- listing -----------------------------------------------------------------------------------


async def test_list_filters_and_pages(api: Api) -> None:
    s = await school(api)
    circle = await new_group(api, s.admin, s.teacher, "circle", name="Beta circle")
    course = await new_group(api, s.admin, s.other_teacher, "course", name="Alpha course")
    live = await new_group(api, s.admin, s.teacher, "interactive_course", name="Gamma live")
    ok(await set_group_status(api, s.admin, live["id"], "published"))

    assert await group_ids(api, s.admin) == [course["id"], circle["id"], live["id"]]  # by name
    assert await group_ids(api, s.admin, kind="circle") == [circle["id"]]
    assert await group_ids(api, s.admin, kind="interactive_course") == [live["id"]]
    assert await group_ids(api, s.admin, status="draft") == [course["id"]]
    assert await group_ids(api, s.admin, status="published") == [live["id"]]
    assert await group_ids(api, s.admin, status="completed") == []
    assert await group_ids(api, s.admin, teacher_user_id=s.teacher.id) == [circle["id"], live["id"]]
    assert await group_ids(api, s.admin, teacher_user_id=s.teacher.id, kind="circle") == [
        circle["id"]
    ]
    assert await group_ids(api, s.admin, teacher_user_id=10**9) == []
    seen = []
    for number in (1, 2):
        page = await list_groups(api, s.admin, page=number, per_page=2)
        assert (page["total"], page["page"], page["per_page"]) == (3, number, 2)
        seen += [g["id"] for g in page["items"]]
    assert seen == [course["id"], circle["id"], live["id"]]
    for params, field in (
        ({"kind": "seminar"}, "kind"),
        ({"status": "archived"}, "status"),
        ({"teacher_user_id": 0}, "teacher_user_id"),
        ({"teacher_user_id": "x"}, "teacher_user_id"),
        ({"per_page": 101}, "per_page"),
    ):
        response = await api.client.get(GROUPS, headers=s.admin.headers, params=params)
        assert error_fields(response) == {field}, params


async def test_enrolled_counts_places_taken(api: Api) -> None:
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher, capacity=3)
    await enrolled(api, s.admin, group["id"], s.students[0])
    await enrolled(api, s.admin, group["id"], s.students[1])
    await enrolled(api, s.admin, group["id"], s.students[2], status="pending")
    other = await new_group(api, s.admin, s.teacher)
    listed = {g["id"]: g["enrolled"] for g in (await list_groups(api, s.admin))["items"]}
    assert listed == {group["id"]: 2, other["id"]: 0}
    assert ok(await get_group(api, s.admin, group["id"]))["enrolled"] == 2


# --- who sees what -----------------------------------------------------------------------------


async def test_viewer_scoping(api: Api) -> None:
    s = await school(api, students=2)
    child, other_student = s.students
    taught = await new_group(api, s.admin, s.teacher, "circle", name="Taught circle")
    elsewhere = await new_group(api, s.admin, s.other_teacher, "circle", name="Other circle")
    draft = await new_group(api, s.admin, s.other_teacher, "course", name="Draft course")
    published = await open_course(api, s.admin, s.other_teacher, name="Published course")
    running = await open_course(api, s.admin, s.other_teacher, name="Running course")
    ok(await set_group_status(api, s.admin, running["id"], "active"))
    finished = await open_course(api, s.admin, s.other_teacher, name="Finished course")
    past = await new_group(api, s.admin, s.other_teacher, "circle", name="Past circle")

    await enrolled(api, s.admin, taught["id"], child)
    await enrolled(api, s.admin, finished["id"], child)
    ok(await set_group_status(api, s.admin, finished["id"], "active"))
    ok(await set_group_status(api, s.admin, finished["id"], "completed"))  # a past enrollment
    dropped = await enrolled(api, s.admin, past["id"], child, status="pending")
    ok(await set_enrollment(api, s.admin, past["id"], dropped, "cancelled"))  # declined
    await enrolled(api, s.admin, elsewhere["id"], other_student)

    everything = {g["id"] for g in (taught, elsewhere, draft, published, running, finished, past)}
    advertised = {published["id"], running["id"]}
    expected = {
        "admin": (s.admin, everything),
        "supervisor": (s.supervisor, everything),
        "teacher": (s.teacher, {taught["id"]}),
        "other teacher": (
            s.other_teacher,
            everything - {taught["id"]},
        ),
        "child": (child, {taught["id"], finished["id"], past["id"]} | advertised),
        "other student": (other_student, {elsewhere["id"]} | advertised),
        "parent": (s.parent, {taught["id"], finished["id"], past["id"]}),
    }
    for label, (person, visible) in expected.items():
        assert set(await group_ids(api, person)) == visible, label
        for group_id in everything:
            response = await get_group(api, person, group_id)
            if group_id in visible:
                assert ok(response)["id"] == group_id
            else:
                assert_error(response, 404, "not_found")
                assert_error(await list_enrollments(api, person, group_id), 404, "not_found")

    # A parent no longer sees the groups of a child whose membership was deactivated.
    response = await api.client.patch(
        f"/api/v1/academies/{SLUG}/members/{child.id}",
        json={"is_active": False},
        headers=s.admin.headers,
    )
    ok(response)
    assert await group_ids(api, s.parent) == []


async def test_several_roles_see_the_union(api: Api) -> None:
    s = await school(api)
    both = await api.member(SLUG, s.admin, "teacher", "student", "parent", name="Many hats")
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/guardianships",
        json={"parent_user_id": both.id, "student_user_id": s.students[1].id},
        headers=s.admin.headers,
    )
    ok(response, 201)
    teaches = await new_group(api, s.admin, both)
    studies = await new_group(api, s.admin, s.teacher)
    await enrolled(api, s.admin, studies["id"], both)
    childs = await new_group(api, s.admin, s.teacher)
    await enrolled(api, s.admin, childs["id"], s.students[1])
    await new_group(api, s.admin, s.teacher)  # nothing to do with them
    assert set(await group_ids(api, both)) == {teaches["id"], studies["id"], childs["id"]}


async def test_api_keys_without_a_staff_role_see_no_group(api: Api) -> None:
    """A key acts for nobody: it teaches, studies and parents no one."""
    s = await school(api)
    group = await new_group(api, s.admin, s.teacher)
    course = await open_course(api, s.admin, s.teacher)
    for role in ("teacher", "student", "parent"):
        headers = {"Authorization": f"Bearer {await api.api_key(SLUG, s.admin, role)}"}
        response = await api.client.get(GROUPS, headers=headers)
        assert ok(response)["items"] == [], role
        for group_id in (group["id"], course["id"]):
            response = await api.client.get(f"{GROUPS}/{group_id}", headers=headers)
            assert_error(response, 404, "not_found")
    headers = {"Authorization": f"Bearer {await api.api_key(SLUG, s.admin, 'supervisor')}"}
    assert {g["id"] for g in ok(await api.client.get(GROUPS, headers=headers))["items"]} == {
        group["id"],
        course["id"],
    }


async def test_unknown_and_malformed_group_ids(api: Api) -> None:
    s = await school(api)
    for group_id in ("999999", str(2**62)):
        assert_error(
            await api.client.get(f"{GROUPS}/{group_id}", headers=s.admin.headers), 404, "not_found"
        )
    for bad in ("0", "-1", "abc", str(2**63)):
        response = await api.client.get(f"{GROUPS}/{bad}", headers=s.admin.headers)
        assert error_fields(response) == {"group_id"}, bad
