"""The load of bench/webhook_ingest.py, sent from a process of its own: webhooks signed as LiveKit
signs them, posted over keep-alive connections at a fixed concurrency, a warm-up and then a
measured window per turn (through a minimal HTTP/1.1 client: the load must leave the CPUs to
the servers); the answers counted and the latencies recorded, and each endpoint's
turns taken together."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop
from google.protobuf import json_format
from ingest_servers import API_KEY, API_SECRET, BenchError
from livekit.api import AccessToken
from livekit.protocol import models as lk_models

WEBHOOK_CONTENT_TYPE = "application/webhook+json"
WEBHOOK_TOKEN_TTL = timedelta(minutes=5)  # what LiveKit gives its webhook tokens


def sign(body: bytes, api_key: str, api_secret: str) -> str:
    """The Authorization header LiveKit sends: a JWT (no "Bearer ") whose sha256 claim is the
    base64 of the body's SHA-256, signed with the API secret and valid for five minutes."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = AccessToken(api_key, api_secret).with_ttl(WEBHOOK_TOKEN_TTL).with_sha256(digest)
    return token.to_jwt()


def _as_json(message: Any) -> dict[str, Any]:
    """protojson as LiveKit writes it: camelCase names, int64 as strings, enums by name."""
    as_dict: dict[str, Any] = json_format.MessageToDict(message)
    return as_dict


class EventStream:
    """One stream of a room's events: room_started first (from the room's first stream), then
    participants joining and leaving in turn, each join a new participant sid. Templates are
    built once from the protocol's messages; each event only changes ids and times."""

    def __init__(self, tag: str, stream: int, rooms: int) -> None:
        self.tag = tag
        self.stream = stream
        self.sent = 0
        room_index = stream % rooms
        now = int(time.time())
        room = lk_models.Room(
            sid=f"RM_{tag}{room_index:04d}",
            name=f"halaqa-bench-{tag}-{room_index:04d}",
            empty_timeout=1800,
            departure_timeout=120,
            max_participants=30,
            creation_time=now,
            creation_time_ms=now * 1000,
            metadata=json.dumps({"session_id": 1000 + room_index}),
            num_participants=4,
        )
        participant = lk_models.ParticipantInfo(
            sid="PA_template",
            identity="u-template",
            name="طالب — Student",
            state=lk_models.ParticipantInfo.ACTIVE,
            joined_at=now,
            joined_at_ms=now * 1000,
            version=2,
            permission=lk_models.ParticipantPermission(
                can_subscribe=True, can_publish=True, can_publish_data=True
            ),
            is_publisher=True,
            metadata=json.dumps({"role": "student", "session_id": 1000 + room_index}),
        )
        self.room = _as_json(room)
        self.joined = _as_json(participant)
        participant.state = lk_models.ParticipantInfo.DISCONNECTED
        participant.disconnect_reason = lk_models.CLIENT_INITIATED
        self.left = _as_json(participant)
        self.room_started_pending = stream < rooms
        self.joined_at = now
        self.participant_sid = ""
        self.identity = f"u-{tag}-{stream}"

    def _event_id(self) -> str:
        self.sent += 1
        return f"EV_{self.tag}_{self.stream}_{self.sent}"

    def next_body(self) -> bytes:
        now = int(time.time())
        event: dict[str, Any]
        if self.room_started_pending:
            self.room_started_pending = False
            event = {"event": "room_started", "room": self.room}
        elif not self.participant_sid:
            self.participant_sid = f"PA_{self.tag}_{self.stream}_{self.sent}"
            self.joined_at = now
            participant = dict(self.joined)
            participant.update(
                sid=self.participant_sid,
                identity=self.identity,
                joinedAt=str(now),
                joinedAtMs=str(now * 1000),
            )
            event = {"event": "participant_joined", "room": self.room, "participant": participant}
        else:
            participant = dict(self.left)
            participant.update(
                sid=self.participant_sid,
                identity=self.identity,
                joinedAt=str(self.joined_at),
                joinedAtMs=str(self.joined_at * 1000),
            )
            self.participant_sid = ""
            event = {"event": "participant_left", "room": self.room, "participant": participant}
        event["id"] = self._event_id()
        event["createdAt"] = str(now)
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class LoadSpec:
    url: str
    tag: str  # makes this turn's event ids and rooms its own
    concurrency: int
    rooms: int
    warmup_s: float
    measure_s: float
    # Events per second offered on a fixed timetable (spread over the streams), latency counted
    # from when each was due; 0: each stream sends again as soon as it is answered.
    rate: float = 0.0


