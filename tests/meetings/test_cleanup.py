"""The worker's sweep closes rooms whose close job never did: after the overtime cap, or at once
for a cancelled class; a room still running over is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from halaqa.kit.clock import FrozenClock
from halaqa.models import Job
from tests.api import Api
from tests.catalog.school import ok
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import SESSIONS, TOMORROW, book, configured, room_of, tick


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    with FakeLiveKit() as server:
        yield server


async def forget_jobs(api: Api) -> None:
    """As if the close jobs were lost (parked and cleared by an operator, a worker down long)."""
    async with api.database.transaction() as session:
        await session.execute(delete(Job))


@pytest.mark.parametrize(
    ("ending", "minutes_after_start", "closed"),
    [
        ("complete", 60 + 59, False),  # the end + 59 min: still within the 60-minute cap
        ("complete", 60 + 60, True),
        ("cancel", 61, True),  # staff cancelled it mid-class: no overtime to respect
    ],
)
async def test_forgotten_rooms_are_closed_once_the_class_is_over(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    ending: str,
    minutes_after_start: int,
    closed: bool,
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    ok(await api.client.post(f"{path}/start", json={}, headers=s.teacher.headers))
    await tick(app)
    name = (await room_of(api, made["id"])).room_name
    clock.set(TOMORROW + timedelta(minutes=50))
    if ending == "complete":
        ok(await api.client.post(f"{path}/complete", json={}, headers=s.teacher.headers))
    else:
        body = {"reason": "power cut at the school"}
        ok(await api.client.post(f"{path}/cancel", json=body, headers=s.admin.headers))
    await forget_jobs(api)
    clock.set(TOMORROW + timedelta(minutes=minutes_after_start))
    done = await tick(app)
    assert done["close_forgotten_rooms"] == int(closed)
    assert (livekit.room(name) is None) is closed
    assert ((await room_of(api, made["id"])).status == "closed") is closed
    again = await tick(app)
    assert again["close_forgotten_rooms"] == 0  # closed once; an open one is skipped again


async def test_a_room_the_provider_will_not_close_is_tried_again(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    ok(await api.client.post(f"{path}/start", json={}, headers=s.teacher.headers))
    await tick(app)
    ok(await api.client.post(f"{path}/complete", json={}, headers=s.teacher.headers))
    await forget_jobs(api)
    clock.set(TOMORROW + timedelta(hours=3))
    livekit.fail_next("DeleteRoom", "unavailable")
    assert (await tick(app))["close_forgotten_rooms"] == 0
    assert (await room_of(api, made["id"])).status == "open"
    assert (await tick(app))["close_forgotten_rooms"] == 1
    assert (await room_of(api, made["id"])).status == "closed"
