"""The admin pages' forms without a browser: settings, the academy, people and groups. Each
change goes through its service and answers 303; a refused form answers with its errors next to
the fields and leaves nothing written. Every page opens for the roles its API allows."""

from __future__ import annotations

import re
from typing import Any

from halaqa.academies.settings import AcademySettings
from halaqa.web.routes.admin.settings import SECTIONS, SETTINGS
from tests.api import Api
from tests.catalog.school import SLUG, school
from tests.web.admin_client import page_client, speak_english

BASE = f"/api/v1/academies/{SLUG}"
ADMIN_ONLY = ["/admin/settings", "/admin/meetings", "/admin/audit"]
STAFF_PAGES = [
    "/admin",
    "/admin/people",
    "/admin/groups",
    "/admin/schedules",
    "/admin/bookings",
    "/admin/subscriptions",
    "/admin/reports",
]


def settings_form(**changes: Any) -> dict[str, Any]:
    """The settings form as the page fills it for an academy on the defaults, with changes."""
    form: dict[str, Any] = {}
    for name, value in AcademySettings().model_dump().items():
        if isinstance(value, bool):
            form[name] = "true" if value else "false"
        elif name == "blocked_weekdays":
            form[name] = [str(v) for v in value]
        elif isinstance(value, tuple):
            form[name] = ", ".join(str(v) for v in value)
        else:
            form[name] = str(value)
    return form | changes


async def settings_of(api: Api, admin: Any) -> dict[str, Any]:
    response = await api.client.get(f"{BASE}/settings", headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_page_opens_for_the_roles_the_api_allows(api: Api) -> None:
    s = await school(api)
    async with page_client(api, s.admin, SLUG) as pages:
        for path in STAFF_PAGES + ADMIN_ONLY:
            response = await pages.get(path)
            assert response.status_code == 200, (path, response.text)
            ids = re.findall(r'\sid="([^"]+)"', response.text)
            assert len(ids) == len(set(ids)), (path, sorted(i for i in ids if ids.count(i) > 1))
    async with page_client(api, s.supervisor, SLUG) as pages:
        for path in STAFF_PAGES:
            response = await pages.get(path)
            assert response.status_code == 200, (path, response.text)
        for path in ADMIN_ONLY:
            assert (await pages.get(path)).status_code == 403, path
        # Nor can a supervisor post what only admins may change.
        refused = await pages.post("/admin/people", {"name": "X", "email": "x@example.com"})
        assert refused.status_code == 403
    for who in (s.teacher, s.students[0], s.parent):
        async with page_client(api, who, SLUG) as pages:
            for path in STAFF_PAGES + ADMIN_ONLY:
                assert (await pages.get(path)).status_code == 403, path


async def test_settings_are_saved_and_only_the_changes_are_kept(api: Api) -> None:
    admin = await api.academy(SLUG)
    async with page_client(api, admin, SLUG) as pages:
        form = settings_form(
            late_after_minutes="12", blocked_weekdays=["4", "5"], reminder_minutes="60، 10"
        )
        saved = await pages.post("/admin/settings", form)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == f"/a/{SLUG}/admin/settings?saved=1"
        body = await settings_of(api, admin)
        assert body["settings"]["late_after_minutes"] == 12
        assert body["settings"]["blocked_weekdays"] == [4, 5]
        assert body["settings"]["reminder_minutes"] == [60, 10]
        assert sorted(body["overridden"]) == [
            "blocked_weekdays",
            "late_after_minutes",
            "reminder_minutes",
        ]
        # A blank field returns its setting to the default; no weekday ticked blocks none.
        form = settings_form(late_after_minutes="", blocked_weekdays=[], reminder_minutes="")
        assert (await pages.post("/admin/settings", form)).status_code == 303
        body = await settings_of(api, admin)
        assert body["overridden"] == []
        assert body["settings"]["late_after_minutes"] == 10


async def test_refused_settings_are_said_next_to_their_fields_and_nothing_is_saved(
    api: Api,
) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    async with page_client(api, admin, SLUG) as pages:
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"partial_percent": "150"}, "partial_percent", "Enter a number of at most 100."),
            ({"late_after_minutes": "soon"}, "late_after_minutes", "Enter a whole number."),
            ({"code_prefix_group": "gr"}, "code_prefix_group", "not in the expected form"),
            ({"blocked_weekdays": ["9"]}, "blocked_weekdays", "Enter a number of at most 6."),
            (
                {"blocked_weekdays": [str(d) for d in range(7)]},
                "blocked_weekdays",
                "Leave at least one weekday open.",
            ),
            (
                {"student_join_early_minutes": "20"},
                "student_join_early_minutes",
                "Students cannot join before the room opens.",
            ),
            ({"over_balance_scheduling": "ignore"}, "over_balance_scheduling", "Choose one"),
            ({"record_sessions": "perhaps"}, "record_sessions", "Choose yes or no."),
            ({"reminder_minutes": "15, 15"}, "reminder_minutes", "A time is given twice."),
            ({"reminder_minutes": "15 20 30 40 50"}, "reminder_minutes", "Choose at most 4."),
        ]
        for change, field, message in cases:
            form = settings_form(**{"late_after_minutes": "12", **change})
            response = await pages.post("/admin/settings", form)
            assert response.status_code == 422, (change, response.text)
            assert f'id="e-{field}">' in response.text, change
            error = response.text.split(f'id="e-{field}">')[1].split("</p>")[0]
            assert message in error, (change, error)
    body = await settings_of(api, admin)
    assert body["overridden"] == []


