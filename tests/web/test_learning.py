"""The student's pages in a real browser: the Join button at exactly the right moment (on a
phone too), past classes with attendance, report and the term's picture, the package balance
after a class was charged, absence requests approved by the teacher, and Arabic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from playwright.async_api import expect

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person
from tests.attendance.test_finalisation import beat, book, finalised
from tests.catalog.school import SLUG, School, ok, school
from tests.catalog.subscribing import new_package, subscription
from tests.meetings.test_livekit import SESSIONS
from tests.web.conftest import Pages

ACADEMY_PAGES = f"/a/{SLUG}"
REPORT = {
    "quran": {
        "memorisation": [{"from_surah": 67, "from_ayah": 1, "to_surah": 67, "to_ayah": 30}],
        "recitation_grade": 8,
    },
    "teacher_notes": "Fluent, mind the madd.",
}


async def speaks_english(api: Api, *people: Person) -> None:
    """Members get the academy's language (Arabic); these people chose English."""
    for person in people:
        ok(await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=person.headers))


async def as_seen_by(api: Api, who: Person, session_id: int) -> dict[str, Any]:
    return ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=who.headers))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def held_class(
    api: Api, app: FastAPI, clock: FrozenClock, s: School, *, report: bool = True
) -> int:
    """A class tomorrow that the teacher and the student both attended throughout, with the
    teacher's report, finalised by the worker (and charged, if the student has a package)."""
    session_id: int = (await book(api, s))["id"]
    path = f"{SESSIONS}/{session_id}"
    await beat(api, clock, path, s.teacher, 0, 15, 30, 45, 60)
    await beat(api, clock, path, s.students[0], 0, 15, 30, 45, 60)
    if report:
        ok(
            await api.client.put(
                f"{path}/reports/{s.students[0].id}", json=REPORT, headers=s.teacher.headers
            )
        )
    await finalised(app, clock)
    return session_id


