"""Signing in and out, languages and directions, CSRF, and errors on the pages."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.api import PASSWORD, Api
from tests.web.conftest import Pages


async def test_signing_in_leads_to_the_role_page_and_out_again(api: Api, pages: Pages) -> None:
    admin = await api.academy("noor", default_locale="en")  # members speak English
    teacher = await api.member("noor", admin, "teacher", email="t@example.com")
    page = await pages.anonymous()
    await page.goto("/")
    await expect(page).to_have_url(f"{pages.base_url}/login")
    await page.get_by_label("Email").fill(teacher.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{pages.base_url}/a/noor/teach")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{pages.base_url}/login")
    await page.goto("/a/noor/teach")
    await expect(page).to_have_url(f"{pages.base_url}/login?next=/a/noor/teach")


async def test_a_wrong_password_is_said_next_to_the_form_in_arabic(api: Api, pages: Pages) -> None:
    await api.academy("noor")
    page = await pages.anonymous(locale="ar")
    await page.goto("/login")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.evaluate("document.documentElement.lang") == "ar"
    await page.locator("#f-email").fill("nobody@example.com")
    await page.locator("#f-password").fill("wrong-password")
    await page.locator("button[type=submit].primary").click()
    wrong = "البريد الإلكتروني أو كلمة المرور غير صحيحة."
    await expect(page.locator("#form-error")).to_have_text(wrong)
    await page.locator("#f-email").fill("")
    await page.locator("button[type=submit].primary").click()
    await expect(page.locator("#e-email")).to_have_text("هذا الحقل مطلوب.")
    assert await page.locator("#f-email").get_attribute("aria-invalid") == "true"


async def test_a_form_without_its_csrf_token_is_refused(api: Api, live_url: str) -> None:
    admin = await api.academy("noor")
    async with httpx.AsyncClient(base_url=live_url) as browser_like:
        browser_like.cookies.set("halaqa_session", admin.token)
        response = await browser_like.post("/logout")
        assert response.status_code == 403
        assert "The form expired" in response.text
        # The API refuses the cookie without the token too: another site cannot use it.
        response = await browser_like.post("/api/v1/auth/logout")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
        # With a bearer token nothing changes for API clients.
        response = await browser_like.get("/api/v1/me", headers=admin.headers)
        assert response.status_code == 200


async def test_an_unknown_page_says_so_in_the_visitors_language(api: Api, pages: Pages) -> None:
    page = await pages.anonymous(locale="ar")
    response = await page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await expect(page.get_by_role("alert")).to_be_visible()


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        ("admin", "/admin"),
        ("supervisor", "/admin"),
        ("teacher", "/teach"),
        ("student", "/learn"),
        ("parent", "/family"),
    ],
)
async def test_each_role_signs_in_with_the_keyboard_alone_and_lands_on_its_page(
    api: Api, pages: Pages, role: str, lands_on: str
) -> None:
    admin = await api.academy("noor", default_locale="en")
    person = await api.member("noor", admin, role, email=f"{role}@example.com")
    page = await pages.anonymous()
    await page.goto("/login")
    # The email field has the focus when the page opens; the browser applies autofocus on its
    # next rendering step, after the load event, so wait for it before typing.
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(person.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{pages.base_url}/a/noor{lands_on}")
    await expect(page.locator("h1")).to_be_visible()
    assert await page.evaluate("document.documentElement.dir") == "ltr"


async def test_an_invited_member_chooses_a_password_and_is_signed_in(
    api: Api, pages: Pages
) -> None:
    admin = await api.academy("noor", default_locale="en")
    response = await api.client.post(
        "/api/v1/academies/noor/members",
        json={"email": "new@example.com", "name": "New Teacher", "roles": ["teacher"]},
        headers=admin.headers,
    )
    token = response.json()["invitation"]["token"]
    page = await pages.anonymous()
    await page.goto(f"/invitation?token={token}")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Choose my password").click()
    await expect(page.locator("#e-password")).to_be_visible()
    await page.get_by_label("Invitation").fill("hqi_not-a-real-one")
    await page.get_by_label("Password").fill("a-long-enough-password")
    await page.get_by_role("button", name="Choose my password").click()
    await expect(page.locator("#form-error")).to_contain_text("This invitation is not valid")
    await page.get_by_label("Invitation").fill(token)
    await page.get_by_label("Password").fill("a-long-enough-password")
    await page.get_by_role("button", name="Choose my password").click()
    await expect(page).to_have_url(f"{pages.base_url}/a/noor/teach")
    # Used once: it does not work again.
    again = await pages.anonymous()
    await again.goto(f"/invitation?token={token}")
    await again.get_by_label("Password").fill("another-long-password")
    await again.get_by_role("button", name="Choose my password").click()
    await expect(again.locator("#form-error")).to_contain_text("This invitation is not valid")
