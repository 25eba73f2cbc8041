"""A class still talking after its end is not completed under it: the automatic completion waits
while its people are in the room, and completes once they leave or at the overtime cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api
from tests.attendance.test_intake import deliver, live_room
from tests.catalog.school import ok
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import SESSIONS, TOMORROW, tick

END = TOMORROW + timedelta(hours=1)


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def status(api: Api, path: str, headers: dict[str, str]) -> str:
    return str(ok(await api.client.get(path, headers=headers))["status"])


@pytest.mark.parametrize("leaves", [True, False])
async def test_completion_waits_for_the_people_in_the_room(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, leaves: bool
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    ok(await api.client.post(f"{path}/start", json={}, headers=s.teacher.headers))
    since = len(livekit.events)
    teacher = livekit.join(room, f"user-{s.teacher.id}")
    student = livekit.join(room, f"user-{s.students[0].id}")
    await deliver(api, livekit, since)
    await tick(app)
    clock.set(END + timedelta(minutes=5))  # the end and the 5-minute buffer
    await tick(app)
    assert await status(api, path, s.admin.headers) == "ongoing"  # still in: not cut off
    clock.set(END + timedelta(minutes=20))
    if leaves:
        since = len(livekit.events)
        livekit.leave(room, student)
        livekit.leave(room, teacher)
        await deliver(api, livekit, since)
        await tick(app)  # the leave is processed
        clock.advance(timedelta(minutes=1))
        await tick(app)
        assert await status(api, path, s.admin.headers) == "completed"
        return
    for minutes in range(21, 65, 1):  # the worker ticks on; LiveKit keeps listing the student
        clock.set(END + timedelta(minutes=minutes))
        await tick(app)
        expected = "completed" if minutes >= 60 else "ongoing"
        assert await status(api, path, s.admin.headers) == expected, minutes
