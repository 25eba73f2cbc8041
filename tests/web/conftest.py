"""Browser tests: the app served over a real socket in the test's own event loop (so the tests
still move its clock and seed it through the services), and Debian's Chromium driven by
Playwright with fake camera and microphone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from halaqa.academies.auth import SESSION_COOKIE
from tests.api import Person

CHROMIUM = "/usr/bin/chromium"
FAKE_MEDIA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
# Playwright waits this long for an element before a test fails (the machine is shared and slow).
TIMEOUT_MS = 15_000


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The pages call the services the API tests already run on both databases; the browser
    tests run on the embedded one (test_backends.py covers PostgreSQL through the pages)."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FAKE_MEDIA)
        yield launched
        await launched.close()


@dataclass
class Pages:
    """Opens browser tabs on the live server, signed in as someone or not."""

    browser: Browser
    base_url: str

    async def context(self, locale: str = "en-GB") -> BrowserContext:
        context = await self.browser.new_context(
            base_url=self.base_url,
            locale=locale,
            viewport={"width": 1280, "height": 900},
            permissions=["camera", "microphone"],
        )
        context.set_default_timeout(TIMEOUT_MS)
        return context

    async def anonymous(self, locale: str = "en-GB") -> Page:
        return await (await self.context(locale)).new_page()

    async def signed_in(self, person: Person, *, phone: bool = False) -> Page:
        """A tab with the person's login token in the session cookie, as after signing in."""
        context = await self.context()
        if phone:
            await context.close()
            context = await self.browser.new_context(
                base_url=self.base_url, viewport={"width": 390, "height": 844}, is_mobile=True
            )
            context.set_default_timeout(TIMEOUT_MS)
        await context.add_cookies(
            [{"name": SESSION_COOKIE, "value": person.token, "url": self.base_url}]
        )
        return await context.new_page()


@pytest.fixture
async def pages(browser: Browser, live_url: str) -> AsyncIterator[Pages]:
    yield Pages(browser, live_url)
    # Tabs closed before the server stops: a page's open event stream would keep it waiting.
    for context in browser.contexts:
        await context.close()
