"""The bell and its page, choosing what one receives, and one's calendar address."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import expect

from tests.api import Api
from tests.catalog.school import SLUG, ok, school
from tests.notifications.test_notifications import tick
from tests.web.conftest import Pages


async def test_the_bell_counts_what_is_unread_and_its_page_marks_it_read(
    api: Api, app: FastAPI, pages: Pages
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=student.headers)
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": student.id,
        "starts_at": "2026-03-03T15:00:00+00:00",
        "duration_minutes": 45,
    }
    session = ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/sessions", json=body, headers=s.admin.headers
        ),
        201,
    )
    await tick(app)
    page = await pages.signed_in(student)
    await page.goto("/account")
    bell = page.locator("#bell")
    await expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread")
    await bell.click()
    item = page.locator("li.unread").first
    await expect(item.get_by_role("heading")).to_contain_text("New class: Tajweed")
    await expect(item.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"http://127.0.0.1:8000/a/{SLUG}/sessions/{session['id']}"
    )
    await item.get_by_role("button", name="Mark as read").click()
    await expect(page.locator("li.unread")).to_have_count(0)
    await expect(page.locator("#bell")).to_have_attribute("aria-label", "Notifications: 0 unread")


async def test_a_user_chooses_what_comes_by_email(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=student.headers)
    page = await pages.signed_in(student)
    await page.goto("/notifications/settings")
    await page.get_by_label("Reminders before a class — By email").uncheck()
    await page.get_by_label("A class is moved — In Halaqa").uncheck()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    chosen = ok(await api.client.get("/api/v1/me/notification-settings", headers=student.headers))
    by_kind = {k["kind"]: (k["in_app"], k["email"]) for k in chosen["kinds"]}
    assert by_kind["reminder"] == (True, False)
    assert by_kind["session_rescheduled"] == (False, True)
    assert by_kind["session_cancelled"] == (True, True)
    await expect(page.get_by_label("Reminders before a class — By email")).not_to_be_checked()


async def test_a_calendar_address_is_shown_once_and_can_be_stopped(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=student.headers)
    page = await pages.signed_in(student)
    await page.goto("/account")
    await page.get_by_role("button", name="Make my calendar address").click()
    url = await page.locator("#calendar-url").input_value()
    path = url.replace("http://127.0.0.1:8000", "")
    feed = await api.client.get(path)
    assert feed.status_code == 200
    assert feed.text.startswith("BEGIN:VCALENDAR")
    await page.goto("/account")
    await page.get_by_role("button", name="Stop my calendar address").click()
    await expect(page.get_by_role("status")).to_have_text("Your calendar address no longer works.")
    assert (await api.client.get(path)).status_code == 404
