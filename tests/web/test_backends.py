"""The pages on PostgreSQL: signing in through the form and keeping a choice on the account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.api import PASSWORD, Api
from tests.web.conftest import Pages


@pytest.fixture(params=["postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    databases = request.getfixturevalue(f"{request.param}_databases")
    url = databases.create()
    yield url
    databases.drop(url)


async def test_signing_in_and_saving_the_account_on_postgresql(api: Api, pages: Pages) -> None:
    admin = await api.academy("noor")
    page = await pages.anonymous()
    await page.goto("/account")
    await expect(page).to_have_url(f"{pages.base_url}/login?next=/account")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{pages.base_url}/account")
    # Signed in, the page speaks the user's language (Arabic for a new user).
    await page.locator("#f-time_zone").fill("Europe/London")
    await page.locator("button[type=submit].primary").click()
    await expect(page.get_by_role("status")).to_have_text("تم الحفظ.")
    me = await api.client.get("/api/v1/me", headers=admin.headers)
    assert me.json()["time_zone"] == "Europe/London"
    await page.locator("#f-time_zone").fill("Mars/Olympus")
    await page.locator("button[type=submit].primary").click()
    await expect(page.locator("#e-time_zone")).to_be_visible()
    me = await api.client.get("/api/v1/me", headers=admin.headers)
    assert me.json()["time_zone"] == "Europe/London"
