"""Packages over HTTP: staff create, change and archive them; every member reads those offered;
bad input is a 422 naming the field; every change is audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import School, audit, ok, school
from tests.catalog.subscribing import PACKAGES, new_package
from tests.conftest import START

NOW = START.isoformat().replace("+00:00", "Z")


async def package_ids(api: Api, who: Person, **params: Any) -> list[int]:
    response = await api.client.get(PACKAGES, headers=who.headers, params=params)
    return [p["id"] for p in ok(response)["items"]]


async def patch(api: Api, who: Person, package_id: int, **fields: Any) -> dict[str, Any]:
    response = await api.client.patch(f"{PACKAGES}/{package_id}", json=fields, headers=who.headers)
    return ok(response)


async def test_staff_create_a_package(api: Api) -> None:
    s = await school(api)
    made = await new_package(
        api,
        s.supervisor,
        name="Tajweed, 12 a quarter",
        sessions_per_cycle=12,
        cycle_length=3,
        cycle_unit="month",
        session_minutes=45,
        price_cents=30000,
        currency="SAR",
    )
    package_id = made.pop("id")
    assert made == {
        "name": "Tajweed, 12 a quarter",
        "kind": "individual",
        "sessions_per_cycle": 12,
        "cycle_length": 3,
        "cycle_unit": "month",
        "session_minutes": 45,
        "price_cents": 30000,
        "currency": "SAR",
        "active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    [entry] = await audit(api, s.admin, "package.")
    assert (entry["action"], entry["entity_id"]) == ("package.created", str(package_id))
    assert entry["after"]["sessions_per_cycle"] == 12
    # A month is the cycle unless said otherwise.
    default = await new_package(api, s.admin, kind="group")
    assert (default["cycle_length"], default["cycle_unit"]) == (1, "month")


BAD_PACKAGES = [
    ({"sessions_per_cycle": 0}, "sessions_per_cycle"),
    ({"sessions_per_cycle": 1001}, "sessions_per_cycle"),
    ({"cycle_unit": "year"}, "cycle_unit"),
    ({"cycle_length": 0}, "cycle_length"),
    ({"session_minutes": 721}, "session_minutes"),
    ({"kind": "trial"}, "kind"),
    ({"name": "  "}, "name"),
    ({"price_cents": -1, "currency": "SAR"}, "price_cents"),
    ({"price_cents": 100}, "currency"),  # a price says its currency
    ({"price_cents": 100, "currency": "sar"}, "currency"),
    ({"discount": 5}, "discount"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_PACKAGES)
async def test_bad_packages_are_refused_naming_the_field(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    s = await school(api)
    body = {"name": "P", "kind": "individual", "sessions_per_cycle": 8, "session_minutes": 60}
    response = await api.client.post(PACKAGES, json=body | fields, headers=s.admin.headers)
    assert error_fields(response) == {field}
    assert await package_ids(api, s.admin) == []


@pytest.mark.parametrize("who", ["teacher", "parent"])
async def test_only_staff_write_packages(api: Api, who: str) -> None:
    s = await school(api)
    person: Person = getattr(s, who)
    made = await new_package(api, s.admin)
    body = {"name": "P", "kind": "individual", "sessions_per_cycle": 8, "session_minutes": 60}
    assert_error(
        await api.client.post(PACKAGES, json=body, headers=person.headers), 403, "role_required"
    )
    response = await api.client.patch(
        f"{PACKAGES}/{made['id']}", json={"name": "Mine"}, headers=s.students[0].headers
    )
    assert_error(response, 403, "role_required")


async def archived_and_offered(api: Api, s: School) -> tuple[dict[str, Any], dict[str, Any]]:
    offered = await new_package(api, s.admin, name="B offered")
    archived = await new_package(api, s.admin, name="A archived", kind="group")
    assert (await patch(api, s.admin, archived["id"], active=False))["active"] is False
    return archived, offered


async def test_members_read_only_what_is_offered(api: Api) -> None:
    s = await school(api)
    archived, offered = await archived_and_offered(api, s)
    assert await package_ids(api, s.admin) == [archived["id"], offered["id"]]
    assert await package_ids(api, s.admin, active=False) == [archived["id"]]
    assert await package_ids(api, s.admin, kind="group") == [archived["id"]]
    for who in (s.teacher, s.students[0], s.parent):
        assert await package_ids(api, who) == [offered["id"]]
        assert await package_ids(api, who, active=False) == []
        ok(await api.client.get(f"{PACKAGES}/{offered['id']}", headers=who.headers))
        response = await api.client.get(f"{PACKAGES}/{archived['id']}", headers=who.headers)
        assert_error(response, 404, "not_found")
    ok(await api.client.get(f"{PACKAGES}/{archived['id']}", headers=s.supervisor.headers))


async def test_staff_change_and_archive_a_package(api: Api) -> None:
    s = await school(api)
    made = await new_package(api, s.admin)
    changed = await patch(
        api, s.admin, made["id"], name="Hifz, 10 a month", sessions_per_cycle=10, active=False
    )
    assert (changed["name"], changed["sessions_per_cycle"], changed["active"]) == (
        "Hifz, 10 a month",
        10,
        False,
    )
    # Back on offer; a price can be dropped again.
    await patch(api, s.admin, made["id"], active=True, price_cents=500, currency="EGP")
    assert (await patch(api, s.admin, made["id"], price_cents=None))["price_cents"] is None
    entries = await audit(api, s.admin, "package.")
    assert [e["action"] for e in entries] == ["package.created", *["package.updated"] * 3]
    assert entries[1]["before"]["sessions_per_cycle"] == 8
    assert entries[1]["after"]["sessions_per_cycle"] == 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": None}, "name"),
        ({"active": None}, "active"),
        ({"sessions_per_cycle": None}, "sessions_per_cycle"),
        ({"price_cents": 100}, "currency"),  # the package has no currency yet
        # Its subscriptions' cycles are counted by these: they never change.
        ({"cycle_unit": "week"}, "cycle_unit"),
        ({"cycle_length": 2}, "cycle_length"),
        ({"kind": "group"}, "kind"),
    ],
)
async def test_bad_changes_are_refused(api: Api, fields: dict[str, Any], field: str) -> None:
    s = await school(api)
    made = await new_package(api, s.admin)
    response = await api.client.patch(
        f"{PACKAGES}/{made['id']}", json=fields, headers=s.admin.headers
    )
    assert error_fields(response) == {field}
    assert ok(await api.client.get(f"{PACKAGES}/{made['id']}", headers=s.admin.headers)) == made


async def test_unknown_package_is_404(api: Api) -> None:
    s = await school(api)
    for path in (f"{PACKAGES}/999", f"{PACKAGES}/{2**62}"):
        assert_error(await api.client.get(path, headers=s.admin.headers), 404, "not_found")
    response = await api.client.get(f"{PACKAGES}/{2**63}", headers=s.admin.headers)
    assert error_fields(response) == {"package_id"}
