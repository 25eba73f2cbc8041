"""The session page in a real browser: what each role sees, the teacher's actions, attendance
corrections, live updates over server-sent events, reports and the presence timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Page, expect

from halaqa.kit.clock import FrozenClock
from halaqa.web.templating import clock_time
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, ok, school
from tests.conftest import START
from tests.web.conftest import Pages

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
# Ten minutes from the tests' "now": its teacher may start it at once (from 15 minutes before).
SOON = START + timedelta(minutes=10)


async def speaks(api: Api, who: Person, language: str) -> None:
    """The person's own language for the pages (members start with the academy's, Arabic)."""
    ok(await api.client.patch("/api/v1/me", json={"locale": language}, headers=who.headers))


async def people(api: Api, language: str = "en") -> School:
    s = await school(api)
    for person in (s.admin, s.teacher, s.other_teacher, *s.students, s.parent):
        await speaks(api, person, language)
    return s


async def lesson(api: Api, s: School, *, student: int = 0, **fields: Any) -> dict[str, Any]:
    """An individual lesson of the school's teacher, booked through the API."""
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": SOON.isoformat(),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def local(instant: datetime) -> str:
    """A time as an English page shows it to the school's people (in Riyadh)."""
    return clock_time(instant, "Asia/Riyadh", "en")


async def open_session(pages: Pages, who: Person, session_id: int) -> Page:
    page = await pages.signed_in(who)
    await page.goto(f"/a/{SLUG}/sessions/{session_id}")
    return page


async def attendance(api: Api, who: Person, session_id: int) -> dict[int, dict[str, Any]]:
    found = ok(await api.client.get(f"{SESSIONS}/{session_id}/attendance", headers=who.headers))
    return {r["user_id"]: r for r in found["records"]}


