"""What the people running a live class do to its room: let its students share their screens
(at once in LiveKit, and in the tokens of those who join later), and end the class now (its room
closed at once, its recordings stopped), against the wire-faithful stand-in (tests/livekit)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from livekit import api as lk
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from sqlalchemy import select

from halaqa.kit.clock import FrozenClock
from halaqa.models import Job, SessionRoom
from tests.api import Api, Person, assert_error
from tests.catalog.school import School, audit, enrolled, new_group, ok, school
from tests.conftest import START
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import claims, room_of, tick
from tests.meetings.test_recordings import (
    READY_AT,
    SESSIONS,
    TOMORROW,
    Class,
    act,
    book,
    egress_events,
    livekit_body,
    put_provider,
    ready_class,
    recordings,
    relay,
    session_status,
    start,
    stopped,
)

Source = lk.TrackSource
WITHOUT_SCREEN = [Source.CAMERA, Source.MICROPHONE]
WITH_SCREEN = [*WITHOUT_SCREEN, Source.SCREEN_SHARE, Source.SCREEN_SHARE_AUDIO]
# What the stand-in gives a participant that connects, before anyone changes it.
CONNECTED = proto_models.ParticipantPermission(
    can_subscribe=True, can_publish=True, can_publish_data=True
)


# Who may not run a live class, and how each is refused.
REFUSED = pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("student", 403, "not_allowed"),
        ("parent", 403, "not_allowed"),
        ("other_teacher", 404, "not_found"),  # not their class: not even seen
    ],
)


def refused(s: School, who: str) -> Person:
    """The person a REFUSED case names."""
    return {"student": s.students[0], "parent": s.parent, "other_teacher": s.other_teacher}[who]


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def group_class(api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit) -> Class:
    """A circle of three students on LiveKit, its class ready (the room open) and starting now."""
    s = await school(api, students=3)
    ok(await put_provider(api, s.admin, livekit_body(livekit)))
    group = await new_group(api, s.admin, s.teacher)
    for student in s.students:
        await enrolled(api, s.admin, group["id"], student)
    body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group["id"],
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
    }
    made = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    clock.set(READY_AT)
    await tick(app)
    room = await room_of(api, made["id"])
    assert room.status == "open"
    clock.set(TOMORROW)
    return Class(s, made["id"], made["code"], room.room_name)


async def share(api: Api, who: Person, live: Class, allowed: bool) -> httpx.Response:
    return await api.client.put(
        f"{live.path}/screen-share", json={"students_may_share": allowed}, headers=who.headers
    )


async def end(api: Api, who: Person, live: Class) -> httpx.Response:
    return await api.client.post(f"{live.path}/end", headers=who.headers)


def identity(person: Person) -> str:
    return f"user-{person.id}"


def permissions(livekit: FakeLiveKit, live: Class) -> dict[str, proto_models.ParticipantPermission]:
    return {p.identity: p.permission for p in livekit.participants(live.room)}


def updated(livekit: FakeLiveKit) -> list[str]:
    """Whose permissions Halaqa asked LiveKit to change, in order."""
    found = []
    for call in livekit.calls_to("UpdateParticipant"):
        assert isinstance(call.request, proto_room.UpdateParticipantRequest)
        found.append(call.request.identity)
    return found


async def may_share(api: Api, live: Class) -> bool:
    async with api.database.transaction() as db:
        room = await db.get(SessionRoom, live.id)
        assert room is not None
        return room.students_may_share_screen


def student_permission(sources: list[Any]) -> proto_models.ParticipantPermission:
    return proto_models.ParticipantPermission(
        can_subscribe=True, can_publish=True, can_publish_data=True, can_publish_sources=sources
    )


# --- screen sharing -------------------------------------------------------------------------------


async def test_the_teacher_lets_students_share_their_screens_and_stops_them(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    s = live.s
    first, second, late = s.students
    for person in (s.teacher, first, second, s.supervisor):
        livekit.join(live.room, identity(person))
    livekit.join(live.room, "EG_recorder", kind="EGRESS")
    before = await claims(api, livekit, first, live.id)
    assert before.video is not None
    assert before.video.can_publish_sources == ["camera", "microphone"]

    allowed = ok(await share(api, s.teacher, live, True))
    assert allowed == {"students_may_share": True, "updated_participants": 2}
    assert sorted(updated(livekit)) == sorted([identity(first), identity(second)])
    found = permissions(livekit, live)
    assert found[identity(first)] == student_permission(WITH_SCREEN)
    assert found[identity(second)] == student_permission(WITH_SCREEN)
    # The teacher, the hidden supervisor and the recorder keep what they had.
    for other in (identity(s.teacher), identity(s.supervisor), "EG_recorder"):
        assert found[other] == CONNECTED
    assert await may_share(api, live) is True
    # A student who joins later gets a token that lets them share.
    joining = await claims(api, livekit, late, live.id)
    assert joining.video is not None
    assert joining.video.can_publish_sources == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]
    # The teacher's own token never depended on it.
    teacher = await claims(api, livekit, s.teacher, live.id)
    assert teacher.video is not None
    assert teacher.video.room_admin is True

    # The late student connects; the admin stops everyone sharing.
    livekit.join(live.room, identity(late))
    revoked = ok(await share(api, s.admin, live, False))
    assert revoked == {"students_may_share": False, "updated_participants": 3}
    found = permissions(livekit, live)
    for student in s.students:
        assert found[identity(student)] == student_permission(WITHOUT_SCREEN)
    assert found[identity(s.teacher)] == CONNECTED
    assert await may_share(api, live) is False
    after = await claims(api, livekit, first, live.id)
    assert after.video is not None
    assert after.video.can_publish_sources == ["camera", "microphone"]

    entries = await audit(api, s.admin, "session.screen_share")
    assert [(e["actor_user_id"], e["after"]) for e in entries] == [
        (s.teacher.id, {"students_may_share": True, "updated_participants": 2}),
        (s.admin.id, {"students_may_share": False, "updated_participants": 3}),
    ]


async def test_with_nobody_in_the_room_only_later_tokens_change(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    assert ok(await share(api, live.s.supervisor, live, True)) == {
        "students_may_share": True,
        "updated_participants": 0,
    }
    assert updated(livekit) == []
    joined = await claims(api, livekit, live.s.students[0], live.id)
    assert joined.video is not None
    assert "screen_share" in (joined.video.can_publish_sources or [])


@REFUSED
async def test_only_the_teacher_and_staff_decide_who_shares(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    who: str,
    status: int,
    code: str,
) -> None:
    live = await group_class(api, app, clock, livekit)
    s = live.s
    person = refused(s, who)
    livekit.join(live.room, identity(s.students[0]))
    assert_error(await share(api, person, live, True), status, code)
    assert updated(livekit) == []
    assert permissions(livekit, live)[identity(s.students[0])] == CONNECTED
    assert await may_share(api, live) is False


@pytest.mark.parametrize("state", ["scheduled", "failed", "closed"])
async def test_screen_sharing_needs_the_room_open(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, state: str
) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit)))
    made = await book(api, s)
    live = Class(s, made["id"], made["code"], room="")
    if state != "scheduled":
        if state == "failed":
            livekit.fail_next("CreateRoom", "unavailable")
        clock.set(READY_AT)
        await tick(app)
    if state == "closed":
        await act(api, s.admin, live, "cancel", reason="ill")
        await tick(app)
        assert (await room_of(api, live.id)).status == "closed"
    error = assert_error(await share(api, s.teacher, live, True), 409, "room_not_open")
    assert "not open" in error["message"]
    assert livekit.calls_to("UpdateParticipant") == []


async def test_meeting_links_share_screens_their_own_way(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    body = {"provider": "link", "jitsi_base_url": "https://meet.jit.si/"}
    ok(await put_provider(api, s.admin, body))
    made = await book(api, s)
    clock.set(TOMORROW)
    ok(await api.client.post(f"{SESSIONS}/{made['id']}/join", headers=s.teacher.headers))
    live = Class(s, made["id"], made["code"], room="")
    assert (await room_of(api, live.id)).status == "open"
    assert_error(await share(api, s.teacher, live, True), 409, "not_supported")
    assert await may_share(api, live) is False


@pytest.mark.parametrize("method", ["ListParticipants", "UpdateParticipant"])
async def test_livekit_failing_leaves_screen_sharing_as_it_was(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, method: str
) -> None:
    live = await group_class(api, app, clock, livekit)
    livekit.join(live.room, identity(live.s.students[0]))
    livekit.fail_next(method, "unavailable")
    assert_error(await share(api, live.s.teacher, live, True), 503, "unavailable")
    assert await may_share(api, live) is False
    joined = await claims(api, livekit, live.s.students[1], live.id)
    assert joined.video is not None
    assert joined.video.can_publish_sources == ["camera", "microphone"]
    assert await audit(api, live.s.admin, "session.screen_share") == []


async def test_a_student_who_left_meanwhile_does_not_stop_the_others(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Between listing the room and updating a student, that student may leave: LiveKit answers
    not_found for them, and the others still get their permission."""
    live = await group_class(api, app, clock, livekit)
    first, second, _ = live.s.students
    livekit.join(live.room, identity(first))
    livekit.join(live.room, identity(second))
    livekit.fail_next("UpdateParticipant", "not_found", msg="participant does not exist")
    changed = ok(await share(api, live.s.teacher, live, True))
    assert changed == {"students_may_share": True, "updated_participants": 1}
    assert len(updated(livekit)) == 2
    found = permissions(livekit, live)
    assert sorted(p == student_permission(WITH_SCREEN) for p in found.values()) == [False, True]
    assert await may_share(api, live) is True


