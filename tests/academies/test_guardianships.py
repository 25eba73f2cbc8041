"""Parent–student links over HTTP: linking with role checks, listing, unlinking, parents' /me."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from halaqa.models import Guardianship
from tests.api import Api, Person, assert_error, error_fields

SLUG = "al-noor"


def links_path(slug: str = SLUG) -> str:
    return f"/api/v1/academies/{slug}/guardianships"


@dataclass(frozen=True)
class Family:
    admin: Person
    supervisor: Person
    teacher: Person
    mother: Person
    father: Person
    son: Person
    daughter: Person


async def family(api: Api, slug: str = SLUG, admin: Person | None = None) -> Family:
    admin = admin or await api.academy(slug)
    return Family(
        admin=admin,
        supervisor=await api.member(slug, admin, "supervisor"),
        teacher=await api.member(slug, admin, "teacher"),
        mother=await api.member(slug, admin, "parent", name=f"Mother {slug}"),
        father=await api.member(slug, admin, "parent", "teacher", name=f"Father {slug}"),
        son=await api.member(slug, admin, "student", name=f"Son {slug}"),
        daughter=await api.member(slug, admin, "student", name=f"Daughter {slug}"),
    )


async def link(
    api: Api, admin: Person, parent_id: int, student_id: int, slug: str = SLUG
) -> httpx.Response:
    return await api.client.post(
        links_path(slug),
        json={"parent_user_id": parent_id, "student_user_id": student_id},
        headers=admin.headers,
    )


async def linked(api: Api, admin: Person, parent: Person, student: Person) -> int:
    response = await link(api, admin, parent.id, student.id)
    assert response.status_code == 201, response.text
    link_id: int = response.json()["id"]
    return link_id


async def pairs(api: Api, person: Person, slug: str = SLUG, **params: Any) -> list[tuple[int, int]]:
    response = await api.client.get(links_path(slug), headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    return [(g["parent"]["user_id"], g["student"]["user_id"]) for g in response.json()["items"]]


async def children(api: Api, person: Person, slug: str = SLUG) -> list[str]:
    me = (await api.client.get("/api/v1/me", headers=person.headers)).json()
    [membership] = [m for m in me["memberships"] if m["academy"]["slug"] == slug]
    return [c["name"] for c in membership["children"]]


async def count_links(api: Api) -> int:
    async with api.database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(Guardianship)) or 0


async def audit(api: Api, admin: Person, slug: str = SLUG) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/api/v1/academies/{slug}/audit-log", headers=admin.headers, params={"per_page": 100}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["entity_type"] == "guardianship"]


async def test_link_parent_and_student(api: Api) -> None:
    f = await family(api)
    response = await link(api, f.admin, f.mother.id, f.son.id)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["parent"] == {"user_id": f.mother.id, "name": "Mother al-noor"}
    assert created["student"] == {"user_id": f.son.id, "name": "Son al-noor"}
    assert created["created_at"] == "2026-03-01T09:00:00Z"
    await linked(api, f.admin, f.mother, f.daughter)
    await linked(api, f.admin, f.father, f.son)

    assert await children(api, f.mother) == ["Daughter al-noor", "Son al-noor"]
    assert await children(api, f.father) == ["Son al-noor"]
    assert await children(api, f.son) == []  # students have no children listed
    assert await children(api, f.admin) == []

    [*_, first] = await audit(api, f.admin)
    assert first["action"] == "guardianship.created"
    assert first["entity_id"] == str(created["id"])
    assert first["actor_user_id"] == f.admin.id
    assert first["after"] == {"parent_user_id": f.mother.id, "student_user_id": f.son.id}


async def test_roles_are_checked_when_linking(api: Api) -> None:
    f = await family(api)
    outsider = await api.user()
    both = await api.member(SLUG, f.admin, "parent", "student")
    other_admin = await api.academy("other")
    stranger = await api.member("other", other_admin, "parent", "student")
    for parent_id, student_id, field in (
        (f.teacher.id, f.son.id, "parent_user_id"),  # not a parent
        (f.son.id, f.daughter.id, "parent_user_id"),
        (f.admin.id, f.son.id, "parent_user_id"),
        (f.mother.id, f.father.id, "student_user_id"),  # not a student
        (f.mother.id, f.supervisor.id, "student_user_id"),
        (outsider.id, f.son.id, "parent_user_id"),  # not a member
        (f.mother.id, outsider.id, "student_user_id"),
        (stranger.id, f.son.id, "parent_user_id"),  # a member of another academy only
        (f.mother.id, stranger.id, "student_user_id"),
        (10**9, f.son.id, "parent_user_id"),  # nobody
        (both.id, both.id, "student_user_id"),  # their own parent
    ):
        response = await link(api, f.admin, parent_id, student_id)
        assert error_fields(response) == {field}, (parent_id, student_id, response.text)
    for body, field in (
        ({"parent_user_id": f.mother.id}, "student_user_id"),
        ({"student_user_id": f.son.id}, "parent_user_id"),
        ({"parent_user_id": 0, "student_user_id": f.son.id}, "parent_user_id"),
        ({"parent_user_id": "mother", "student_user_id": f.son.id}, "parent_user_id"),
        ({"parent_user_id": f.mother.id, "student_user_id": f.son.id, "x": 1}, "x"),
    ):
        response = await api.client.post(links_path(), json=body, headers=f.admin.headers)
        assert error_fields(response) == {field}, (body, response.text)
    assert await count_links(api) == 0
    assert await audit(api, f.admin) == []
    assert await children(api, both) == []


async def test_duplicate_link_is_a_conflict(api: Api) -> None:
    f = await family(api)
    await linked(api, f.admin, f.mother, f.son)
    response = await link(api, f.admin, f.mother.id, f.son.id)
    assert_error(response, 409, "already_linked")
    assert await pairs(api, f.admin) == [(f.mother.id, f.son.id)]
    assert len(await audit(api, f.admin)) == 1


async def test_only_admins_link_and_unlink(api: Api) -> None:
    f = await family(api)
    link_id = await linked(api, f.admin, f.mother, f.son)
    for person in (f.supervisor, f.teacher, f.mother, f.son):
        response = await link(api, person, f.father.id, f.daughter.id)
        assert_error(response, 403, "role_required")
        response = await api.client.delete(f"{links_path()}/{link_id}", headers=person.headers)
        assert_error(response, 403, "role_required")
    assert await pairs(api, f.admin) == [(f.mother.id, f.son.id)]


async def test_list_with_filters_and_pagination(api: Api) -> None:
    f = await family(api)
    await linked(api, f.admin, f.mother, f.son)
    await linked(api, f.admin, f.mother, f.daughter)
    await linked(api, f.admin, f.father, f.son)
    everything = [(f.mother.id, f.son.id), (f.mother.id, f.daughter.id), (f.father.id, f.son.id)]

    assert await pairs(api, f.admin) == everything
    assert await pairs(api, f.supervisor) == everything
    assert await pairs(api, f.admin, parent_user_id=f.mother.id) == everything[:2]
    assert await pairs(api, f.admin, student_user_id=f.son.id) == [everything[0], everything[2]]
    assert (
        await pairs(api, f.admin, parent_user_id=f.father.id, student_user_id=f.daughter.id) == []
    )
    assert await pairs(api, f.admin, parent_user_id=f.teacher.id) == []

    response = await api.client.get(
        links_path(), headers=f.admin.headers, params={"page": 2, "per_page": 2}
    )
    page = response.json()
    assert (page["total"], page["page"], page["per_page"]) == (3, 2, 2)
    assert [g["parent"]["user_id"] for g in page["items"]] == [f.father.id]
    assert page["items"][0]["parent"]["name"] == "Father al-noor"

    for params, field in (
        ({"parent_user_id": 0}, "parent_user_id"),
        ({"student_user_id": "son"}, "student_user_id"),
        ({"per_page": 500}, "per_page"),
    ):
        response = await api.client.get(links_path(), headers=f.admin.headers, params=params)
        assert error_fields(response) == {field}
    for person in (f.teacher, f.mother, f.son):
        response = await api.client.get(links_path(), headers=person.headers)
        assert_error(response, 403, "role_required")


async def test_unlink(api: Api) -> None:
    f = await family(api)
    son_link = await linked(api, f.admin, f.mother, f.son)
    await linked(api, f.admin, f.mother, f.daughter)

    response = await api.client.delete(f"{links_path()}/{son_link}", headers=f.admin.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await pairs(api, f.admin) == [(f.mother.id, f.daughter.id)]
    assert await children(api, f.mother) == ["Daughter al-noor"]

    response = await api.client.delete(f"{links_path()}/{son_link}", headers=f.admin.headers)
    assert_error(response, 404, "not_found")
    for bad in ("0", "x"):
        response = await api.client.delete(f"{links_path()}/{bad}", headers=f.admin.headers)
        assert error_fields(response) == {"guardianship_id"}

    removed, *_ = await audit(api, f.admin)
    assert removed["action"] == "guardianship.removed"
    assert removed["entity_id"] == str(son_link)
    assert removed["before"] == {"parent_user_id": f.mother.id, "student_user_id": f.son.id}
    assert removed["after"] is None

    # Linking again after unlinking is allowed.
    await linked(api, f.admin, f.mother, f.son)
    assert await children(api, f.mother) == ["Daughter al-noor", "Son al-noor"]


async def test_children_are_per_academy(api: Api) -> None:
    f = await family(api)
    other_admin = await api.academy("other")
    # The mother is a parent in both academies, with a different child in each.
    response = await api.client.post(
        "/api/v1/academies/other/members",
        json={"email": f.mother.email, "name": "x", "roles": ["parent"]},
        headers=other_admin.headers,
    )
    assert response.status_code == 201, response.text
    nephew = await api.member("other", other_admin, "student", name="Nephew")
    await linked(api, f.admin, f.mother, f.son)
    response = await link(api, other_admin, f.mother.id, nephew.id, slug="other")
    assert response.status_code == 201, response.text
    assert await children(api, f.mother) == ["Son al-noor"]
    assert await children(api, f.mother, "other") == ["Nephew"]


async def test_ids_from_another_academy_are_never_linked(api: Api) -> None:
    a = await family(api, "alpha")
    b = await family(api, "bravo")
    response = await link(api, b.admin, b.mother.id, b.son.id, slug="bravo")
    assert response.status_code == 201, response.text
    b_link: int = response.json()["id"]
    b_before = await pairs(api, b.admin, "bravo")

    for parent_id, student_id, field in (
        (b.mother.id, a.son.id, "parent_user_id"),
        (a.mother.id, b.son.id, "student_user_id"),
        (b.mother.id, b.daughter.id, "parent_user_id"),
    ):
        response = await link(api, a.admin, parent_id, student_id, slug="alpha")
        assert error_fields(response) == {field}
        assert "bravo" not in response.text.lower()
    # Alpha's admin cannot link inside bravo at all.
    response = await link(api, a.admin, b.mother.id, b.daughter.id, slug="bravo")
    assert_error(response, 404, "not_found")
    # Nor see or remove bravo's link through alpha.
    response = await api.client.delete(f"{links_path('alpha')}/{b_link}", headers=a.admin.headers)
    assert_error(response, 404, "not_found")
    response = await api.client.delete(f"{links_path('bravo')}/{b_link}", headers=a.admin.headers)
    assert_error(response, 404, "not_found")
    assert await pairs(api, a.admin, "alpha", parent_user_id=b.mother.id) == []
    assert await pairs(api, a.admin, "alpha", student_user_id=b.son.id) == []

    assert await pairs(api, a.admin, "alpha") == []
    assert await pairs(api, b.admin, "bravo") == b_before
    assert await count_links(api) == 1
    assert await audit(api, a.admin, "alpha") == []


async def deactivate(api: Api, admin: Person, person: Person, active: bool = False) -> None:
    response = await api.client.patch(
        f"/api/v1/academies/{SLUG}/members/{person.id}",
        json={"is_active": active},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


async def test_deactivated_members_are_not_linked_nor_listed_as_children(api: Api) -> None:
    f = await family(api)
    await deactivate(api, f.admin, f.father)
    response = await link(api, f.admin, f.father.id, f.son.id)
    assert error_fields(response) == {"parent_user_id"}, response.text
    await deactivate(api, f.admin, f.daughter)
    response = await link(api, f.admin, f.mother.id, f.daughter.id)
    assert error_fields(response) == {"student_user_id"}, response.text
    assert await count_links(api) == 0

    await linked(api, f.admin, f.mother, f.son)
    assert await children(api, f.mother) == [f"Son {SLUG}"]
    await deactivate(api, f.admin, f.son)
    assert await children(api, f.mother) == []
    await deactivate(api, f.admin, f.son, active=True)
    assert await children(api, f.mother) == [f"Son {SLUG}"]