async def test_the_teacher_starts_and_ends_the_class_from_its_page(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    page = await open_session(pages, s.teacher, made["id"])
    await expect(page.get_by_role("heading", name="Tajweed", level=1)).to_be_visible()
    status = page.locator("#session-status .badge.status")
    await expect(status).to_have_text("Scheduled")
    await expect(page.get_by_role("link", name="Join")).to_be_visible()
    await page.get_by_role("button", name="Start the class").click()
    await expect(page.get_by_role("status").first).to_have_text("The class has started.")
    await expect(status).to_have_text("In progress")
    await expect(page.get_by_role("button", name="Start the class")).to_have_count(0)
    detail = ok(await api.client.get(f"{SESSIONS}/{made['id']}", headers=s.admin.headers))
    assert detail["status"] == "ongoing"
    # It ends once its time has begun (not before, says the lifecycle).
    await expect(page.get_by_role("button", name="End the class")).to_have_count(0)
    clock.set(SOON + timedelta(minutes=50))
    await page.reload()
    await page.get_by_role("button", name="End the class").click()
    await expect(page.get_by_role("status").first).to_have_text("The class is completed.")
    await expect(status).to_have_text("Completed")
    history = listed(
        await api.client.get(f"{SESSIONS}/{made['id']}/history", headers=s.admin.headers)
    )
    assert history[-1]["actor_user_id"] == s.teacher.id


async def test_a_refused_action_is_said_on_the_page_and_changes_nothing(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    page = await open_session(pages, s.teacher, made["id"])
    await page.locator("summary", has_text="Cancel the session").click()
    await page.locator(f"form[action$='/{made['id']}/cancel'] button").click()
    await expect(page.locator("#e-cancel_reason")).to_have_text("This field is required.")
    assert await page.locator("#f-cancel_reason").get_attribute("aria-invalid") == "true"
    # The start is refused by the lifecycle once the class's window has passed.
    clock.advance(timedelta(hours=3))
    await page.get_by_role("button", name="Start the class").click()
    await expect(page.locator("#form-error")).to_be_visible()
    await expect(page).to_have_url(f"{pages.base_url}/a/{SLUG}/sessions/{made['id']}")
    detail = ok(await api.client.get(f"{SESSIONS}/{made['id']}", headers=s.admin.headers))
    assert detail["status"] == "scheduled"


async def test_correcting_attendance_through_the_page_changes_the_record(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    clock.set(SOON + timedelta(minutes=20))
    student = s.students[0]
    assert (await attendance(api, s.admin, made["id"]))[student.id]["status"] == "absent"
    page = await open_session(pages, s.teacher, made["id"])
    row = page.locator(f"#attendance-{student.id}")
    await expect(row.locator("[data-attendance-status]")).to_have_text("Absent")
    await row.get_by_text("Correct Student 0").click()
    await row.get_by_label("Status").select_option("present")
    await row.get_by_label("Note").fill("Joined from the teacher's phone")
    await row.get_by_role("button", name="Save the correction").click()
    await expect(page.get_by_role("status").first).to_have_text("The attendance is corrected.")
    await expect(page.locator(f"#attendance-{student.id} [data-attendance-status]")).to_have_text(
        "Present"
    )
    record = (await attendance(api, s.admin, made["id"]))[student.id]
    assert (record["status"], record["status_source"]) == ("present", "teacher")
    # The teacher's own attendance is for an admin to correct: no form for it.
    await expect(page.locator(f"#attendance-{s.teacher.id} details.correction")).to_have_count(0)


async def test_the_status_changes_on_an_open_page_without_reload(api: Api, pages: Pages) -> None:
    s = await people(api)
    made = await lesson(api, s)
    page = await open_session(pages, s.students[0], made["id"])
    status = page.locator("#session-status .badge.status")
    await expect(status).to_have_text("Scheduled")
    await page.evaluate("window.notReloaded = true")
    ok(await api.client.post(f"{SESSIONS}/{made['id']}/start", json={}, headers=s.teacher.headers))
    await expect(status).to_have_text("In progress")
    assert await page.evaluate("window.notReloaded === true")
    await page.context.close()


async def test_a_student_sees_their_class_but_not_the_teachers_actions(
    api: Api, pages: Pages
) -> None:
    s = await people(api)
    made = await lesson(api, s, starts_at=(START + timedelta(days=1)).isoformat())
    student = s.students[0]
    page = await open_session(pages, student, made["id"])
    await expect(page.get_by_role("heading", name="Tajweed", level=1)).to_be_visible()
    await expect(page.locator("[data-action]")).to_have_count(0)
    for teachers_only in ("Start the class", "Move the session", "Save the correction"):
        await expect(page.get_by_text(teachers_only)).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("report", re.I))).to_have_count(0)
    # Before the class, the student may ask to be excused.
    await page.get_by_label("Why you will be away").fill("A family wedding")
    await page.get_by_role("button", name="Ask to be excused").click()
    await expect(page.get_by_role("status").first).to_have_text("Your absence request is sent.")
    requests = listed(
        await api.client.get(
            f"/api/v1/academies/{SLUG}/absence-requests",
            params={"session_id": made["id"]},
            headers=s.teacher.headers,
        )
    )
    assert [(r["student_user_id"], r["reason"], r["status"]) for r in requests] == [
        (student.id, "A family wedding", "pending")
    ]
    # The teacher approves it on the same page.
    teacher = await open_session(pages, s.teacher, made["id"])
    await teacher.get_by_role("button", name="Approve").click()
    await expect(teacher.get_by_role("status").first).to_have_text(
        "The absence request is approved."
    )
    await expect(teacher.locator("[data-request-status]")).to_have_attribute(
        "data-request-status", "approved"
    )


async def test_a_student_of_another_session_gets_the_error_page(api: Api, pages: Pages) -> None:
    s = await people(api)
    made = await lesson(api, s)
    page = await pages.signed_in(s.students[1])
    response = await page.goto(f"/a/{SLUG}/sessions/{made['id']}")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_text("Tajweed")).to_have_count(0)


async def mark(api: Api, who: Person, session_id: int, user: Person, start: int, end: int) -> None:
    """Presence marked by hand, from and to (minutes after the lesson's start)."""
    body = {
        "user_id": user.id,
        "from": (SOON + timedelta(minutes=start)).isoformat(),
        "to": (SOON + timedelta(minutes=end)).isoformat(),
        "note": "the room would not load",
    }
    path = f"{SESSIONS}/{session_id}/presence-marks"
    ok(await api.client.post(path, json=body, headers=who.headers), 201)


