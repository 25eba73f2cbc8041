"""A small driver for tests: people and academies made through the real services and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from halaqa.academies import service
from halaqa.db.session import Database
from halaqa.kit.deps import Runtime

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        self.client = client
        self.app = app
        self._count = 0

    @property
    def database(self) -> Database:
        database: Database = self.app.state.database
        return database

    def runtime(self, session: Any) -> Runtime:
        state = self.app.state
        return Runtime(session, state.clock, state.settings, state.secret)

    async def user(self, email: str | None = None, *, platform_admin: bool = False) -> Person:
        """A user created the way the CLI does, signed in through the API."""
        self._count += 1
        email = email or f"user{self._count}@example.com"
        async with self.database.transaction() as session:
            user = await service.create_user(
                self.runtime(session),
                email=email,
                name=f"User {self._count}",
                password=PASSWORD,
                platform_admin=platform_admin,
            )
        return Person(id=user.id, email=email, token=await self.login(email))

    async def login(self, email: str, password: str = PASSWORD) -> str:
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def academy(self, slug: str, owner: Person | None = None, **fields: Any) -> Person:
        """An academy created through the API; returns its admin."""
        owner = owner or await self.user(platform_admin=True)
        body = {"slug": slug, "name": f"Academy {slug}", "time_zone": "Asia/Riyadh", **fields}
        response = await self.client.post("/api/v1/academies", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return owner

    async def member(
        self,
        slug: str,
        admin: Person,
        *roles: str,
        email: str | None = None,
        name: str | None = None,
    ) -> Person:
        """A member with `roles`, added by `admin` with a password, signed in."""
        self._count += 1
        email = email or f"member{self._count}@example.com"
        response = await self.client.post(
            f"/api/v1/academies/{slug}/members",
            json={
                "email": email,
                "name": name or f"Member {self._count}",
                "roles": list(roles),
                "password": PASSWORD,
            },
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        return Person(id=response.json()["user_id"], email=email, token=await self.login(email))

    async def api_key(self, slug: str, admin: Person, *roles: str) -> str:
        response = await self.client.post(
            f"/api/v1/academies/{slug}/api-keys",
            json={"name": "integration", "roles": list(roles) or ["admin"]},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Asserts the error shape, status and code; returns the `error` object."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, response.text
    return error


def error_fields(response: httpx.Response) -> set[str]:
    """The fields named by a 422 answer's details."""
    error = assert_error(response, 422, "validation_error")
    return {detail["field"] for detail in error["details"]}
