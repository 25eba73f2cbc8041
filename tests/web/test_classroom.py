"""The classroom page in a real browser with fake camera and microphone: it asks to join, shows
a refusal in words, keeps retrying when no LiveKit server answers, shows the teacher's tools to
the teacher only, and for meeting links opens the meeting and records presence by heartbeats."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, Request, Route, expect

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, ok, school
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import room_of, tick
from tests.meetings.test_recordings import (
    PROVIDER,
    READY_AT,
    SESSIONS,
    TOMORROW,
    book,
    livekit_body,
)
from tests.web.conftest import TIMEOUT_MS, Pages

JITSI = "https://meet.example.org"
UNREACHABLE = "Video server unreachable — retrying"
UNREACHABLE_AR = "تعذّر الوصول إلى خادم الفيديو — جارٍ إعادة المحاولة"


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


def closed_port() -> int:
    """A port on which nothing listens (bound, then let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def classroom_path(session_id: int) -> str:
    return f"/a/{SLUG}/sessions/{session_id}/classroom"


@dataclass
class Requests:
    """The API calls a page makes, by what they end with ("/join", "/heartbeat")."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> None:
        self.seen.append((request.method, request.url))

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, url in self.seen if m == method and url.endswith(suffix))


async def speaking(api: Api, person: Person, language: str) -> None:
    """The person's own choice of language (members start with the academy's, Arabic here)."""
    ok(await api.client.patch("/api/v1/me", json={"locale": language}, headers=person.headers))


async def watched(api: Api, pages: Pages, person: Person) -> tuple[Page, Requests]:
    """A tab in English for the person, noting the requests it makes."""
    await speaking(api, person, "en")
    page = await pages.signed_in(person)
    requests = Requests()
    page.on("request", requests)
    return page, requests


async def unreachable_livekit_class(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> tuple[School, int]:
    """An academy on LiveKit whose class's room was opened (through the stand-in) and whose
    server address then became one where nothing answers; the clock at the class's start."""
    s = await school(api, students=1)
    ok(await api.client.put(PROVIDER, json=livekit_body(livekit, None), headers=s.admin.headers))
    made = await book(api, s)
    clock.set(READY_AT)
    await tick(app)
    assert (await room_of(api, made["id"])).status == "open"
    moved = {
        "provider": "livekit",
        "livekit_url": f"ws://127.0.0.1:{closed_port()}",
        "livekit_api_key": livekit.api_key,  # the same key keeps the stored secret
    }
    ok(await api.client.put(PROVIDER, json=moved, headers=s.admin.headers))
    clock.set(TOMORROW)
    return s, made["id"]


async def link_class(api: Api, clock: FrozenClock) -> tuple[School, int]:
    """An academy meeting in Jitsi rooms, and a class starting now."""
    s = await school(api, students=1)
    body = {"provider": "link", "jitsi_base_url": JITSI}
    ok(await api.client.put(PROVIDER, json=body, headers=s.admin.headers))
    made = await book(api, s)
    clock.set(TOMORROW)
    return s, made["id"]


def exactly(page: Page, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


# --- LiveKit --------------------------------------------------------------------------------------


async def test_the_classroom_joins_and_keeps_trying_an_unreachable_video_server(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, pages: Pages
) -> None:
    s, session_id = await unreachable_livekit_class(api, app, clock, livekit)
    page, requests = await watched(api, pages, s.students[0])
    await page.goto(classroom_path(session_id))

    await expect(page.locator("#connection-text")).to_have_text(UNREACHABLE, timeout=TIMEOUT_MS)
    await expect(page.locator("#connection-detail")).to_contain_text("Next try in")
    assert requests.count("POST", f"/sessions/{session_id}/join") >= 1
    # The controls are there, with the fake devices: camera and microphone may be switched on.
    camera, microphone = exactly(page, "Camera"), exactly(page, "Microphone")
    await expect(camera).to_be_enabled()
    await expect(microphone).to_be_enabled()
    await expect(camera).to_have_attribute("aria-pressed", "false")
    # A student may not share a screen until the teacher allows it.
    await expect(exactly(page, "Share my screen")).to_be_hidden()
    # The fake camera shows in the viewer's own tile while the room is out of reach.
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".tile.local video")).to_have_count(1)
    await expect(page.locator(".tile.local .tile-name")).to_have_text("Student 0 (you)")
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "false")
    await expect(page.locator(".tile.local video")).to_have_count(0)
    # Nobody is in yet: no heartbeats; and no teacher's tools for a student.
    assert requests.count("POST", "/heartbeat") == 0
    await expect(page.locator("#teacher-controls")).to_have_count(0)
    await expect(exactly(page, "End the class for everyone")).to_have_count(0)


async def test_the_unreachable_state_is_said_in_arabic(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, pages: Pages
) -> None:
    s, session_id = await unreachable_livekit_class(api, app, clock, livekit)
    student = s.students[0]
    await speaking(api, student, "ar")
    page = await pages.signed_in(student)
    await page.goto(classroom_path(session_id))
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await expect(page.locator("#connection-text")).to_have_text(UNREACHABLE_AR, timeout=TIMEOUT_MS)
    await expect(exactly(page, "الكاميرا")).to_be_enabled()
    await expect(exactly(page, "الميكروفون")).to_be_enabled()