@dataclass
class LoadResult:
    """One turn of load: answers over the whole turn, latencies of the 2xx answered within the
    measured window (seconds, sorted)."""

    ok_total: int = 0
    ok_in_window: int = 0
    window_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    client_cpu_pct: float = 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection that posts and reads the answer's status and body, and
    nothing more. The load must cost its machine little (the servers and the database share its
    2 CPUs): a general client such as httpx spends about 1 ms of CPU per request, this about a
    tenth of that."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise BenchError(f"the load posts over plain HTTP to a host and port, not {url}")
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self._head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: {WEBHOOK_CONTENT_TYPE}\r\n"
        ).encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes, authorization: str) -> tuple[int, bytes]:
        """The answer's status and body; OSError or IncompleteReadError when the connection
        fails (it is opened again for the next request)."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        try:
            writer.write(
                self._head
                + f"Authorization: {authorization}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = int((await reader.readline()).split(b" ", 2)[1])
            length, chunked, closing = 0, False, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    closing = b"close" in value.lower()
            answer = await (_chunked(reader) if chunked else reader.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            await self.close()
            raise
        if closing:
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while size := int((await reader.readline()).split(b";")[0], 16):
        body += await reader.readexactly(size)
        await reader.readline()
    await reader.readline()
    return body


async def _load(spec: LoadSpec) -> LoadResult:
    result = LoadResult(window_s=spec.measure_s)
    statuses: Counter[int] = Counter()
    connections = [Connection(spec.url) for _ in range(spec.concurrency)]
    streams = [EventStream(spec.tag, index, spec.rooms) for index in range(spec.concurrency)]
    started = time.perf_counter()
    window_start = started + spec.warmup_s
    window_end = window_start + spec.measure_s

    interval = spec.concurrency / spec.rate if spec.rate > 0 else 0.0

    async def send_events(events: EventStream, connection: Connection) -> None:
        # Paced streams start staggered, so the offered load is even rather than in bursts.
        due = started + interval * events.stream / spec.concurrency
        while time.perf_counter() < window_end:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            this_due, due = due, due + interval
            body = events.next_body()
            authorization = sign(body, API_KEY, API_SECRET)
            # Paced: an answer late enough to delay the next send counts that wait too (no
            # coordinated omission), so latency runs from when the event was due.
            sent_at = min(time.perf_counter(), this_due) if interval else time.perf_counter()
            try:
                status, answer = await connection.post(body, authorization)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
                result.transport_errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{type(error).__name__}: {error}")
                await asyncio.sleep(0.01)
                continue
            answered_at = time.perf_counter()
            statuses[status] += 1
            if not 200 <= status < 300:
                if len(result.error_samples) < 5:
                    result.error_samples.append(
                        f"{status}: {answer[:300].decode(errors='replace')}"
                    )
                continue
            result.ok_total += 1
            if window_start <= answered_at <= window_end:
                result.ok_in_window += 1
                result.latencies.append(answered_at - sent_at)

    cpu_before = time.process_time()
    try:
        await asyncio.gather(*map(send_events, streams, connections))
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    wall = time.perf_counter() - started
    result.client_cpu_pct = 100 * (time.process_time() - cpu_before) / wall
    result.latencies.sort()
    result.statuses = dict(statuses)
    return result


def run_load(spec: LoadSpec) -> LoadResult:
    """What the load process runs, on uvloop (less CPU per request than asyncio's own loop)."""
    return uvloop.run(_load(spec))


def _spawned() -> None:
    """Nothing: run once so that the load process is spawned when asked to start."""


class LoadProcess:
    """The separate process the load comes from: spawned once (so it shares nothing with the
    bench's), before any server starts, and used for every turn."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        self._pool.submit(_spawned).result()

    def run(self, spec: LoadSpec) -> LoadResult:
        assert self._pool is not None, "start() first"
        return self._pool.submit(run_load, spec).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def probe(name: str, url: str, tag: str, *, twice: bool) -> list[str]:
    """Before the load: a forged webhook must get 401; with `twice`, a webhook sent twice must
    get 2xx both times (the second a no-op). Returns what was checked. The probes' rows are not
    counted as stored."""
    body = EventStream(f"{tag}probe", 0, 1).next_body()
    headers = {"Content-Type": WEBHOOK_CONTENT_TYPE}
    checks = []
    with httpx.Client(timeout=30.0) as client:
        forged = {**headers, "Authorization": sign(body, API_KEY, API_SECRET + "-wrong")}
        refused = client.post(url, content=body, headers=forged)
        if refused.status_code != 401:
            raise BenchError(f"{name}: a forged webhook got {refused.status_code}, not 401")
        checks.append("forged signature → 401")
        if twice:
            signed = {**headers, "Authorization": sign(body, API_KEY, API_SECRET)}
            answers = [client.post(url, content=body, headers=signed) for _ in range(2)]
            codes = [answer.status_code for answer in answers]
            if any(not 200 <= code < 300 for code in codes):
                raise BenchError(f"{name}: one webhook twice got {codes}: {answers[-1].text}")
            checks.append(
                f"same event twice → {codes[0]} {answers[0].text}, {codes[1]} {answers[1].text}"
            )
    return checks


@dataclass
class LoadTotals:
    """One endpoint's turns of load taken together."""

    turns: list[LoadResult] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(turn.ok_total for turn in self.turns)

    @property
    def events_per_s(self) -> float:
        window = sum(turn.window_s for turn in self.turns)
        return sum(turn.ok_in_window for turn in self.turns) / window if window else 0.0

    @property
    def latencies(self) -> list[float]:
        return sorted(latency for turn in self.turns for latency in turn.latencies)

    def percentile_ms(self, q: float) -> float:
        ordered = self.latencies
        if not ordered:
            return 0.0
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for turn in self.turns:
            total.update(turn.statuses)
        return total

    @property
    def failures(self) -> int:
        refused = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return refused + sum(turn.transport_errors for turn in self.turns)

    @property
    def error_samples(self) -> list[str]:
        return [sample for turn in self.turns for sample in turn.error_samples][:5]

    @property
    def client_cpu_pct(self) -> float:
        return max((turn.client_cpu_pct for turn in self.turns), default=0.0)
