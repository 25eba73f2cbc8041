"""Tenant isolation: no route under /api/v1/academies/{slug} lets one academy reach another's data.

The table ROUTES says how to call every such route and who may. It must list exactly the routes the
app serves there: a route added later without a row here makes
`test_every_academy_route_is_in_the_table` fail, so it cannot slip past these checks.

Two academies, alpha and bravo, are built the same way: a member with each single role, an API
key with each single role, a spare student, a parent–student link and a spare API key. Everything
bravo owns carries the marker "secretbravo" (names, emails, key names) so an answer that leaks it
is easy to spot; bravo's user ids are also looked for in every `*user_id` field.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from halaqa.config import Settings, WorkerMode
from halaqa.main import create_app
from tests.api import Api, Person
from tests.conftest import SECRET

PREFIX = "/api/v1/academies/{slug}"
ROLES = ("admin", "supervisor", "teacher", "student", "parent")
ALL = frozenset(ROLES)
ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "supervisor"})

Values = dict[str, Any]


@dataclass
class Side:
    slug: str
    marker: str
    owner: Person  # the platform admin who created the academy; its first admin
    people: dict[str, Person]  # one member per role, holding only that role
    keys: dict[str, str]  # one API key per role
    spare: Person  # a student no route in the table is called by: the target of member routes
    guardianship_id: int  # people["parent"] linked to people["student"]
    spare_key_id: int  # the key DELETE /api-keys/{key_id} revokes
    user_ids: set[int] = field(default_factory=set)
    key_prefixes: set[str] = field(default_factory=set)

    def values(self) -> Values:
        """What the table's factories fill paths, queries and bodies with: this side's ids."""
        return {
            "slug": self.slug,
            "name": f"{self.marker} Academy",
            "user_id": self.spare.id,
            "email": self.spare.email,
            "guardianship_id": self.guardianship_id,
            "key_id": self.spare_key_id,
            "parent_user_id": self.people["parent"].id,
            "student_user_id": self.spare.id,
        }

    def ids(self) -> Values:
        """The ids (and email) in `values` that name this side's resources."""
        values = self.values()
        del values["slug"], values["name"]
        return values


