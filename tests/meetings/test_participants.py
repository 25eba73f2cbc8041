"""The people running a live class mute someone or take them out of the room, and what joining
tells the classroom page it may do there, against the wire-faithful stand-in (tests/livekit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error
from tests.catalog.school import audit, ok, school
from tests.livekit import FakeLiveKit
from tests.meetings.test_controls import REFUSED, group_class, identity, refused
from tests.meetings.test_livekit import room_of, tick
from tests.meetings.test_recordings import (
    READY_AT,
    TOMORROW,
    Class,
    act,
    book,
    livekit_body,
    put_provider,
)

ALL_SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def mute(api: Api, who: Person, live: Class, target: int, track: Any) -> httpx.Response:
    return await api.client.post(
        f"{live.path}/participants/{target}/mute", json={"track": track}, headers=who.headers
    )


async def remove(api: Api, who: Person, live: Class, target: int) -> httpx.Response:
    return await api.client.post(f"{live.path}/participants/{target}/remove", headers=who.headers)


def tracks(livekit: FakeLiveKit, live: Class, person: Person) -> dict[str, bool]:
    """What the person publishes in the room: source -> muted."""
    [found] = [p for p in livekit.participants(live.room) if p.identity == identity(person)]
    return {proto_models.TrackSource.Name(t.source): t.muted for t in found.tracks}


def muted_sids(livekit: FakeLiveKit) -> list[str]:
    found = []
    for call in livekit.calls_to("MutePublishedTrack"):
        assert isinstance(call.request, proto_room.MuteRoomTrackRequest)
        found.append(call.request.track_sid)
    return found


def in_room(livekit: FakeLiveKit, live: Class, person: Person) -> str:
    """The person connects and turns on their camera and microphone; their participant sid."""
    sid = livekit.join(live.room, identity(person))
    livekit.publish_track(live.room, sid, source="CAMERA")
    livekit.publish_track(live.room, sid, source="MICROPHONE")
    return sid


# --- muting -------------------------------------------------------------------------------------


async def test_the_teacher_mutes_a_students_microphone(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    student, other = live.s.students[0], live.s.students[1]
    in_room(livekit, live, student)
    in_room(livekit, live, other)

    answer = ok(await mute(api, live.s.teacher, live, student.id, "microphone"))
    assert answer == {"user_id": student.id, "track": "microphone", "muted_tracks": 1}
    assert tracks(livekit, live, student) == {"CAMERA": False, "MICROPHONE": True}
    assert tracks(livekit, live, other) == {"CAMERA": False, "MICROPHONE": False}
    # Muting what is already off asks LiveKit nothing more.
    again = ok(await mute(api, live.s.teacher, live, student.id, "microphone"))
    assert again["muted_tracks"] == 0
    assert len(muted_sids(livekit)) == 1
    # The camera is its own kind.
    assert ok(await mute(api, live.s.admin, live, student.id, "camera"))["muted_tracks"] == 1
    assert tracks(livekit, live, student) == {"CAMERA": True, "MICROPHONE": True}

    entries = await audit(api, live.s.admin, "session.participant_muted")
    assert {e["entity_id"] for e in entries} == {str(live.id)}
    assert [(e["actor_user_id"], e["after"]) for e in entries] == [
        (live.s.teacher.id, {"user_id": student.id, "track": "microphone", "muted_tracks": 1}),
        (live.s.teacher.id, {"user_id": student.id, "track": "microphone", "muted_tracks": 0}),
        (
            live.s.admin.id,
            {"user_id": student.id, "track": "camera", "muted_tracks": 1},
        ),
    ]


async def test_muting_a_screen_mutes_its_sound_too(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    student = live.s.students[0]
    sid = in_room(livekit, live, student)
    livekit.publish_track(live.room, sid, source="SCREEN_SHARE")
    livekit.publish_track(live.room, sid, source="SCREEN_SHARE_AUDIO")
    answer = ok(await mute(api, live.s.supervisor, live, student.id, "screen_share"))
    assert answer["muted_tracks"] == 2
    assert tracks(livekit, live, student) == {
        "CAMERA": False,
        "MICROPHONE": False,
        "SCREEN_SHARE": True,
        "SCREEN_SHARE_AUDIO": True,
    }


async def test_a_track_gone_meanwhile_does_not_stop_the_others(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Between reading someone's tracks and muting one, they may stop sharing: LiveKit answers
    not_found for that track, and the rest are still muted."""
    live = await group_class(api, app, clock, livekit)
    student = live.s.students[0]
    sid = in_room(livekit, live, student)
    livekit.publish_track(live.room, sid, source="SCREEN_SHARE")
    livekit.publish_track(live.room, sid, source="SCREEN_SHARE_AUDIO")
    livekit.fail_next("MutePublishedTrack", "not_found", msg="track is not found")
    assert (
        ok(await mute(api, live.s.teacher, live, student.id, "screen_share"))["muted_tracks"] == 1
    )
    assert len(muted_sids(livekit)) == 2
    assert sorted(tracks(livekit, live, student).values()) == [False, False, False, True]


