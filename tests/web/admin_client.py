"""The admin pages without a browser: requests sent as a signed-in browser sends them (the
session cookie, and the CSRF token in each form), for checks a browser would only slow down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from halaqa.academies.auth import CSRF_FIELD, SESSION_COOKIE
from halaqa.academies.security import csrf_token
from tests.api import Api, Person


class PageClient:
    def __init__(self, http: httpx.AsyncClient, slug: str, csrf: str) -> None:
        self.http = http
        self.slug = slug
        self.csrf = csrf

    def url(self, path: str) -> str:
        return f"/a/{self.slug}{path}"

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(self.url(path), params=params)

    async def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """A form posted with its CSRF token; a list value is a field sent several times."""
        return await self.http.post(self.url(path), data={CSRF_FIELD: self.csrf, **(data or {})})


@asynccontextmanager
async def page_client(api: Api, person: Person, slug: str) -> AsyncIterator[PageClient]:
    app: FastAPI = api.app
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50001))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://halaqa.test",
        cookies={SESSION_COOKIE: person.token},
    ) as http:
        yield PageClient(http, slug, csrf_token(person.token, app.state.secret))


async def speak_english(api: Api, person: Person) -> None:
    """New users speak Arabic (the default); English pages read easier in assertions."""
    response = await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=person.headers)
    assert response.status_code == 200, response.text
