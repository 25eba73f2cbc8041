"""Recordings through LiveKit egress: who starts and stops them, what LiveKit is asked for, what
its webhooks change, who sees them, when they start on their own, when the room's closing stops
them, and where an academy says they go (against the wire-faithful stand-in, tests/livekit)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from livekit.protocol import egress as proto_egress
from livekit.protocol import webhook as proto_webhook
from pydantic import SecretStr
from sqlalchemy import select

from halaqa.kit.clock import FrozenClock
from halaqa.kit.crypto import SecretBox
from halaqa.kit.deps import Runtime
from halaqa.meetings.providers.base import RecordingTarget
from halaqa.meetings.providers.livekit import LiveKitProvider
from halaqa.meetings.service import reseal_secrets
from halaqa.models import AuditEntry, Job, MeetingConfig, MeetingEvent, SessionRecording
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, audit, ok, school
from tests.conftest import START
from tests.livekit import FakeLiveKit
from tests.livekit.server import encode_webhook
from tests.meetings.test_livekit import room_of, tick
from tests.meetings.test_webhooks import post, stored

ACADEMY = f"/api/v1/academies/{SLUG}"
PROVIDER = f"{ACADEMY}/meeting-provider"
SETTINGS = f"{ACADEMY}/settings"
SESSIONS = f"{ACADEMY}/sessions"
TOMORROW = START + timedelta(days=1)
READY_AT = TOMORROW - timedelta(minutes=15)  # the worker opens the room (DESIGN.md)
FILES: dict[str, Any] = {"path_prefix": "lessons/recorded"}
S3: dict[str, Any] = {
    "path_prefix": "halaqa",
    "s3_bucket": "academy-recordings",
    "s3_region": "eu-central-1",
    "s3_endpoint": "https://minio.example.org/",
    "s3_access_key": "AKIAEXAMPLE",
    "s3_secret": "s3-very-secret-value",
}
Status = proto_egress.EgressStatus


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    # The stand-in keeps the test's time: egress durations follow the clock the test moves.
    with FakeLiveKit(clock=clock) as server:
        yield server


# --- an academy on LiveKit, and a class in it ----------------------------------------------------


def livekit_body(livekit: FakeLiveKit, recordings: dict[str, Any] | None = FILES) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "livekit",
        "livekit_url": livekit.url,
        "livekit_api_key": livekit.api_key,
        "livekit_api_secret": livekit.api_secret,
    }
    if recordings is not None:
        body["recordings"] = recordings
    return body


async def put_provider(api: Api, who: Person, body: dict[str, Any]) -> httpx.Response:
    return await api.client.put(PROVIDER, json=body, headers=who.headers)


async def change_settings(api: Api, s: School, **values: Any) -> None:
    ok(await api.client.patch(SETTINGS, json=values, headers=s.admin.headers))


async def book(api: Api, s: School, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


@dataclass(frozen=True)
class Class:
    s: School
    id: int
    code: str
    room: str  # its LiveKit room's name

    @property
    def path(self) -> str:
        return f"{SESSIONS}/{self.id}"


async def ready_class(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    *,
    recordings: dict[str, Any] | None = FILES,
    **fields: Any,
) -> Class:
    """An academy on LiveKit whose recordings go to `recordings`, and a session the worker has
    made ready: its room is open, the class has not started."""
    s = await school(api, students=2)
    ok(await put_provider(api, s.admin, livekit_body(livekit, recordings)))
    made = await book(api, s, **fields)
    clock.set(READY_AT)
    await tick(app)
    room = await room_of(api, made["id"])
    assert room.status == "open"
    return Class(s, made["id"], made["code"], room.room_name)


async def act(api: Api, who: Person, live: Class, action: str, **body: Any) -> dict[str, Any]:
    return ok(await api.client.post(f"{live.path}/{action}", json=body, headers=who.headers))


async def session_status(api: Api, live: Class) -> str:
    shown = ok(await api.client.get(live.path, headers=live.s.admin.headers))
    status: str = shown["status"]
    return status


# --- recordings through the API -------------------------------------------------------------------


async def start(api: Api, who: Person, live: Class) -> httpx.Response:
    return await api.client.post(f"{live.path}/recordings", headers=who.headers)


async def stop(api: Api, who: Person, live: Class, recording_id: int) -> httpx.Response:
    return await api.client.post(f"{live.path}/recordings/{recording_id}/stop", headers=who.headers)


async def listed(api: Api, who: Person, live: Class) -> httpx.Response:
    return await api.client.get(f"{live.path}/recordings", headers=who.headers)


async def shown(api: Api, who: Person, live: Class) -> list[dict[str, Any]]:
    response = await listed(api, who, live)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def recordings(api: Api) -> list[SessionRecording]:
    async with api.database.transaction() as db:
        return list(await db.scalars(select(SessionRecording).order_by(SessionRecording.id)))


def egress_requests(livekit: FakeLiveKit) -> list[proto_egress.RoomCompositeEgressRequest]:
    """What Halaqa asked LiveKit to record, in order (answered or not)."""
    found = []
    for call in livekit.calls_to("StartRoomCompositeEgress"):
        assert isinstance(call.request, proto_egress.RoomCompositeEgressRequest)
        found.append(call.request)
    return found


def stopped(livekit: FakeLiveKit) -> list[str]:
    """The egress ids Halaqa asked LiveKit to stop, whatever LiveKit answered."""
    found = []
    for call in livekit.calls_to("StopEgress"):
        assert isinstance(call.request, proto_egress.StopEgressRequest)
        found.append(call.request.egress_id)
    return found


def egress_events(livekit: FakeLiveKit, egress_id: str) -> list[proto_webhook.WebhookEvent]:
    return [e for e in livekit.events if e.egress_info.egress_id == egress_id]


async def relay(
    api: Api, app: FastAPI, livekit: FakeLiveKit, *events: proto_webhook.WebhookEvent
) -> None:
    """LiveKit posts `events` to Halaqa's webhook; then a worker tick processes them."""
    for event in events:
        body = encode_webhook(event)
        assert ok(await post(api, body, livekit.webhook_token(body))) == {"stored": True}
    await tick(app)


