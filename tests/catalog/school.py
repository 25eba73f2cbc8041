"""A small academy for the catalog tests, and calls to the groups API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from halaqa.models import AuditEntry, Enrollment, Group
from tests.api import Api, Person

SLUG = "al-noor"
GROUPS = f"/api/v1/academies/{SLUG}/groups"


@dataclass(frozen=True)
class School:
    admin: Person
    supervisor: Person
    teacher: Person
    other_teacher: Person
    students: list[Person]
    parent: Person  # linked to students[0]

    @property
    def staff(self) -> list[Person]:
        return [self.admin, self.supervisor]


async def school(api: Api, students: int = 3) -> School:
    admin = await api.academy(SLUG)
    made = School(
        admin=admin,
        supervisor=await api.member(SLUG, admin, "supervisor", name="Supervisor"),
        teacher=await api.member(SLUG, admin, "teacher", name="Teacher"),
        other_teacher=await api.member(SLUG, admin, "teacher", name="Other Teacher"),
        students=[
            await api.member(SLUG, admin, "student", name=f"Student {n}") for n in range(students)
        ],
        parent=await api.member(SLUG, admin, "parent", name="Parent"),
    )
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/guardianships",
        json={"parent_user_id": made.parent.id, "student_user_id": made.students[0].id},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return made


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_group(api: Api, who: Person, **fields: Any) -> httpx.Response:
    return await api.client.post(GROUPS, json=fields, headers=who.headers)


async def new_group(
    api: Api, who: Person, teacher: Person, kind: str = "circle", **fields: Any
) -> dict[str, Any]:
    body = {"kind": kind, "name": f"A {kind}", "teacher_user_id": teacher.id, **fields}
    return ok(await post_group(api, who, **body), 201)


async def set_group_status(api: Api, who: Person, group_id: int, status: str) -> httpx.Response:
    return await api.client.post(
        f"{GROUPS}/{group_id}/status", json={"status": status}, headers=who.headers
    )


async def open_course(api: Api, who: Person, teacher: Person, **fields: Any) -> dict[str, Any]:
    """A course taking students (published)."""
    group = await new_group(api, who, teacher, "course", **fields)
    return ok(await set_group_status(api, who, group["id"], "published"))


async def get_group(api: Api, who: Person, group_id: int) -> httpx.Response:
    return await api.client.get(f"{GROUPS}/{group_id}", headers=who.headers)


async def list_groups(api: Api, who: Person, **params: Any) -> dict[str, Any]:
    return ok(await api.client.get(GROUPS, headers=who.headers, params=params))


async def group_ids(api: Api, who: Person, **params: Any) -> list[int]:
    return [g["id"] for g in (await list_groups(api, who, per_page=100, **params))["items"]]


async def enrol(api: Api, who: Person, group_id: int, **body: Any) -> httpx.Response:
    return await api.client.post(f"{GROUPS}/{group_id}/enrollments", json=body, headers=who.headers)


async def enrolled(api: Api, who: Person, group_id: int, student: Person, **body: Any) -> int:
    enrollment = ok(await enrol(api, who, group_id, student_user_id=student.id, **body), 201)
    enrollment_id: int = enrollment["id"]
    return enrollment_id


async def set_enrollment(
    api: Api, who: Person, group_id: int, enrollment_id: int, status: str
) -> httpx.Response:
    return await api.client.patch(
        f"{GROUPS}/{group_id}/enrollments/{enrollment_id}",
        json={"status": status},
        headers=who.headers,
    )


async def list_enrollments(api: Api, who: Person, group_id: int, **params: Any) -> httpx.Response:
    return await api.client.get(
        f"{GROUPS}/{group_id}/enrollments", headers=who.headers, params=params
    )


async def audit(api: Api, admin: Person, *prefixes: str) -> list[dict[str, Any]]:
    """The catalog's audit entries, oldest first."""
    response = await api.client.get(
        f"/api/v1/academies/{SLUG}/audit-log", headers=admin.headers, params={"per_page": 100}
    )
    entries = ok(response)["items"]
    wanted = prefixes or ("group.", "enrollment.")
    return [e for e in reversed(entries) if e["action"].startswith(wanted)]


async def count(api: Api, model: type[Group] | type[Enrollment] | type[AuditEntry]) -> int:
    async with api.database.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def rows(api: Api) -> tuple[int, int, int]:
    """Groups, enrollments and audit entries: a refused request changes none of them."""
    return (await count(api, Group), await count(api, Enrollment), await count(api, AuditEntry))
