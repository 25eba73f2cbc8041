"""Members over HTTP: adding, inviting, listing and searching, reading, roles, deactivation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from halaqa.models import Membership, User
from tests.api import PASSWORD, Api, Person, assert_error, error_fields
from tests.conftest import START

SLUG = "al-noor"
MEMBERS = f"/api/v1/academies/{SLUG}/members"


async def count(api: Api, model: type[User] | type[Membership]) -> int:
    async with api.database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def add(api: Api, admin: Person, slug: str = SLUG, **fields: Any) -> httpx.Response:
    body = {"email": "amina@example.com", "name": "Amina", "roles": ["student"], **fields}
    return await api.client.post(
        f"/api/v1/academies/{slug}/members", json=body, headers=admin.headers
    )


async def listing(api: Api, person: Person, **params: Any) -> dict[str, Any]:
    response = await api.client.get(MEMBERS, headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def names(api: Api, person: Person, **params: Any) -> list[str]:
    return [m["name"] for m in (await listing(api, person, per_page=100, **params))["items"]]


async def member(api: Api, admin: Person, user_id: int) -> dict[str, Any]:
    response = await api.client.get(f"{MEMBERS}/{user_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def patch(api: Api, admin: Person, user_id: int, **body: Any) -> httpx.Response:
    return await api.client.patch(f"{MEMBERS}/{user_id}", json=body, headers=admin.headers)


async def member_audit(api: Api, admin: Person, slug: str = SLUG) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/api/v1/academies/{slug}/audit-log", headers=admin.headers, params={"per_page": 100}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["action"].startswith("member.")]


# --- adding ------------------------------------------------------------------------------------


async def test_add_member_with_password(api: Api) -> None:
    admin = await api.academy(SLUG, time_zone="Africa/Cairo", default_locale="en")
    response = await add(
        api, admin, email="  Amina@Example.com ", roles=["teacher", "student"], password=PASSWORD
    )
    assert response.status_code == 201, response.text
    created = response.json()
    user_id = created.pop("user_id")
    assert created == {
        "email": "Amina@example.com",  # the domain is normalised, the local part kept
        "name": "Amina",
        "roles": ["student", "teacher"],
        "is_active": True,
        "account_active": True,
        "invitation_pending": False,
        "locale": "en",  # the academy's
        "time_zone": "Africa/Cairo",  # the academy's
        "joined_at": START.isoformat().replace("+00:00", "Z"),
        "invitation": None,
    }
    token = await api.login("amina@EXAMPLE.com")
    me = (await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["id"] == user_id
    assert [(m["academy"]["slug"], m["roles"]) for m in me["memberships"]] == [
        (SLUG, ["student", "teacher"])
    ]
    [entry] = await member_audit(api, admin)
    assert entry["action"] == "member.added"
    assert entry["entity_id"] == str(user_id)
    assert entry["before"] is None
    assert entry["after"] == {
        "email": "Amina@example.com",
        "roles": ["student", "teacher"],
        "is_active": True,
    }


async def test_member_locale_and_time_zone_may_be_given(api: Api) -> None:
    admin = await api.academy(SLUG)
    response = await add(api, admin, password=PASSWORD, locale="en", time_zone="Europe/Paris")
    assert response.status_code == 201, response.text
    assert (response.json()["locale"], response.json()["time_zone"]) == ("en", "Europe/Paris")


async def test_existing_user_joins_a_second_academy(api: Api) -> None:
    first_admin = await api.academy(SLUG)
    second_admin = await api.academy("second")
    person = await api.member(SLUG, first_admin, "teacher", name="Yusuf")
    users, memberships = await count(api, User), await count(api, Membership)

    # An existing account never takes a password from an academy admin.
    response = await add(
        api, second_admin, "second", email=person.email.upper(), name="Other", password="x" * 12
    )
    assert error_fields(response) == {"password"}
    assert (await count(api, User), await count(api, Membership)) == (users, memberships)

    response = await add(
        api, second_admin, "second", email=person.email.upper(), name="Other", roles=["parent"]
    )
    assert response.status_code == 201, response.text
    joined = response.json()
    assert joined["user_id"] == person.id
    assert joined["email"] == person.email
    assert joined["name"] == "Yusuf"  # the account's own name; the one sent is ignored
    assert joined["roles"] == ["parent"]
    assert joined["invitation"] is None
    assert joined["invitation_pending"] is False
    assert await count(api, User) == users
    assert await count(api, Membership) == memberships + 1

    # The same password still signs them in, now with both academies.
    token = await api.login(person.email)
    me = (await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert sorted((m["academy"]["slug"], m["roles"]) for m in me["memberships"]) == [
        (SLUG, ["teacher"]),
        ("second", ["parent"]),
    ]


async def test_duplicate_membership_is_a_conflict(api: Api) -> None:
    admin = await api.academy(SLUG)
    person = await api.member(SLUG, admin, "student")
    before = await member(api, admin, person.id)
    audit_before = await member_audit(api, admin)
    for fields in (
        {"email": person.email},
        {"email": person.email.upper(), "roles": ["teacher"]},
        {"email": person.email, "password": PASSWORD},
        {"email": admin.email, "roles": ["admin"]},
    ):
        response = await add(api, admin, **fields)
        assert_error(response, 409, "already_member")
    assert await member(api, admin, person.id) == before
    assert await member_audit(api, admin) == audit_before


async def test_invite_without_password(api: Api) -> None:
    admin = await api.academy(SLUG)
    response = await add(api, admin, email="invited@example.com", roles=["teacher"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["invitation_pending"] is True
    invitation = created["invitation"]
    assert invitation["token"].startswith("hqi_")
    assert invitation["expires_at"] == (START + timedelta(days=7)).isoformat().replace(
        "+00:00", "Z"
    )
    # Read back, the invitation itself is never shown again.
    again = await member(api, admin, created["user_id"])
    assert again["invitation_pending"] is True
    assert "invitation" not in again
    listed = await listing(api, admin)
    assert invitation["token"] not in str(listed)

    # No password yet: no way in until the invitation is accepted.
    response = await api.client.post(
        "/api/v1/auth/login", json={"email": "invited@example.com", "password": PASSWORD}
    )
    assert_error(response, 401, "bad_credentials")
    response = await api.client.post(
        "/api/v1/auth/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert (await member(api, admin, created["user_id"]))["invitation_pending"] is False
    assert await api.login("invited@example.com")


INVALID_MEMBERS: list[tuple[dict[str, Any], str]] = [
    ({"email": "not-an-email"}, "email"),
    ({"email": None}, "email"),
    ({"name": ""}, "name"),
    ({"roles": []}, "roles"),
    ({"roles": ["student", "student"]}, "roles"),
    ({"roles": ["janitor"]}, "roles.0"),
    ({"roles": "student"}, "roles"),
    ({"password": "short"}, "password"),
    ({"locale": "fr"}, "locale"),
    ({"time_zone": "Mars/Base"}, "time_zone"),
    ({"is_platform_admin": True}, "is_platform_admin"),
]


async def test_invalid_new_member_names_the_field_and_creates_nothing(api: Api) -> None:
    admin = await api.academy(SLUG)
    users, memberships = await count(api, User), await count(api, Membership)
    for fields, field in INVALID_MEMBERS:
        response = await add(api, admin, **fields)
        assert field in error_fields(response), (fields, response.text)
    for missing in ("email", "name", "roles"):
        body = {"email": "a@example.com", "name": "A", "roles": ["student"]}
        del body[missing]
        response = await api.client.post(MEMBERS, json=body, headers=admin.headers)
        assert missing in error_fields(response), response.text
    assert (await count(api, User), await count(api, Membership)) == (users, memberships)
    assert (await listing(api, admin))["total"] == 1


async def test_only_admins_add_members(api: Api) -> None:
    admin = await api.academy(SLUG)
    people = [await api.member(SLUG, admin, role) for role in ("supervisor", "teacher", "student")]
    users = await count(api, User)
    for person in people:
        response = await add(api, person, email="sneaky@example.com", password=PASSWORD)
        assert_error(response, 403, "role_required")
    assert await count(api, User) == users
    assert "Amina" not in await names(api, admin)


# --- listing and searching ---------------------------------------------------------------------


async def test_list_is_ordered_paginated_and_counted(api: Api) -> None:
    admin = await api.academy(SLUG)
    for name in ("Zaid", "Bilal", "Maryam", "Aisha"):
        await api.member(SLUG, admin, "student", name=name)
    everyone = ["Aisha", "Bilal", "Maryam", "User 1", "Zaid"]  # "User 1" made the academy
    assert await names(api, admin) == everyone
    seen: list[str] = []
    for number in (1, 2, 3):
        page = await listing(api, admin, page=number, per_page=2)
        assert (page["total"], page["page"], page["per_page"]) == (5, number, 2)
        seen += [m["name"] for m in page["items"]]
    assert seen == everyone
    assert (await listing(api, admin, page=4, per_page=2))["items"] == []
    for params, field in (({"per_page": 101}, "per_page"), ({"page": 0}, "page")):
        response = await api.client.get(MEMBERS, headers=admin.headers, params=params)
        assert error_fields(response) == {field}


async def test_search_by_name_or_email_ignoring_case(api: Api) -> None:
    admin = await api.academy(SLUG)
    await api.member(SLUG, admin, "student", name="Fatima Zahra", email="fz@school.example")
    await api.member(SLUG, admin, "student", name="Omar", email="OMAR.Farouk@Example.com")
    await api.member(SLUG, admin, "teacher", name="Khadija", email="k@example.com")

    for q, expected in (
        ("fatima", ["Fatima Zahra"]),
        ("ZAHRA", ["Fatima Zahra"]),
        ("school", ["Fatima Zahra"]),  # email only
        ("farouk", ["Omar"]),  # email only, stored in mixed case
        ("omar.f", ["Omar"]),
        ("@SCHOOL", ["Fatima Zahra"]),
        ("dija", ["Khadija"]),
        ("nobody", []),
        ("", ["Fatima Zahra", "Khadija", "Omar", "User 1"]),  # empty: no filter
    ):
        page = await listing(api, admin, q=q)
        assert [m["name"] for m in page["items"]] == expected, q
        assert page["total"] == len(page["items"]), q


async def test_search_treats_like_wildcards_literally(api: Api) -> None:
    admin = await api.academy(SLUG)
    for name, email in (
        ("100% Hafiz", "hafiz@example.com"),
        ("1000 Verses", "verses@example.com"),
        ("Ali_Omar", "ali.omar@example.com"),
        ("Ali Omar", "aliomar@example.com"),
        ("Alix Omar", "alix@example.com"),
        ("Back\\Slash", "slash@example.com"),
        ("Under Score", "under_score@example.com"),
    ):
        await api.member(SLUG, admin, "student", name=name, email=email)
    for q, expected in (
        ("%", ["100% Hafiz"]),
        ("0%", ["100% Hafiz"]),
        ("100%", ["100% Hafiz"]),
        ("10%0", []),
        ("_", ["Ali_Omar", "Under Score"]),
        ("ali_", ["Ali_Omar"]),
        ("i_o", ["Ali_Omar"]),
        ("r_s", ["Under Score"]),
        ("\\", ["Back\\Slash"]),
        ("k\\s", ["Back\\Slash"]),
        ("%_%", []),
    ):
        assert await names(api, admin, q=q) == expected, q
    response = await api.client.get(MEMBERS, headers=admin.headers, params={"q": "x" * 101})
    assert error_fields(response) == {"q"}


async def test_filter_by_role_and_active(api: Api) -> None:
    admin = await api.academy(SLUG)
    await api.member(SLUG, admin, "teacher", name="Teacher")
    both = await api.member(SLUG, admin, "teacher", "supervisor", name="Head")
    gone = await api.member(SLUG, admin, "teacher", name="Gone")
    await api.member(SLUG, admin, "student", name="Student")
    assert (await patch(api, admin, gone.id, is_active=False)).status_code == 200

    assert await names(api, admin, role="teacher") == ["Gone", "Head", "Teacher"]
    assert await names(api, admin, role="supervisor") == ["Head"]
    assert await names(api, admin, role="parent") == []
    assert await names(api, admin, active="false") == ["Gone"]
    assert await names(api, admin, active="true") == ["Head", "Student", "Teacher", "User 1"]
    assert await names(api, admin, role="teacher", active="true") == ["Head", "Teacher"]
    assert await names(api, admin, role="teacher", q="ea") == ["Head", "Teacher"]
    page = await listing(api, admin, role="teacher", per_page=1)
    assert (page["total"], [m["name"] for m in page["items"]]) == (3, ["Gone"])
    head = (await listing(api, admin, role="supervisor"))["items"][0]
    assert head["user_id"] == both.id
    assert head["roles"] == ["supervisor", "teacher"]

    for params, field in (({"role": "janitor"}, "role"), ({"active": "maybe"}, "active")):
        response = await api.client.get(MEMBERS, headers=admin.headers, params=params)
        assert error_fields(response) == {field}


async def test_staff_list_members_others_may_not(api: Api) -> None:
    admin = await api.academy(SLUG)
    for role in ("supervisor", "teacher", "student", "parent"):
        person = await api.member(SLUG, admin, role)
        response = await api.client.get(MEMBERS, headers=person.headers)
        if role == "supervisor":
            assert response.status_code == 200, response.text
            assert response.json()["total"] == 2
        else:
            assert_error(response, 403, "role_required")


# --- reading one -------------------------------------------------------------------------------


async def test_member_reads_themself_staff_read_anyone(api: Api) -> None:
    admin = await api.academy(SLUG)
    supervisor = await api.member(SLUG, admin, "supervisor")
    teacher = await api.member(SLUG, admin, "teacher", name="Teacher")
    student = await api.member(SLUG, admin, "student", name="Student")
    parent = await api.member(SLUG, admin, "parent", name="Parent")

    for person in (teacher, student, parent):
        own = await api.client.get(f"{MEMBERS}/{person.id}", headers=person.headers)
        assert own.status_code == 200, own.text
        assert own.json()["user_id"] == person.id
        for other in (admin, teacher, student, parent):
            if other is person:
                continue
            response = await api.client.get(f"{MEMBERS}/{other.id}", headers=person.headers)
            assert_error(response, 403, "role_required")
    for staff in (admin, supervisor):
        for other in (admin, supervisor, teacher, student, parent):
            assert (await member(api, staff, other.id))["user_id"] == other.id

    outsider = await api.user()
    for user_id in (outsider.id, 10**9):
        response = await api.client.get(f"{MEMBERS}/{user_id}", headers=admin.headers)
        assert_error(response, 404, "not_found")
    for bad in ("0", "-1", "abc", str(2**63)):
        response = await api.client.get(f"{MEMBERS}/{bad}", headers=admin.headers)
        assert error_fields(response) == {"user_id"}, bad


# --- changing roles ----------------------------------------------------------------------------


async def test_admin_changes_roles_with_audit(api: Api) -> None:
    admin = await api.academy(SLUG)
    person = await api.member(SLUG, admin, "teacher")
    response = await patch(api, admin, person.id, roles=["teacher", "supervisor", "admin"])
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["admin", "supervisor", "teacher"]
    response = await patch(api, admin, person.id, roles=["student"])
    assert response.status_code == 200, response.text
    assert (await member(api, admin, person.id))["roles"] == ["student"]
    me = (await api.client.get("/api/v1/me", headers=person.headers)).json()
    assert me["memberships"][0]["roles"] == ["student"]
    # The new roles take effect at once.
    response = await api.client.get(MEMBERS, headers=person.headers)
    assert_error(response, 403, "role_required")

    updates = [e for e in await member_audit(api, admin) if e["action"] == "member.updated"]
    assert [(e["before"]["roles"], e["after"]["roles"]) for e in updates] == [
        (["admin", "supervisor", "teacher"], ["student"]),
        (["teacher"], ["admin", "supervisor", "teacher"]),
    ]
    assert all(e["entity_id"] == str(person.id) for e in updates)
    assert all(e["actor_user_id"] == admin.id for e in updates)


async def test_invalid_role_changes_are_refused_and_change_nothing(api: Api) -> None:
    admin = await api.academy(SLUG)
    person = await api.member(SLUG, admin, "teacher", "student")
    supervisor = await api.member(SLUG, admin, "supervisor")
    before = await member(api, admin, person.id)
    audit_before = await member_audit(api, admin)
    for body, field in (
        ({"roles": ["teacher", "teacher"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"roles": ["janitor"]}, "roles.0"),
        ({"roles": None}, "roles"),
        ({"is_active": None}, "is_active"),
        ({"roles": ["admin"], "is_active": None}, "is_active"),
        ({"is_active": "sometimes"}, "is_active"),
        ({"email": "new@example.com"}, "email"),
    ):
        response = await patch(api, admin, person.id, **body)
        assert field in error_fields(response), (body, response.text)
    response = await patch(api, supervisor, person.id, roles=["admin"])
    assert_error(response, 403, "role_required")
    response = await patch(api, person, person.id, roles=["admin"])
    assert_error(response, 403, "role_required")
    response = await patch(api, admin, 10**9, roles=["teacher"])
    assert_error(response, 404, "not_found")
    assert await member(api, admin, person.id) == before
    assert await member_audit(api, admin) == audit_before


# --- deactivating ------------------------------------------------------------------------------


async def test_deactivated_member_loses_access_until_reactivated(api: Api) -> None:
    admin = await api.academy(SLUG)
    other_admin = await api.academy("second")
    person = await api.member(SLUG, admin, "supervisor")
    response = await add(api, other_admin, "second", email=person.email, roles=["teacher"])
    assert response.status_code == 201, response.text

    response = await patch(api, admin, person.id, is_active=False)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert response.json()["account_active"] is True

    for path in (f"/api/v1/academies/{SLUG}", MEMBERS, f"{MEMBERS}/{person.id}"):
        response = await api.client.get(path, headers=person.headers)
        assert_error(response, 404, "not_found")
    me = (await api.client.get("/api/v1/me", headers=person.headers)).json()
    assert [m["academy"]["slug"] for m in me["memberships"]] == ["second"]
    academies = (await api.client.get("/api/v1/academies", headers=person.headers)).json()
    assert [a["slug"] for a in academies["items"]] == ["second"]
    # Their other academy is untouched.
    response = await api.client.get("/api/v1/academies/second", headers=person.headers)
    assert response.status_code == 200, response.text
    # Staff still see the membership, marked inactive.
    assert (await member(api, admin, person.id))["is_active"] is False

    response = await patch(api, admin, person.id, is_active=True)
    assert response.status_code == 200, response.text
    response = await api.client.get(MEMBERS, headers=person.headers)
    assert response.status_code == 200, response.text
    me = (await api.client.get("/api/v1/me", headers=person.headers)).json()
    assert sorted(m["academy"]["slug"] for m in me["memberships"]) == [SLUG, "second"]

    updates = [e for e in await member_audit(api, admin) if e["action"] == "member.updated"]
    assert [(e["before"]["is_active"], e["after"]["is_active"]) for e in updates] == [
        (False, True),
        (True, False),
    ]


async def test_last_active_admin_cannot_be_removed(api: Api) -> None:
    admin = await api.academy(SLUG)
    former = await api.member(SLUG, admin, "admin", "teacher")
    assert (await patch(api, admin, former.id, is_active=False)).status_code == 200
    before = await member(api, admin, admin.id)
    audit_before = await member_audit(api, admin)

    # `former` is an admin too, but not an active one: `admin` is the last.
    for body in (
        {"roles": ["teacher"]},
        {"is_active": False},
        {"roles": ["admin"], "is_active": False},
        {"roles": ["supervisor", "teacher"], "is_active": True},
    ):
        response = await patch(api, admin, admin.id, **body)
        assert_error(response, 409, "last_admin")
        assert await member(api, admin, admin.id) == before
    assert await member_audit(api, admin) == audit_before
    response = await api.client.get(MEMBERS, headers=admin.headers)
    assert response.status_code == 200, response.text

    # Keeping the admin role while changing the others is fine.
    response = await patch(api, admin, admin.id, roles=["admin", "teacher"])
    assert response.status_code == 200, response.text

    # With a second active admin, the first may step down.
    assert (await patch(api, admin, former.id, is_active=True)).status_code == 200
    response = await patch(api, admin, admin.id, roles=["teacher"])
    assert response.status_code == 200, response.text
    response = await patch(api, admin, former.id, roles=["admin"])
    assert_error(response, 403, "role_required")
    # And now `former` is the last one.
    response = await patch(api, former, former.id, is_active=False)
    assert_error(response, 409, "last_admin")
    assert (await member(api, former, former.id))["is_active"] is True