# --- who may start and stop a recording ---------------------------------------------------------


async def test_the_teacher_and_the_staff_start_and_stop_recordings(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    s = live.s
    for who in (s.teacher, s.admin, s.supervisor):
        started = ok(await start(api, who, live), 201)
        assert started["status"] == "starting"
        assert started["started_by_user_id"] == who.id
        assert started["started_at"].startswith(READY_AT.isoformat()[:19])
        assert (started["ended_at"], started["location"], started["size_bytes"]) == (
            None,
            None,
            None,
        )
        [row] = [r for r in await recordings(api) if r.id == started["id"]]
        assert livekit.egress(row.egress_id).status == Status.EGRESS_STARTING
        ending = ok(await stop(api, who, live, started["id"]))
        # LiveKit says when the file is complete: until egress_ended the recording is ending.
        assert (ending["id"], ending["status"]) == (started["id"], "ending")
        assert livekit.egress(row.egress_id).status == Status.EGRESS_ENDING
        assert stopped(livekit)[-1] == row.egress_id
        livekit.end_egress(row.egress_id)  # the file is done: the next may start
        await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    assert len(egress_requests(livekit)) == 3
    entries = await audit(api, s.admin, "recording.")
    assert [(e["action"], e["actor_user_id"]) for e in entries] == [
        (action, who.id)
        for who in (s.teacher, s.admin, s.supervisor)
        for action in ("recording.started", "recording.stopped")
    ]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("student", 403, "not_allowed"),
        ("parent", 403, "not_allowed"),
        # Not their session: they cannot even see it.
        ("other_teacher", 404, "not_found"),
        ("other_student", 404, "not_found"),
    ],
)
async def test_others_neither_start_nor_stop_a_recording(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    who: str,
    status: int,
    code: str,
) -> None:
    live = await ready_class(api, app, clock, livekit)
    s = live.s
    person = {
        "student": s.students[0],
        "parent": s.parent,
        "other_teacher": s.other_teacher,
        "other_student": s.students[1],
    }[who]
    assert_error(await start(api, person, live), status, code)
    assert await recordings(api) == []
    assert egress_requests(livekit) == []
    running = ok(await start(api, s.teacher, live), 201)
    assert_error(await stop(api, person, live, running["id"]), status, code)
    assert stopped(livekit) == []
    [row] = await recordings(api)
    assert row.status == "starting"


