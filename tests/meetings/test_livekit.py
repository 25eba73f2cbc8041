"""LiveKit through the real SDK, against the wire-faithful stand-in (tests/livekit)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from livekit import api as lk
from livekit.api.access_token import Claims
from sqlalchemy import select

from halaqa.kit.clock import FrozenClock
from halaqa.models import Job, SessionRoom
from halaqa.worker.runner import Worker
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, ok, school
from tests.conftest import START
from tests.livekit import FakeLiveKit

ACADEMY = f"/api/v1/academies/{SLUG}"
SESSIONS = f"{ACADEMY}/sessions"
TOMORROW = START + timedelta(days=1)


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    with FakeLiveKit() as server:
        yield server


async def configured(api: Api, livekit: FakeLiveKit, students: int = 1) -> School:
    s = await school(api, students=students)
    body = {
        "provider": "livekit",
        "livekit_url": livekit.url,
        "livekit_api_key": livekit.api_key,
        "livekit_api_secret": livekit.api_secret,
    }
    ok(await api.client.put(f"{ACADEMY}/meeting-provider", json=body, headers=s.admin.headers))
    return s


async def book(api: Api, s: School) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def tick(app: FastAPI) -> dict[str, int]:
    return await Worker(app.state.database, app.state.settings, app.state.secret).tick()


async def room_of(api: Api, session_id: int) -> SessionRoom:
    async with api.database.transaction() as session:
        room = await session.get(SessionRoom, session_id)
        assert room is not None
        return room


async def claims(api: Api, livekit: FakeLiveKit, who: Person, session_id: int) -> Claims:
    joined = ok(await api.client.post(f"{SESSIONS}/{session_id}/join", headers=who.headers))
    assert (joined["provider"], joined["server_url"]) == ("livekit", livekit.url)
    return lk.TokenVerifier(livekit.api_key, livekit.api_secret).verify(joined["token"])


async def test_the_room_opens_when_the_session_is_ready(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    room = await room_of(api, made["id"])
    assert room.status == "open"
    assert room.room_name.startswith("hq-")
    assert len(room.room_name) > 20  # unguessable
    created = livekit.room(room.room_name)
    assert created is not None
    assert room.room_sid == created.sid
    assert json.loads(created.metadata)["session_id"] == made["id"]
    # Teacher and student, and places for hidden observers; the empty room waits until joining
    # closes (15 min early + 60 + 15 min grace), and a departed room gives 2 min to come back.
    assert (created.max_participants, created.empty_timeout, created.departure_timeout) == (
        7,
        90 * 60,
        120,
    )


async def test_grants_by_role(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    clock.set(TOMORROW)
    teacher = await claims(api, livekit, s.teacher, made["id"])
    room = (await room_of(api, made["id"])).room_name  # opened by the first join
    assert teacher.identity == f"user-{s.teacher.id}"
    assert teacher.video is not None
    assert (teacher.video.room, teacher.video.room_join, teacher.video.room_admin) == (
        room,
        True,
        True,
    )
    assert teacher.video.room_record is True
    assert json.loads(teacher.metadata) == {
        "user_id": s.teacher.id,
        "role": "teacher",
        "session_id": made["id"],
    }
    student = await claims(api, livekit, s.students[0], made["id"])
    assert student.video is not None
    assert student.video.can_publish_sources == ["camera", "microphone"]
    assert (student.video.room_admin, student.video.hidden) == (None, None)
    assert student.video.can_publish_data is True
    observer = await claims(api, livekit, s.supervisor, made["id"])
    assert observer.video is not None
    assert (observer.video.hidden, observer.video.can_publish, observer.video.can_subscribe) == (
        True,
        False,
        True,
    )


async def test_a_room_that_fails_to_open_says_why_and_is_tried_again(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    livekit.fail_next("CreateRoom", "unavailable")
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    failed = await room_of(api, made["id"])
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error is not None
    assert "unavailable" in failed.error
    # The session says why it has no room yet, to everyone who sees it.
    shown = ok(await api.client.get(f"{SESSIONS}/{made['id']}", headers=s.teacher.headers))
    assert shown["room"] == {
        "provider": "livekit",
        "status": "failed",
        "error": failed.error,
        "attempts": 1,
    }
    clock.advance(timedelta(seconds=10))  # the retry is due
    await tick(app)
    opened = await room_of(api, made["id"])
    assert (opened.status, opened.error, opened.attempts) == ("open", None, 2)
    listed = ok(await api.client.get(SESSIONS, headers=s.admin.headers))["items"]
    assert [item["room"]["status"] for item in listed] == ["open"]
    assert livekit.room(opened.room_name) is not None


async def test_a_cancelled_session_closes_its_room_at_once(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    name = (await room_of(api, made["id"])).room_name
    ok(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    await tick(app)
    assert livekit.room(name) is None
    assert (await room_of(api, made["id"])).status == "closed"


async def test_a_completed_class_is_not_cut_off_before_the_overtime_cap(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await configured(api, livekit)
    made = await book(api, s)
    clock.set(TOMORROW)
    path = f"{SESSIONS}/{made['id']}"
    ok(await api.client.post(f"{path}/start", json={}, headers=s.teacher.headers))
    await tick(app)
    name = (await room_of(api, made["id"])).room_name
    clock.set(TOMORROW + timedelta(minutes=50))
    ok(await api.client.post(f"{path}/complete", json={}, headers=s.teacher.headers))
    await tick(app)
    assert livekit.room(name) is not None  # people may still be talking
    assert livekit.calls_to("DeleteRoom") == []
    clock.set(TOMORROW + timedelta(minutes=120))  # the end + the 60-minute overtime cap
    await tick(app)
    assert livekit.room(name) is None
    async with api.database.transaction() as session:
        kinds = [job.kind for job in await session.scalars(select(Job).order_by(Job.id))]
    assert kinds.count("meetings.close_room") == 2  # once at completion, once at the cap