async def build_side(api: Api, slug: str, marker: str) -> Side:
    owner = await api.user(f"owner.{marker}@example.com", platform_admin=True)
    await api.academy(slug, owner, name=f"{marker} Academy")

    async def add(role: str, label: str) -> Person:
        return await api.member(
            slug, owner, role, email=f"{label}.{marker}@example.com", name=f"{marker} {label}"
        )

    people = {role: await add(role, role) for role in ROLES}
    spare = await add("student", "spare")
    response = await api.client.post(
        f"/api/v1/academies/{slug}/guardianships",
        json={"parent_user_id": people["parent"].id, "student_user_id": people["student"].id},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    guardianship_id = response.json()["id"]

    keys: dict[str, str] = {}
    prefixes: set[str] = set()
    spare_key_id = 0
    for role in (*ROLES, "spare"):
        response = await api.client.post(
            f"/api/v1/academies/{slug}/api-keys",
            json={"name": f"{marker} {role} key", "roles": ["admin" if role == "spare" else role]},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        prefixes.add(response.json()["prefix"])
        if role == "spare":
            spare_key_id = response.json()["id"]
        else:
            keys[role] = response.json()["key"]
    return Side(
        slug=slug,
        marker=marker,
        owner=owner,
        people=people,
        keys=keys,
        spare=spare,
        guardianship_id=guardianship_id,
        spare_key_id=spare_key_id,
        user_ids={owner.id, spare.id, *(p.id for p in people.values())},
        key_prefixes=prefixes,
    )


@dataclass
class World:
    alpha: Side
    bravo: Side


async def build_world(api: Api) -> World:
    return World(
        alpha=await build_side(api, "alpha", "secretalpha"),
        bravo=await build_side(api, "bravo", "secretbravo"),
    )


# --- how to call every route -------------------------------------------------------------------

_unique = itertools.count(1)


def no_body(_: Values) -> None:
    return None


def no_query(_: Values) -> dict[str, Any]:
    return {}


async def fresh_student(api: Api, side: Side) -> Values:
    """A student not linked to anyone yet, so linking them succeeds."""
    student = await api.member(side.slug, side.owner, "student")
    return {"student_user_id": student.id}


async def fresh_link(api: Api, side: Side) -> Values:
    """A link of its own, so unlinking it succeeds."""
    student = await api.member(side.slug, side.owner, "student")
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/guardianships",
        json={"parent_user_id": side.people["parent"].id, "student_user_id": student.id},
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"guardianship_id": response.json()["id"]}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[str]  # the roles that may call it (members and API keys alike)
    ok: int  # the status of a successful call
    # When alpha's admin calls it under alpha with bravo's ids: the status and error code.
    foreign: tuple[int, str | None]
    body: Callable[[Values], Any] = no_body
    query: Callable[[Values], dict[str, Any]] = no_query
    # Makes what one more successful call consumes (a free student, a link to remove).
    fresh: Callable[[Api, Side], Awaitable[Values]] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def member_body(_: Values) -> dict[str, Any]:
    n = next(_unique)
    return {"email": f"new{n}@example.com", "name": f"New {n}", "roles": ["student"]}


OK_NO_ID: tuple[int, str | None] = (200, None)
MISSING: tuple[int, str | None] = (404, "not_found")

ROUTES: list[Route] = [
    Route("GET", PREFIX, ALL, 200, OK_NO_ID),
    Route("PATCH", PREFIX, ADMIN, 200, OK_NO_ID, body=lambda v: {"name": v["name"]}),
    Route("GET", f"{PREFIX}/settings", ADMIN, 200, OK_NO_ID),
    Route(
        "PATCH",
        f"{PREFIX}/settings",
        ADMIN,
        200,
        OK_NO_ID,
        body=lambda _: {"late_after_minutes": 10},
    ),
    # Searching for another academy's member finds nobody.
    Route("GET", f"{PREFIX}/members", STAFF, 200, OK_NO_ID, query=lambda v: {"q": v["email"]}),
    Route("POST", f"{PREFIX}/members", ADMIN, 201, (201, None), body=member_body),
    Route("GET", f"{PREFIX}/members/{{user_id}}", STAFF, 200, MISSING),
    Route(
        "PATCH",
        f"{PREFIX}/members/{{user_id}}",
        ADMIN,
        200,
        MISSING,
        body=lambda _: {"roles": ["student"]},
    ),
    Route(
        "GET",
        f"{PREFIX}/guardianships",
        STAFF,
        200,
        OK_NO_ID,
        query=lambda v: {"parent_user_id": v["parent_user_id"]},
    ),
    Route(
        "POST",
        f"{PREFIX}/guardianships",
        ADMIN,
        201,
        (422, "validation_error"),
        body=lambda v: {
            "parent_user_id": v["parent_user_id"],
            "student_user_id": v["student_user_id"],
        },
        fresh=fresh_student,
    ),
    Route(
        "DELETE",
        f"{PREFIX}/guardianships/{{guardianship_id}}",
        ADMIN,
        204,
        MISSING,
        fresh=fresh_link,
    ),
    Route("GET", f"{PREFIX}/api-keys", ADMIN, 200, OK_NO_ID),
    Route(
        "POST",
        f"{PREFIX}/api-keys",
        ADMIN,
        201,
        (201, None),
        # Only roles the caller holds: an admin key may not mint a teacher key.
        body=lambda _: {"name": "made in a test", "roles": ["admin"]},
    ),
    Route("DELETE", f"{PREFIX}/api-keys/{{key_id}}", ADMIN, 200, MISSING),
    Route("GET", f"{PREFIX}/audit-log", ADMIN, 200, OK_NO_ID),
]


async def call(
    api: Api, route: Route, values: Values, headers: dict[str, str] | None
) -> httpx.Response:
    return await api.client.request(
        route.method,
        route.path.format(**values),
        params=route.query(values),
        json=route.body(values),
        headers=headers,
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def principals(side: Side) -> list[tuple[str, str, dict[str, str]]]:
    """(label, role, headers) for each single-role member and API key of a side."""
    found = [(f"{side.slug} {role} member", role, p.headers) for role, p in side.people.items()]
    found += [(f"{side.slug} {role} key", role, bearer(k)) for role, k in side.keys.items()]
    return found


def leaks(response: httpx.Response, victim: Side) -> list[str]:
    """What of `victim`'s an answer shows: its marker, key prefixes, or its users' ids."""
    text = response.text
    found = [victim.marker] if victim.marker in text.lower() else []
    found += [prefix for prefix in victim.key_prefixes if prefix in text]
    found += [f"slug in body: {text}"] if f'"{victim.slug}"' in text else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (key == "user_id" or key.endswith("_user_id")) and value in victim.user_ids:
                    found.append(f"{key}={value}")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if text:
        walk(response.json())
    return found


def check(
    problems: list[str],
    who: str,
    route: Route,
    response: httpx.Response,
    status: int,
    code: str | None,
) -> None:
    if response.status_code != status:
        problems.append(
            f"{who}: {route} answered {response.status_code}, not {status}: {response.text}"
        )
    elif code is not None and response.json()["error"]["code"] != code:
        problems.append(
            f"{who}: {route} answered code {response.json()['error']['code']}, not {code}"
        )


SNAPSHOT = ("", "/settings", "/members", "/guardianships", "/api-keys", "/audit-log")


async def snapshot(api: Api, side: Side) -> dict[str, Any]:
    """Everything a side's owner can read about it, to compare before and after."""
    found: dict[str, Any] = {}
    for path in SNAPSHOT:
        response = await api.client.get(
            f"/api/v1/academies/{side.slug}{path}",
            headers=side.owner.headers,
            params={"per_page": 100} if path not in ("", "/settings") else {},
        )
        assert response.status_code == 200, response.text
        found[path] = response.json()
    return found


# --- the table matches the app -----------------------------------------------------------------


def served_academy_routes(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        secret_key=SECRET,
        secret_key_file=tmp_path / "unused-secret",
        worker_mode=WorkerMode.EXTERNAL,
    )
    served: set[tuple[str, str]] = set()
    # Included routers are kept whole in app.routes; this walks into them as the OpenAPI does,
    # hidden routes (include_in_schema=False) too.
    for route in iter_route_contexts(create_app(settings).routes):
        path = route.path or ""
        if not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            continue
        if isinstance(route.original_route, Mount):
            served.add(("MOUNT", path))  # a sub-application: every path in it needs a row
            continue
        methods = set(route.methods or {"WEBSOCKET"})
        if not isinstance(route.original_route, APIRoute) and "GET" in methods:
            methods.discard("HEAD")  # starlette adds HEAD to every GET route
        served |= {(method, path) for method in methods}
    return served


def test_every_academy_route_is_in_the_table(tmp_path: Path) -> None:
    table = [(route.method, route.path) for route in ROUTES]
    assert len(table) == len(set(table)), "a route is listed twice"
    served = served_academy_routes(tmp_path)
    missing = served - set(table)
    assert not missing, (
        f"routes without a row in ROUTES (add one saying how to call them): {missing}"
    )
    assert not set(table) - served, (
        f"rows for routes the app no longer serves: {set(table) - served}"
    )


def test_the_table_names_a_real_role() -> None:
    for route in ROUTES:
        assert route.allowed, route
        assert route.allowed <= ALL, route
        assert "admin" in route.allowed, route  # admins may do everything in their academy


# --- isolation ---------------------------------------------------------------------------------


async def test_nobody_from_alpha_reaches_bravo(api: Api) -> None:
    world = await build_world(api)
    alpha, bravo = world.alpha, world.bravo
    outsider_admin = await api.user("root.outsider@example.com", platform_admin=True)
    outsider = await api.user("plain.outsider@example.com")
    revoked_key = await api.api_key("alpha", alpha.owner, "admin")
    [newest, *_] = (
        await api.client.get("/api/v1/academies/alpha/api-keys", headers=alpha.owner.headers)
    ).json()["items"]
    revoked = await api.client.delete(
        f"/api/v1/academies/alpha/api-keys/{newest['id']}", headers=alpha.owner.headers
    )
    assert revoked.status_code == 200, revoked.text
    before = await snapshot(api, bravo)

    attackers = [
        *((label, headers) for label, _, headers in principals(alpha)),
        ("alpha's owner, a platform admin", alpha.owner.headers),
        ("a platform admin of no academy", outsider_admin.headers),
        ("a user of no academy", outsider.headers),
    ]
    signed_out: list[tuple[str, dict[str, str] | None]] = [
        ("nobody", None),
        ("a made-up token", bearer("hqt_made-up")),
        ("a made-up key", bearer("hqk_made-up")),
        ("alpha's revoked admin key", bearer(revoked_key)),
    ]
    problems: list[str] = []
    for route in ROUTES:
        values = bravo.values()
        for who, headers in attackers:
            response = await call(api, route, values, headers)
            check(problems, who, route, response, 404, "not_found")
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
        # Signed out, or with a token that is not one, nobody gets further than 401.
        for who, maybe_headers in signed_out:
            response = await call(api, route, values, maybe_headers)
            check(problems, who, route, response, 401, "not_authenticated")
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, bravo) == before

    # The same calls are real ones: bravo's own admin makes each of them succeed.
    for route in ROUTES:
        values = bravo.values() | (await route.fresh(api, bravo) if route.fresh else {})
        response = await call(api, route, values, bravo.people["admin"].headers)
        check(problems, "bravo's admin", route, response, route.ok, None)
    assert not problems, "\n".join(problems)


async def test_alpha_cannot_name_bravos_ids_under_its_own_slug(api: Api) -> None:
    world = await build_world(api)
    alpha, bravo = world.alpha, world.bravo
    bravo_before = await snapshot(api, bravo)
    foreign = alpha.values() | bravo.ids()
    callers = [
        ("alpha's admin", alpha.people["admin"].headers),
        ("alpha's owner", alpha.owner.headers),
        ("alpha's admin key", bearer(alpha.keys["admin"])),
    ]

    # First every call that must be refused, then alpha must be exactly as it was.
    problems: list[str] = []
    alpha_before = await snapshot(api, alpha)
    refused = [route for route in ROUTES if route.foreign[0] >= 400]
    assert {str(r) for r in refused} >= {
        f"GET {PREFIX}/members/{{user_id}}",
        f"PATCH {PREFIX}/members/{{user_id}}",
        f"POST {PREFIX}/guardianships",
        f"DELETE {PREFIX}/guardianships/{{guardianship_id}}",
        f"DELETE {PREFIX}/api-keys/{{key_id}}",
    }
    for route in refused:
        for who, headers in callers:
            response = await call(api, route, foreign, headers)
            check(problems, who, route, response, *route.foreign)
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, alpha) == alpha_before

    # The rest take no id of bravo's in their path, and answer about alpha alone.
    for route in ROUTES:
        if route in refused:
            continue
        for who, headers in callers:
            response = await call(api, route, foreign, headers)
            check(problems, who, route, response, *route.foreign)
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, bravo) == bravo_before

    # With alpha's own ids, the refused calls succeed: the 404s above were about bravo's ids.
    for route in refused:
        values = alpha.values() | (await route.fresh(api, alpha) if route.fresh else {})
        response = await call(api, route, values, alpha.people["admin"].headers)
        check(problems, "alpha's admin", route, response, route.ok, None)
    assert not problems, "\n".join(problems)


async def test_roles_per_route(api: Api) -> None:
    world = await build_world(api)
    alpha = world.alpha
    callers = principals(alpha)
    before = await snapshot(api, alpha)
    problems: list[str] = []
    for route in ROUTES:
        for who, role, headers in callers:
            if role not in route.allowed:
                response = await call(api, route, alpha.values(), headers)
                check(problems, who, route, response, 403, "role_required")
    assert not problems, "\n".join(problems)
    assert await snapshot(api, alpha) == before, "a refused call changed something"

    for route in ROUTES:
        for who, role, headers in callers:
            if role in route.allowed:
                values = alpha.values() | (await route.fresh(api, alpha) if route.fresh else {})
                response = await call(api, route, values, headers)
                check(problems, who, route, response, route.ok, None)
    assert not problems, "\n".join(problems)
