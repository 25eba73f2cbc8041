"""A finished recording: the teacher hears of it (the students and parents too where the academy
shows them recordings, as it does unless told not to), and the academy's system is told."""

from __future__ import annotations

import json

from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api
from tests.catalog.school import SLUG, ok
from tests.livekit import FakeLiveKit
from tests.meetings.test_recordings import (
    egress_events,
    livekit,
    ready_class,
    recordings,
    relay,
    start,
    stop,
)
from tests.notifications.receiver import Receiver, receiver
from tests.notifications.test_notifications import bell, tick

__all__ = ["livekit", "receiver"]


async def test_a_finished_recording_is_told_to_the_teacher_and_the_academys_system(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, receiver: Receiver
) -> None:
    live = await ready_class(api, app, clock, livekit)
    s = live.s
    ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/webhooks",
            json={"url": receiver.url, "events": ["recording.ready"]},
            headers=s.admin.headers,
        ),
        201,
    )
    started = ok(await start(api, s.teacher, live), 201)
    ok(await stop(api, s.teacher, live, started["id"]))
    [row] = [r for r in await recordings(api) if r.id == started["id"]]
    assert [n["kind"] for n in (await bell(api, s.teacher))["items"]].count("recording_ready") == 0
    livekit.end_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    await tick(app)  # the follow-ups' own jobs
    teacher_items = (await bell(api, s.teacher))["items"]
    (ready,) = [n for n in teacher_items if n["kind"] == "recording_ready"]
    assert ready["payload"]["recording_id"] == started["id"]
    for person in (s.students[0], s.parent):
        kinds = [n["kind"] for n in (await bell(api, person))["items"]]
        assert kinds.count("recording_ready") == 1
    (event,) = [json.loads(r.body) for r in receiver.received]
    assert event["type"] == "recording.ready"
    assert event["data"]["recording_id"] == started["id"]
    assert event["data"]["session_id"] == live.id