# --- ending a class now ---------------------------------------------------------------------------


async def live_class(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> tuple[Class, str]:
    """An ongoing class on LiveKit being recorded, its student in the room; the egress id."""
    live = await ready_class(api, app, clock, livekit, record=True)
    clock.set(TOMORROW)
    await act(api, live.s.teacher, live, "start")
    await tick(app)
    [row] = await recordings(api)
    livekit.activate_egress(row.egress_id)
    await relay(api, app, livekit, *egress_events(livekit, row.egress_id))
    livekit.join(live.room, identity(live.s.students[0]))
    livekit.join(live.room, identity(live.s.teacher))
    clock.set(TOMORROW + timedelta(minutes=20))
    return live, row.egress_id


@pytest.mark.parametrize("who", ["teacher", "admin", "supervisor"])
async def test_ending_a_class_now_closes_its_room_at_once(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, who: str
) -> None:
    live, egress = await live_class(api, app, clock, livekit)
    person = {"teacher": live.s.teacher, "admin": live.s.admin, "supervisor": live.s.supervisor}[
        who
    ]
    ended = ok(await end(api, person, live))
    assert (ended["id"], ended["status"]) == (live.id, "completed")
    assert ended["room"]["status"] == "closed"
    # Closed now, mid-class, not at the overtime cap: everyone is out.
    assert livekit.room(live.room) is None
    assert len(livekit.calls_to("DeleteRoom")) == 1
    gone = [e for e in livekit.events if e.event == "participant_left"]
    assert {e.participant.identity for e in gone} == {
        identity(live.s.students[0]),
        identity(live.s.teacher),
    }
    assert {e.participant.disconnect_reason for e in gone} == {
        proto_models.DisconnectReason.ROOM_DELETED
    }
    room = await room_of(api, live.id)
    assert room.status == "closed"
    assert room.closed_at is not None
    assert room.closed_at.replace(tzinfo=START.tzinfo) == TOMORROW + timedelta(minutes=20)
    # Its recording was asked to finish; LiveKit's egress_ended says where the file is.
    assert stopped(livekit) == [egress]
    assert [r.status for r in await recordings(api)] == ["ending"]
    entries = await audit(api, live.s.admin, "session.ended_now")
    assert [(e["actor_user_id"], e["after"]) for e in entries] == [
        (person.id, {"status": "completed"})
    ]
    response = await api.client.get(f"{live.path}/history", headers=live.s.admin.headers)
    assert response.status_code == 200, response.text
    last_change = response.json()[-1]
    assert (last_change["to_status"], last_change["reason"]) == ("completed", "ended now")
    # The close job the completion queued finds the room closed at the cap: nothing more.
    clock.set(TOMORROW + timedelta(minutes=120))
    await tick(app)
    await tick(app)
    assert len(livekit.calls_to("DeleteRoom")) == 1
    async with api.database.transaction() as db:
        jobs = list(await db.scalars(select(Job).where(Job.kind == "meetings.close_room")))
    assert {j.status for j in jobs} == {"done"}


async def test_a_class_running_over_is_closed_now(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live, egress = await live_class(api, app, clock, livekit)
    clock.set(TOMORROW + timedelta(minutes=58))
    await act(api, live.s.teacher, live, "complete")
    await tick(app)
    assert livekit.room(live.room) is not None  # completed, still talking
    clock.set(TOMORROW + timedelta(minutes=70))
    ended = ok(await end(api, live.s.teacher, live))
    assert ended["status"] == "completed"
    assert livekit.room(live.room) is None
    assert stopped(livekit) == [egress]


@pytest.mark.parametrize("state", ["scheduled", "ready", "cancelled"])
async def test_a_class_that_is_not_running_is_not_ended(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, state: str
) -> None:
    live = await ready_class(api, app, clock, livekit)
    if state == "scheduled":
        made = await book(api, live.s, starts_at=(TOMORROW + timedelta(hours=3)).isoformat())
        live = Class(live.s, made["id"], made["code"], room="")
    elif state == "cancelled":
        await act(api, live.s.admin, live, "cancel", reason="ill")
    error = assert_error(await end(api, live.s.teacher, live), 409, "not_live")
    assert state in error["message"]
    assert await session_status(api, live) == state
    assert livekit.calls_to("DeleteRoom") == []


@REFUSED
async def test_only_the_teacher_and_staff_end_a_class(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    who: str,
    status: int,
    code: str,
) -> None:
    live, _egress = await live_class(api, app, clock, livekit)
    s = live.s
    person = refused(s, who)
    assert_error(await end(api, person, live), status, code)
    assert await session_status(api, live) == "ongoing"
    assert livekit.room(live.room) is not None
    assert stopped(livekit) == []


async def test_livekit_failing_to_close_the_room_leaves_the_class_running(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live, egress = await live_class(api, app, clock, livekit)
    livekit.fail_next("DeleteRoom", "unavailable")
    error = assert_error(await end(api, live.s.teacher, live), 503, "unavailable")
    assert "could not be closed" in error["message"]
    # Nothing half-done: the class goes on, in its room, still recorded.
    assert await session_status(api, live) == "ongoing"
    assert (await room_of(api, live.id)).status == "open"
    assert livekit.room(live.room) is not None
    assert [r.status for r in await recordings(api)] == ["active"]
    assert livekit.egress(egress).status == lk.EgressStatus.EGRESS_ACTIVE
    assert await audit(api, live.s.admin, "session.ended_now") == []
    async with api.database.transaction() as db:
        assert list(await db.scalars(select(Job).where(Job.kind == "meetings.close_room"))) == []
    # Once LiveKit answers again, ending works.
    assert ok(await end(api, live.s.teacher, live))["status"] == "completed"
    assert livekit.room(live.room) is None


async def test_a_stop_refused_after_the_room_closed_does_not_undo_the_end(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Once the room is gone LiveKit ends its recordings itself: an error stopping them does
    not bring back a class whose room no longer exists."""
    live, egress = await live_class(api, app, clock, livekit)
    livekit.fail_next("StopEgress", "internal")
    assert ok(await end(api, live.s.teacher, live))["status"] == "completed"
    assert livekit.room(live.room) is None
    assert (await room_of(api, live.id)).status == "closed"
    livekit.end_egress(egress)
    await relay(api, app, livekit, egress_events(livekit, egress)[-1])
    assert [r.status for r in await recordings(api)] == ["complete"]


async def test_ending_a_class_on_meeting_links(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    body = {"provider": "link", "jitsi_base_url": "https://meet.jit.si/"}
    ok(await put_provider(api, s.admin, body))
    made = await book(api, s)
    clock.set(TOMORROW)
    live = Class(s, made["id"], made["code"], room="")
    ok(await api.client.post(f"{live.path}/join", headers=s.teacher.headers))
    await act(api, s.teacher, live, "start")
    assert ok(await end(api, s.teacher, live))["status"] == "completed"
    assert (await room_of(api, live.id)).status == "closed"


async def test_a_student_cannot_join_a_class_ended_now(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live, _egress = await live_class(api, app, clock, livekit)
    ok(await end(api, live.s.teacher, live))
    response = await api.client.post(f"{live.path}/join", headers=live.s.students[0].headers)
    assert_error(response, 403, "ended")
    assert_error(await start(api, live.s.teacher, live), 409, "not_live")
    assert livekit.room(live.room) is None  # not opened again by anyone
