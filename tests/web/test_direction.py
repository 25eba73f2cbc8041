"""Arabic pages lay out right to left, English pages left to right: in the DOM, and in pixels."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from tests.api import Api
from tests.web.conftest import Pages


async def _ink_centre(page: Page, selector: str) -> float:
    """Where the text of an element sits across its box: 0 is the left edge, 1 the right."""
    picture = Image.open(io.BytesIO(await page.locator(selector).screenshot())).convert("L")
    width, height = picture.size
    pixels = picture.load()
    assert pixels is not None
    inked = [x for x in range(width) for y in range(height) if int(pixels[x, y]) < 128]  # type: ignore[arg-type]
    assert inked, "the element shows no text"
    return sum(inked) / len(inked) / width


@pytest.mark.parametrize(
    ("locale", "direction", "heading"),
    [("ar", "rtl", "تسجيل الدخول"), ("en-GB", "ltr", "Sign in")],
)
async def test_the_sign_in_page_follows_the_languages_direction(
    api: Api, pages: Pages, locale: str, direction: str, heading: str
) -> None:
    page = await pages.anonymous(locale=locale)
    await page.goto("/login")
    assert await page.evaluate("document.documentElement.dir") == direction
    assert await page.locator("h1").inner_text() == heading
    assert await page.evaluate("getComputedStyle(document.body).direction") == direction
    centre = await _ink_centre(page, "h1")
    if direction == "rtl":
        assert centre > 0.6
    else:
        assert centre < 0.4


async def test_a_users_language_choice_is_kept_on_their_account(api: Api, pages: Pages) -> None:
    admin = await api.academy("noor")  # new users speak Arabic until they choose otherwise
    page = await pages.signed_in(admin)
    await page.goto("/account")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await page.locator("#f-locale").select_option("en")
    await page.locator("button[type=submit].primary").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    me = await api.client.get("/api/v1/me", headers=admin.headers)
    assert me.json()["locale"] == "en"
    # The header's switch goes back to Arabic, kept on the account as well.
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    me = await api.client.get("/api/v1/me", headers=admin.headers)
    assert me.json()["locale"] == "ar"