async def test_the_teacher_has_the_tools_to_run_the_class(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, pages: Pages
) -> None:
    s, session_id = await unreachable_livekit_class(api, app, clock, livekit)
    page, requests = await watched(api, pages, s.teacher)
    await page.goto(classroom_path(session_id))
    await expect(page.locator("#connection-text")).to_have_text(UNREACHABLE, timeout=TIMEOUT_MS)
    tools = page.locator("#teacher-controls")
    await expect(tools).to_be_visible()
    share = exactly(page, "Students may share their screens")
    await expect(share).to_have_attribute("aria-pressed", "false")
    await expect(exactly(page, "Start recording")).to_be_visible()
    await expect(exactly(page, "End the class for everyone")).to_be_visible()
    # The teacher may publish everything, the screen included (once the room is reached).
    await expect(exactly(page, "Share my screen")).to_be_visible()
    await expect(exactly(page, "Camera")).to_be_enabled()
    assert requests.count("GET", f"/sessions/{session_id}/recordings") == 1
    # LiveKit is out of reach for Halaqa too: the refusal is said in words, nothing changes.
    await share.click()
    await expect(page.locator("#teacher-status")).to_have_text(
        "The video server could not do it just now. Try again."
    )
    await expect(share).to_have_attribute("aria-pressed", "false")


async def test_staff_watch_hidden_and_may_run_the_class(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, pages: Pages
) -> None:
    s, session_id = await unreachable_livekit_class(api, app, clock, livekit)
    page, _requests = await watched(api, pages, s.supervisor)
    await page.goto(classroom_path(session_id))
    await expect(page.locator("#connection-text")).to_have_text(UNREACHABLE, timeout=TIMEOUT_MS)
    await expect(
        page.get_by_text("You are watching: your camera and microphone stay off.")
    ).to_be_visible()
    for hidden in ("Camera", "Microphone", "Share my screen", "Raise hand"):
        await expect(exactly(page, hidden)).to_be_hidden()
    await expect(exactly(page, "End the class for everyone")).to_be_visible()


async def test_joining_too_early_is_refused_with_the_reason(
    api: Api, clock: FrozenClock, pages: Pages
) -> None:
    s = await school(api, students=1)
    made = await book(api, s)  # tomorrow; the clock is a day before
    page, requests = await watched(api, pages, s.students[0])
    await page.goto(classroom_path(made["id"]))
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Joining opens shortly before the class starts.")
    await expect(refusal).to_contain_text("Joining opens at")
    back = refusal.get_by_role("link", name="Back to the session")
    await expect(back).to_have_attribute("href", f"/a/{SLUG}/sessions/{made['id']}")
    await expect(page.locator("#room")).to_be_hidden()
    await expect(page.locator("#link-meeting")).to_be_hidden()
    assert requests.count("POST", f"/sessions/{made['id']}/join") == 1
    assert requests.count("POST", "/heartbeat") == 0


async def test_someone_else_s_classroom_is_not_found(api: Api, pages: Pages) -> None:
    s = await school(api, students=2)
    made = await book(api, s)  # students[0]'s lesson
    await speaking(api, s.students[1], "en")
    page = await pages.signed_in(s.students[1])
    response = await page.goto(classroom_path(made["id"]))
    assert response is not None
    assert response.status == 404


# --- meeting links --------------------------------------------------------------------------------


async def test_a_linked_meeting_opens_and_presence_is_recorded(
    api: Api, clock: FrozenClock, pages: Pages
) -> None:
    s, session_id = await link_class(api, clock)
    student = s.students[0]
    page, requests = await watched(api, pages, student)
    opened: list[str] = []

    async def meeting(route: Route) -> None:
        opened.append(route.request.url)
        await route.fulfill(body="<title>Meeting</title>", content_type="text/html")

    await page.context.route(f"{JITSI}/**", meeting)
    async with page.expect_popup() as popup_info:
        await page.goto(classroom_path(session_id))
    popup = await popup_info.value
    assert popup.url.startswith(f"{JITSI}/hq-")
    button = page.get_by_role("link", name="Open the meeting")
    await expect(button).to_have_attribute("href", popup.url)
    await expect(button).to_have_attribute("target", "_blank")
    await expect(page.locator("#presence-text")).to_have_text("Your presence is recorded.")
    # The first heartbeat went at once, and Halaqa counts the student in.
    assert requests.count("POST", f"/sessions/{session_id}/heartbeat") == 1
    present = ok_list(
        await api.client.get(f"{SESSIONS}/{session_id}/presence", headers=s.teacher.headers)
    )
    assert [(p["user_id"], p["in_now"]) for p in present] == [(student.id, True)]
    await expect(page.locator("#room")).to_be_hidden()


async def test_the_teacher_ends_a_linked_class_from_the_page(
    api: Api, clock: FrozenClock, pages: Pages
) -> None:
    s, session_id = await link_class(api, clock)
    ok(await api.client.post(f"{SESSIONS}/{session_id}/start", json={}, headers=s.teacher.headers))
    await speaking(api, s.teacher, "en")
    page = await pages.signed_in(s.teacher)
    await page.context.route(f"{JITSI}/**", lambda route: route.fulfill(body="meeting"))
    await page.goto(classroom_path(session_id))
    await expect(page.locator("#presence-text")).to_have_text("Your presence is recorded.")
    # Recording and screen sharing belong to the outside meeting; ending the class does not.
    await expect(exactly(page, "Start recording")).to_be_hidden()
    await expect(exactly(page, "Students may share their screens")).to_be_hidden()
    page.once("dialog", lambda dialog: dialog.accept())
    await exactly(page, "End the class for everyone").click()
    await expect(page.get_by_role("alert")).to_contain_text("You ended the class.")
    shown = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.teacher.headers))
    assert shown["status"] == "completed"


def ok_list(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found
