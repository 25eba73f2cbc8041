"""People's word on attendance: overrides (auto < teacher < admin, every decision kept) and
absence requests before a class, approved into an excuse or declined."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from sqlalchemy import update

from halaqa.kit.clock import FrozenClock
from halaqa.models import AttendanceOverride
from tests.api import Api, Person, assert_error
from tests.attendance.test_finalisation import (
    AFTER,
    END,
    attendance,
    beat,
    book,
    by_user,
    finalised,
    session,
)
from tests.attendance.test_intake import deliver, live_room
from tests.catalog.school import School, ok, school
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import ACADEMY, SESSIONS, TOMORROW, tick

REQUESTS = f"{ACADEMY}/absence-requests"


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def held(api: Api, app: FastAPI, clock: FrozenClock) -> tuple[School, str]:
    """A finalised individual class the teacher held and the student missed."""
    s = await school(api, students=2)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    await beat(api, clock, path, s.teacher, 0, 60)
    await finalised(app, clock)
    return s, path


async def correct(
    api: Api, path: str, who: Person, user: Person, status: str, note: str = "seen in class"
) -> Any:
    body = {"status": status, "note": note}
    return await api.client.put(f"{path}/attendance/{user.id}", json=body, headers=who.headers)


async def test_a_teacher_corrects_a_student_and_the_session_follows(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s, path = await held(api, app, clock)
    assert (await session(api, path, s.admin))["status"] == "absent"
    found = ok(await correct(api, path, s.teacher, s.students[0], "partial"))
    record = by_user(found)[s.students[0].id]
    assert (record["status"], record["status_source"], record["computed_status"]) == (
        "partial",
        "teacher",
        "absent",
    )
    assert (await session(api, path, s.admin))["status"] == "completed"  # the student came
    assert [(o["status"], o["source"], o["note"]) for o in found["overrides"]] == [
        ("partial", "teacher", "seen in class")
    ]


async def test_an_admin_outranks_the_teacher_and_every_decision_is_kept(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s, path = await held(api, app, clock)
    ok(await correct(api, path, s.teacher, s.students[0], "present"))
    clock.advance(timedelta(minutes=1))
    ok(await correct(api, path, s.admin, s.students[0], "absent", "camera off, not there"))
    assert_error(
        await correct(api, path, s.teacher, s.students[0], "present"), 409, "decided_by_admin"
    )
    found = await attendance(api, path, s.teacher)
    assert by_user(found)[s.students[0].id]["status_source"] == "admin"
    assert [(o["status"], o["source"]) for o in found["overrides"]] == [
        ("present", "teacher"),
        ("absent", "admin"),
    ]
    assert (await session(api, path, s.admin))["status"] == "absent"
    async with api.database.transaction() as db:  # the history cannot be rewritten
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            await db.execute(update(AttendanceOverride).values(status="present"))


async def test_only_an_admin_corrects_the_teacher(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    await beat(api, clock, path, s.students[0], 0, 60)
    await finalised(app, clock)
    assert (await session(api, path, s.admin))["cancellation_reason"] == "teacher_absent"
    assert_error(await correct(api, path, s.teacher, s.teacher, "present"), 403, "not_allowed")
    assert_error(
        await correct(api, path, s.students[0], s.students[0], "present"), 403, "not_allowed"
    )
    note = "taught by phone: the room failed"
    ok(await correct(api, path, s.supervisor, s.teacher, "present", note))
    found = await session(api, path, s.admin)
    assert (found["status"], found["cancellation_reason"]) == ("completed", None)


async def test_corrections_that_cannot_be_made(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    assert_error(await correct(api, path, s.admin, s.students[0], "present"), 409, "not_begun")
    ok(await correct(api, path, s.admin, s.students[0], "excused", "family travel"))
    assert_error(
        await correct(api, path, s.admin, s.students[1], "present"), 404, "not_found"
    )  # not in it
    assert_error(
        await correct(api, path, s.admin, s.students[0], "asleep"), 422, "validation_error"
    )
    assert_error(
        await correct(api, path, s.admin, s.students[0], "excused", "  "), 422, "validation_error"
    )
    assert_error(
        await correct(api, path, s.other_teacher, s.students[0], "excused"), 404, "not_found"
    )
    cancel = {"reason": "holiday"}
    ok(await api.client.post(f"{path}/cancel", json=cancel, headers=s.admin.headers))
    assert_error(
        await correct(api, path, s.admin, s.students[0], "excused"), 409, "session_not_held"
    )


async def test_late_presence_never_clobbers_an_override(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    since = len(livekit.events)
    teacher = livekit.join(room, f"user-{s.teacher.id}")
    await deliver(api, livekit, since)
    held_up = len(livekit.events)
    student = livekit.join(room, f"user-{s.students[0].id}")  # its webhooks are held up
    clock.set(END)
    livekit.leave(room, student)
    since = len(livekit.events)
    livekit.leave(room, teacher)
    await deliver(api, livekit, since)
    await finalised(app, clock)
    assert (await session(api, path, s.admin))["status"] == "absent"
    ok(await correct(api, path, s.admin, s.students[0], "excused", "doctor's note"))
    clock.set(AFTER + timedelta(minutes=10))
    await deliver(api, livekit, held_up)
    await tick(app)
    await tick(app)
    record = by_user(await attendance(api, path, s.admin))[s.students[0].id]
    assert (record["computed_status"], record["status"], record["status_source"]) == (
        "present",
        "excused",
        "admin",
    )
    assert (await session(api, path, s.admin))["status"] == "absent"


# --- absence requests ------------------------------------------------------------------------


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def ask(api: Api, path: str, who: Person, **body: Any) -> Any:
    body = {"reason": "family wedding"} | body
    return await api.client.post(f"{path}/absence-requests", json=body, headers=who.headers)


async def test_an_approved_request_excuses_the_student(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    request = ok(await ask(api, path, s.students[0]), 201)
    assert request["status"] == "pending"
    assert_error(
        await ask(api, path, s.parent, student_id=s.students[0].id), 409, "already_requested"
    )
    pending = listed(
        await api.client.get(REQUESTS, params={"status": "pending"}, headers=s.teacher.headers)
    )
    assert [r["id"] for r in pending] == [request["id"]]  # the teacher sees it to decide it
    decide = f"{REQUESTS}/{request['id']}/approve"
    assert_error(
        await api.client.post(decide, json={}, headers=s.students[0].headers), 403, "not_allowed"
    )
    approved = ok(
        await api.client.post(decide, json={"note": "get well"}, headers=s.teacher.headers)
    )
    assert (approved["status"], approved["decision_note"]) == ("approved", "get well")
    assert_error(
        await api.client.post(decide, json={}, headers=s.admin.headers), 409, "already_decided"
    )
    await beat(api, clock, path, s.teacher, 0, 60)
    await finalised(app, clock)
    found = await session(api, path, s.admin)
    assert (found["status"], found["cancellation_reason"]) == ("absent", None)
    record = by_user(await attendance(api, path, s.parent))[s.students[0].id]
    assert (record["status"], record["status_source"]) == ("excused", "teacher")
    history = listed(
        await api.client.get(f"{SESSIONS}/{found['id']}/history", headers=s.admin.headers)
    )
    assert history[-1]["reason"] == "student_excused"


async def test_requests_declined_withdrawn_or_too_late(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=2)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    assert_error(
        await ask(api, path, s.students[1]), 404, "not_found"
    )  # not a student of this class
    assert_error(await ask(api, path, s.parent, student_id=s.students[1].id), 404, "not_found")
    asked = ok(await ask(api, path, s.parent, student_id=s.students[0].id), 201)
    assert listed(await api.client.get(REQUESTS, headers=s.students[1].headers)) == []
    withdrawn = ok(
        await api.client.post(f"{REQUESTS}/{asked['id']}/withdraw", headers=s.students[0].headers)
    )
    assert withdrawn["status"] == "withdrawn"
    again = ok(await ask(api, path, s.students[0], reason="exam"), 201)  # may ask again
    declined = ok(
        await api.client.post(
            f"{REQUESTS}/{again['id']}/decline",
            json={"note": "exam is at 9"},
            headers=s.admin.headers,
        )
    )
    assert declined["status"] == "declined"
    clock.set(TOMORROW)
    assert_error(await ask(api, path, s.students[0]), 409, "already_begun")
    assert_error(await ask(api, path, s.students[0], reason=""), 422, "validation_error")


# --- presence marked by hand -------------------------------------------------------------------


async def mark(api: Api, path: str, who: Person, user: Person, start: int, end: int) -> Any:
    body = {
        "user_id": user.id,
        "from": (TOMORROW + timedelta(minutes=start)).isoformat(),
        "to": (TOMORROW + timedelta(minutes=end)).isoformat(),
        "note": "joined by phone: the room would not load",
    }
    return await api.client.post(f"{path}/presence-marks", json=body, headers=who.headers)


async def test_presence_marked_by_hand_is_folded_with_the_rest(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s, path = await held(api, app, clock)
    found = ok(await mark(api, path, s.teacher, s.students[0], 5, 55), 201)
    record = by_user(found)[s.students[0].id]
    assert (record["seconds"], record["status"], record["sources"]) == (3000, "present", ["manual"])
    assert (await session(api, path, s.admin))["status"] == "completed"
    response = await mark(api, path, s.students[0], s.students[0], 0, 60)
    assert_error(response, 403, "not_allowed")
    response = await mark(api, path, s.teacher, s.students[0], 30, 20)
    assert_error(response, 422, "validation_error")
    response = await mark(api, path, s.teacher, s.students[0], -90, 20)  # long before the class
    assert_error(response, 422, "validation_error")
    later = await book(api, s, starts_at=(AFTER + timedelta(days=1)).isoformat())
    live = f"{SESSIONS}/{later['id']}"
    clock.set(AFTER + timedelta(days=1, minutes=30))
    response = await mark(api, live, s.admin, s.students[0], 24 * 60 + 65, 24 * 60 + 100)
    assert_error(response, 422, "validation_error")  # reaches into the future