async def test_the_academys_name_zone_and_language(api: Api) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    async with page_client(api, admin, SLUG) as pages:
        form = {"name": "Noor", "time_zone": "Mars/Olympus", "default_locale": "en"}
        refused = await pages.post("/admin/settings/academy", form)
        assert refused.status_code == 422
        assert 'id="e-time_zone"' in refused.text
        assert "Mars/Olympus" in refused.text  # the form keeps what was typed
        form["time_zone"] = "Europe/London"
        assert (await pages.post("/admin/settings/academy", form)).status_code == 303
    academy = (await api.client.get(BASE, headers=admin.headers)).json()
    assert (academy["name"], academy["time_zone"], academy["default_locale"]) == (
        "Noor",
        "Europe/London",
        "en",
    )


async def test_people_roles_links_and_the_last_admin(api: Api) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    async with page_client(api, admin, SLUG) as pages:
        for name, email, role in (
            ("Parent One", "parent@example.com", "parent"),
            ("Student One", "student@example.com", "student"),
        ):
            form = {"name": name, "email": email, "roles": [role], "password": "long-password-1"}
            assert (await pages.post("/admin/people", form)).status_code == 303
        refused = await pages.post(
            "/admin/people", {"name": "Nobody", "email": "not-an-email", "roles": []}
        )
        assert refused.status_code == 422
        assert 'id="e-email"' in refused.text
        assert 'id="e-roles"' in refused.text
        again = await pages.post(
            "/admin/people", {"name": "Again", "email": "parent@example.com", "roles": ["parent"]}
        )
        assert again.status_code == 409
        members = (await api.client.get(f"{BASE}/members", headers=admin.headers)).json()
        ids = {m["email"]: m["user_id"] for m in members["items"]}
        assert members["total"] == 3
        link = {
            "parent_user_id": str(ids["parent@example.com"]),
            "student_user_id": str(ids["student@example.com"]),
        }
        assert (await pages.post("/admin/guardianships", link)).status_code == 303
        backwards = {
            "parent_user_id": link["student_user_id"],
            "student_user_id": link["parent_user_id"],
        }
        refused = await pages.post("/admin/guardianships", backwards)
        assert refused.status_code == 422
        assert 'id="e-parent_user_id"' in refused.text
        links = (await api.client.get(f"{BASE}/guardianships", headers=admin.headers)).json()
        assert links["total"] == 1
        student = ids["student@example.com"]
        changed = await pages.post(
            f"/admin/people/{student}", {"roles": ["student", "teacher"], "is_active": "false"}
        )
        assert changed.status_code == 303
        member = (await api.client.get(f"{BASE}/members/{student}", headers=admin.headers)).json()
        assert (member["roles"], member["is_active"]) == (["student", "teacher"], False)
        # The academy's only admin cannot take away their own role: refused, nothing changed.
        last = await pages.post(f"/admin/people/{admin.id}", {"roles": ["teacher"]})
        assert last.status_code == 409
        assert 'id="form-error"' in last.text
        member = (await api.client.get(f"{BASE}/members/{admin.id}", headers=admin.headers)).json()
        assert member["roles"] == ["admin"]
        page = await pages.get(f"/admin/people/{student}")
        assert "Parent One is the parent of Student One" in page.text
        unlinked = await pages.post(f"/admin/guardianships/{links['items'][0]['id']}/remove")
        assert unlinked.status_code == 303
        links = (await api.client.get(f"{BASE}/guardianships", headers=admin.headers)).json()
        assert links["total"] == 0
        assert (await pages.get("/admin/people/999999")).status_code == 404


