"""GET and PATCH /api/v1/me: the signed-in user, their memberships and their children."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api import Api, Person

ME = "/api/v1/me"


async def get_me(api: Api, person: Person) -> dict[str, Any]:
    response = await api.client.get(ME, headers=person.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def link(api: Api, slug: str, admin: Person, parent: Person, student: Person) -> None:
    response = await api.client.post(
        f"/api/v1/academies/{slug}/guardianships",
        json={"parent_user_id": parent.id, "student_user_id": student.id},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text


async def join(api: Api, slug: str, admin: Person, person: Person, *roles: str) -> None:
    """Adds an existing user to another academy (no password: they already have one)."""
    response = await api.client.post(
        f"/api/v1/academies/{slug}/members",
        json={"email": person.email, "name": "ignored for existing users", "roles": list(roles)},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def memberships(me: dict[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    return [
        (m["academy"]["slug"], m["roles"], [c["name"] for c in m["children"]])
        for m in me["memberships"]
    ]


async def test_me_describes_the_user(api: Api) -> None:
    person = await api.user("Amina@Example.com")
    me = await get_me(api, person)
    assert me == {
        "id": person.id,
        "email": "Amina@Example.com",
        "name": "User 1",
        "locale": "ar",
        "time_zone": "UTC",
        "is_platform_admin": False,
        "memberships": [],
    }
    owner = await api.user(platform_admin=True)
    assert (await get_me(api, owner))["is_platform_admin"] is True


async def test_me_lists_memberships_with_roles(api: Api) -> None:
    owner = await api.user(platform_admin=True)
    # Listed by academy name: "Academy al-huda" before "Academy al-noor".
    noor = await api.academy("al-noor", owner)
    huda = await api.academy("al-huda", owner)
    await api.academy("az-zahra", owner)
    person = await api.member("al-noor", noor, "teacher", "supervisor")
    await join(api, "al-huda", huda, person, "student")
    me = await get_me(api, person)
    assert memberships(me) == [
        ("al-huda", ["student"], []),
        ("al-noor", ["supervisor", "teacher"], []),
    ]
    academy = me["memberships"][1]["academy"]
    assert academy["name"] == "Academy al-noor"
    assert academy["time_zone"] == "Asia/Riyadh"
    assert academy["default_locale"] == "ar"
    assert set(academy) == {"slug", "name", "time_zone", "default_locale", "created_at"}
    # The owner sees all three academies they run, as admin.
    assert [roles for _, roles, _ in memberships(await get_me(api, owner))] == [["admin"]] * 3


async def test_deactivated_membership_is_not_listed(api: Api) -> None:
    owner = await api.user(platform_admin=True)
    noor = await api.academy("al-noor", owner)
    huda = await api.academy("al-huda", owner)
    person = await api.member("al-noor", noor, "teacher")
    await join(api, "al-huda", huda, person, "teacher")
    response = await api.client.patch(
        f"/api/v1/academies/al-noor/members/{person.id}",
        json={"is_active": False},
        headers=noor.headers,
    )
    assert response.status_code == 200
    assert memberships(await get_me(api, person)) == [("al-huda", ["teacher"], [])]


async def test_parent_sees_their_children_in_each_academy(api: Api) -> None:
    owner = await api.user(platform_admin=True)
    noor = await api.academy("al-noor", owner)
    huda = await api.academy("al-huda", owner)
    parent = await api.member("al-noor", noor, "parent", "teacher")
    await join(api, "al-huda", huda, parent, "parent")
    omar = await api.member("al-noor", noor, "student", name="Omar")
    aisha = await api.member("al-noor", noor, "student", name="Aisha")
    await api.member("al-noor", noor, "student", name="Someone else's child")
    yusuf = await api.member("al-huda", huda, "student", name="Yusuf")
    await link(api, "al-noor", noor, parent, omar)
    await link(api, "al-noor", noor, parent, aisha)
    await link(api, "al-huda", huda, parent, yusuf)
    me = await get_me(api, parent)
    # Children are listed per academy, by name, never mixed across academies.
    assert memberships(me) == [
        ("al-huda", ["parent"], ["Yusuf"]),
        ("al-noor", ["parent", "teacher"], ["Aisha", "Omar"]),
    ]
    assert me["memberships"][1]["children"] == [
        {"user_id": aisha.id, "name": "Aisha"},
        {"user_id": omar.id, "name": "Omar"},
    ]
    # A student sees no children, and neither does the admin.
    assert memberships(await get_me(api, omar)) == [("al-noor", ["student"], [])]
    assert all(not children for _, _, children in memberships(await get_me(api, owner)))


async def test_children_are_shown_only_while_the_user_is_a_parent(api: Api) -> None:
    admin = await api.academy("al-noor")
    parent = await api.member("al-noor", admin, "parent", "teacher")
    child = await api.member("al-noor", admin, "student")
    await link(api, "al-noor", admin, parent, child)
    response = await api.client.patch(
        f"/api/v1/academies/al-noor/members/{parent.id}",
        json={"roles": ["teacher"]},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert memberships(await get_me(api, parent)) == [("al-noor", ["teacher"], [])]


async def test_unlinked_child_disappears(api: Api) -> None:
    admin = await api.academy("al-noor")
    parent = await api.member("al-noor", admin, "parent")
    child = await api.member("al-noor", admin, "student")
    await link(api, "al-noor", admin, parent, child)
    links = await api.client.get("/api/v1/academies/al-noor/guardianships", headers=admin.headers)
    [found] = links.json()["items"]
    response = await api.client.delete(
        f"/api/v1/academies/al-noor/guardianships/{found['id']}", headers=admin.headers
    )
    assert response.status_code == 204
    assert memberships(await get_me(api, parent)) == [("al-noor", ["parent"], [])]


# --- PATCH /me -------------------------------------------------------------------------------


CHANGES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"name": "Amina Yusuf"}, {"name": "Amina Yusuf"}),
    ({"name": "  أمينة يوسف  "}, {"name": "أمينة يوسف"}),
    ({"locale": "en"}, {"locale": "en"}),
    ({"time_zone": "Europe/London"}, {"time_zone": "Europe/London"}),
    (
        {"name": "A", "locale": "ar", "time_zone": "America/New_York"},
        {"name": "A", "locale": "ar", "time_zone": "America/New_York"},
    ),
    ({}, {}),
]


async def test_patch_me_changes_only_what_is_sent(api: Api) -> None:
    admin = await api.academy("al-noor")
    person = await api.member("al-noor", admin, "teacher")
    expected = await get_me(api, person)
    for body, changed in CHANGES:
        response = await api.client.patch(ME, json=body, headers=person.headers)
        assert response.status_code == 200, (body, response.text)
        expected = {**expected, **changed}
        assert response.json() == expected, body
        assert await get_me(api, person) == expected, body
    # The memberships are still there, untouched.
    assert memberships(expected) == [("al-noor", ["teacher"], [])]


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone"),
    ({"time_zone": "riyadh"}, "time_zone", "unknown time zone"),
    ({"time_zone": ""}, "time_zone", "unknown time zone"),
    ({"time_zone": "Z" * 65}, "time_zone", "at most 64"),
    ({"time_zone": None}, "time_zone", "may not be null"),
    ({"name": None}, "name", "may not be null"),
    ({"locale": None}, "locale", "may not be null"),
    ({"name": ""}, "name", "at least 1"),
    ({"name": "   "}, "name", "at least 1"),
    ({"name": "n" * 201}, "name", "at most 200"),
    ({"locale": "fr"}, "locale", "'ar' or 'en'"),
    ({"email": "new@example.com"}, "email", "Extra inputs are not permitted"),
    ({"is_platform_admin": True}, "is_platform_admin", "Extra inputs are not permitted"),
    ({"name": "Fine", "nickname": "x"}, "nickname", "Extra inputs are not permitted"),
    # A valid change sent with a refused one is not applied either.
    ({"name": "Half", "time_zone": "Nowhere/Land"}, "time_zone", "unknown time zone"),
    ({"name": "Half", "locale": None}, "locale", "may not be null"),
]


async def test_refused_patch_me_changes_nothing(api: Api) -> None:
    person = await api.user()
    before = await get_me(api, person)
    for body, field, message in REFUSED:
        response = await api.client.patch(ME, json=body, headers=person.headers)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "validation_error", body
        assert [d["field"] for d in error["details"]] == [field], body
        assert message in error["details"][0]["message"], (body, error)
        assert error["message"].startswith(f"{field}: "), body
        assert await get_me(api, person) == before, body


async def test_me_needs_a_signed_in_user(api: Api) -> None:
    admin = await api.academy("al-noor")
    key = await api.api_key("al-noor", admin, "admin")
    for method in ("GET", "PATCH"):
        anonymous = await api.client.request(method, ME, json={})
        assert anonymous.status_code == 401
        assert error_of(anonymous)["code"] == "not_authenticated"
        with_key = await api.client.request(
            method, ME, json={"name": "Robot"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert with_key.status_code == 403
        assert error_of(with_key)["code"] == "forbidden"
    assert (await get_me(api, admin))["name"] != "Robot"
