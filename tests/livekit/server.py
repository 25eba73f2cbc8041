"""FakeLiveKit: an in-memory stand-in for the LiveKit server, for Halaqa's tests only.

It is not LiveKit, carries no media, and must never be offered to users as the product; it exists
because the real server cannot run in the test environment. What it does keep is the wire
protocol, so Halaqa's code and the official `livekit-api` SDK run against it unchanged, over real
HTTP, on 127.0.0.1:

* Twirp: ``POST /twirp/livekit.RoomService/{Method}`` and ``POST /twirp/livekit.Egress/{Method}``,
  request and response as protobuf (``application/protobuf``, what the SDK sends) or protojson
  (``application/json``; answered the way Twirp's Go server does: proto field names, unpopulated
  scalar fields included). Errors are Twirp JSON bodies ``{"code", "msg"[, "meta"]}`` with Twirp's
  HTTP status for the code, so the SDK raises ``livekit.api.TwirpError``.
* Authentication as in livekit-server's ``APIKeyAuthMiddleware`` (pkg/service/auth.go), which runs
  before routing: ``Authorization: Bearer <JWT>`` (or an ``access_token`` query parameter), HS256,
  ``iss`` = API key, ``exp`` required, one minute of leeway. Like the real server, a rejected token
  gets a **plain-text** 401 (not a Twirp JSON body), so the SDK reports ``status == 401`` with
  ``code == "unknown"``. A request without a token reaches the method, and every method checks its
  grant as the real one does; a missing grant is a Twirp ``unauthenticated`` error (401, message
  "permissions denied"), not ``permission_denied`` (403): roomCreate for CreateRoom/DeleteRoom,
  roomList for ListRooms, roomAdmin for the ``room`` named in the request for participant methods,
  UpdateRoomMetadata and SendData, roomRecord for every Egress method.
* Webhooks as livekit/protocol's ``ResourceURLNotifier`` sends them: POST of the protojson
  ``livekit.WebhookEvent`` (camelCase names, int64 as strings, UTF-8), ``Content-Type:
  application/webhook+json``, ``Authorization: <JWT>`` without "Bearer", the JWT signed HS256 with
  the API secret, ``iss`` = API key, valid five minutes, claim ``sha256`` = base64 of the SHA-256 of
  the exact body. One FIFO queue per resource (the room name; each egress has its own queue, keyed
  by egress id), at most 200 waiting per queue (more are dropped), 5 attempts, retrying transport
  errors, 429 and 5xx except 501; any other answer counts as delivered.

Room life as the real server models it: CreateRoom of a new room starts it (``room_started``), as
does the first ``join`` into a room that does not exist (``room.auto_create``); ``join`` of an
identity already present first disconnects the old session (DUPLICATE_IDENTITY); a participant
that leaves without having become active produces ``participant_connection_aborted`` instead of
``participant_left``; DeleteRoom and ``finish`` disconnect everyone, then ``room_finished``.

Deliberate differences from the real server (kept small, and all about not needing a cluster):

* Nothing happens on its own. Rooms do not close on empty/departure timeouts and egress does not
  progress: the test drives time and state with ``join``/``leave``/``abort``/``finish``/
  ``activate_egress``/``end_egress``. Timestamps come from ``clock`` (a Halaqa ``Clock``), never
  from wall time; JWTs use wall time because the SDK checks them against wall time.
* Only the methods listed above are implemented; other methods the real services define
  (UpdateSubscriptions, StartWebEgress, Ingress, SIP, ...) answer Twirp ``unimplemented`` (501)
  rather than doing anything. Unknown methods are ``bad_route`` (404) as in Twirp.
* Limits: only room name length (256) and metadata size (512 KiB) are checked. Request-body size
  limits, CORS and node selection are not modelled. Error messages follow the server's where it has
  one; "room does not exist" for SendData and the "no outputs" check on egress are approximations.
* Webhook retries wait ``webhook_retry_wait_min * 2**n`` capped at ``webhook_retry_wait_max``
  (real: 1 s and 30 s; here milliseconds by default) and ignore ``Retry-After``. Each attempt has an
  HTTP timeout (``webhook_timeout``; the real client has none, so a slow receiver blocks its queue
  forever). Events are not dropped for age (the real notifier drops those queued over 30 s).
* JSON answers omit unset message fields (Go's protojson writes them as ``null``).
* IDs ("RM_", "PA_", "TR_", "EG_", "EV_" + 12 characters) come from a seeded generator, so a run
  is repeatable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import socket
import string
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeVar, cast

import httpx
import jwt
import uvicorn
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import egress as proto_egress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import webhook as proto_webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from halaqa.kit.clock import Clock, SystemClock

DEFAULT_API_KEY: Final = "APIfakeLiveKit"
# At least 32 bytes: PyJWT warns about shorter HMAC keys.
DEFAULT_API_SECRET: Final = "fake-livekit-secret-for-tests-only-0123456789"

# Twirp error codes and the HTTP status each is sent with (twirp.ServerHTTPStatusFromErrorCode).
TWIRP_STATUS: Final[Mapping[str, int]] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

WEBHOOK_CONTENT_TYPE: Final = "application/webhook+json"
WEBHOOK_TOKEN_TTL: Final = timedelta(minutes=5)
WEBHOOK_MAX_DEPTH: Final = 200
TOKEN_LEEWAY: Final = timedelta(minutes=1)
DEFAULT_EMPTY_TIMEOUT: Final = 300
DEFAULT_DEPARTURE_TIMEOUT: Final = 20
MAX_ROOM_NAME_LENGTH: Final = 256
MAX_METADATA_SIZE: Final = 512 * 1024

ROOM_SERVICE: Final = "livekit.RoomService"
EGRESS_SERVICE: Final = "livekit.Egress"
# Services the real server also serves; here every call to them is `unimplemented`.
OTHER_SERVICES: Final = frozenset(
    {"livekit.Ingress", "livekit.SIP", "livekit.AgentDispatchService"}
)
# Every method the real services define, from the protocol's own descriptors.
KNOWN_METHODS: Final[Mapping[str, frozenset[str]]] = {
    ROOM_SERVICE: frozenset(
        m.name for m in proto_room.DESCRIPTOR.services_by_name["RoomService"].methods
    ),
    EGRESS_SERVICE: frozenset(
        m.name for m in proto_egress.DESCRIPTOR.services_by_name["Egress"].methods
    ),
}

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_Status = proto_egress.EgressStatus
_LIVE_EGRESS: Final = frozenset({_Status.EGRESS_STARTING, _Status.EGRESS_ACTIVE})
_ENDABLE_EGRESS: Final = frozenset(
    {_Status.EGRESS_STARTING, _Status.EGRESS_ACTIVE, _Status.EGRESS_ENDING}
)
_AUDIO_SOURCES: Final = frozenset({"MICROPHONE", "SCREEN_SHARE_AUDIO"})
_M = TypeVar("_M", bound=Message)


# --- records the tests inspect -----------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the fake received on a /twirp/ path, whatever became of it."""

    service: str  # "livekit.RoomService", "livekit.Egress", ...
    method: str
    request: Message | None  # the decoded request; None if refused before decoding
    status: int
    error_code: str | None  # the Twirp code of an error answer, None otherwise
    error_message: str | None
    content_type: str
    identity: str  # the token's subject ("" for the SDK's server tokens)


