"""The parent's pages in a real browser: their children with each one's next classes, a child's
attendance history, picture of the term and reports, and never another family's child."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import expect

from halaqa.kit.clock import FrozenClock
from tests.api import Api
from tests.attendance.test_finalisation import book
from tests.catalog.school import school
from tests.web.conftest import Pages
from tests.web.test_learning import ACADEMY_PAGES, held_class, speaks_english


async def test_a_parent_sees_their_child_and_not_another(
    api: Api, app: FastAPI, pages: Pages, clock: FrozenClock
) -> None:
    s = await school(api, students=2)  # the parent is linked to the first student only
    child, other = s.students
    await speaks_english(api, s.parent)
    held = await held_class(api, app, clock, s)
    coming = (await book(api, s, starts_at=clock.now().replace(hour=15).isoformat()))["id"]
    page = await pages.signed_in(s.parent)

    await page.goto(f"{ACADEMY_PAGES}/family")
    family = page.locator(f"#child-{child.id}")
    await expect(family.get_by_role("heading", name="Student 0")).to_be_visible()
    await expect(family.locator(f"#class-{coming}")).to_contain_text("Hifz")
    await expect(page.locator(f"#child-{other.id}")).to_have_count(0)
    await expect(page.get_by_text("Student 1")).to_have_count(0)

    await family.get_by_role("link", name="Student 0", exact=True).click()
    await expect(page).to_have_url(f"{pages.base_url}{ACADEMY_PAGES}/family/{child.id}")
    await expect(page.locator("h1")).to_have_text("Student 0")
    await expect(page.locator(f"#class-{coming}")).to_be_visible()
    past = page.locator(f"#past-{held}")
    await expect(past.locator(".attendance .badge")).to_have_text("Present")
    await expect(past.locator(".report")).to_contain_text("Fluent, mind the madd.")
    chart = page.get_by_role("img", name="Attendance from")
    await expect(chart.locator("circle.mark[data-outcome=present]")).to_have_count(1)

    response = await page.goto(f"{ACADEMY_PAGES}/family/{other.id}")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("alert")).to_have_text(
        "This page does not exist, or you have no access to it."
    )
    await expect(page.get_by_text("Student 1")).to_have_count(0)


async def test_a_parent_asks_for_their_child_to_be_excused(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)
    await speaks_english(api, s.parent)
    session_id = (await book(api, s))["id"]
    page = await pages.signed_in(s.parent)
    await page.goto(f"{ACADEMY_PAGES}/absence-requests")
    await page.get_by_label("Who will be away").select_option(str(s.students[0].id))
    await page.get_by_label("Class", exact=True).select_option(str(session_id))
    await page.get_by_label("Reason", exact=True).fill("A doctor's appointment")
    await page.get_by_role("button", name="Send the request").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your request was sent. The teacher will decide on it."
    )
    card = page.locator(".requests > li")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("Student 0")
    await expect(card.locator("[data-status]")).to_have_text("Waiting for a decision")


async def test_a_student_is_not_a_parent(api: Api, pages: Pages) -> None:
    s = await school(api, students=1)
    await speaks_english(api, s.students[0])
    page = await pages.signed_in(s.students[0])
    response = await page.goto(f"{ACADEMY_PAGES}/family")
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("alert")).to_have_text(
        "Your role in this academy does not allow this."
    )
