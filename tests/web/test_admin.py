"""The admin and supervisor pages in a real browser: settings saved and refused, a member added,
a group created and a student enrolled, who may open what, the settings form by keyboard alone,
and the weekly attendance chart."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import Page, expect

from halaqa.kit.clock import FrozenClock
from tests.api import PASSWORD, Api, Person
from tests.catalog.school import SLUG, school
from tests.reports.classes import term
from tests.web.admin_client import speak_english
from tests.web.conftest import Pages

SETTINGS = f"/api/v1/academies/{SLUG}/settings"
# Tabs pressed at most while looking for a control (the header's links and the earlier fields).
MAX_TABS = 120


async def _settings(api: Api, admin: Person) -> dict[str, object]:
    response = await api.client.get(SETTINGS, headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_an_admin_signs_in_and_changes_a_setting(api: Api, pages: Pages) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    page = await pages.anonymous()
    await page.goto(f"/a/{SLUG}/admin/settings")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{pages.base_url}/a/{SLUG}/admin/settings")
    late = page.get_by_label("Minutes after the start a student is late")
    await expect(late).to_have_value("10")
    await expect(page.locator("#h-late_after_minutes")).to_have_text("Default: 10")
    await late.fill("12")
    await page.get_by_role("button", name="Save the settings").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(late).to_have_value("12")
    body = await _settings(api, admin)
    assert body["settings"]["late_after_minutes"] == 12  # type: ignore[index]
    assert body["overridden"] == ["late_after_minutes"]


async def test_a_wrong_value_is_said_next_to_its_field_in_arabic_and_nothing_is_saved(
    api: Api, pages: Pages
) -> None:
    admin = await api.academy(SLUG)  # a new user speaks Arabic
    page = await pages.signed_in(admin)
    await page.goto(f"/a/{SLUG}/admin/settings")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await page.locator("#f-partial_percent").fill("150")
    await page.locator("#f-late_after_minutes").fill("12")
    await page.locator("#settings-form button[type=submit]").click()
    await expect(page.locator("#e-partial_percent")).to_have_text("أدخل رقمًا لا يزيد على 100.")
    await expect(page.locator("#f-partial_percent")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-partial_percent")).to_have_value("150")
    # A rule across two settings is said next to the one to change, in Arabic too.
    await page.locator("#f-partial_percent").fill("85")
    await page.locator("#settings-form button[type=submit]").click()
    await expect(page.locator("#e-partial_percent")).to_have_text(
        "يجب ألا تزيد على النسبة التي يُعد الطالب ابتداءً منها حاضرًا."
    )
    body = await _settings(api, admin)
    assert body["overridden"] == []  # the valid change made with it was not saved either


async def test_an_admin_adds_a_member_who_then_appears(api: Api, pages: Pages) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    page = await pages.signed_in(admin)
    await page.goto(f"/a/{SLUG}/admin/people")
    form = page.locator("form", has=page.get_by_role("button", name="Add the member"))
    await form.get_by_label("Name").fill("Maryam Teacher")
    await form.get_by_label("Email").fill("maryam@example.com")
    await form.get_by_label("Password").fill("a-good-long-password")
    await form.get_by_label("Teacher").check()
    await form.get_by_role("button", name="Add the member").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.locator("#members tr", has_text="maryam@example.com")
    await expect(row).to_contain_text("Maryam Teacher")
    await expect(row).to_contain_text("Teacher")
    # Without a password, an invitation is shown once.
    await form.get_by_label("Name").fill("Invited Student")
    await form.get_by_label("Email").fill("invited@example.com")
    await form.get_by_label("Student").check()
    await form.get_by_role("button", name="Add the member").click()
    await expect(page.locator("#invitation code")).to_contain_text("hqi_")
    await expect(page.locator("#members tr", has_text="invited@example.com")).to_contain_text(
        "Invitation pending"
    )


async def test_an_admin_creates_a_group_and_enrolls_a_student(api: Api, pages: Pages) -> None:
    s = await school(api)
    await speak_english(api, s.admin)
    page = await pages.signed_in(s.admin)
    await page.goto(f"/a/{SLUG}/admin/groups")
    await page.locator("#f-kind").select_option("circle")
    await page.locator("#f-name").fill("Hifz circle")
    await page.locator("#f-teacher_user_id").select_option(str(s.teacher.id))
    await page.get_by_role("button", name="Create the group").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hifz circle")
    await expect(page.locator("#group-status")).to_have_text("Active")
    await page.locator("#f-student_user_id").select_option(str(s.students[1].id))
    await page.get_by_role("button", name="Enroll", exact=True).click()
    row = page.locator("#enrollments tr", has_text="Student 1")
    await expect(row).to_contain_text("Enrolled")
    groups = await api.client.get(f"/api/v1/academies/{SLUG}/groups", headers=s.admin.headers)
    [group] = groups.json()["items"]
    assert (group["name"], group["enrolled"]) == ("Hifz circle", 1)
    # Enrolling the same student again is refused next to the form, and nothing changes.
    await page.locator("#f-student_user_id").select_option(str(s.students[1].id))
    await page.get_by_role("button", name="Enroll", exact=True).click()
    await expect(page.locator("#form-error")).to_be_visible()
    groups = await api.client.get(f"/api/v1/academies/{SLUG}/groups", headers=s.admin.headers)
    assert groups.json()["items"][0]["enrolled"] == 1


async def _error_page(page: Page, path: str, status: int) -> None:
    response = await page.goto(path)
    assert response is not None
    assert response.status == status
    await expect(page.get_by_role("heading", level=1)).to_have_text("Something is not right")


async def test_a_supervisor_sees_what_the_api_shows_them_and_no_more(
    api: Api, pages: Pages
) -> None:
    s = await school(api)
    await speak_english(api, s.supervisor)
    page = await pages.signed_in(s.supervisor)
    await page.goto(f"/a/{SLUG}/admin/people")
    await expect(page.locator("#members")).to_contain_text("Teacher")
    # Supervisors see the people but only admins add them (POST /members is admin-only).
    await expect(page.get_by_role("button", name="Add the member")).to_have_count(0)
    await page.goto(f"/a/{SLUG}/admin/groups")
    await expect(page.get_by_role("button", name="Create the group")).to_be_visible()
    for path in ("/admin/settings", "/admin/meetings", "/admin/audit"):
        await _error_page(page, f"/a/{SLUG}{path}", 403)
        await expect(page.get_by_role("alert")).to_have_text(
            "Your role in this academy does not allow this."
        )


async def test_a_teacher_gets_the_error_page_for_the_admin_pages(api: Api, pages: Pages) -> None:
    s = await school(api)
    await speak_english(api, s.teacher)
    page = await pages.signed_in(s.teacher)
    await _error_page(page, f"/a/{SLUG}/admin", 403)


async def _tab_to(page: Page, selector: str) -> None:
    """Presses Tab until the element matching `selector` has the focus."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} was never reached with Tab")


