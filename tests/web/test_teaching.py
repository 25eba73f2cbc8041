"""The teacher's pages in a real browser: today and this week, scheduling a session through the
form (errors next to the field, in the teacher's language), and planning an owed make-up."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import expect

from halaqa.kit.clock import FrozenClock
from halaqa.web.i18n import translations
from tests.api import Api
from tests.catalog.school import SLUG, School, ok
from tests.catalog.subscribing import new_package, subscription
from tests.conftest import START
from tests.web.conftest import Pages
from tests.web.test_session_page import SESSIONS, lesson, people, speaks

NEW = f"/a/{SLUG}/sessions/new"


async def taught(api: Api, s: School, **package: Any) -> None:
    """Student 0 takes individual lessons with the school's teacher (so the teacher's form
    offers them)."""
    await subscription(api, s, await new_package(api, s.admin, **package))


async def sessions_of(api: Api, s: School) -> list[dict[str, Any]]:
    found = ok(await api.client.get(SESSIONS, headers=s.admin.headers, params={"per_page": 100}))
    items: list[dict[str, Any]] = found["items"]
    return items


async def test_a_teacher_schedules_a_session_through_the_form(api: Api, pages: Pages) -> None:
    s = await people(api)
    await taught(api, s)
    page = await pages.signed_in(s.teacher)
    await page.goto(f"/a/{SLUG}/teach")
    await page.get_by_role("link", name="Schedule a session").first.click()
    await expect(page).to_have_url(f"{pages.base_url}{NEW}")
    # A teacher schedules their own classes: no choice of teacher.
    await expect(page.get_by_label("Teacher", exact=True)).to_have_count(0)
    await page.get_by_label("Title").fill("Hifz: Al-Mulk")
    await page.get_by_label("Student", exact=True).select_option(label="Student 0")
    await page.get_by_label("Date").fill("2026-03-02")
    await page.get_by_label("Start time").fill("10:00")  # in the teacher's zone, Riyadh
    await page.get_by_label("Length in minutes").fill("45")
    await page.get_by_role("button", name="Schedule", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"/a/{SLUG}/sessions/\d+\?done=created$"))
    await expect(page.get_by_role("status").first).to_have_text("The session is scheduled.")
    await expect(page.get_by_role("heading", name="Hifz: Al-Mulk", level=1)).to_be_visible()
    (made,) = await sessions_of(api, s)
    assert (made["kind"], made["title"], made["duration_minutes"]) == (
        "individual",
        "Hifz: Al-Mulk",
        45,
    )
    assert (made["teacher_user_id"], made["student_user_id"]) == (s.teacher.id, s.students[0].id)
    assert made["starts_at"] == "2026-03-02T07:00:00Z"  # 10:00 in Riyadh


async def test_the_service_s_warning_shows_on_the_new_session(api: Api, pages: Pages) -> None:
    s = await people(api)
    await taught(api, s, sessions_per_cycle=1)
    await lesson(api, s, starts_at=(START + timedelta(days=1)).isoformat())
    page = await pages.signed_in(s.teacher)
    await page.goto(NEW)
    await page.get_by_label("Title").fill("One too many")
    await page.get_by_label("Student", exact=True).select_option(label="Student 0")
    await page.get_by_label("Date").fill("2026-03-03")
    await page.get_by_label("Start time").fill("10:00")
    await page.get_by_role("button", name="Schedule", exact=True).click()
    await expect(page.get_by_role("heading", name="One too many", level=1)).to_be_visible()
    await expect(page.locator(".alert.warning")).to_contain_text("no session left")
    # Said once: not again on the next look.
    await page.reload()
    await expect(page.locator(".alert.warning")).to_have_count(0)


async def test_a_bad_value_is_said_next_to_its_field_in_the_teachers_arabic(
    api: Api, pages: Pages
) -> None:
    s = await people(api)
    await taught(api, s)
    await speaks(api, s.teacher, "ar")
    page = await pages.signed_in(s.teacher)
    await page.goto(NEW)
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await page.locator("#f-title").fill("حفظ سورة الملك")
    await page.locator("#f-student_user_id").select_option(label="Student 0")
    await page.locator("#f-date").fill("2026-03-02")
    await page.locator("#f-time").fill("10:00")
    await page.locator("#f-duration_minutes").fill("0")
    await page.locator("button[type=submit].primary").click()
    arabic = translations("ar")
    at_least_one = arabic.gettext("Enter a number of at least %(ge)s.") % {"ge": 1}
    assert at_least_one != "Enter a number of at least 1."
    await expect(page.locator("#e-duration_minutes")).to_have_text(at_least_one)
    assert await page.locator("#f-duration_minutes").get_attribute("aria-invalid") == "true"
    # What was typed stays; nothing was scheduled.
    await expect(page.locator("#f-title")).to_have_value("حفظ سورة الملك")
    await expect(page.locator("#f-time")).to_have_value("10:00")
    await page.locator("#f-duration_minutes").fill("30")
    await page.locator("#f-time").fill("")
    await page.locator("button[type=submit].primary").click()
    await expect(page.locator("#e-time")).to_have_text(arabic.gettext("This field is required."))
    # A start in the past is refused by the service: said next to the date.
    await page.locator("#f-date").fill("2026-02-27")
    await page.locator("#f-time").fill("10:00")
    await page.locator("button[type=submit].primary").click()
    await expect(page.locator("#e-date")).to_have_text(arabic.gettext("must be in the future"))
    assert await sessions_of(api, s) == []


async def test_the_teacher_page_lists_today_and_later_this_week(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    wednesday = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)  # 09:00 in Riyadh
    clock.set(wednesday)

    async def book(title: str, starts_at: datetime) -> None:
        await lesson(api, s, title=title, starts_at=starts_at.isoformat())

    await book("Now-ish", wednesday + timedelta(minutes=10))
    await book("This evening", wednesday + timedelta(hours=10))
    await book("Friday", wednesday + timedelta(days=2))
    await book("Next Monday", wednesday + timedelta(days=5))
    await lesson(
        api,
        s,
        title="Someone else's",
        teacher_user_id=s.other_teacher.id,
        student_user_id=s.students[1].id,
        starts_at=(wednesday + timedelta(hours=1)).isoformat(),
    )
    page = await pages.signed_in(s.teacher)
    await page.goto(f"/a/{SLUG}/teach")
    today = page.locator("#today-sessions > li")
    await expect(today).to_have_count(2)
    await expect(today.nth(0)).to_contain_text("Now-ish")
    await expect(today.nth(0)).to_contain_text("Student 0")
    await expect(today.nth(1)).to_contain_text("This evening")
    week = page.locator("#week-sessions > li")
    await expect(week).to_have_count(1)
    await expect(week.first).to_contain_text("Friday")
    # Open now (a teacher may come in 15 minutes early): its Join button; later, a countdown.
    await expect(today.nth(0).get_by_role("link", name="Join")).to_be_visible()
    await expect(today.nth(1).get_by_role("link", name="Join")).to_have_count(0)
    await expect(today.nth(1).locator("[data-opens-at]")).to_be_visible()
    await today.nth(0).get_by_role("link", name="Now-ish").click()
    await expect(page.get_by_role("heading", name="Now-ish", level=1)).to_be_visible()


async def test_an_owed_make_up_is_planned_from_the_make_ups_page(api: Api, pages: Pages) -> None:
    s = await people(api)
    missed = await lesson(api, s, starts_at=(START + timedelta(days=2)).isoformat())
    path = f"{SESSIONS}/{missed['id']}/cancel"
    ok(await api.client.post(path, json={"reason": "Teacher ill"}, headers=s.teacher.headers))
    page = await pages.signed_in(s.teacher)
    await page.goto(f"/a/{SLUG}/teach")
    await page.get_by_role("link", name="Make-ups owed: 1").click()
    await expect(page).to_have_url(f"{pages.base_url}/a/{SLUG}/makeups")
    await expect(page.get_by_role("row", name=re.compile("Tajweed"))).to_contain_text("Teacher ill")
    await page.get_by_role("link", name="Plan the make-up").click()
    await page.get_by_label("Date").fill("2026-03-05")
    await page.get_by_label("Start time").fill("16:00")
    await page.get_by_role("button", name="Plan the make-up").click()
    await expect(page.get_by_role("status").first).to_have_text("The make-up is planned.")
    await expect(page.get_by_role("link", name="the missed session")).to_be_visible()
    owed = ok(await api.client.get(f"/api/v1/academies/{SLUG}/makeups", headers=s.admin.headers))
    (item,) = owed["items"]
    assert item["makeup"]["starts_at"] == "2026-03-05T13:00:00Z"
    await page.goto(f"/a/{SLUG}/makeups")
    await expect(page.get_by_role("link", name=re.compile("Planned for"))).to_be_visible()
