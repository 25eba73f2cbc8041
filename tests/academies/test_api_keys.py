"""API keys over HTTP: shown once, listed without secrets, roles, expiry, revocation, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from halaqa.academies.security import token_digest
from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error, error_fields
from tests.conftest import START

SLUG = "al-noor"
KEYS = f"/api/v1/academies/{SLUG}/api-keys"


def iso(instant: Any) -> str:
    text: str = instant.isoformat().replace("+00:00", "Z")
    return text


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create(api: Api, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.client.post(KEYS, json={"name": "timetable sync", **body}, headers=headers)


async def created_key(api: Api, admin: Person, **body: Any) -> dict[str, Any]:
    response = await create(api, admin.headers, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def listed(api: Api, admin: Person, **params: Any) -> dict[str, Any]:
    response = await api.client.get(KEYS, headers=admin.headers, params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def key_audit(api: Api, admin: Person) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"/api/v1/academies/{SLUG}/audit-log", headers=admin.headers, params={"per_page": 100}
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["entity_type"] == "api_key"]


async def test_key_is_shown_once_and_never_listed(api: Api) -> None:
    admin = await api.academy(SLUG)
    created = await created_key(api, admin, roles=["teacher", "supervisor"])
    key = created.pop("key")
    assert key.startswith("hqk_")
    assert len(key) > 40
    key_id = created.pop("id")
    assert created == {
        "name": "timetable sync",
        "prefix": key[:12],
        "roles": ["supervisor", "teacher"],
        "created_at": iso(START),
        "expires_at": None,
        "last_used_at": None,
        "revoked_at": None,
    }

    response = await api.client.get(KEYS, headers=admin.headers)
    assert response.status_code == 200, response.text
    digest = token_digest(key, api.app.state.secret)
    assert key not in response.text
    assert key[12:] not in response.text
    assert digest not in response.text
    [item] = response.json()["items"]
    assert set(item) == {
        "id",
        "name",
        "prefix",
        "roles",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }
    assert (item["id"], item["prefix"]) == (key_id, key[:12])
    # Nor does the audit log keep it.
    entries = await key_audit(api, admin)
    assert key not in str(entries)
    assert digest not in str(entries)
    [entry] = entries
    assert entry["action"] == "api_key.created"
    assert entry["entity_id"] == str(key_id)
    assert entry["actor_user_id"] == admin.id
    assert entry["after"] == {"name": "timetable sync", "roles": ["supervisor", "teacher"]}


async def test_default_role_is_admin_and_keys_work(api: Api) -> None:
    admin = await api.academy(SLUG)
    created = await created_key(api, admin)
    assert created["roles"] == ["admin"]
    response = await api.client.get(
        f"/api/v1/academies/{SLUG}/members", headers=bearer(created["key"])
    )
    assert response.status_code == 200, response.text
    assert [m["user_id"] for m in response.json()["items"]] == [admin.id]


async def test_key_roles_limit_what_it_may_do(api: Api) -> None:
    admin = await api.academy(SLUG)
    teacher_key = (await created_key(api, admin, roles=["teacher"]))["key"]
    supervisor_key = (await created_key(api, admin, roles=["supervisor"]))["key"]
    admin_key = await created_key(api, admin, roles=["admin"])
    members = f"/api/v1/academies/{SLUG}/members"

    response = await api.client.get(f"/api/v1/academies/{SLUG}", headers=bearer(teacher_key))
    assert response.status_code == 200, response.text
    response = await api.client.get(members, headers=bearer(teacher_key))
    assert_error(response, 403, "role_required")
    # A key is nobody: it cannot read a member as "themself".
    response = await api.client.get(f"{members}/{admin.id}", headers=bearer(teacher_key))
    assert_error(response, 403, "role_required")
    response = await api.client.get(members, headers=bearer(supervisor_key))
    assert response.status_code == 200, response.text
    response = await api.client.post(
        members,
        json={"email": "x@example.com", "name": "X", "roles": ["student"]},
        headers=bearer(supervisor_key),
    )
    assert_error(response, 403, "role_required")
    response = await api.client.get(KEYS, headers=bearer(supervisor_key))
    assert_error(response, 403, "role_required")

    # An admin key acts as the academy: the change is attributed to the key.
    response = await api.client.post(
        members,
        json={"email": "x@example.com", "name": "X", "roles": ["student"]},
        headers=bearer(admin_key["key"]),
    )
    assert response.status_code == 201, response.text
    response = await api.client.get(
        f"/api/v1/academies/{SLUG}/audit-log",
        headers=admin.headers,
        params={"action": "member.added"},
    )
    [entry] = response.json()["items"]
    assert (entry["actor_user_id"], entry["actor_api_key_id"]) == (None, admin_key["id"])

    # Keys are for academies, not people.
    for path in ("/api/v1/me", "/api/v1/academies"):
        response = await api.client.get(path, headers=bearer(admin_key["key"]))
        assert_error(response, 403, "forbidden")


async def test_only_admin_keys_make_keys(api: Api) -> None:
    admin = await api.academy(SLUG)
    admin_key = (await created_key(api, admin, roles=["admin"]))["key"]
    # An admin key acts as an admin: it may make keys for any role, as an admin person may.
    for roles in (["admin", "teacher"], ["teacher"], ["supervisor"]):
        response = await create(api, bearer(admin_key), roles=roles)
        assert response.status_code == 201, response.text
    for roles in (["teacher"], ["supervisor"]):
        weaker_key = (await created_key(api, admin, roles=roles))["key"]
        response = await create(api, bearer(weaker_key), roles=roles)
        assert_error(response, 403, "role_required")
    assert (await listed(api, admin))["total"] == 6


async def test_expiry(api: Api, clock: FrozenClock) -> None:
    admin = await api.academy(SLUG)
    expires = START + timedelta(hours=1)
    created = await created_key(api, admin, expires_at=expires.isoformat())
    assert created["expires_at"] == iso(expires)
    # Other offsets name the same instant.
    other = await created_key(api, admin, expires_at="2026-03-01T13:00:00+03:00")
    assert other["expires_at"] == iso(expires)

    academy = f"/api/v1/academies/{SLUG}"
    response = await api.client.get(academy, headers=bearer(created["key"]))
    assert response.status_code == 200, response.text
    clock.advance(timedelta(minutes=59, seconds=59))
    response = await api.client.get(academy, headers=bearer(created["key"]))
    assert response.status_code == 200, response.text
    clock.advance(timedelta(seconds=1))
    response = await api.client.get(academy, headers=bearer(created["key"]))
    assert_error(response, 401, "not_authenticated")


async def test_invalid_keys_are_refused_and_nothing_is_created(api: Api) -> None:
    admin = await api.academy(SLUG)
    for body, field in (
        ({"expires_at": (START - timedelta(seconds=1)).isoformat()}, "expires_at"),
        ({"expires_at": START.isoformat()}, "expires_at"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no offset: which instant?
        ({"expires_at": "soon"}, "expires_at"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"roles": []}, "roles"),
        ({"roles": ["admin", "admin"]}, "roles"),
        ({"roles": ["root"]}, "roles.0"),
        ({"digest": "abc"}, "digest"),
    ):
        response = await create(api, admin.headers, **body)
        assert field in error_fields(response), (body, response.text)
    response = await api.client.post(KEYS, json={"roles": ["admin"]}, headers=admin.headers)
    assert error_fields(response) == {"name"}
    assert (await listed(api, admin))["total"] == 0
    assert await key_audit(api, admin) == []


async def test_last_used_is_recorded_at_most_once_a_minute(api: Api, clock: FrozenClock) -> None:
    admin = await api.academy(SLUG)
    created = await created_key(api, admin, roles=["teacher"])
    academy = f"/api/v1/academies/{SLUG}"

    async def last_used() -> Any:
        return (await listed(api, admin))["items"][0]["last_used_at"]

    assert await last_used() is None
    await api.client.get(academy, headers=bearer(created["key"]))
    assert await last_used() == iso(START)
    clock.advance(timedelta(seconds=60))
    await api.client.get(academy, headers=bearer(created["key"]))
    assert await last_used() == iso(START)
    clock.advance(timedelta(seconds=1))
    await api.client.get(academy, headers=bearer(created["key"]))
    assert await last_used() == iso(START + timedelta(seconds=61))


async def test_revoke(api: Api, clock: FrozenClock) -> None:
    admin = await api.academy(SLUG)
    doomed = await created_key(api, admin)
    kept = await created_key(api, admin, name="kept")
    academy = f"/api/v1/academies/{SLUG}"
    assert (await api.client.get(academy, headers=bearer(doomed["key"]))).status_code == 200

    clock.advance(timedelta(minutes=5))
    response = await api.client.delete(f"{KEYS}/{doomed['id']}", headers=admin.headers)
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["revoked_at"] == iso(START + timedelta(minutes=5))
    assert "key" not in revoked

    response = await api.client.get(academy, headers=bearer(doomed["key"]))
    assert_error(response, 401, "not_authenticated")
    assert (await api.client.get(academy, headers=bearer(kept["key"]))).status_code == 200

    # Revoking again changes nothing and writes nothing.
    clock.advance(timedelta(minutes=5))
    response = await api.client.delete(f"{KEYS}/{doomed['id']}", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] == iso(START + timedelta(minutes=5))

    items = (await listed(api, admin))["items"]
    assert [(k["name"], k["revoked_at"]) for k in items] == [
        ("kept", None),
        ("timetable sync", iso(START + timedelta(minutes=5))),
    ]
    entries = await key_audit(api, admin)
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("api_key.revoked", str(doomed["id"])),
        ("api_key.created", str(kept["id"])),
        ("api_key.created", str(doomed["id"])),
    ]
    assert entries[0]["actor_user_id"] == admin.id

    for key_id, status, code in ((10**9, 404, "not_found"), (0, 422, "validation_error")):
        response = await api.client.delete(f"{KEYS}/{key_id}", headers=admin.headers)
        assert_error(response, status, code)


async def test_a_key_may_revoke_itself(api: Api) -> None:
    admin = await api.academy(SLUG)
    created = await created_key(api, admin)
    response = await api.client.delete(f"{KEYS}/{created['id']}", headers=bearer(created["key"]))
    assert response.status_code == 200, response.text
    response = await api.client.get(KEYS, headers=bearer(created["key"]))
    assert_error(response, 401, "not_authenticated")
    [revoked, _] = await key_audit(api, admin)
    assert (revoked["actor_user_id"], revoked["actor_api_key_id"]) == (None, created["id"])


async def test_only_admins_manage_keys(api: Api) -> None:
    admin = await api.academy(SLUG)
    created = await created_key(api, admin)
    for role in ("supervisor", "teacher", "student", "parent"):
        person = await api.member(SLUG, admin, role)
        assert_error(await api.client.get(KEYS, headers=person.headers), 403, "role_required")
        assert_error(await create(api, person.headers), 403, "role_required")
        response = await api.client.delete(f"{KEYS}/{created['id']}", headers=person.headers)
        assert_error(response, 403, "role_required")
    [item] = (await listed(api, admin))["items"]
    assert item["revoked_at"] is None
    assert len(await key_audit(api, admin)) == 1


async def test_list_is_newest_first_and_paginated(api: Api) -> None:
    admin = await api.academy(SLUG)
    ids = [(await created_key(api, admin, name=f"key {n}"))["id"] for n in range(5)]
    page = await listed(api, admin, page=1, per_page=2)
    assert (page["total"], [k["id"] for k in page["items"]]) == (5, ids[:-3:-1])
    page = await listed(api, admin, page=3, per_page=2)
    assert (page["total"], [k["id"] for k in page["items"]]) == (5, [ids[0]])