@dataclass(frozen=True)
class Attempt:
    """One try at delivering a webhook: the HTTP status, or the transport error's name."""

    status: int | None
    error: str | None = None


@dataclass
class Delivery:
    """A webhook event queued for the configured URL, and what became of it."""

    event: proto_webhook.WebhookEvent
    body: bytes
    key: str  # the queue: room name, or egress id for egress events
    url: str
    attempts: list[Attempt] = field(default_factory=list)
    outcome: Literal["pending", "delivered", "gave_up", "dropped"] = "pending"

    @property
    def statuses(self) -> list[int | None]:
        return [attempt.status for attempt in self.attempts]


class TwirpFailure(Exception):
    """A Twirp error answer: `code` decides the HTTP status."""

    def __init__(self, code: str, msg: str, meta: Mapping[str, str] | None = None) -> None:
        if code not in TWIRP_STATUS:
            raise ValueError(f"not a Twirp error code: {code!r}")
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.meta = dict(meta or {})

    @property
    def status(self) -> int:
        return TWIRP_STATUS[self.code]

    def response(self) -> Response:
        body: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.meta:
            body["meta"] = self.meta
        return Response(json.dumps(body), status_code=self.status, media_type="application/json")


def _bad_route(msg: str, method: str, path: str) -> TwirpFailure:
    return TwirpFailure("bad_route", msg, {"twirp_invalid_route": f"{method} {path}"})


def _permission_denied() -> TwirpFailure:
    # livekit-server wraps every grant failure as twirp.Unauthenticated (twirpAuthError).
    return TwirpFailure("unauthenticated", "permissions denied")


def _room_not_found() -> TwirpFailure:
    return TwirpFailure("not_found", "requested room does not exist")


def _participant_not_found() -> TwirpFailure:
    return TwirpFailure("not_found", "participant does not exist")


def _egress_not_found() -> TwirpFailure:
    return TwirpFailure("not_found", "egress does not exist")


def _check_metadata(metadata: str) -> None:
    if len(metadata.encode()) > MAX_METADATA_SIZE:
        # twirp.InvalidArgumentError(argument, validationMsg)
        argument = "metadata size exceeds limits"
        raise TwirpFailure(
            "invalid_argument", f"{argument} {MAX_METADATA_SIZE}", {"argument": argument}
        )


# --- serving an ASGI app from a background thread -----------------------------------------------


class _Uvicorn(uvicorn.Server):
    """Tells the starting thread when startup has finished (successfully or not), and stops as
    soon as asked rather than at its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready
        self._exit = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers
        await self._exit.wait()

    def request_exit(self) -> None:
        """Called on the server's loop."""
        self.should_exit = True
        self._exit.set()


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 (a free port) on its own event loop, in a
    background thread: the approach of tests/test_schemathesis.py. Single use."""

    def __init__(self, app: ASGIApp, *, name: str = "test-asgi-server") -> None:
        self._app = app
        self._name = name
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._sock: socket.socket | None = None
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> str:
        if self._thread is not None:
            raise RuntimeError("a ServerThread can only be started once")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, a response written in two parts
        # (headers, body) waits ~40 ms on a keep-alive connection for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        ready = threading.Event()
        server = _Uvicorn(
            uvicorn.Config(
                self._app,
                lifespan="on",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=2,
            ),
            ready,
        )
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=self._name, daemon=True
        )
        self._sock, self._server, self._thread = sock, server, thread
        thread.start()
        if not ready.wait(timeout) or not server.started:
            self.stop()
            raise RuntimeError(f"{self._name} did not start")
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    def _run(self, server: _Uvicorn, sock: socket.socket) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(server.serve(sockets=[sock]))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None or self._sock is None:
            return
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._server.request_exit)
        self._thread.join(timeout)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError(f"{self._name} did not stop")
        self.loop.close()
        self._server = None


# --- the fake server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Auth:
    """A verified token: who signed it and its `video` grant (camelCase keys, as in the JWT)."""

    api_key: str
    identity: str
    video: Mapping[str, Any] | None


class _AuthRejected(Exception):
    """The auth middleware's refusal: a plain-text 401."""