async def test_only_the_room_s_kinds_of_track_can_be_muted(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    student = live.s.students[0]
    in_room(livekit, live, student)
    for wrong in ("everything", "", None, ["microphone"]):
        assert_error(
            await mute(api, live.s.teacher, live, student.id, wrong), 422, "validation_error"
        )
    assert livekit.calls_to("GetParticipant") == []


# --- removing -----------------------------------------------------------------------------------


async def test_the_teacher_removes_a_student_who_may_join_again(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    student, other = live.s.students[0], live.s.students[1]
    sid = in_room(livekit, live, student)
    in_room(livekit, live, other)

    assert ok(await remove(api, live.s.teacher, live, student.id)) == {"user_id": student.id}
    assert [p.identity for p in livekit.participants(live.room)] == [identity(other)]
    [gone] = [e for e in livekit.events if e.event == "participant_left"]
    assert (gone.participant.sid, gone.participant.disconnect_reason) == (
        sid,
        proto_models.DisconnectReason.PARTICIPANT_REMOVED,
    )
    entries = await audit(api, live.s.admin, "session.participant_removed")
    assert [(e["actor_user_id"], e["after"]) for e in entries] == [
        (live.s.teacher.id, {"user_id": student.id})
    ]
    # Not a ban: joining is still open to them.
    joined = ok(await api.client.post(f"{live.path}/join", headers=student.headers))
    assert joined["provider"] == "livekit"


async def test_the_staff_may_take_the_teacher_out(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    in_room(livekit, live, live.s.teacher)
    ok(await remove(api, live.s.admin, live, live.s.teacher.id))
    assert livekit.participants(live.room) == []


# --- who, and when ------------------------------------------------------------------------------


@REFUSED
async def test_only_the_teacher_and_staff_mute_and_remove(
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
    target = s.students[1]
    in_room(livekit, live, target)
    person = refused(s, who)
    assert_error(await mute(api, person, live, target.id, "microphone"), status, code)
    assert_error(await remove(api, person, live, target.id), status, code)
    assert tracks(livekit, live, target) == {"CAMERA": False, "MICROPHONE": False}
    assert [m.method for m in livekit.calls if m.method != "CreateRoom"] == []
    assert await audit(api, s.admin, "session.participant_") == []


async def test_only_the_class_s_own_people(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """Someone who takes no part in the class (a parent watching, a member of another class) is
    not the teacher's to mute or remove, even when in the room."""
    live = await group_class(api, app, clock, livekit)
    for outsider in (live.s.parent, live.s.other_teacher, live.s.supervisor):
        livekit.join(live.room, identity(outsider))
        assert_error(await mute(api, live.s.teacher, live, outsider.id, "camera"), 404, "not_found")
        assert_error(await remove(api, live.s.teacher, live, outsider.id), 404, "not_found")
    assert_error(await remove(api, live.s.teacher, live, 2**40), 404, "not_found")
    assert livekit.calls_to("RemoveParticipant") == []


async def test_someone_not_in_the_room_is_said_so(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    absent = live.s.students[2]
    error = assert_error(
        await mute(api, live.s.teacher, live, absent.id, "camera"), 409, "not_in_room"
    )
    assert "not in the room" in error["message"]
    assert_error(await remove(api, live.s.teacher, live, absent.id), 409, "not_in_room")
    # Nor once they have left.
    sid = in_room(livekit, live, absent)
    livekit.leave(live.room, sid)
    assert_error(await remove(api, live.s.teacher, live, absent.id), 409, "not_in_room")
    assert await audit(api, live.s.admin, "session.participant_") == []


@pytest.mark.parametrize("state", ["scheduled", "closed"])
async def test_muting_and_removing_need_the_room_open(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, state: str
) -> None:
    s = await school(api, students=1)
    ok(await put_provider(api, s.admin, livekit_body(livekit, None)))
    made = await book(api, s)
    live = Class(s, made["id"], made["code"], room="")
    if state == "closed":
        clock.set(READY_AT)
        await tick(app)
        await act(api, s.admin, live, "cancel", reason="ill")
        await tick(app)
        assert (await room_of(api, live.id)).status == "closed"
    student = s.students[0]
    assert_error(await mute(api, s.teacher, live, student.id, "microphone"), 409, "room_not_open")
    assert_error(await remove(api, s.teacher, live, student.id), 409, "room_not_open")


async def test_meeting_links_mute_and_remove_their_own_way(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    ok(
        await put_provider(
            api, s.admin, {"provider": "link", "jitsi_base_url": "https://meet.jit.si/"}
        )
    )
    made = await book(api, s)
    clock.set(TOMORROW)
    live = Class(s, made["id"], made["code"], room="")
    joined = ok(await api.client.post(f"{live.path}/join", headers=s.teacher.headers))
    assert (joined["identity"], joined["may_publish"], joined["may_send_data"]) == (None, [], False)
    student = s.students[0]
    assert_error(await mute(api, s.teacher, live, student.id, "microphone"), 409, "not_supported")
    assert_error(await remove(api, s.teacher, live, student.id), 409, "not_supported")


@pytest.mark.parametrize("method", ["GetParticipant", "MutePublishedTrack", "RemoveParticipant"])
async def test_livekit_failing_changes_nothing(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, method: str
) -> None:
    live = await group_class(api, app, clock, livekit)
    student = live.s.students[0]
    in_room(livekit, live, student)
    livekit.fail_next(method, "unavailable")
    if method == "RemoveParticipant":
        assert_error(await remove(api, live.s.teacher, live, student.id), 503, "unavailable")
    else:
        assert_error(
            await mute(api, live.s.teacher, live, student.id, "camera"), 503, "unavailable"
        )
    assert tracks(livekit, live, student) == {"CAMERA": False, "MICROPHONE": False}
    assert await audit(api, live.s.admin, "session.participant_") == []


# --- what joining says the page may do ---------------------------------------------------------


async def test_joining_says_what_each_may_publish_and_send(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    live = await group_class(api, app, clock, livekit)
    s = live.s

    async def joined(who: Person) -> tuple[Any, ...]:
        answer = ok(await api.client.post(f"{live.path}/join", headers=who.headers))
        return (answer["identity"], answer["may_publish"], answer["may_send_data"])

    student_sources = ["camera", "microphone"]
    assert await joined(s.teacher) == (identity(s.teacher), ALL_SOURCES, True)
    assert await joined(s.students[0]) == (identity(s.students[0]), student_sources, True)
    assert await joined(s.supervisor) == (identity(s.supervisor), [], False)  # hidden, watching
    ok(
        await api.client.put(
            f"{live.path}/screen-share",
            json={"students_may_share": True},
            headers=s.teacher.headers,
        )
    )
    assert await joined(s.students[1]) == (identity(s.students[1]), ALL_SOURCES, True)
