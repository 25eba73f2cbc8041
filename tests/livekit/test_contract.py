"""Contract tests: the real `livekit-api` SDK against FakeLiveKit, over real HTTP.

They pin down the behaviour Halaqa relies on (and the fake must keep): the Twirp calls and their
errors, authentication and grants as livekit-server checks them, and webhooks that the SDK's own
WebhookReceiver accepts, delivered per room in order and retried the way LiveKit retries them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
import jwt
import pytest
from livekit import api
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from halaqa.kit.clock import FrozenClock
from tests.livekit.server import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    FakeLiveKit,
    ServerThread,
)

OTHER_SECRET = "another-secret-that-is-also-long-enough-0123456789"
TIMEOUT = aiohttp.ClientTimeout(total=5)

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def lk(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as fake:
        yield fake


@pytest.fixture
async def client(lk: FakeLiveKit) -> AsyncIterator[api.LiveKitAPI]:
    async with api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret, timeout=TIMEOUT) as lkapi:
        yield lkapi


def token_client(lk: FakeLiveKit, token: str) -> api.LiveKitAPI:
    """An SDK client that sends `token` verbatim instead of minting one per call."""
    return api.LiveKitAPI(lk.url, token=token, timeout=TIMEOUT)


def mint(
    grants: api.VideoGrants,
    *,
    key: str = DEFAULT_API_KEY,
    secret: str = DEFAULT_API_SECRET,
    ttl: timedelta = timedelta(minutes=10),
) -> str:
    return api.AccessToken(key, secret).with_grants(grants).with_ttl(ttl).to_jwt()


# --- a webhook receiver: a real HTTP server that verifies with the SDK ---------------------------


@dataclass
class Received:
    body: bytes
    authorization: str | None
    content_type: str | None
    status: int
    event: api.WebhookEvent | None = None
    error: Exception | None = None


@dataclass
class WebhookSink:
    """Answers with the next scripted status if there is one (for the request's room, or any
    room), otherwise verifies the request with the SDK's WebhookReceiver: 200 if it passes, 401
    if not. Everything is recorded in `received`."""

    receiver: api.WebhookReceiver = field(
        default_factory=lambda: api.WebhookReceiver(
            api.TokenVerifier(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        )
    )
    answers: deque[int] = field(default_factory=deque)
    answers_by_room: dict[str, deque[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        record = Received(
            body=body,
            authorization=request.headers.get("authorization"),
            content_type=request.headers.get("content-type"),
            status=200,
        )
        scripted = self._scripted(body)
        if scripted is not None:
            record.status = scripted
        else:
            try:
                # The raw body and header, exactly as received: never re-serialised.
                record.event = self.receiver.receive(body.decode(), record.authorization or "")
            except Exception as exc:
                record.status, record.error = 401, exc
        self.received.append(record)
        return Response(status_code=record.status)

    def _scripted(self, body: bytes) -> int | None:
        room = json.loads(body).get("room", {}).get("name", "")
        by_room = self.answers_by_room.get(room)
        if by_room:
            return by_room.popleft()
        return self.answers.popleft() if self.answers else None

    @property
    def verified(self) -> list[api.WebhookEvent]:
        return [r.event for r in self.received if r.event is not None]


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    webhook_sink = WebhookSink()
    app = Starlette(routes=[Route("/webhook", webhook_sink.endpoint, methods=["POST"])])
    server = ServerThread(app, name="webhook-sink")
    webhook_sink.url = server.start() + "/webhook"
    try:
        yield webhook_sink
    finally:
        server.stop()


@pytest.fixture
def hooked(clock: FrozenClock, sink: WebhookSink) -> Iterator[FakeLiveKit]:
    """A FakeLiveKit that sends its webhooks to `sink`."""
    with FakeLiveKit(clock=clock, webhook_url=sink.url) as fake:
        yield fake


def seconds(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


# --- rooms ------------------------------------------------------------------------------------


async def test_create_room_returns_the_room_with_server_defaults(
    lk: FakeLiveKit, client: api.LiveKitAPI, clock: FrozenClock
) -> None:
    room = await client.room.create_room(
        api.CreateRoomRequest(name="halaqa-1", empty_timeout=600, max_participants=12)
    )
    assert room.sid.startswith("RM_")
    assert (room.name, room.empty_timeout, room.max_participants) == ("halaqa-1", 600, 12)
    assert room.departure_timeout == 20  # the server's default
    assert room.creation_time == seconds(clock)
    assert room.creation_time_ms == seconds(clock) * 1000
    assert room.num_participants == 0
    assert [(e.event, e.room.sid) for e in lk.events] == [("room_started", room.sid)]


async def test_create_room_is_an_upsert(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    first = await client.room.create_room(
        api.CreateRoomRequest(name="r", empty_timeout=600, metadata="v1")
    )
    second = await client.room.create_room(
        api.CreateRoomRequest(name="r", departure_timeout=60, metadata="v2")
    )
    assert second.sid == first.sid
    assert (second.empty_timeout, second.departure_timeout, second.metadata) == (600, 60, "v2")
    assert [e.event for e in lk.events] == ["room_started"]  # started once


async def test_list_rooms_all_or_by_name(client: api.LiveKitAPI) -> None:
    for name in ("a", "b", "c"):
        await client.room.create_room(api.CreateRoomRequest(name=name))
    everything = await client.room.list_rooms(api.ListRoomsRequest())
    assert sorted(room.name for room in everything.rooms) == ["a", "b", "c"]
    some = await client.room.list_rooms(api.ListRoomsRequest(names=["c", "a", "missing"]))
    assert sorted(room.name for room in some.rooms) == ["a", "c"]


async def test_delete_room_disconnects_everyone_then_finishes_it(
    lk: FakeLiveKit, client: api.LiveKitAPI
) -> None:
    room = await client.room.create_room(api.CreateRoomRequest(name="r"))
    alice, bob = lk.join("r", "alice"), lk.join("r", "bob")
    await client.room.delete_room(api.DeleteRoomRequest(room="r"))
    assert (await client.room.list_rooms(api.ListRoomsRequest())).rooms == []
    tail = lk.events[-3:]
    assert [(e.event, e.participant.sid) for e in tail] == [
        ("participant_left", alice),
        ("participant_left", bob),
        ("room_finished", ""),
    ]
    assert {e.participant.disconnect_reason for e in tail[:2]} == {
        api.DisconnectReason.ROOM_DELETED
    }
    assert tail[2].room.sid == room.sid


async def test_deleting_a_missing_room_is_not_found(client: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as raised:
        await client.room.delete_room(api.DeleteRoomRequest(room="nowhere"))
    assert (raised.value.code, raised.value.status) == ("not_found", 404)
    assert raised.value.message == "requested room does not exist"


# --- participants -------------------------------------------------------------------------------


async def test_list_get_and_remove_participants(
    lk: FakeLiveKit, client: api.LiveKitAPI, clock: FrozenClock
) -> None:
    await client.room.create_room(api.CreateRoomRequest(name="r"))
    alice = lk.join("r", "alice", name="Alice", metadata='{"role":"teacher"}')
    clock.advance(timedelta(seconds=5))
    bob = lk.join("r", "bob", name="Bob", kind="AGENT")

    listed = await client.room.list_participants(api.ListParticipantsRequest(room="r"))
    assert [(p.identity, p.sid) for p in listed.participants] == [("alice", alice), ("bob", bob)]
    assert listed.participants[1].kind == api.ParticipantInfo.Kind.AGENT

    got = await client.room.get_participant(api.RoomParticipantIdentity(room="r", identity="alice"))
    assert (got.sid, got.name, got.metadata) == (alice, "Alice", '{"role":"teacher"}')
    assert got.state == api.ParticipantInfo.State.ACTIVE
    assert got.joined_at == seconds(clock) - 5

    await client.room.remove_participant(api.RoomParticipantIdentity(room="r", identity="bob"))
    listed = await client.room.list_participants(api.ListParticipantsRequest(room="r"))
    assert [p.identity for p in listed.participants] == ["alice"]
    removed = lk.events[-1]
    assert (removed.event, removed.participant.sid) == ("participant_left", bob)
    assert removed.participant.disconnect_reason == api.DisconnectReason.PARTICIPANT_REMOVED

    for call in (client.room.get_participant, client.room.remove_participant):
        with pytest.raises(api.TwirpError) as raised:
            await call(api.RoomParticipantIdentity(room="r", identity="bob"))
        assert (raised.value.code, raised.value.message) == (
            "not_found",
            "participant does not exist",
        )


async def test_listing_participants_of_a_missing_room_is_empty(client: api.LiveKitAPI) -> None:
    listed = await client.room.list_participants(api.ListParticipantsRequest(room="nowhere"))
    assert list(listed.participants) == []


async def test_update_participant_and_room_metadata(
    lk: FakeLiveKit, client: api.LiveKitAPI
) -> None:
    await client.room.create_room(api.CreateRoomRequest(name="r"))
    lk.join("r", "alice", name="Alice", attributes={"seat": "1", "hand": "up"})
    updated = await client.room.update_participant(
        api.UpdateParticipantRequest(
            room="r", identity="alice", metadata="m", attributes={"hand": "", "mic": "on"}
        )
    )
    assert (updated.name, updated.metadata) == ("Alice", "m")  # empty fields are left alone
    assert dict(updated.attributes) == {"seat": "1", "mic": "on"}  # "" deletes a key

    room = await client.room.update_room_metadata(
        api.UpdateRoomMetadataRequest(room="r", metadata='{"topic":"tajweed"}')
    )
    assert (room.metadata, room.num_participants) == ('{"topic":"tajweed"}', 1)

    with pytest.raises(api.TwirpError) as raised:
        await client.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="gone"))
    assert raised.value.code == "not_found"


async def test_mute_published_track(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    alice = lk.join("r", "alice")
    track = lk.publish_track("r", alice, source="MICROPHONE")
    muted = await client.room.mute_published_track(
        api.MuteRoomTrackRequest(room="r", identity="alice", track_sid=track, muted=True)
    )
    assert (muted.track.sid, muted.track.muted, muted.track.type) == (
        track,
        True,
        api.TrackType.AUDIO,
    )
    with pytest.raises(api.TwirpError) as raised:  # remote unmute is off by default
        await client.room.mute_published_track(
            api.MuteRoomTrackRequest(room="r", identity="alice", track_sid=track, muted=False)
        )
    assert (raised.value.code, raised.value.status) == ("failed_precondition", 412)
    with pytest.raises(api.TwirpError) as raised:
        await client.room.mute_published_track(
            api.MuteRoomTrackRequest(room="r", identity="alice", track_sid="TR_x", muted=True)
        )
    assert raised.value.message == "track is not found"


async def test_send_data_is_recorded(lk: FakeLiveKit, client: api.LiveKitAPI) -> None:
    lk.join("r", "alice")
    await client.room.send_data(
        api.SendDataRequest(room="r", data=b"hello", topic="chat", destination_identities=["x"])
    )
    [sent] = lk.sent_data
    assert (sent.data, sent.topic, list(sent.destination_identities)) == (b"hello", "chat", ["x"])
    assert len(sent.nonce) == 16  # set by the SDK
    with pytest.raises(api.TwirpError) as raised:
        await client.room.send_data(api.SendDataRequest(room="gone", data=b"x"))
    assert raised.value.code == "not_found"


def test_join_leave_and_abort_follow_the_server(lk: FakeLiveKit) -> None:
    first = lk.join("r", "alice")  # no such room yet: auto-created
    second = lk.join("r", "alice")  # same identity: the old session is replaced
    pending = lk.join("r", "bob", active=False)  # signalling only, no media yet
    lk.abort("r", pending)
    late = lk.join("r", "carol", active=False)
    lk.activate("r", late)
    lk.leave("r", late)
    lk.finish("r")
    assert [(e.event, e.participant.sid) for e in lk.events] == [
        ("room_started", ""),
        ("participant_joined", first),
        ("participant_left", first),
        ("participant_joined", second),
        ("participant_connection_aborted", pending),
        ("participant_joined", late),
        ("participant_left", late),
        ("participant_left", second),
        ("room_finished", ""),
    ]
    assert lk.events[2].participant.disconnect_reason == api.DisconnectReason.DUPLICATE_IDENTITY
    assert lk.room("r") is None
    assert lk.join("r", "alice") != second  # a new room and session: room_started again
    assert lk.events[-2].event == "room_started"


# --- egress -------------------------------------------------------------------------------------


async def test_egress_start_stop_list(
    lk: FakeLiveKit, client: api.LiveKitAPI, clock: FrozenClock
) -> None:
    room = await client.room.create_room(api.CreateRoomRequest(name="r"))
    started = await client.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="r",
            layout="speaker",
            file_outputs=[api.EncodedFileOutput(filepath="recordings/r.mp4")],
        )
    )
    assert started.egress_id.startswith("EG_")
    assert (started.room_name, started.room_id) == ("r", room.sid)
    assert started.status == api.EgressStatus.EGRESS_STARTING
    assert [f.filename for f in started.file_results] == ["recordings/r.mp4"]

    listed = await client.egress.list_egress(api.ListEgressRequest(room_name="r", active=True))
    assert [e.egress_id for e in listed.items] == [started.egress_id]

    lk.activate_egress(started.egress_id)
    clock.advance(timedelta(minutes=45))
    stopped = await client.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert stopped.status == api.EgressStatus.EGRESS_ENDING
    with pytest.raises(api.TwirpError) as raised:
        await client.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert (raised.value.code, raised.value.status) == ("failed_precondition", 412)

    lk.end_egress(started.egress_id, location="s3://bucket/recordings/r.mp4", size=1024)
    active = await client.egress.list_egress(api.ListEgressRequest(room_name="r", active=True))
    assert list(active.items) == []
    [done] = (
        await client.egress.list_egress(api.ListEgressRequest(egress_id=started.egress_id))
    ).items
    assert done.status == api.EgressStatus.EGRESS_COMPLETE
    [file] = done.file_results
    assert (file.location, file.size) == ("s3://bucket/recordings/r.mp4", 1024)
    assert file.duration == 45 * 60 * 10**9  # nanoseconds, like the server

    with pytest.raises(api.TwirpError) as raised:
        await client.egress.stop_egress(api.StopEgressRequest(egress_id="EG_unknown"))
    assert (raised.value.code, raised.value.message) == ("not_found", "egress does not exist")
    with pytest.raises(api.TwirpError) as raised:
        await client.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(
                room_name="gone", file_outputs=[api.EncodedFileOutput(filepath="x.mp4")]
            )
        )
    assert raised.value.code == "not_found"


# --- authentication and grants ------------------------------------------------------------------

ApiCall = Callable[[api.LiveKitAPI], Awaitable[object]]
GRANT_CASES: list[tuple[str, api.VideoGrants, ApiCall]] = [
    (
        "create-room-needs-roomCreate",
        api.VideoGrants(room_list=True, room_admin=True, room="r"),
        lambda c: c.room.create_room(api.CreateRoomRequest(name="r")),
    ),
    (
        "delete-room-needs-roomCreate",
        api.VideoGrants(room_admin=True, room="r"),
        lambda c: c.room.delete_room(api.DeleteRoomRequest(room="r")),
    ),
    (
        "list-rooms-needs-roomList",
        api.VideoGrants(room_create=True),
        lambda c: c.room.list_rooms(api.ListRoomsRequest()),
    ),
    (
        "participants-need-roomAdmin-for-that-room",
        api.VideoGrants(room_admin=True, room="other"),
        lambda c: c.room.list_participants(api.ListParticipantsRequest(room="r")),
    ),
    (
        "roomAdmin-without-a-room-is-not-enough",
        api.VideoGrants(room_admin=True),
        lambda c: c.room.remove_participant(api.RoomParticipantIdentity(room="r", identity="a")),
    ),
    (
        "muting-needs-roomAdmin-for-that-room",
        api.VideoGrants(room_admin=True, room="other"),
        lambda c: c.room.mute_published_track(
            api.MuteRoomTrackRequest(room="r", identity="a", track_sid="TR_x", muted=True)
        ),
    ),
    (
        "removing-needs-roomAdmin-for-that-room",
        api.VideoGrants(room_admin=True, room="other"),
        lambda c: c.room.remove_participant(api.RoomParticipantIdentity(room="r", identity="a")),
    ),
    (
        "room-metadata-needs-roomAdmin",
        api.VideoGrants(room_create=True, room_list=True, room="r"),
        lambda c: c.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="r")),
    ),
    (
        "egress-needs-roomRecord",
        api.VideoGrants(room_create=True, room_admin=True, room="r"),
        lambda c: c.egress.list_egress(api.ListEgressRequest()),
    ),
]


@pytest.mark.parametrize(
    ("grants", "call"), [case[1:] for case in GRANT_CASES], ids=[case[0] for case in GRANT_CASES]
)
async def test_a_token_without_the_grant_is_refused(
    lk: FakeLiveKit, grants: api.VideoGrants, call: ApiCall
) -> None:
    lk.join("r", "a")
    async with token_client(lk, mint(grants)) as lkapi:
        with pytest.raises(api.TwirpError) as raised:
            await call(lkapi)
    # livekit-server reports a missing grant as twirp.Unauthenticated, not PermissionDenied.
    error = raised.value
    assert (error.code, error.status, error.message) == (
        "unauthenticated",
        401,
        "permissions denied",
    )


async def test_a_token_with_exactly_the_grant_is_accepted(lk: FakeLiveKit) -> None:
    lk.join("r", "alice")
    async with token_client(lk, mint(api.VideoGrants(room_admin=True, room="r"))) as lkapi:
        listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="r"))
    assert [p.identity for p in listed.participants] == ["alice"]


BAD_TOKENS: list[tuple[str, dict[str, Any], str]] = [
    ("wrong-secret", {"secret": OTHER_SECRET}, "Signature verification failed"),
    ("unknown-key", {"key": "APIsomeoneElse"}, "invalid API key"),
    ("expired", {"ttl": timedelta(minutes=-2)}, "Signature has expired"),
]


@pytest.mark.parametrize(
    ("mint_options", "reason"), [c[1:] for c in BAD_TOKENS], ids=[c[0] for c in BAD_TOKENS]
)
async def test_a_bad_token_is_rejected_before_routing(
    lk: FakeLiveKit, mint_options: dict[str, Any], reason: str
) -> None:
    token = mint(api.VideoGrants(room_list=True), **mint_options)
    async with token_client(lk, token) as lkapi:
        with pytest.raises(api.TwirpError) as raised:
            await lkapi.room.list_rooms(api.ListRoomsRequest())
    # The server's auth middleware answers in plain text, so the SDK can only report the status.
    assert (raised.value.status, raised.value.code) == (401, "unknown")
    [call] = lk.calls
    assert (call.method, call.status) == ("ListRooms", 401)
    assert call.error_message is not None
    assert reason in call.error_message


async def test_a_wrong_secret_fails_through_the_sdk_too(lk: FakeLiveKit) -> None:
    async with api.LiveKitAPI(lk.url, lk.api_key, OTHER_SECRET, timeout=TIMEOUT) as lkapi:
        with pytest.raises(api.TwirpError) as raised:
            await lkapi.room.create_room(api.CreateRoomRequest(name="r"))
    assert raised.value.status == 401
    assert lk.rooms() == []


def test_auth_header_forms(lk: FakeLiveKit) -> None:
    url = f"{lk.url}/twirp/livekit.RoomService/ListRooms"
    token = mint(api.VideoGrants(room_list=True))
    headers = {"Content-Type": "application/protobuf"}
    no_bearer = httpx.post(url, headers={**headers, "Authorization": token}, timeout=5)
    assert (no_bearer.status_code, no_bearer.text) == (
        401,
        "invalid authorization header. Must start with Bearer ",
    )
    anonymous = httpx.post(url, headers=headers, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"code": "unauthenticated", "msg": "permissions denied"}
    as_query = httpx.post(url, params={"access_token": token}, headers=headers, timeout=5)
    assert as_query.status_code == 200


# --- the wire -----------------------------------------------------------------------------------


def test_json_requests_get_twirp_json_answers(lk: FakeLiveKit) -> None:
    token = mint(api.VideoGrants(room_create=True))
    response = httpx.post(
        f"{lk.url}/twirp/livekit.RoomService/CreateRoom",
        json={"name": "r", "maxParticipants": 3},  # protojson accepts camelCase and snake_case
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    # Twirp's Go server answers with proto field names and includes unpopulated fields.
    assert (body["name"], body["max_participants"], body["num_participants"]) == ("r", 3, 0)
    assert body["empty_timeout"] == 300
    assert isinstance(body["creation_time"], str)  # int64 as a string


@pytest.mark.parametrize(
    ("http_method", "path", "content_type", "body", "status", "code"),
    [
        ("POST", "RoomService/NoSuchMethod", "application/protobuf", b"", 404, "bad_route"),
        ("GET", "RoomService/ListRooms", "application/protobuf", b"", 404, "bad_route"),
        ("POST", "RoomService/ListRooms", "text/plain", b"", 404, "bad_route"),
        ("POST", "RoomService/ListRooms", "application/protobuf", b"\xff\xff", 400, "malformed"),
        ("POST", "RoomService/ListRooms", "application/json", b"{not json", 400, "malformed"),
        ("POST", "Egress/StartWebEgress", "application/protobuf", b"", 501, "unimplemented"),
    ],
    ids=["unknown-method", "not-post", "content-type", "bad-protobuf", "bad-json", "unimplemented"],
)
def test_twirp_routing_errors(
    lk: FakeLiveKit,
    http_method: str,
    path: str,
    content_type: str,
    body: bytes,
    status: int,
    code: str,
) -> None:
    token = mint(api.VideoGrants(room_list=True, room_record=True))
    response = httpx.request(
        http_method,
        f"{lk.url}/twirp/livekit.{path}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        timeout=5,
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_injected_failures_come_first_then_calls_succeed(
    lk: FakeLiveKit, client: api.LiveKitAPI
) -> None:
    lk.fail_next("CreateRoom", "unavailable", times=2, msg="node draining")
    for _ in range(2):
        with pytest.raises(api.TwirpError) as raised:
            await client.room.create_room(api.CreateRoomRequest(name="r"))
        assert (raised.value.code, raised.value.status, raised.value.message) == (
            "unavailable",
            503,
            "node draining",
        )
    room = await client.room.create_room(api.CreateRoomRequest(name="r"))
    assert room.name == "r"
    calls = lk.calls_to("CreateRoom")
    assert [(c.status, c.error_code) for c in calls] == [
        (503, "unavailable"),
        (503, "unavailable"),
        (200, None),
    ]
    assert isinstance(calls[-1].request, api.CreateRoomRequest)
    assert calls[-1].request.name == "r"


# --- webhooks -----------------------------------------------------------------------------------


async def test_webhooks_verify_with_the_sdk_and_carry_the_room_and_participant(
    hooked: FakeLiveKit, sink: WebhookSink, clock: FrozenClock
) -> None:
    started_at = seconds(clock)
    sid = hooked.join("halaqa-7", "student-42", name="عائشة")  # non-ASCII: the hash is of UTF-8
    clock.advance(timedelta(minutes=50))
    hooked.leave("halaqa-7", sid)
    hooked.finish("halaqa-7")
    await hooked.drain()

    assert [r.status for r in sink.received] == [200, 200, 200, 200]
    events = sink.verified
    assert [e.event for e in events] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    room_sid = events[0].room.sid
    assert room_sid.startswith("RM_")
    assert {(e.room.name, e.room.sid) for e in events} == {("halaqa-7", room_sid)}
    joined, left = events[1], events[2]
    assert (joined.participant.identity, joined.participant.sid) == ("student-42", sid)
    assert joined.participant.name == "عائشة"
    assert joined.participant.joined_at == started_at
    assert joined.participant.joined_at_ms == started_at * 1000
    assert (joined.created_at, left.created_at) == (started_at, started_at + 50 * 60)
    assert left.participant.disconnect_reason == api.DisconnectReason.CLIENT_INITIATED
    assert all(e.id.startswith("EV_") for e in events)
    assert len({e.id for e in events}) == 4

    raw = sink.received[1]
    assert raw.content_type == "application/webhook+json"
    assert raw.authorization is not None
    assert not raw.authorization.startswith("Bearer")
    claims = jwt.decode(raw.authorization, options={"verify_signature": False})
    assert claims["iss"] == DEFAULT_API_KEY
    assert claims["exp"] - claims["nbf"] == 300
    assert claims["sha256"] == base64.b64encode(hashlib.sha256(raw.body).digest()).decode()
    body = json.loads(raw.body)
    assert body["participant"]["joinedAt"] == str(started_at)  # camelCase, int64 as a string
    assert body["createdAt"] == str(started_at)


def replay(sink: WebhookSink, body: bytes, authorization: str | None) -> Received:
    """Posts a (doctored) webhook to the receiver and returns what it made of it."""
    headers = {"Content-Type": "application/webhook+json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    httpx.post(sink.url, content=body, headers=headers, timeout=5)
    return sink.received[-1]


@pytest.mark.parametrize(
    ("doctor", "error"),
    [
        (lambda body, auth: (body.replace(b"alice", b"mallory"), auth), "hash mismatch"),
        (lambda body, auth: (body, None), "DecodeError"),
        (lambda body, auth: (body, f"Bearer {auth}"), "DecodeError"),
    ],
    ids=["tampered-body", "missing-header", "bearer-prefix"],
)
async def test_doctored_webhooks_fail_verification(
    hooked: FakeLiveKit,
    sink: WebhookSink,
    doctor: Callable[[bytes, str], tuple[bytes, str | None]],
    error: str,
) -> None:
    hooked.join("r", "alice")
    await hooked.drain()
    original = sink.received[-1]
    assert original.event is not None
    assert original.authorization is not None
    body, authorization = doctor(original.body, original.authorization)
    rejected = replay(sink, body, authorization)
    assert rejected.status == 401
    assert rejected.event is None
    assert error in (str(rejected.error), type(rejected.error).__name__)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (
            lambda sink, fake: setattr(
                sink,
                "receiver",
                api.WebhookReceiver(api.TokenVerifier(DEFAULT_API_KEY, OTHER_SECRET)),
            ),
            jwt.InvalidSignatureError,
        ),
        (
            lambda sink, fake: setattr(
                sink,
                "receiver",
                api.WebhookReceiver(api.TokenVerifier("APIsomeoneElse", DEFAULT_API_SECRET)),
            ),
            jwt.InvalidIssuerError,
        ),
        (
            lambda sink, fake: setattr(fake, "webhook_token_skew", timedelta(minutes=-10)),
            jwt.ExpiredSignatureError,
        ),
    ],
    ids=["wrong-secret", "wrong-key", "expired"],
)
async def test_webhooks_signed_otherwise_fail_verification(
    hooked: FakeLiveKit,
    sink: WebhookSink,
    setup: Callable[[WebhookSink, FakeLiveKit], None],
    error: type[Exception],
) -> None:
    setup(sink, hooked)
    hooked.join("r", "alice")
    await hooked.drain()
    assert sink.received
    assert all(isinstance(r.error, error) for r in sink.received)
    # The receiver's 401 is a 4xx: LiveKit counts it as delivered and does not retry.
    assert {(d.outcome, tuple(d.statuses)) for d in hooked.deliveries} == {("delivered", (401,))}


async def test_each_room_gets_its_events_in_order(hooked: FakeLiveKit, sink: WebhookSink) -> None:
    rooms = ["a", "b", "c"]
    sink.answers_by_room["b"] = deque([500, 503])  # b's first event needs three attempts
    sids: dict[tuple[str, int], str] = {}
    for n in range(3):
        for room in rooms:
            sids[room, n] = hooked.join(room, f"user-{n}")
    for n in range(3):
        for room in rooms:
            hooked.leave(room, sids[room, n])
    await hooked.drain()

    emitted = hooked.events
    for room in rooms:
        expected = [e.id for e in emitted if e.room.name == room]
        assert len(expected) == 7  # room_started, 3 joined, 3 left
        assert [e.id for e in sink.verified if e.room.name == room] == expected
    assert next(d.statuses for d in hooked.deliveries if d.key == "b") == [500, 503, 200]
    assert {d.outcome for d in hooked.deliveries} == {"delivered"}


async def test_a_failing_receiver_gets_the_event_on_the_third_attempt(
    hooked: FakeLiveKit, sink: WebhookSink
) -> None:
    sink.answers.extend([500, 500])
    hooked.join("r", "alice")  # room_started first, then participant_joined
    await hooked.drain()
    first, second = hooked.deliveries
    assert (first.statuses, first.outcome) == ([500, 500, 200], "delivered")
    assert (second.statuses, second.outcome) == ([200], "delivered")
    assert [r.status for r in sink.received] == [500, 500, 200, 200]
    assert len({r.body for r in sink.received[:3]}) == 1  # the same event, resent as it was
    assert [e.event for e in sink.verified] == ["room_started", "participant_joined"]


@pytest.mark.parametrize(
    ("status", "attempts", "outcome"),
    [
        (400, 1, "delivered"),  # any other 4xx: delivered, never retried
        (404, 1, "delivered"),
        (501, 1, "delivered"),  # go-retryablehttp does not retry 501 Not Implemented
        (429, 5, "gave_up"),
        (503, 5, "gave_up"),
    ],
)
async def test_retry_policy(
    hooked: FakeLiveKit, sink: WebhookSink, status: int, attempts: int, outcome: str
) -> None:
    sink.answers_by_room["r"] = deque([status] * 5)
    hooked.join("r", "alice", active=False)  # only room_started
    await hooked.drain()
    [delivery] = hooked.deliveries
    assert (delivery.statuses, delivery.outcome) == ([status] * attempts, outcome)
    assert len(sink.received) == attempts


async def test_the_queue_moves_on_after_giving_up(hooked: FakeLiveKit, sink: WebhookSink) -> None:
    sink.answers.extend([503] * 5)
    hooked.join("r", "alice")
    await hooked.drain()
    assert [d.outcome for d in hooked.deliveries] == ["gave_up", "delivered"]
    assert [e.event for e in sink.verified] == ["participant_joined"]


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_transport_errors_are_retried(lk: FakeLiveKit) -> None:
    lk.webhook_url = f"http://127.0.0.1:{unused_port()}/webhook"  # nobody listens there
    lk.join("r", "alice", active=False)
    await lk.drain()
    [delivery] = lk.deliveries
    assert delivery.outcome == "gave_up"
    assert [(a.status, a.error) for a in delivery.attempts] == [(None, "ConnectError")] * 5


async def test_egress_events_have_their_own_queue(hooked: FakeLiveKit, sink: WebhookSink) -> None:
    async with api.LiveKitAPI(hooked.url, hooked.api_key, hooked.api_secret) as lkapi:
        await lkapi.room.create_room(api.CreateRoomRequest(name="r"))
        info = await lkapi.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(
                room_name="r", file_outputs=[api.EncodedFileOutput(filepath="r.mp4")]
            )
        )
    hooked.activate_egress(info.egress_id)
    hooked.end_egress(info.egress_id, location="https://files.example/r.mp4")
    await hooked.drain()
    egress = [d for d in hooked.deliveries if d.event.HasField("egress_info")]
    assert {d.key for d in egress} == {info.egress_id}
    events = [e for e in sink.verified if e.HasField("egress_info")]
    assert [e.event for e in events] == ["egress_started", "egress_updated", "egress_ended"]
    ended = events[-1]
    assert (ended.room.name, ended.egress_info.egress_id) == ("r", info.egress_id)
    assert ended.egress_info.status == api.EgressStatus.EGRESS_COMPLETE
    assert [f.location for f in ended.egress_info.file_results] == ["https://files.example/r.mp4"]


def test_without_a_webhook_url_events_are_only_recorded(lk: FakeLiveKit) -> None:
    lk.join("r", "alice")
    lk.drain_sync()
    assert [e.event for e in lk.events] == ["room_started", "participant_joined"]
    assert lk.deliveries == []