async def test_a_course_is_published_and_its_enrollments_move(api: Api) -> None:
    s = await school(api)
    async with page_client(api, s.admin, SLUG) as pages:
        refused = await pages.post("/admin/groups", {"kind": "course", "name": ""})
        assert refused.status_code == 422
        assert 'id="e-name"' in refused.text
        assert 'id="e-teacher_user_id"' in refused.text
        not_a_teacher = await pages.post(
            "/admin/groups",
            {"kind": "course", "name": "Tajweed", "teacher_user_id": str(s.students[0].id)},
        )
        assert not_a_teacher.status_code == 422
        assert 'id="e-teacher_user_id"' in not_a_teacher.text
        made = await pages.post(
            "/admin/groups",
            {"kind": "course", "name": "Tajweed", "teacher_user_id": str(s.teacher.id)},
        )
        assert made.status_code == 303
        group_path = made.headers["location"].removeprefix(f"/a/{SLUG}").split("?")[0]
        group_id = int(group_path.rsplit("/", 1)[1])
        student = {"student_user_id": str(s.students[0].id), "status": "pending"}
        closed = await pages.post(f"{group_path}/enrollments", student)
        assert closed.status_code == 409  # a draft takes no enrollments
        assert (
            await pages.post(f"{group_path}/status", {"status": "published"})
        ).status_code == 303
        assert (await pages.post(f"{group_path}/enrollments", student)).status_code == 303
        enrollments = (
            await api.client.get(f"{BASE}/groups/{group_id}/enrollments", headers=s.admin.headers)
        ).json()["items"]
        assert [e["status"] for e in enrollments] == ["pending"]
        move = f"{group_path}/enrollments/{enrollments[0]['id']}"
        assert (await pages.post(move, {"status": "enrolled"})).status_code == 303
        assert (await pages.post(move, {"status": "pending"})).status_code == 409
        wrong = await pages.post(f"{group_path}/status", {"status": "draft"})
        assert wrong.status_code == 409
        renamed = await pages.post(group_path, {"name": "Tajweed II", "capacity": "0"})
        assert renamed.status_code == 422
        assert 'id="e-capacity"' in renamed.text
        assert (await pages.post(group_path, {"name": "Tajweed II"})).status_code == 303
    group = (await api.client.get(f"{BASE}/groups/{group_id}", headers=s.admin.headers)).json()
    assert (group["name"], group["status"], group["enrolled"]) == ("Tajweed II", "published", 1)


def test_the_settings_page_asks_for_every_setting() -> None:
    assert set(SETTINGS) == set(AcademySettings.model_fields)
    assert len([s for section in SECTIONS for s in section.settings]) == len(SETTINGS)
