"""Live presence: who is in a class now, since when, and how long so far."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error
from tests.attendance.test_intake import PAGE, deliver, live_room
from tests.catalog.school import ok
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import SESSIONS, TOMORROW, tick


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:  # LiveKit's clock agrees with Halaqa's
        yield server


async def present(api: Api, path: str, who: Person) -> list[dict[str, Any]]:
    response = await api.client.get(f"{path}/presence", headers=who.headers)
    assert response.status_code == 200, response.text
    people: list[dict[str, Any]] = response.json()
    return people


async def test_who_is_in_now_and_for_how_long(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    since = len(livekit.events)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    assert await present(api, path, s.teacher) == []
    ok(await api.client.post(f"{path}/heartbeat", json=PAGE, headers=s.teacher.headers))
    clock.advance(timedelta(minutes=2))
    student = s.students[0]
    livekit.join(room, f"user-{student.id}")  # joins late, through LiveKit
    await deliver(api, livekit, since)
    await tick(app)
    clock.advance(timedelta(minutes=8))
    await tick(app)  # the worker asks LiveKit who is in: the student still is
    ok(await api.client.post(f"{path}/heartbeat", json=PAGE, headers=s.teacher.headers))
    people = await present(api, path, s.teacher)
    assert people[1] == {
        "user_id": student.id,
        "role": "student",
        "in_now": True,
        "since": (TOMORROW + timedelta(minutes=2)).isoformat().replace("+00:00", "Z"),
        "first_join": (TOMORROW + timedelta(minutes=2)).isoformat().replace("+00:00", "Z"),
        "seconds": 480,
        "reconnects": 0,
    }
    assert people[:1] == [
        {
            "user_id": s.teacher.id,
            "role": "teacher",
            "in_now": True,
            "since": TOMORROW.isoformat().replace("+00:00", "Z"),
            "first_join": TOMORROW.isoformat().replace("+00:00", "Z"),
            "seconds": 600,
            "reconnects": 0,
        }
    ]
    clock.advance(timedelta(minutes=5))  # the teacher's page went quiet five minutes ago
    await tick(app)
    teacher, in_class = await present(api, path, s.admin)
    assert (teacher["in_now"], teacher["since"], teacher["seconds"]) == (False, None, 600)
    assert (in_class["in_now"], in_class["seconds"]) == (True, 780)  # LiveKit still lists them
    outsider = await api.client.get(f"{path}/presence", headers=s.other_teacher.headers)
    assert_error(outsider, 404, "not_found")