async def test_the_settings_form_by_keyboard_alone(api: Api, pages: Pages) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    page = await pages.signed_in(admin)
    await page.goto(f"/a/{SLUG}/admin/settings")
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "[document.activeElement.className, document.activeElement.textContent]"
    )
    assert focused == ["skip-link", "Skip to content"]
    await _tab_to(page, "#f-late_after_minutes")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("14")
    await _tab_to(page, "#settings-form button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    body = await _settings(api, admin)
    assert body["settings"]["late_after_minutes"] == 14  # type: ignore[index]


async def test_the_weekly_chart_has_a_bar_for_each_week(
    api: Api, app: FastAPI, clock: FrozenClock, pages: Pages
) -> None:
    s = await school(api)
    await term(api, app, clock, s)  # four classes held 2–4 March 2026: 4 of 10 attended
    await speak_english(api, s.admin)
    page = await pages.signed_in(s.admin)
    await page.goto(f"/a/{SLUG}/admin")
    chart = page.locator("svg.weekly-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("rect.bar")).to_have_count(8)
    await expect(chart.locator("title").first).to_have_text("Attendance rate by week")
    week = chart.locator('g[data-week="2026-03-02"]')
    await expect(week).to_contain_text("40%")
    await expect(week.locator("title")).to_contain_text("4 of 10 attended")
    earlier = chart.locator('g[data-week="2026-02-23"] rect.bar')
    assert await earlier.get_attribute("height") == "0.0"
    # Left to right in English: the latest week is the right-most bar.
    lefts = [
        float(x or 0)
        for x in await chart.locator("rect.bar").evaluate_all(
            "bars => bars.map(b => b.getAttribute('x'))"
        )
    ]
    assert lefts == sorted(lefts)