async def test_the_timeline_has_a_bar_per_person_with_a_gap_for_a_reconnection(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    student = s.students[0]
    clock.set(SOON + timedelta(minutes=45))
    await mark(api, s.admin, made["id"], s.teacher, 0, 40)
    await mark(api, s.teacher, made["id"], student, 2, 12)
    await mark(api, s.teacher, made["id"], student, 20, 40)  # away 8 minutes: not bridged
    page = await open_session(pages, s.teacher, made["id"])
    chart = page.locator("#timeline svg.timeline-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("g.timeline-row")).to_have_count(2)
    teacher_row = chart.locator(f"g.timeline-row[data-user-id='{s.teacher.id}']")
    student_row = chart.locator(f"g.timeline-row[data-user-id='{student.id}']")
    await expect(teacher_row.locator("rect.stay")).to_have_count(1)
    await expect(student_row.locator("rect.stay")).to_have_count(2)
    first, second = [
        {k: float(await stay.get_attribute(k) or 0) for k in ("x", "width")}
        for stay in await student_row.locator("rect.stay").all()
    ]
    assert second["x"] > first["x"] + first["width"] + 10  # the gap shows
    # When each stay began and ended is in its tooltip, in the viewer's zone.
    joined, left = (local(SOON + timedelta(minutes=m)) for m in (2, 12))
    await expect(student_row.locator("rect.stay title").first).to_have_text(
        f"Joined {joined}, left {left}"
    )
    label = await chart.get_attribute("aria-labelledby")
    assert label == "timeline-title timeline-desc"
    await expect(chart.locator("desc")).to_contain_text(f"Student 0: in from {joined} to {left}")
    # The presence list says who is in now, the timeline's people included.
    await expect(page.locator("#presence .presence-item")).to_have_count(2)


async def test_the_teacher_writes_a_report_with_errors_next_to_the_fields(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    ok(await api.client.post(f"{SESSIONS}/{made['id']}/start", json={}, headers=s.teacher.headers))
    clock.set(SOON + timedelta(minutes=30))
    student = s.students[0]
    page = await open_session(pages, s.teacher, made["id"])
    await page.get_by_role("link", name="Write the report").click()
    await expect(page.get_by_role("heading", name="Report: Student 0")).to_be_visible()
    prefix = "quran.memorisation.0."
    await page.locator(f"[id='f-{prefix}from_surah']").select_option("1")
    await page.locator(f"[id='f-{prefix}from_ayah']").fill("1")
    await page.locator(f"[id='f-{prefix}to_surah']").select_option("1")
    await page.locator(f"[id='f-{prefix}to_ayah']").fill("9")  # Al-Fatiha has 7
    await page.get_by_label("Recitation grade (0 to 10)").fill("8")
    await page.get_by_role("button", name="Save the report").click()
    error = page.locator(f"[id='e-{prefix}to_ayah']")
    await expect(error).to_be_visible()
    await expect(page.get_by_label("Recitation grade (0 to 10)")).to_have_value("8")
    await page.locator(f"[id='f-{prefix}to_ayah']").fill("7")
    await page.get_by_label("Homework for next time").fill("Revise Al-Fatiha")
    await page.get_by_role("button", name="Save the report").click()
    await expect(page.get_by_role("status").first).to_have_text("The report is saved.")
    report = page.locator(f"#report-{student.id}")
    await expect(report).to_contain_text("Al-Fatiha 1 – Al-Fatiha 7")
    found = listed(
        await api.client.get(f"{SESSIONS}/{made['id']}/reports", headers=student.headers)
    )
    assert found[0]["quran"]["recitation_grade"] == 8
    assert found[0]["quran"]["memorisation"][0]["ayahs"] == 7
    assert found[0]["homework"]["assigned"] == "Revise Al-Fatiha"


async def test_a_student_sees_their_own_bar_right_to_left_in_arabic(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await people(api)
    made = await lesson(api, s)
    student = s.students[0]
    await speaks(api, student, "ar")
    clock.set(SOON + timedelta(minutes=45))
    await mark(api, s.admin, made["id"], s.teacher, 0, 40)
    await mark(api, s.teacher, made["id"], student, 2, 12)
    await mark(api, s.teacher, made["id"], student, 20, 40)
    page = await open_session(pages, student, made["id"])
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    rows = page.locator("#timeline svg.timeline-chart g.timeline-row")
    await expect(rows).to_have_count(1)  # their own, as the attendance service shows them
    await expect(rows.first).to_have_attribute("data-user-id", str(student.id))
    earlier, later = [
        {k: float(await stay.get_attribute(k) or 0) for k in ("x", "width")}
        for stay in await rows.first.locator("rect.stay").all()
    ]
    assert earlier["x"] > later["x"] + later["width"]  # time runs from the right
    await expect(page.locator("#attendance tbody tr")).to_have_count(1)