async def test_an_api_key_of_the_staff_records(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    key = await api.api_key(SLUG, live.s.admin, "admin")
    response = await api.client.post(
        f"{live.path}/recordings", headers={"Authorization": f"Bearer {key}"}
    )
    assert ok(response, 201)["status"] == "starting"
    teacher_key = await api.api_key(SLUG, live.s.admin, "teacher")
    response = await api.client.post(
        f"{live.path}/recordings", headers={"Authorization": f"Bearer {teacher_key}"}
    )
    assert_error(response, 404, "not_found")  # a teacher key teaches nobody


# --- what starting needs --------------------------------------------------------------------------


async def test_only_a_class_whose_room_is_open_is_recorded(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit)))
    made = await book(api, s)
    live = Class(s, made["id"], made["code"], room="")
    # Scheduled, no room yet.
    assert_error(await start(api, s.teacher, live), 409, "not_live")
    # Ready, but its room failed to open.
    livekit.fail_next("CreateRoom", "unavailable")
    clock.set(READY_AT)
    await tick(app)
    assert (await room_of(api, live.id)).status == "failed"
    assert_error(await start(api, s.teacher, live), 409, "not_live")
    # Once the room is open, ready and ongoing classes are recorded.
    clock.advance(timedelta(seconds=10))
    await tick(app)
    first = ok(await start(api, s.teacher, live), 201)
    ok(await stop(api, s.teacher, live, first["id"]))
    [row] = await recordings(api)
    livekit.end_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    clock.set(TOMORROW)
    await act(api, s.teacher, live, "start")
    ok(await start(api, s.teacher, live), 201)
    # Completed (and its room closed once LiveKit is told to end the class): not any more.
    await act(api, s.teacher, live, "end")
    assert_error(await start(api, s.teacher, live), 409, "not_live")
    assert len(egress_requests(livekit)) == 2