@dataclass
class _RoomState:
    info: proto_models.Room
    participants: dict[str, proto_models.ParticipantInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class _Method:
    request_type: type[Message]
    run: Callable[[Any, _Auth | None], Message]


class FakeLiveKit:
    """An in-memory LiveKit server for tests, served over real HTTP (see the module docstring).

    Use it as a context manager (``with FakeLiveKit(...) as lk`` or ``async with``), point the code
    under test at ``lk.url`` with ``lk.api_key``/``lk.api_secret``, drive rooms with the test hooks
    (``join``, ``leave``, ...), and inspect ``calls``, ``events`` and ``deliveries``; ``drain()``
    waits until every queued webhook is delivered or given up. All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        webhook_url: str | None = None,
        clock: Clock | None = None,
        webhook_max_attempts: int = 5,
        webhook_retry_wait_min: float = 0.001,
        webhook_retry_wait_max: float = 0.01,
        webhook_timeout: float = 5.0,
        webhook_token_skew: timedelta = timedelta(0),
        enable_remote_unmute: bool = False,
        seed: int = 0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        # Read when an event is emitted, so it may be set (or changed) after start().
        self.webhook_url = webhook_url
        self.clock: Clock = clock or SystemClock()
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_retry_wait_min = webhook_retry_wait_min
        self.webhook_retry_wait_max = webhook_retry_wait_max
        self.webhook_timeout = webhook_timeout
        # Added to the wall clock when signing webhooks, e.g. to make them arrive expired.
        self.webhook_token_skew = webhook_token_skew
        self.enable_remote_unmute = enable_remote_unmute

        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._rng = random.Random(seed)
        self._running = False
        self._rooms: dict[str, _RoomState] = {}
        self._egresses: dict[str, proto_egress.EgressInfo] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, deque[TwirpFailure]] = {}
        self._sent_data: list[proto_room.SendDataRequest] = []
        self._events: list[proto_webhook.WebhookEvent] = []
        self._deliveries: list[Delivery] = []
        # A key is present exactly while a worker task is delivering that queue.
        self._queues: dict[str, deque[Delivery]] = {}
        self._outstanding = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

        self._methods: dict[str, dict[str, _Method]] = {
            ROOM_SERVICE: {
                "CreateRoom": _Method(proto_room.CreateRoomRequest, self._create_room),
                "ListRooms": _Method(proto_room.ListRoomsRequest, self._list_rooms),
                "DeleteRoom": _Method(proto_room.DeleteRoomRequest, self._delete_room),
                "ListParticipants": _Method(
                    proto_room.ListParticipantsRequest, self._list_participants
                ),
                "GetParticipant": _Method(
                    proto_room.RoomParticipantIdentity, self._get_participant
                ),
                "RemoveParticipant": _Method(
                    proto_room.RoomParticipantIdentity, self._remove_participant
                ),
                "MutePublishedTrack": _Method(
                    proto_room.MuteRoomTrackRequest, self._mute_published_track
                ),
                "UpdateParticipant": _Method(
                    proto_room.UpdateParticipantRequest, self._update_participant
                ),
                "UpdateRoomMetadata": _Method(
                    proto_room.UpdateRoomMetadataRequest, self._update_room_metadata
                ),
                "SendData": _Method(proto_room.SendDataRequest, self._send_data),
            },
            EGRESS_SERVICE: {
                "StartRoomCompositeEgress": _Method(
                    proto_egress.RoomCompositeEgressRequest, self._start_room_composite_egress
                ),
                "StopEgress": _Method(proto_egress.StopEgressRequest, self._stop_egress),
                "ListEgress": _Method(proto_egress.ListEgressRequest, self._list_egress),
            },
        }
        app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._endpoint,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                )
            ],
            lifespan=self._lifespan,
        )
        self._server = ServerThread(app, name="fake-livekit")

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, once started."""
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        with self._lock:
            self._running = True
        return self

    def stop(self) -> None:
        with self._lock:
            self._running = False
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        yield
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- test controls and inspection -------------------------------------------------------

    def fail_next(
        self,
        method: str,
        code: str = "unavailable",
        *,
        times: int = 1,
        msg: str = "injected by FakeLiveKit",
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """The next `times` authenticated calls of `method` (e.g. "CreateRoom") answer this Twirp
        error instead of running. Tokens are still checked first, as the real middleware would."""
        if not any(method in methods for methods in self._methods.values()):
            raise ValueError(f"FakeLiveKit does not implement {method!r}")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(TwirpFailure(code, msg, meta) for _ in range(times))

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    @property
    def events(self) -> list[proto_webhook.WebhookEvent]:
        """Every webhook event emitted, in order, whether or not a webhook URL is set."""
        with self._lock:
            return [_copy(event) for event in self._events]

    @property
    def deliveries(self) -> list[Delivery]:
        """What was queued for webhook URLs; read after drain() for settled outcomes."""
        with self._lock:
            return list(self._deliveries)

    @property
    def sent_data(self) -> list[proto_room.SendDataRequest]:
        """The SendData requests accepted, in order."""
        with self._lock:
            return [_copy(request) for request in self._sent_data]

    def rooms(self) -> list[proto_models.Room]:
        with self._lock:
            return [self._room_proto(state) for state in self._rooms.values()]

    def room(self, name: str) -> proto_models.Room | None:
        with self._lock:
            state = self._rooms.get(name)
            return None if state is None else self._room_proto(state)

    def participants(self, room: str) -> list[proto_models.ParticipantInfo]:
        with self._lock:
            state = self._rooms.get(room)
            return [] if state is None else [_copy(p) for p in state.participants.values()]

    def egress(self, egress_id: str) -> proto_egress.EgressInfo:
        with self._lock:
            return _copy(self._egresses[egress_id])

    def drain_sync(self, max_wait: float = 5.0) -> None:
        """Blocks until every queued webhook has been delivered, given up or dropped (raises
        TimeoutError after `max_wait` seconds)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._outstanding == 0, max_wait):
                raise TimeoutError(
                    f"{self._outstanding} webhook(s) still undelivered after {max_wait} s"
                )

    async def drain(self, max_wait: float = 5.0) -> None:
        """drain_sync() without blocking the caller's event loop."""
        await asyncio.to_thread(self.drain_sync, max_wait)

    # --- test hooks: what clients and the egress service would do ---------------------------

    def join(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        metadata: str = "",
        kind: str = "STANDARD",
        attributes: Mapping[str, str] | None = None,
        active: bool = True,
    ) -> str:
        """A client connects; returns the participant sid ("PA_…"). Creates the room if needed
        (`room_started`). `participant_joined` is sent when the participant becomes active, here
        at once unless `active=False` (then call `activate`)."""
        with self._lock:
            self._require_running()
            state = self._rooms.get(room) or self._open_room(room)
            previous = state.participants.get(identity)
            if previous is not None:
                self._disconnect(state, previous, "DUPLICATE_IDENTITY")
            limit = state.info.max_participants
            if limit and len(state.participants) >= limit:
                raise ValueError(f"room {room!r} is full ({limit} participants)")
            joined_at = self._now()
            participant = proto_models.ParticipantInfo(
                sid=self._new_id("PA_"),
                identity=identity,
                name=name,
                metadata=metadata,
                state=proto_models.ParticipantInfo.JOINED,
                joined_at=_seconds(joined_at),
                joined_at_ms=_millis(joined_at),
                kind=kind,
                permission=proto_models.ParticipantPermission(
                    can_subscribe=True, can_publish=True, can_publish_data=True
                ),
            )
            participant.attributes.update(attributes or {})
            state.participants[identity] = participant
            if active:
                self._activate(state, participant)
            return participant.sid

    def activate(self, room: str, sid: str) -> None:
        """A participant that joined with `active=False` gets its media connected."""
        with self._lock:
            self._require_running()
            state, participant = self._find_by_sid(room, sid)
            if participant.state == proto_models.ParticipantInfo.ACTIVE:
                raise ValueError(f"participant {sid} is already active")
            self._activate(state, participant)

    def leave(self, room: str, sid: str, *, reason: str = "CLIENT_INITIATED") -> None:
        """The participant disconnects: `participant_left` (or `participant_connection_aborted`
        if it never became active). `reason` names a livekit.DisconnectReason."""
        with self._lock:
            self._require_running()
            state, participant = self._find_by_sid(room, sid)
            self._disconnect(state, participant, reason)

    def abort(self, room: str, sid: str, *, reason: str = "UNKNOWN_REASON") -> None:
        """The participant's connection is lost: `participant_connection_aborted`."""
        with self._lock:
            self._require_running()
            state, participant = self._find_by_sid(room, sid)
            self._disconnect(state, participant, reason, aborted=True)

    def finish(self, room: str) -> None:
        """The room closes (as after its empty or departure timeout): anyone still there is
        disconnected, then `room_finished`."""
        with self._lock:
            self._require_running()
            state = self._rooms.get(room)
            if state is None:
                raise LookupError(f"no room {room!r}")
            self._close_room(state, "ROOM_CLOSED")

    def publish_track(
        self, room: str, sid: str, *, source: str = "CAMERA", name: str = "", muted: bool = False
    ) -> str:
        """The participant publishes a track (`track_published`); returns its sid ("TR_…").
        `source` names a livekit.TrackSource."""
        with self._lock:
            self._require_running()
            state, participant = self._find_by_sid(room, sid)
            track = participant.tracks.add(
                sid=self._new_id("TR_"),
                type="AUDIO" if source in _AUDIO_SOURCES else "VIDEO",
                source=source,
                name=name,
                muted=muted,
            )
            participant.is_publisher = True
            self._emit(
                "track_published",
                room=self._room_proto(state),
                participant=proto_models.ParticipantInfo(
                    sid=participant.sid, identity=participant.identity
                ),
                track=track,
            )
            return track.sid

    def unpublish_track(self, room: str, sid: str, track_sid: str) -> None:
        with self._lock:
            self._require_running()
            state, participant = self._find_by_sid(room, sid)
            track = _find_track(participant, track_sid)
            if track is None:
                raise LookupError(f"participant {sid} has no track {track_sid}")
            gone = _copy(track)
            participant.tracks.remove(track)
            participant.is_publisher = len(participant.tracks) > 0
            self._emit(
                "track_unpublished",
                room=self._room_proto(state),
                participant=proto_models.ParticipantInfo(
                    sid=participant.sid, identity=participant.identity
                ),
                track=gone,
            )

    def activate_egress(self, egress_id: str) -> None:
        """The egress starts recording: status EGRESS_ACTIVE, `egress_updated`."""
        with self._lock:
            self._require_running()
            info = self._egresses[egress_id]
            if info.status != _Status.EGRESS_STARTING:
                raise ValueError(f"egress {egress_id} is {_Status.Name(info.status)}")
            now = _nanos(self._now())
            info.status = _Status.EGRESS_ACTIVE
            info.started_at = info.updated_at = now
            for result in info.file_results:
                result.started_at = now
            for segments in info.segment_results:
                segments.started_at = now
            for stream in info.stream_results:
                stream.started_at = now
            self._emit_egress("egress_updated", info)

    def end_egress(
        self,
        egress_id: str,
        *,
        location: str | None = None,
        status: str = "EGRESS_COMPLETE",
        error: str = "",
        size: int = 0,
    ) -> None:
        """The egress finishes (`egress_ended`): file results get their location (default: the
        filename), size and duration; `status` may be EGRESS_FAILED/ABORTED/LIMIT_REACHED."""
        final = cast(proto_egress.EgressStatus, _Status.Value(status))
        if final in _ENDABLE_EGRESS:
            raise ValueError(f"{status} is not a final egress status")
        with self._lock:
            self._require_running()
            info = self._egresses[egress_id]
            if info.status not in _ENDABLE_EGRESS:
                raise ValueError(f"egress {egress_id} already ended")
            now = _nanos(self._now())
            duration = now - info.started_at if info.started_at else 0
            info.status = final
            info.ended_at = info.updated_at = now
            info.error = error
            for result in info.file_results:
                result.ended_at = now
                result.duration = duration
                result.size = size
                result.location = location if location is not None else result.filename
            for segments in info.segment_results:
                segments.ended_at = now
                segments.duration = duration
                segments.size = size
                segments.playlist_location = (
                    location if location is not None else segments.playlist_name
                )
            for stream in info.stream_results:
                stream.ended_at = now
                stream.duration = duration
                stream.status = proto_egress.StreamInfo.FINISHED
            self._emit_egress("egress_ended", info)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:  # one request at a time, atomically, like a single-node server
            return self._serve(
                request.method, request.url.path, request.headers, request.query_params, body
            )

    def _serve(
        self,
        http_method: str,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
    ) -> Response:
        service, method = _split_twirp_path(path)
        content_type = headers.get("content-type", "")

        def record(
            status: int,
            request: Message | None = None,
            failure: TwirpFailure | None = None,
            plain_error: str | None = None,
            identity: str = "",
        ) -> None:
            if service is None:
                return
            self._calls.append(
                Call(
                    service=service,
                    method=method,
                    request=request,
                    status=status,
                    error_code=None if failure is None else failure.code,
                    error_message=plain_error if failure is None else failure.msg,
                    content_type=content_type,
                    identity=identity,
                )
            )

        # 1. livekit-server's APIKeyAuthMiddleware runs before any routing.
        try:
            auth = self._authenticate(headers.get("authorization"), query.get("access_token"))
        except _AuthRejected as rejected:
            record(401, plain_error=str(rejected))
            return Response(str(rejected), status_code=401, media_type="text/plain")
        identity = "" if auth is None else auth.identity

        def fail(failure: TwirpFailure, request: Message | None = None) -> Response:
            record(failure.status, request, failure, identity=identity)
            return failure.response()

        # 2. The HTTP mux: the health check, the Twirp services, 404 for the rest.
        if service is None:
            if path == "/":
                return Response("OK", media_type="text/plain")
            return Response("404 page not found\n", status_code=404, media_type="text/plain")
        if service in OTHER_SERVICES:
            return fail(TwirpFailure("unimplemented", f"FakeLiveKit does not serve {service}"))

        # 3. Twirp's generated server: POST only, known method, supported content type.
        if http_method != "POST":
            msg = f'unsupported method "{http_method}" (only POST is allowed)'
            return fail(_bad_route(msg, http_method, path))
        handler = self._methods[service].get(method)
        if handler is None:
            if method in KNOWN_METHODS[service]:
                msg = f"FakeLiveKit does not implement {service}/{method}"
                return fail(TwirpFailure("unimplemented", msg))
            return fail(_bad_route(f'no handler for path "{path}"', http_method, path))
        encoding = content_type.split(";", 1)[0].strip().lower()
        request = handler.request_type()
        if encoding == "application/protobuf":
            try:
                request.ParseFromString(body)
            except DecodeError:
                return fail(TwirpFailure("malformed", "the protobuf request could not be decoded"))
        elif encoding == "application/json":
            try:
                json_format.Parse(body.decode(), request, ignore_unknown_fields=True)
            except (UnicodeDecodeError, json_format.ParseError) as exc:
                msg = f"the json request could not be decoded: {exc}"
                return fail(TwirpFailure("malformed", msg))
        else:
            msg = f'unexpected Content-Type: "{content_type}"'
            return fail(_bad_route(msg, http_method, path))

        # 4. The method (or a failure the test asked for).
        injected = self._failures.get(method)
        if injected:
            return fail(injected.popleft(), request)
        try:
            answer = handler.run(request, auth)
        except TwirpFailure as failure:
            return fail(failure, request)
        record(200, request, identity=identity)
        if encoding == "application/json":
            text = json_format.MessageToJson(
                answer,
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
                indent=None,
            )
            return Response(text, media_type="application/json")
        return Response(answer.SerializeToString(), media_type="application/protobuf")

    def _authenticate(self, header: str | None, query_token: str | None) -> _Auth | None:
        if header:
            if not header.startswith("Bearer "):
                raise _AuthRejected("invalid authorization header. Must start with Bearer ")
            token = header.removeprefix("Bearer ")
        else:
            token = query_token or ""
        if not token:
            return None  # no grants: each method refuses with "permissions denied"
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _AuthRejected("invalid authorization token") from exc
        api_key = unverified.get("iss")
        if not isinstance(api_key, str) or api_key != self.api_key:
            raise _AuthRejected("invalid API key")
        try:
            claims = jwt.decode(
                token,
                self.api_secret,
                algorithms=["HS256"],
                issuer=api_key,
                leeway=TOKEN_LEEWAY,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise _AuthRejected(f"invalid authorization token: {exc}") from exc
        video = claims.get("video")
        return _Auth(
            api_key=api_key,
            identity=str(claims.get("sub", "")),
            video=video if isinstance(video, dict) else None,
        )

    # --- grants (pkg/service/auth.go) ---------------------------------------------------------

    @staticmethod
    def _require(auth: _Auth | None, grant: str) -> None:
        if auth is None or auth.video is None or auth.video.get(grant) is not True:
            raise _permission_denied()

    @staticmethod
    def _require_admin(auth: _Auth | None, room: str) -> None:
        if (
            auth is None
            or auth.video is None
            or auth.video.get("roomAdmin") is not True
            or auth.video.get("room", "") != room
        ):
            raise _permission_denied()

    # --- RoomService ----------------------------------------------------------------------------

    def _create_room(self, req: proto_room.CreateRoomRequest, auth: _Auth | None) -> Message:
        self._require(auth, "roomCreate")
        if len(req.name) > MAX_ROOM_NAME_LENGTH:
            msg = f"room name length exceeds limits: max length {MAX_ROOM_NAME_LENGTH}"
            raise TwirpFailure("invalid_argument", msg)
        _check_metadata(req.metadata)
        state = self._rooms.get(req.name)
        if state is None:
            state = self._open_room(req.name, req)
        else:  # an upsert: the existing room takes every field the request sets
            _apply_create_request(state.info, req)
        return self._room_proto(state)

    def _list_rooms(self, req: proto_room.ListRoomsRequest, auth: _Auth | None) -> Message:
        self._require(auth, "roomList")
        names = set(req.names)
        return proto_room.ListRoomsResponse(
            rooms=[
                self._room_proto(state)
                for name, state in self._rooms.items()
                if not names or name in names
            ]
        )

    def _delete_room(self, req: proto_room.DeleteRoomRequest, auth: _Auth | None) -> Message:
        self._require(auth, "roomCreate")
        state = self._rooms.get(req.room)
        if state is None:
            raise _room_not_found()
        self._close_room(state, "ROOM_DELETED")
        return proto_room.DeleteRoomResponse()

    def _list_participants(
        self, req: proto_room.ListParticipantsRequest, auth: _Auth | None
    ) -> Message:
        self._require_admin(auth, req.room)
        state = self._rooms.get(req.room)  # a missing room simply has nobody in it
        participants = [] if state is None else list(state.participants.values())
        return proto_room.ListParticipantsResponse(participants=participants)

    def _get_participant(
        self, req: proto_room.RoomParticipantIdentity, auth: _Auth | None
    ) -> Message:
        self._require_admin(auth, req.room)
        _state, participant = self._find_by_identity(req.room, req.identity)
        return _copy(participant)

    def _remove_participant(
        self, req: proto_room.RoomParticipantIdentity, auth: _Auth | None
    ) -> Message:
        self._require_admin(auth, req.room)
        state, participant = self._find_by_identity(req.room, req.identity)
        self._disconnect(state, participant, "PARTICIPANT_REMOVED")
        return proto_room.RemoveParticipantResponse()

    def _mute_published_track(
        self, req: proto_room.MuteRoomTrackRequest, auth: _Auth | None
    ) -> Message:
        self._require_admin(auth, req.room)
        _state, participant = self._find_by_identity(req.room, req.identity)
        track = _find_track(participant, req.track_sid)
        if track is None:
            raise TwirpFailure("not_found", "track is not found")
        if not req.muted and not self.enable_remote_unmute:
            raise TwirpFailure("failed_precondition", "remote unmute not enabled")
        track.muted = req.muted
        return proto_room.MuteRoomTrackResponse(track=track)

    def _update_participant(
        self, req: proto_room.UpdateParticipantRequest, auth: _Auth | None
    ) -> Message:
        _check_metadata(req.metadata)
        self._require_admin(auth, req.room)
        _state, participant = self._find_by_identity(req.room, req.identity)
        if req.name:
            participant.name = req.name
        if req.metadata:
            participant.metadata = req.metadata
        for key, value in req.attributes.items():
            if value:
                participant.attributes[key] = value
            else:
                participant.attributes.pop(key, None)
        if req.HasField("permission"):
            participant.permission.CopyFrom(req.permission)
        participant.version += 1
        return _copy(participant)

    def _update_room_metadata(
        self, req: proto_room.UpdateRoomMetadataRequest, auth: _Auth | None
    ) -> Message:
        _check_metadata(req.metadata)
        self._require_admin(auth, req.room)
        state = self._rooms.get(req.room)
        if state is None:
            raise _room_not_found()
        state.info.metadata = req.metadata
        return self._room_proto(state)

    def _send_data(self, req: proto_room.SendDataRequest, auth: _Auth | None) -> Message:
        self._require_admin(auth, req.room)
        if len(req.nonce) not in (0, 16):
            msg = f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes"
            raise TwirpFailure("invalid_argument", msg)
        if req.room not in self._rooms:
            raise _room_not_found()
        self._sent_data.append(_copy(req))
        return proto_room.SendDataResponse()

    # --- Egress -------------------------------------------------------------------------------

    def _start_room_composite_egress(
        self, req: proto_egress.RoomCompositeEgressRequest, auth: _Auth | None
    ) -> Message:
        self._require(auth, "roomRecord")
        state = self._rooms.get(req.room_name)
        if state is None:
            raise _room_not_found()
        files = list(req.file_outputs) + ([req.file] if req.HasField("file") else [])
        segments = list(req.segment_outputs) + ([req.segments] if req.HasField("segments") else [])
        streams = list(req.stream_outputs) + ([req.stream] if req.HasField("stream") else [])
        if not (files or segments or streams or req.image_outputs):
            raise TwirpFailure("invalid_argument", "request has no outputs")
        egress_id = self._new_id("EG_")
        info = proto_egress.EgressInfo(
            egress_id=egress_id,
            room_id=state.info.sid,
            room_name=req.room_name,
            source_type=proto_egress.EGRESS_SOURCE_TYPE_WEB,
            status=_Status.EGRESS_STARTING,
            updated_at=_nanos(self._now()),
            room_composite=req,
        )
        extension = "ogg" if req.audio_only else "mp4"
        for file in files:
            info.file_results.add(filename=file.filepath or f"{egress_id}.{extension}")
        for segmented in segments:
            prefix = segmented.filename_prefix or egress_id
            info.segment_results.add(playlist_name=segmented.playlist_name or f"{prefix}.m3u8")
        for stream in streams:
            for url in stream.urls:
                info.stream_results.add(url=url, status=proto_egress.StreamInfo.ACTIVE)
        self._egresses[egress_id] = info
        self._emit_egress("egress_started", info)
        return _copy(info)

    def _stop_egress(self, req: proto_egress.StopEgressRequest, auth: _Auth | None) -> Message:
        self._require(auth, "roomRecord")
        info = self._egresses.get(req.egress_id)
        if info is None:
            raise _egress_not_found()
        if info.status not in _LIVE_EGRESS:
            msg = f"egress with status {_Status.Name(info.status)} cannot be stopped"
            raise TwirpFailure("failed_precondition", msg)
        info.status = _Status.EGRESS_ENDING
        info.updated_at = _nanos(self._now())
        self._emit_egress("egress_updated", info)
        return _copy(info)

    def _list_egress(self, req: proto_egress.ListEgressRequest, auth: _Auth | None) -> Message:
        self._require(auth, "roomRecord")
        if req.egress_id:
            info = self._egresses.get(req.egress_id)
            if info is None:
                raise _egress_not_found()
            return proto_egress.ListEgressResponse(items=[info])
        return proto_egress.ListEgressResponse(
            items=[
                info
                for info in self._egresses.values()
                if (not req.room_name or info.room_name == req.room_name)
                and (not req.active or info.status < _Status.EGRESS_COMPLETE)
            ]
        )

    # --- room state (callers hold the lock) -----------------------------------------------------

    def _require_running(self) -> None:
        if not self._running:
            raise RuntimeError("FakeLiveKit is not running")

    def _now(self) -> datetime:
        return self.clock.now()

    def _new_id(self, prefix: str) -> str:
        return prefix + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(12))

    def _open_room(self, name: str, req: proto_room.CreateRoomRequest | None = None) -> _RoomState:
        """A new room, with the server's defaults; announced with `room_started`."""
        now = self._now()
        state = _RoomState(
            proto_models.Room(
                sid=self._new_id("RM_"),
                name=name,
                empty_timeout=DEFAULT_EMPTY_TIMEOUT,
                departure_timeout=DEFAULT_DEPARTURE_TIMEOUT,
                creation_time=_seconds(now),
                creation_time_ms=_millis(now),
                turn_password=self._new_id(""),
            )
        )
        if req is not None:
            _apply_create_request(state.info, req)
        self._rooms[name] = state
        self._emit("room_started", room=self._room_proto(state))
        return state

    def _close_room(self, state: _RoomState, reason: str) -> None:
        for participant in list(state.participants.values()):
            self._disconnect(state, participant, reason)
        del self._rooms[state.info.name]
        self._emit("room_finished", room=self._room_proto(state))

    def _room_proto(self, state: _RoomState) -> proto_models.Room:
        room = _copy(state.info)
        room.num_participants = len(state.participants)
        room.num_publishers = sum(p.is_publisher for p in state.participants.values())
        return room

    def _activate(self, state: _RoomState, participant: proto_models.ParticipantInfo) -> None:
        participant.state = proto_models.ParticipantInfo.ACTIVE
        self._emit("participant_joined", room=self._room_proto(state), participant=participant)

    def _disconnect(
        self,
        state: _RoomState,
        participant: proto_models.ParticipantInfo,
        reason: str,
        *,
        aborted: bool = False,
    ) -> None:
        del state.participants[participant.identity]
        was_active = participant.state == proto_models.ParticipantInfo.ACTIVE
        gone = _copy(participant)
        gone.state = proto_models.ParticipantInfo.DISCONNECTED
        gone.disconnect_reason = cast(
            proto_models.DisconnectReason, proto_models.DisconnectReason.Value(reason)
        )
        left = was_active and not aborted
        event = "participant_left" if left else "participant_connection_aborted"
        self._emit(event, room=self._room_proto(state), participant=gone)

    def _find_by_identity(
        self, room: str, identity: str
    ) -> tuple[_RoomState, proto_models.ParticipantInfo]:
        state = self._rooms.get(room)
        participant = None if state is None else state.participants.get(identity)
        if state is None or participant is None:
            raise _participant_not_found()
        return state, participant

    def _find_by_sid(self, room: str, sid: str) -> tuple[_RoomState, proto_models.ParticipantInfo]:
        state = self._rooms.get(room)
        if state is not None:
            for participant in state.participants.values():
                if participant.sid == sid:
                    return state, participant
        raise LookupError(f"no participant {sid} in room {room!r}")

    # --- webhooks -------------------------------------------------------------------------------

    def _emit_egress(self, name: str, info: proto_egress.EgressInfo) -> None:
        # The real server attaches a minimal room (sid and name) to egress events.
        room = proto_models.Room(sid=info.room_id, name=info.room_name)
        self._emit(name, room=room, egress=info)

    def _emit(
        self,
        name: str,
        *,
        room: proto_models.Room | None = None,
        participant: proto_models.ParticipantInfo | None = None,
        egress: proto_egress.EgressInfo | None = None,
        track: proto_models.TrackInfo | None = None,
    ) -> None:
        event = proto_webhook.WebhookEvent(
            event=name, id=self._new_id("EV_"), created_at=_seconds(self._now())
        )
        if room is not None:
            event.room.CopyFrom(room)
        if participant is not None:
            event.participant.CopyFrom(participant)
        if egress is not None:
            event.egress_info.CopyFrom(egress)
        if track is not None:
            event.track.CopyFrom(track)
        self._events.append(event)
        url = self.webhook_url
        if url is None:
            return
        key = _event_key(event)
        delivery = Delivery(event=_copy(event), body=encode_webhook(event), key=key, url=url)
        self._deliveries.append(delivery)
        queue = self._queues.get(key)
        if queue is not None and len(queue) >= WEBHOOK_MAX_DEPTH:
            delivery.outcome = "dropped"
            return
        self._outstanding += 1
        if queue is None:
            self._queues[key] = deque([delivery])
            self._server.loop.call_soon_threadsafe(self._start_worker, key)
        else:
            queue.append(delivery)

    def _start_worker(self, key: str) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver_queue(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_queue(self, key: str) -> None:
        """Delivers one queue's events in order, each fully (all its attempts) before the next."""
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    return
                delivery = queue.popleft()
            try:
                await self._deliver(delivery)
            finally:
                with self._lock:
                    self._outstanding -= 1
                    self._idle.notify_all()

    async def _deliver(self, delivery: Delivery) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.webhook_timeout)
        headers = {
            "Authorization": self.webhook_token(delivery.body),
            "Content-Type": WEBHOOK_CONTENT_TYPE,
            "User-Agent": "LiveKit",
        }
        for attempt in range(self.webhook_max_attempts):
            if attempt:
                wait = self.webhook_retry_wait_min * 2 ** (attempt - 1)
                await asyncio.sleep(min(wait, self.webhook_retry_wait_max))
            try:
                response = await self._client.post(
                    delivery.url, content=delivery.body, headers=headers
                )
            except httpx.TransportError as exc:
                result, retry = Attempt(status=None, error=type(exc).__name__), True
            except httpx.InvalidURL as exc:  # no point retrying
                with self._lock:
                    delivery.attempts.append(Attempt(status=None, error=type(exc).__name__))
                    delivery.outcome = "gave_up"
                return
            else:
                status = response.status_code
                result, retry = Attempt(status=status), _should_retry(status)
            with self._lock:
                delivery.attempts.append(result)
                if not retry:
                    delivery.outcome = "delivered"
                    return
        with self._lock:
            delivery.outcome = "gave_up"

    def webhook_token(self, body: bytes) -> str:
        """The Authorization header LiveKit sends with `body` (no "Bearer " prefix)."""
        now = int(time.time() + self.webhook_token_skew.total_seconds())
        claims = {
            "iss": self.api_key,
            "iat": now,
            "nbf": now,
            "exp": now + int(WEBHOOK_TOKEN_TTL.total_seconds()),
            "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        }
        return jwt.encode(claims, self.api_secret, algorithm="HS256")


# --- helpers ------------------------------------------------------------------------------------


def encode_webhook(event: proto_webhook.WebhookEvent) -> bytes:
    """The body LiveKit posts: protojson with camelCase names, int64 as strings, raw UTF-8."""
    as_dict = json_format.MessageToDict(event)
    return json.dumps(as_dict, ensure_ascii=False, separators=(",", ":")).encode()


def _apply_create_request(room: proto_models.Room, req: proto_room.CreateRoomRequest) -> None:
    """What CreateRoom sets on a room: the fields the request gives (non-zero ones)."""
    if req.empty_timeout > 0:
        room.empty_timeout = req.empty_timeout
    if req.departure_timeout > 0:
        room.departure_timeout = req.departure_timeout
    if req.max_participants > 0:
        room.max_participants = req.max_participants
    if req.metadata:
        room.metadata = req.metadata


def _event_key(event: proto_webhook.WebhookEvent) -> str:
    """The queue an event goes to (webhook.EventKey in livekit/protocol)."""
    if event.HasField("egress_info"):
        return event.egress_info.egress_id
    if event.HasField("ingress_info"):
        return event.ingress_info.ingress_id
    if event.HasField("room"):
        return event.room.name
    if event.HasField("participant"):
        return event.participant.identity
    if event.HasField("track"):
        return event.track.sid
    return "default"


def _should_retry(status: int) -> bool:
    """go-retryablehttp's DefaultRetryPolicy."""
    return status == 429 or (status >= 500 and status != 501)


def _split_twirp_path(path: str) -> tuple[str | None, str]:
    """("livekit.RoomService", "CreateRoom") for a /twirp/ path, else (None, "")."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] or parts[1] != "twirp":
        return None, ""
    service, method = parts[2], parts[3]
    if service not in KNOWN_METHODS and service not in OTHER_SERVICES:
        return None, ""
    return service, method


def _find_track(
    participant: proto_models.ParticipantInfo, track_sid: str
) -> proto_models.TrackInfo | None:
    return next((track for track in participant.tracks if track.sid == track_sid), None)


def _copy(message: _M) -> _M:
    duplicate = type(message)()
    duplicate.CopyFrom(message)
    return duplicate


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _seconds(instant: datetime) -> int:
    return _micros(instant) // 1_000_000


def _millis(instant: datetime) -> int:
    return _micros(instant) // 1_000


def _nanos(instant: datetime) -> int:
    return _micros(instant) * 1_000