async def test_the_join_button_appears_exactly_when_joining_opens(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks_english(api, student)
    session_id = (await book(api, s))["id"]
    join = (await as_seen_by(api, student, session_id))["join"]
    opens_at, closes_at = instant(join["opens_at"]), instant(join["closes_at"])
    page = await pages.signed_in(student)
    item = page.locator(f"#class-{session_id}")
    join_button = item.get_by_role("link", name="Join", exact=True)

    await page.goto(f"{ACADEMY_PAGES}/learn")  # a day before: the countdown, no button
    await expect(item.locator(".countdown")).to_contain_text("Joining opens at")
    await expect(join_button).to_have_count(0)

    clock.set(opens_at - timedelta(seconds=1))
    await page.reload()
    await expect(item.locator(".countdown")).to_be_visible()
    await expect(join_button).to_have_count(0)

    clock.set(opens_at)
    await page.reload()
    await expect(join_button).to_be_visible()
    classroom = f"{ACADEMY_PAGES}/sessions/{session_id}/classroom"
    await expect(join_button).to_have_attribute("href", classroom)
    await expect(item.get_by_role("link", name="Hifz")).to_have_attribute(
        "href", f"{ACADEMY_PAGES}/sessions/{session_id}"
    )

    clock.set(closes_at)
    await page.reload()
    await expect(join_button).to_have_count(0)
    await expect(item.locator(".join-refused")).to_have_text("This class has ended.")


async def test_a_student_on_a_phone_joins_without_the_page_overflowing(
    api: Api, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks_english(api, student)
    session_id = (await book(api, s))["id"]
    page = await pages.signed_in(student, phone=True)
    await page.goto(f"{ACADEMY_PAGES}/learn")
    item = page.locator(f"#class-{session_id}")
    await expect(item.locator(".countdown")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    clock.set(instant((await as_seen_by(api, student, session_id))["join"]["opens_at"]))
    await page.reload()
    await expect(item.get_by_role("link", name="Join", exact=True)).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_past_classes_show_attendance_the_report_and_the_term(
    api: Api, app: FastAPI, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await speaks_english(api, s.students[0])
    session_id = await held_class(api, app, clock, s)
    page = await pages.signed_in(s.students[0])
    await page.goto(f"{ACADEMY_PAGES}/learn/history")
    past = page.locator(f"#past-{session_id}")
    await expect(past.locator(".attendance .badge")).to_have_text("Present")
    report = past.locator(".report")
    await expect(report).to_contain_text("Al-Mulk 1 – Al-Mulk 30")
    await expect(report).to_contain_text("8 out of 10")
    await expect(report).to_contain_text("Fluent, mind the madd.")
    await expect(page.locator(".summary")).to_contain_text("Classes held: 1 · attended: 1")
    chart = page.get_by_role("img", name="Attendance from")
    await expect(chart.locator("circle.mark[data-outcome=present]")).to_have_count(1)
    await expect(chart.locator("desc")).to_have_text("Present: 1")

    # A period without the class: nothing listed, no picture; a period the wrong way round is
    # said next to its field.
    await page.get_by_label("From", exact=True).fill("2026-01-01")
    await page.get_by_label("To", exact=True).fill("2026-01-31")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_text("No classes in this period.")).to_be_visible()
    await expect(page.get_by_role("img", name="Attendance from")).to_have_count(0)
    response = await page.goto(f"{ACADEMY_PAGES}/learn/history?from=2026-03-02&to=2026-02-01")
    assert response is not None
    assert response.status == 422
    await expect(page.locator("#e-to")).to_have_text("The last day comes before the first.")
    await expect(past).to_be_visible()  # the default period is shown meanwhile


async def test_the_balance_shows_the_sessions_left_once_a_class_was_charged(
    api: Api, app: FastAPI, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await speaks_english(api, s.students[0])
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    session_id = await held_class(api, app, clock, s, report=False)
    page = await pages.signed_in(s.students[0])
    await page.goto(f"{ACADEMY_PAGES}/learn/balance")
    card = page.locator(f"#package-{made['id']}")
    await expect(card.locator(".sessions-left")).to_have_text("Sessions left this cycle: 7 of 8")
    row = card.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Session used")
    await expect(row).to_contain_text("Present")
    await expect(row.get_by_role("link", name="Hifz")).to_have_attribute(
        "href", f"{ACADEMY_PAGES}/sessions/{session_id}"
    )
    await expect(card.get_by_role("status")).to_have_count(0)  # 7 left: not low
    await page.goto(f"{ACADEMY_PAGES}/learn")
    await expect(page.locator(f"#balance-{made['id']} .sessions-left")).to_have_text(
        "Sessions left this cycle: 7 of 8"
    )


async def test_the_student_is_warned_when_few_sessions_are_left(
    api: Api, app: FastAPI, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await speaks_english(api, s.students[0])
    package = await new_package(api, s.admin, name="Tajwid, 2 a month", sessions_per_cycle=2)
    made = await subscription(api, s, package)
    await held_class(api, app, clock, s, report=False)
    page = await pages.signed_in(s.students[0])
    await page.goto(f"{ACADEMY_PAGES}/learn")
    summary = page.locator(f"#balance-{made['id']}")
    await expect(summary.locator(".sessions-left")).to_have_text("Sessions left this cycle: 1 of 2")
    await expect(summary.get_by_role("status")).to_have_text(
        "Few sessions are left in this cycle. Ask the academy about renewing the package."
    )
    await summary.get_by_role("link", name="Package details").click()
    await expect(page.locator(f"#package-{made['id']}").get_by_role("status")).to_be_visible()


async def test_an_absence_request_is_sent_and_the_teacher_approves_it(
    api: Api, pages: Pages
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks_english(api, student, s.teacher)
    session_id = (await book(api, s))["id"]
    page = await pages.signed_in(student)
    await page.goto(f"{ACADEMY_PAGES}/absence-requests")
    await page.get_by_label("Class", exact=True).select_option(str(session_id))
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.locator("#e-reason")).to_have_text("This field is required.")
    await page.get_by_label("Reason", exact=True).fill("A family wedding")
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your request was sent. The teacher will decide on it."
    )
    [made] = ok_list(
        await api.client.get(f"/api/v1/academies/{SLUG}/absence-requests", headers=s.admin.headers)
    )
    card = page.locator(f"#request-{made['id']}")
    await expect(card.locator("[data-status]")).to_have_text("Waiting for a decision")
    await expect(card.get_by_role("button", name="Approve")).to_have_count(0)

    # Asking twice for the same class is refused next to the class.
    await page.get_by_label("Class", exact=True).select_option(str(session_id))
    await page.get_by_label("Reason", exact=True).fill("Still the wedding")
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.locator("#e-session_id")).to_have_text(
        "You have already asked to be excused from this class."
    )

    teacher = await pages.signed_in(s.teacher)
    await teacher.goto(f"{ACADEMY_PAGES}/absence-requests")
    card = teacher.locator(f"#request-{made['id']}")
    await expect(card).to_contain_text("A family wedding")
    await card.get_by_label("Note (optional)").fill("Enjoy it")
    await card.get_by_role("button", name="Approve").click()
    await expect(teacher.get_by_role("status")).to_have_text(
        "The request was approved: the student is excused from the class."
    )
    await expect(card.locator("[data-status]")).to_have_text("Approved")
    found = ok_list(
        await api.client.get(f"/api/v1/academies/{SLUG}/absence-requests", headers=s.admin.headers)
    )
    assert [(r["status"], r["decision_note"]) for r in found] == [("approved", "Enjoy it")]
    attendance = ok(
        await api.client.get(f"{SESSIONS}/{session_id}/attendance", headers=s.admin.headers)
    )
    assert [(o["status"], o["absence_request_id"]) for o in attendance["overrides"]] == [
        ("excused", made["id"])
    ]


async def test_a_pending_request_is_withdrawn_by_the_student(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks_english(api, student)
    session_id = (await book(api, s))["id"]
    body = {"reason": "Exams"}
    made = ok(
        await api.client.post(
            f"{SESSIONS}/{session_id}/absence-requests", json=body, headers=student.headers
        ),
        201,
    )
    page = await pages.signed_in(student)
    await page.goto(f"{ACADEMY_PAGES}/absence-requests")
    card = page.locator(f"#request-{made['id']}")
    await card.get_by_role("button", name="Withdraw").click()
    await expect(page.get_by_role("status")).to_have_text("The request was withdrawn.")
    await expect(card.locator("[data-status]")).to_have_text("Withdrawn")
    await expect(card.get_by_role("button", name="Withdraw")).to_have_count(0)


async def test_an_arabic_student_reads_the_page_right_to_left(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)  # members speak the academy's language: Arabic
    session_id = (await book(api, s))["id"]
    page = await pages.signed_in(s.students[0])
    await page.goto(f"{ACADEMY_PAGES}/learn")
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    assert await page.evaluate("document.documentElement.lang") == "ar"
    await expect(page.locator("h1")).to_have_text("حصصي")
    await expect(page.locator("#classes-heading")).to_have_text("اليوم والقادمة")
    await expect(page.locator(f"#class-{session_id} .badge")).to_have_text("مجدولة")
    await expect(page.locator(f"#class-{session_id} .countdown")).to_contain_text(
        "يُفتح الانضمام الساعة"
    )
    await page.goto(f"{ACADEMY_PAGES}/absence-requests")
    await expect(page.locator("#ask-heading")).to_have_text("طلب الاعتذار عن حصة")


def ok_list(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found