async def test_a_cancelled_class_is_not_recorded(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    await act(api, live.s.admin, live, "cancel", reason="teacher ill")
    assert_error(await start(api, live.s.teacher, live), 409, "not_live")
    await tick(app)  # the room closes
    assert_error(await start(api, live.s.teacher, live), 409, "not_live")
    assert egress_requests(livekit) == []


async def test_meeting_links_are_not_recorded(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    body = {"provider": "link", "jitsi_base_url": "https://meet.jit.si/"}
    ok(await put_provider(api, s.admin, body))
    made = await book(api, s)
    clock.set(READY_AT)
    await tick(app)
    room = await room_of(api, made["id"])
    assert (room.provider, room.status) == ("link", "open")
    live = Class(s, made["id"], made["code"], room.room_name)
    assert_error(await start(api, s.teacher, live), 409, "recordings_unavailable")
    assert await recordings(api) == []


async def test_recording_needs_to_know_where_files_go(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit, recordings=None)
    error = assert_error(await start(api, live.s.teacher, live), 409, "recordings_not_configured")
    assert "recordings" in error["message"]
    assert egress_requests(livekit) == []
    ok(await put_provider(api, live.s.admin, livekit_body(livekit, FILES)))
    ok(await start(api, live.s.teacher, live), 201)


async def test_one_recording_at_a_time(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    first = ok(await start(api, live.s.teacher, live), 201)
    assert_error(await start(api, live.s.admin, live), 409, "already_recording")
    ok(await stop(api, live.s.teacher, live, first["id"]))
    # Still ending: LiveKit has not finished the file.
    assert_error(await start(api, live.s.teacher, live), 409, "already_recording")
    [row] = await recordings(api)
    livekit.end_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    second = ok(await start(api, live.s.teacher, live), 201)
    assert second["id"] != first["id"]
    assert len(egress_requests(livekit)) == 2


async def test_livekit_failing_to_start_or_stop_changes_nothing(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    livekit.fail_next("StartRoomCompositeEgress", "unavailable")
    error = assert_error(await start(api, live.s.teacher, live), 503, "unavailable")
    assert "could not start" in error["message"]
    assert await recordings(api) == []
    running = ok(await start(api, live.s.teacher, live), 201)
    livekit.fail_next("StopEgress", "internal")
    assert_error(await stop(api, live.s.teacher, live, running["id"]), 503, "unavailable")
    [row] = await recordings(api)
    assert row.status == "starting"
    assert livekit.egress(row.egress_id).status == Status.EGRESS_STARTING
    assert ok(await stop(api, live.s.teacher, live, running["id"]))["status"] == "ending"


async def test_stopping_what_is_not_recording(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    other = await book(api, live.s, starts_at=(TOMORROW + timedelta(hours=3)).isoformat())
    running = ok(await start(api, live.s.teacher, live), 201)
    assert_error(await stop(api, live.s.teacher, live, 999_999), 404, "not_found")
    elsewhere = Class(live.s, other["id"], other["code"], room="")
    assert_error(await stop(api, live.s.teacher, elsewhere, running["id"]), 404, "not_found")
    [row] = await recordings(api)
    livekit.end_egress(row.egress_id, status="EGRESS_FAILED", error="no space left")
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    error = assert_error(await stop(api, live.s.teacher, live, running["id"]), 409, "not_recording")
    assert "failed" in error["message"]


async def test_stopping_twice_and_an_egress_livekit_ended_on_its_own(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Stopping is idempotent: an egress LiveKit already stopped (or that it ended before its
    webhook arrived) is simply ending."""
    live = await ready_class(api, app, clock, livekit)
    running = ok(await start(api, live.s.teacher, live), 201)
    [row] = await recordings(api)
    livekit.end_egress(row.egress_id)  # egress_ended not delivered yet
    assert ok(await stop(api, live.s.teacher, live, running["id"]))["status"] == "ending"
    assert [c.error_code for c in livekit.calls_to("StopEgress")] == ["failed_precondition"]
    provider = LiveKitProvider(livekit.url, livekit.api_key, livekit.api_secret)
    await provider.stop_recording(row.egress_id)  # ended: nothing to do
    await provider.stop_recording("EG_unknown")  # never existed: nothing to do either
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    assert (await recordings(api))[0].status == "complete"


# --- what LiveKit is asked to record, and where ---------------------------------------------------


@pytest.mark.parametrize(
    ("storage", "s3"),
    [
        (FILES, None),
        (
            S3,
            {
                "bucket": "academy-recordings",
                "access_key": "AKIAEXAMPLE",
                "secret": "s3-very-secret-value",
                "region": "eu-central-1",
                "endpoint": "https://minio.example.org",
                "force_path_style": True,
            },
        ),
        (
            # Amazon S3 itself: no endpoint, so virtual-hosted buckets.
            {k: v for k, v in S3.items() if k != "s3_endpoint"},
            {
                "bucket": "academy-recordings",
                "access_key": "AKIAEXAMPLE",
                "secret": "s3-very-secret-value",
                "region": "eu-central-1",
                "endpoint": "",
                "force_path_style": False,
            },
        ),
    ],
    ids=["file", "s3-compatible", "amazon-s3"],
)
async def test_the_egress_request_says_where_the_file_goes(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    storage: dict[str, Any],
    s3: dict[str, Any] | None,
) -> None:
    live = await ready_class(api, app, clock, livekit, recordings=storage)
    ok(await start(api, live.s.teacher, live), 201)
    [request] = egress_requests(livekit)
    assert request.room_name == live.room
    [output] = request.file_outputs
    # LiveKit fills in {time}: recordings of one session never overwrite each other.
    assert output.filepath == f"{storage['path_prefix']}/{SLUG}/{live.code}-{{time}}.mp4"
    if s3 is None:
        assert not output.HasField("s3")
    else:
        upload = output.s3
        assert {
            "bucket": upload.bucket,
            "access_key": upload.access_key,
            "secret": upload.secret,
            "region": upload.region,
            "endpoint": upload.endpoint,
            "force_path_style": upload.force_path_style,
        } == s3
    # The egress id LiveKit gave is what Halaqa keeps.
    [row] = await recordings(api)
    assert row.egress_id == livekit.egress(row.egress_id).egress_id
    assert livekit.egress(row.egress_id).room_name == live.room


# --- webhooks follow a recording ----------------------------------------------------------------


async def test_egress_webhooks_follow_a_recording_to_its_file(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    ok(await start(api, live.s.teacher, live), 201)
    [row] = await recordings(api)
    egress = row.egress_id
    await relay(api, app, livekit, *egress_events(livekit, egress))  # egress_started
    assert (await recordings(api))[0].status == "starting"
    clock.set(TOMORROW)
    livekit.activate_egress(egress)
    await relay(api, app, livekit, egress_events(livekit, egress)[-1])  # egress_updated
    assert (await recordings(api))[0].status == "active"
    clock.set(TOMORROW + timedelta(minutes=45, seconds=30))
    ok(await stop(api, live.s.teacher, live, row.id))
    stopping = egress_events(livekit, egress)[-1]
    assert (stopping.event, stopping.egress_info.status) == (
        "egress_updated",
        Status.EGRESS_ENDING,
    )
    clock.advance(timedelta(seconds=20))
    location = f"https://minio.example.org/academy/{SLUG}/{live.code}-2026.mp4"
    livekit.end_egress(egress, location=location, size=734_003_200)
    await relay(api, app, livekit, egress_events(livekit, egress)[-1])  # egress_ended
    [done] = await shown(api, live.s.teacher, live)
    assert done == {
        "id": row.id,
        "status": "complete",
        "started_by_user_id": live.s.teacher.id,
        "started_at": done["started_at"],
        "ended_at": done["ended_at"],
        "location": location,
        "duration_seconds": 45 * 60 + 50,
        "size_bytes": 734_003_200,
        "error": None,
    }
    assert datetime.fromisoformat(done["ended_at"]) == TOMORROW + timedelta(minutes=45, seconds=50)
    assert datetime.fromisoformat(done["started_at"]) == READY_AT
    # LiveKit's queue for the egress delivers in order, but a retried update may still come in
    # after the end: it undoes nothing.
    await relay(api, app, livekit, stopping)
    [after] = await recordings(api)
    assert (after.status, after.location, after.size_bytes) == ("complete", location, 734_003_200)
    events = [e for e in await stored(api) if e.event.startswith("egress_")]
    assert [e.status for e in events] == ["processed"] * 4
    assert {e.session_id for e in events} == {live.id}


async def test_a_late_update_does_not_undo_a_stop(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Halaqa marks a stopped recording ending at once; the egress_updated saying it was active,
    sent before the stop and processed after it, does not make it active again."""
    live = await ready_class(api, app, clock, livekit)
    ok(await start(api, live.s.teacher, live), 201)
    [row] = await recordings(api)
    livekit.activate_egress(row.egress_id)
    became_active = egress_events(livekit, row.egress_id)[-1]
    ok(await stop(api, live.s.teacher, live, row.id))
    await relay(api, app, livekit, became_active)
    assert (await recordings(api))[0].status == "ending"
    # No second recording starts while this one is finishing.
    assert_error(await start(api, live.s.teacher, live), 409, "already_recording")


@pytest.mark.parametrize(
    ("final", "status"),
    [
        ("EGRESS_FAILED", "failed"),
        ("EGRESS_ABORTED", "aborted"),
        ("EGRESS_LIMIT_REACHED", "complete"),  # the file is there, cut at the limit
    ],
)
async def test_how_an_egress_ended(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    final: str,
    status: str,
) -> None:
    live = await ready_class(api, app, clock, livekit)
    ok(await start(api, live.s.teacher, live), 201)
    [row] = await recordings(api)
    livekit.activate_egress(row.egress_id)
    clock.advance(timedelta(minutes=3))
    error = "" if status == "complete" else "the recorder gave up"
    livekit.end_egress(row.egress_id, status=final, error=error, size=10)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    [ended] = await recordings(api)
    assert (ended.status, ended.error, ended.duration_seconds) == (status, error or None, 180)
    assert ended.ended_at is not None


async def test_an_egress_started_outside_halaqa_is_kept(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """An egress started with LiveKit's own tools, of a room Halaqa knows, is kept as one of the
    session's recordings; one of a room Halaqa does not know is kept as an unknown room's event."""
    live = await ready_class(api, app, clock, livekit)
    outside = LiveKitProvider(livekit.url, livekit.api_key, livekit.api_secret)
    egress = await outside.start_recording(live.room, RecordingTarget(file_path="by-hand.mp4"))
    livekit.join("someone-elses-room", "user-99")
    foreign = await outside.start_recording(
        "someone-elses-room", RecordingTarget(file_path="x.mp4")
    )
    clock.set(TOMORROW)
    livekit.activate_egress(egress)
    clock.advance(timedelta(minutes=10))
    livekit.end_egress(egress, size=2048)
    await relay(api, app, livekit, *egress_events(livekit, egress))
    await relay(api, app, livekit, *egress_events(livekit, foreign))
    [kept] = await recordings(api)
    assert (kept.egress_id, kept.session_id, kept.started_by_user_id) == (egress, live.id, None)
    assert (kept.status, kept.location, kept.duration_seconds, kept.size_bytes) == (
        "complete",
        "by-hand.mp4",
        600,
        2048,
    )
    assert [r["id"] for r in await shown(api, live.s.admin, live)] == [kept.id]
    async with api.database.transaction() as db:
        unknown = list(
            await db.scalars(select(MeetingEvent).where(MeetingEvent.status == "unknown_room"))
        )
    assert [e.event for e in unknown] == ["egress_started"]


async def test_the_first_word_of_an_outside_egress_may_be_its_end(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    outside = LiveKitProvider(livekit.url, livekit.api_key, livekit.api_secret)
    egress = await outside.start_recording(live.room, RecordingTarget(file_path="late.mp4"))
    livekit.activate_egress(egress)
    livekit.end_egress(egress, location="s3://bucket/late.mp4")
    [ended] = [e for e in egress_events(livekit, egress) if e.event == "egress_ended"]
    await relay(api, app, livekit, ended)
    [kept] = await recordings(api)
    assert (kept.status, kept.location) == ("complete", "s3://bucket/late.mp4")


# --- who sees the recordings ----------------------------------------------------------------------


@pytest.mark.parametrize("students_see", [True, False])
async def test_who_sees_a_sessions_recordings(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, students_see: bool
) -> None:
    live = await ready_class(api, app, clock, livekit)
    s = live.s
    if not students_see:
        await change_settings(api, s, recordings_visible_to_students=False)
    running = ok(await start(api, s.teacher, live), 201)
    for who in (s.teacher, s.admin, s.supervisor):
        assert [r["id"] for r in await shown(api, who, live)] == [running["id"]]
    for who in (s.students[0], s.parent):
        if students_see:
            assert [r["id"] for r in await shown(api, who, live)] == [running["id"]]
        else:
            error = assert_error(await listed(api, who, live), 403, "not_allowed")
            assert "teachers and staff" in error["message"]
    for who in (s.other_teacher, s.students[1]):  # not their session: not even seen
        assert_error(await listed(api, who, live), 404, "not_found")
    outsider = await api.user()
    assert_error(await listed(api, outsider, live), 404, "not_found")


async def test_a_session_without_recordings_lists_none(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    other = await book(api, live.s, starts_at=(TOMORROW + timedelta(hours=3)).isoformat())
    ok(await start(api, live.s.teacher, live), 201)
    response = await api.client.get(
        f"{SESSIONS}/{other['id']}/recordings", headers=live.s.teacher.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == []


# --- recorded automatically once the class starts -----------------------------------------------


@pytest.mark.parametrize(
    ("academy_records", "session_record", "recorded"),
    [
        (True, None, True),
        (True, False, False),  # the session says not to
        (False, True, True),  # the session asks for it
        (False, None, False),
    ],
)
async def test_classes_are_recorded_once_they_start_when_asked(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    academy_records: bool,
    session_record: bool | None,
    recorded: bool,
) -> None:
    fields: dict[str, Any] = {} if session_record is None else {"record": session_record}
    live = await ready_class(api, app, clock, livekit, **fields)
    await change_settings(api, live.s, record_sessions=academy_records)
    assert ok(await api.client.get(live.path, headers=live.s.teacher.headers))["record"] == (
        session_record
    )
    await tick(app)
    assert await recordings(api) == []  # a ready class is not recorded yet
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await tick(app)
    found = await recordings(api)
    assert len(found) == int(recorded)
    assert len(egress_requests(livekit)) == int(recorded)
    if recorded:
        [row] = found
        assert (row.session_id, row.status, row.started_by_user_id) == (live.id, "starting", None)
        assert egress_requests(livekit)[0].room_name == live.room
    async with api.database.transaction() as db:
        jobs = list(await db.scalars(select(Job).where(Job.kind == "meetings.record")))
    assert [(j.status, j.attempts) for j in jobs] == [("done", 1)]


async def test_a_class_started_before_it_was_ready_is_recorded_at_once(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """The teacher starts the class before the worker made it ready: its room and its recording
    start in the same worker pass, not at the record job's first retry."""
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit)))
    await change_settings(api, s, record_sessions=True)
    made = await book(api, s)
    clock.set(TOMORROW - timedelta(minutes=5))
    live = Class(s, made["id"], made["code"], room="")
    await act(api, s.teacher, live, "start")
    await tick(app)
    room = await room_of(api, made["id"])
    assert room.status == "open"
    [row] = await recordings(api)
    assert row.status == "starting"
    assert [r.room_name for r in egress_requests(livekit)] == [room.room_name]
    async with api.database.transaction() as db:
        jobs = list(await db.scalars(select(Job).where(Job.kind == "meetings.record")))
    assert [(j.status, j.attempts, j.last_error) for j in jobs] == [("done", 1, None)]


async def test_a_recording_started_by_hand_is_not_doubled_when_the_class_starts(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit, record=True)
    ok(await start(api, live.s.teacher, live), 201)
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await tick(app)
    assert len(await recordings(api)) == 1
    assert len(egress_requests(livekit)) == 1


@pytest.mark.parametrize("why", ["no_storage", "meeting_links"])
async def test_an_academy_that_cannot_record_still_starts_its_classes(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, why: str
) -> None:
    """Asked to record where nothing can be recorded, the job gives up quietly: it is not
    retried, and the class goes on."""
    if why == "no_storage":
        live = await ready_class(api, app, clock, livekit, recordings=None, record=True)
    else:
        s = await school(api, students=1)
        ok(
            await put_provider(
                api, s.admin, {"provider": "link", "jitsi_base_url": "https://m.org"}
            )
        )
        made = await book(api, s, record=True)
        live = Class(s, made["id"], made["code"], room="")
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await tick(app)
    assert await recordings(api) == []
    assert egress_requests(livekit) == []
    assert await session_status(api, live) == "ongoing"
    async with api.database.transaction() as db:
        jobs = list(await db.scalars(select(Job).where(Job.kind == "meetings.record")))
    assert [(j.status, j.attempts) for j in jobs] == [("done", 1)]


async def test_the_record_job_retries_when_livekit_fails(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit, record=True)
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    livekit.fail_next("StartRoomCompositeEgress", "unavailable")
    await tick(app)
    assert await recordings(api) == []
    clock.advance(timedelta(seconds=10))  # the retry is due
    await tick(app)
    [row] = await recordings(api)
    assert row.started_by_user_id is None
    assert len(egress_requests(livekit)) == 2


async def test_a_class_that_ended_before_the_job_ran_is_not_recorded(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit, record=True)
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await act(api, live.s.teacher, live, "end")
    await tick(app)
    assert await recordings(api) == []
    assert egress_requests(livekit) == []


# --- the room closing stops recordings ----------------------------------------------------------


async def test_cancelling_a_class_stops_its_recording_and_closes_the_room(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit)
    ok(await start(api, live.s.teacher, live), 201)
    [row] = await recordings(api)
    await act(api, live.s.admin, live, "cancel", reason="teacher ill")
    await tick(app)
    assert stopped(livekit) == [row.egress_id]
    assert livekit.room(live.room) is None
    assert [c.method for c in livekit.calls if c.method in {"StopEgress", "DeleteRoom"}] == [
        "StopEgress",
        "DeleteRoom",
    ]
    assert (await recordings(api))[0].status == "ending"
    assert (await room_of(api, live.id)).status == "closed"


async def test_a_recording_runs_until_the_room_closes_at_the_overtime_cap(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await ready_class(api, app, clock, livekit, record=True)
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await tick(app)
    [row] = await recordings(api)
    livekit.activate_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    clock.set(TOMORROW + timedelta(minutes=55))
    await act(api, live.s.teacher, live, "complete")
    await tick(app)
    # Completed, but people may still be talking: the recording goes on with them.
    assert stopped(livekit) == []
    assert (await recordings(api))[0].status == "active"
    clock.set(TOMORROW + timedelta(minutes=120))  # the end + the 60-minute overtime cap
    await tick(app)
    assert stopped(livekit) == [row.egress_id]
    assert livekit.room(live.room) is None
    assert (await recordings(api))[0].status == "ending"


async def test_recordings_stop_with_the_room_after_their_storage_was_unset(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Stopping a recording needs LiveKit, not the storage new recordings would go to: an admin
    who stops recording classes does not leave the running ones (and their room) open."""
    live = await ready_class(api, app, clock, livekit)
    first = ok(await start(api, live.s.teacher, live), 201)
    ok(await put_provider(api, live.s.admin, livekit_body(livekit, None)))
    assert ok(await stop(api, live.s.teacher, live, first["id"]))["status"] == "ending"
    [row] = await recordings(api)
    livekit.end_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    ok(await put_provider(api, live.s.admin, livekit_body(livekit, FILES)))
    ok(await start(api, live.s.teacher, live), 201)
    ok(await put_provider(api, live.s.admin, livekit_body(livekit, None)))
    await act(api, live.s.admin, live, "cancel", reason="teacher ill")
    await tick(app)
    second = (await recordings(api))[1]
    assert stopped(livekit)[-1] == second.egress_id
    assert second.status == "ending"
    assert livekit.room(live.room) is None
    async with api.database.transaction() as db:
        jobs = list(await db.scalars(select(Job).where(Job.kind == "meetings.close_room")))
    assert [(j.status, j.last_error) for j in jobs] == [("done", None)]


# --- where recordings go: the academy's configuration -------------------------------------------


async def config_row(api: Api) -> MeetingConfig:
    async with api.database.transaction() as db:
        return (await db.scalars(select(MeetingConfig))).one()


async def test_recording_storage_round_trips_without_its_secret(
    api: Api, livekit: FakeLiveKit
) -> None:
    s = await school(api, students=1)
    saved = ok(await put_provider(api, s.admin, livekit_body(livekit, S3)))
    expected = {
        "path_prefix": "halaqa",
        "s3_bucket": "academy-recordings",
        "s3_region": "eu-central-1",
        "s3_endpoint": "https://minio.example.org",
        "s3_access_key": "AKIAEXAMPLE",
        "s3_secret_set": True,
    }
    assert saved["recordings"] == expected
    shown = await api.client.get(PROVIDER, headers=s.admin.headers)
    assert ok(shown)["recordings"] == expected
    assert "s3-very-secret-value" not in shown.text
    row = await config_row(api)
    assert row.recording_s3_secret_sealed is not None
    assert "s3-very-secret-value" not in row.recording_s3_secret_sealed
    # Files only: a prefix (the default one when none is given), no bucket and no secret.
    files = ok(await put_provider(api, s.admin, livekit_body(livekit, {})))["recordings"]
    assert files == {
        "path_prefix": "halaqa",
        "s3_bucket": None,
        "s3_region": None,
        "s3_endpoint": None,
        "s3_access_key": None,
        "s3_secret_set": False,
    }
    assert (await config_row(api)).recording_s3_secret_sealed is None
    # Left out: nothing is recorded.
    assert ok(await put_provider(api, s.admin, livekit_body(livekit, None)))["recordings"] is None
    row = await config_row(api)
    assert (row.recording_path_prefix, row.recording_s3_bucket) == (None, None)


async def test_the_s3_secret_is_kept_while_its_access_key_stays(
    api: Api, livekit: FakeLiveKit
) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit, S3)))
    sealed = (await config_row(api)).recording_s3_secret_sealed
    without_secret = {k: v for k, v in S3.items() if k != "s3_secret"}
    kept = ok(await put_provider(api, s.admin, livekit_body(livekit, without_secret)))
    assert kept["recordings"]["s3_secret_set"] is True
    assert (await config_row(api)).recording_s3_secret_sealed == sealed
    # Another bucket, the same key: still kept.
    moved = without_secret | {"s3_bucket": "other-bucket"}
    assert (
        ok(await put_provider(api, s.admin, livekit_body(livekit, moved)))["recordings"][
            "s3_bucket"
        ]
        == "other-bucket"
    )
    assert (await config_row(api)).recording_s3_secret_sealed == sealed
    # A new key needs its secret.
    new_key = without_secret | {"s3_access_key": "AKIAOTHER"}
    response = await put_provider(api, s.admin, livekit_body(livekit, new_key))
    assert error_fields(response) == {"recordings.s3_secret"}
    row = await config_row(api)
    assert (row.recording_s3_access_key, row.recording_s3_secret_sealed) == ("AKIAEXAMPLE", sealed)
    # With its secret, the new key is taken and the secret sealed anew.
    ok(await put_provider(api, s.admin, livekit_body(livekit, new_key | {"s3_secret": "new-one"})))
    row = await config_row(api)
    assert row.recording_s3_access_key == "AKIAOTHER"
    assert row.recording_s3_secret_sealed not in {None, sealed}
    async with api.database.transaction() as db:
        entries = list(
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "meetings.configured")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.after or {})["recordings"]["s3_secret"] for e in entries] == [
        "changed",
        "kept",
        "kept",
        "changed",
    ]
    assert all(
        "s3-very-secret" not in str(e.after) and "new-one" not in str(e.after) for e in entries
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # A bucket without its key, or a first key without its secret.
        ({"s3_bucket": "academy-recordings"}, "recordings.s3_access_key"),
        ({"s3_bucket": "academy-recordings", "s3_access_key": "AK"}, "recordings.s3_secret"),
        ({"path_prefix": "../etc"}, "recordings.path_prefix"),
        ({"path_prefix": ""}, "recordings.path_prefix"),
        ({**S3, "s3_endpoint": "minio.example.org"}, "recordings.s3_endpoint"),
        ({**S3, "s3_secret": ""}, "recordings.s3_secret"),
    ],
)
async def test_bad_recording_storage_is_refused(
    api: Api, livekit: FakeLiveKit, body: dict[str, Any], field: str
) -> None:
    s = await school(api, students=1)
    assert error_fields(await put_provider(api, s.admin, livekit_body(livekit, body))) == {field}
    assert ok(await api.client.get(PROVIDER, headers=s.admin.headers))["provider"] == "link"


async def test_meeting_links_take_no_recording_storage(api: Api, livekit: FakeLiveKit) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit, S3)))
    body = {"provider": "link", "jitsi_base_url": "https://meet.jit.si", "recordings": FILES}
    assert error_fields(await put_provider(api, s.admin, body)) == {"recordings"}
    assert (await config_row(api)).provider == "livekit"
    # Moving to links without recordings drops the storage, and its secret with it.
    del body["recordings"]
    assert ok(await put_provider(api, s.admin, body))["recordings"] is None
    row = await config_row(api)
    assert (row.recording_path_prefix, row.recording_s3_secret_sealed) == (None, None)


async def test_rotating_the_server_secret_reseals_the_s3_secret_too(
    api: Api, app: FastAPI, livekit: FakeLiveKit
) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit, S3)))
    before = await config_row(api)
    old = app.state.settings.secret_key
    rotated = app.state.settings.model_copy(
        update={"secret_key": SecretStr("r" * 48), "previous_secret_keys": [old]}
    )
    async with api.database.transaction() as db:
        assert await reseal_secrets(Runtime(db, app.state.clock, rotated, rotated.secret())) == (
            2,
            0,
        )
    after = await config_row(api)
    assert after.recording_s3_secret_sealed not in {None, before.recording_s3_secret_sealed}
    assert after.recording_s3_secret_sealed is not None
    box = SecretBox(b"r" * 48)
    context = f"academy:{after.academy_id}:recordings-s3"
    assert box.open(after.recording_s3_secret_sealed, context=context) == "s3-very-secret-value"
    async with api.database.transaction() as db:
        assert await reseal_secrets(Runtime(db, app.state.clock, rotated, rotated.secret())) == (
            0,
            2,
        )
