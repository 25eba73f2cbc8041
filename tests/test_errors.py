"""The error contract at the HTTP edge: every failure is a JSON `{"error": {code, message,
details}}` with a 4xx status, whatever the client sent, and an oversized body writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from halaqa.models import AuditEntry, Membership, User
from tests.api import PASSWORD, Api, Person, assert_error, error_fields

SLUG = "al-noor"


@pytest.fixture
async def admin(api: Api) -> Person:
    return await api.academy(SLUG)


def member_body(email: str = "new.member@example.com") -> dict[str, Any]:
    return {"email": email, "name": "New Member", "roles": ["student"], "password": PASSWORD}


async def row_counts(api: Api) -> tuple[int, int, int]:
    """Users, memberships and audit entries: what adding a member would change."""
    async with api.database.session() as session:
        counts = []
        for model in (User, Membership, AuditEntry):
            counts.append(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts[0], counts[1], counts[2]


def max_body_bytes(app: FastAPI) -> int:
    limit: int = app.state.settings.max_body_bytes
    return limit


def assert_json_error(response: httpx.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


# --- malformed JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"email": "a@example.com", "password": }',
        b"{'email': 'a@example.com'}",
        b'{"email": "a@example.com",}',
        b"not json at all",
        b'\xff\xfe{"a": 1}',  # not UTF-8: FastAPI cannot even decode it
    ],
    ids=["open-brace", "missing-value", "single-quotes", "trailing-comma", "prose", "not-utf8"],
)
async def test_malformed_json_is_400(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")
    assert_json_error(response)


async def test_malformed_json_writes_nothing(api: Api, admin: Person) -> None:
    before = await row_counts(api)
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        content=b'{"email": "new.member@example.com", "name": "New", "roles": ["student"]',
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert_error(response, 400, "malformed_json")
    assert await row_counts(api) == before


# --- bodies over the limit -----------------------------------------------------------------------


def padded(body: dict[str, Any], size: int) -> bytes:
    """Valid JSON of exactly `size` bytes: the body, then whitespace (which JSON ignores)."""
    raw = httpx.Request("POST", "http://x", json=body).content
    assert len(raw) < size
    return raw + b" " * (size - len(raw))


async def test_body_over_the_limit_by_content_length_is_413_and_writes_nothing(
    api: Api, admin: Person, app: FastAPI
) -> None:
    limit = max_body_bytes(app)
    before = await row_counts(api)
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        content=padded(member_body(), limit + 1),
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert response.request.headers["content-length"] == str(limit + 1)
    error = assert_error(response, 413, "body_too_large")
    assert str(limit) in error["message"]
    assert await row_counts(api) == before

    # The same request at exactly the limit goes through: the 413 was about size alone.
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        content=padded(member_body(), limit),
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_declared_content_length_over_the_limit_is_refused_before_reading(
    app: FastAPI,
) -> None:
    """The header alone decides: the app never asks for the body."""
    sent: list[MutableMapping[str, Any]] = []
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/login",
        "raw_path": b"/api/v1/auth/login",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"halaqa.test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(max_body_bytes(app) + 1).encode()),
        ],
        "client": ("203.0.113.7", 50000),
        "server": ("halaqa.test", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert b"body_too_large" in b"".join(m.get("body", b"") for m in sent[1:])
    assert reads == 0


async def chunks_of(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_streamed_body_over_the_limit_is_413_and_writes_nothing(
    api: Api, admin: Person, app: FastAPI
) -> None:
    limit = max_body_bytes(app)
    before = await row_counts(api)
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        content=chunks_of(padded(member_body(), limit + 1), 64 * 1024),
        headers={**admin.headers, "content-type": "application/json"},
    )
    # Streamed: no Content-Length, so only counting the bytes as they arrive can catch it.
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413, "body_too_large")
    assert await row_counts(api) == before

    # A streamed body within the limit is read normally.
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        content=chunks_of(padded(member_body(), limit), 64 * 1024),
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text


# --- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here", "/api/v2/me", f"/api/v1/academies/{SLUG}/members/1/extra", "/api/x"],
)
async def test_unknown_route_is_a_json_404(api: Api, admin: Person, path: str) -> None:
    response = await api.client.get(path, headers=admin.headers)
    assert_error(response, 404, "not_found")
    assert_json_error(response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/me", {"GET", "PATCH"}),
        ("DELETE", "/api/v1/me", {"GET", "PATCH"}),
        ("GET", "/api/v1/auth/login", {"POST"}),
        ("POST", "/healthz", {"GET"}),
        ("PUT", f"/api/v1/academies/{SLUG}/members/1", {"GET", "PATCH"}),
    ],
)
async def test_wrong_method_is_a_json_405_naming_the_allowed_ones(
    api: Api, admin: Person, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.client.request(method, path, headers=admin.headers)
    assert_error(response, 405, "method_not_allowed")
    assert_json_error(response)
    assert set(response.headers["allow"].split(", ")) - {"HEAD"} == allowed


# --- validation ----------------------------------------------------------------------------------


async def test_wrong_types_and_missing_fields_are_named(api: Api, admin: Person) -> None:
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        json={"email": 5, "roles": "admin", "password": ["x"]},
        headers=admin.headers,
    )
    assert error_fields(response) == {"email", "name", "roles", "password"}
    error = response.json()["error"]
    assert all(detail["message"] for detail in error["details"])
    # The summary message names the fields too.
    assert all(field in error["message"] for field in ("email", "name", "roles", "password"))


async def test_an_empty_body_names_every_required_field(api: Api) -> None:
    response = await api.client.post("/api/v1/auth/login", json={})
    assert error_fields(response) == {"email", "password"}


async def test_nested_fields_are_named_with_their_path(api: Api, admin: Person) -> None:
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        json={**member_body(), "roles": ["student", "wizard"]},
        headers=admin.headers,
    )
    assert error_fields(response) == {"roles.1"}


async def test_unknown_fields_are_refused_not_ignored(api: Api, admin: Person) -> None:
    student = await api.member(SLUG, admin, "student")
    response = await api.client.patch(
        "/api/v1/me", json={"name": "Renamed", "is_platform_admin": True}, headers=student.headers
    )
    assert error_fields(response) == {"is_platform_admin"}
    me = (await api.client.get("/api/v1/me", headers=student.headers)).json()
    assert me["is_platform_admin"] is False
    assert me["name"] != "Renamed"  # the whole request was refused, not half applied


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/academies/{SLUG}/members?page=abc", "page"),
        (f"/api/v1/academies/{SLUG}/members?page=0", "page"),
        (f"/api/v1/academies/{SLUG}/members?per_page=101", "per_page"),
        (f"/api/v1/academies/{SLUG}/members?active=perhaps", "active"),
        (f"/api/v1/academies/{SLUG}/members?role=wizard", "role"),
        (f"/api/v1/academies/{SLUG}/members/abc", "user_id"),
        (f"/api/v1/academies/{SLUG}/members/0", "user_id"),
        # Past 64 bits: refused by validation; it used to reach the database and answer 500.
        (f"/api/v1/academies/{SLUG}/members/{2**64}", "user_id"),
        (f"/api/v1/academies/{SLUG}/guardianships?parent_user_id={2**63}", "parent_user_id"),
    ],
)
async def test_bad_query_and_path_parameters_are_named(
    api: Api, admin: Person, path: str, field: str
) -> None:
    response = await api.client.get(path, headers=admin.headers)
    assert error_fields(response) == {field}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/api/v1/academies/{SLUG}/api-keys/{2**64}"),
        ("DELETE", f"/api/v1/academies/{SLUG}/guardianships/{2**64}"),
        ("PATCH", f"/api/v1/academies/{SLUG}/members/{2**64}"),
    ],
)
async def test_ids_past_64_bits_are_a_422_on_every_backend(
    api: Api, admin: Person, method: str, path: str
) -> None:
    response = await api.client.request(method, path, json={}, headers=admin.headers)
    assert_error(response, 422, "validation_error")


async def test_nul_characters_are_refused_not_a_500(api: Api, admin: Person) -> None:
    """PostgreSQL cannot store U+0000 in text; it must be a 422 on both backends."""
    before = await row_counts(api)
    response = await api.client.post(
        f"/api/v1/academies/{SLUG}/members",
        json={**member_body(), "name": "Nul\x00Name"},
        headers=admin.headers,
    )
    assert error_fields(response) == {"name"}
    assert await row_counts(api) == before
    for path, field in (
        (f"/api/v1/academies/{SLUG}/members?q=a%00b", "q"),
        (f"/api/v1/academies/{SLUG}/audit-log?action=a%00b", "action"),
    ):
        response = await api.client.get(path, headers=admin.headers)
        assert error_fields(response) == {field}


# --- content types -------------------------------------------------------------------------------

MULTIPART = (
    b'--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n--xyz--\r\n'
)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"email": "a@example.com", "password": "x"}'),
        ("application/x-www-form-urlencoded", b"email=a%40example.com&password=x"),
        ("multipart/form-data; boundary=xyz", MULTIPART),
        ("application/xml", b"<login><email>a@example.com</email></login>"),
        ("application/octet-stream", b"\x00\x01\x02"),
        (None, b'{"email": "a@example.com", "password": "x"}'),
    ],
    ids=["text", "form", "multipart", "xml", "binary", "none"],
)
async def test_non_json_content_type_is_a_4xx_never_a_500(
    api: Api, admin: Person, content_type: str | None, body: bytes
) -> None:
    headers = dict(admin.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    before = await row_counts(api)
    for path in ("/api/v1/auth/login", f"/api/v1/academies/{SLUG}/members"):
        response = await api.client.post(path, content=body, headers=headers)
        assert_json_error(response)
    assert await row_counts(api) == before


# --- unexpected failures -------------------------------------------------------------------------


async def get_broken(
    app: FastAPI, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET `path`, a route added here that fails with an error nobody expected."""

    async def broken() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route(path, broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as client:
        return await client.get(path, headers=headers)


async def test_an_unexpected_error_is_a_json_500_that_tells_nothing(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    response = await get_broken(app, "/api/test-only/broken")
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # logged for the operator instead


async def test_an_unexpected_error_on_a_page_is_a_page_that_tells_nothing(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    response = await get_broken(app, "/test-only/broken", {"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in response.text
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text
