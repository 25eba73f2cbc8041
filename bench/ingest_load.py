"""The load of bench/webhook_ingest.py, sent from a process of its own: webhooks signed as LiveKit
signs them, posted over keep-alive connections at a fixed concurrency, a warm-up and then a
measured window per turn; the answers counted and the latencies recorded, and each endpoint's
turns taken together."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
import ssl
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from typing import Any

import httpx
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


async def _load(spec: LoadSpec) -> LoadResult:
    result = LoadResult(window_s=spec.measure_s)
    statuses: Counter[int] = Counter()
    # One client, and so one keep-alive connection, per stream: httpcore's pool scans all of
    # its connections for every request, which with 64 in one pool costs more CPU than the
    # requests themselves and would make the load process the bottleneck.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused over http, but each client would load its own
    clients = [
        httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0), verify=tls)
        for _ in range(spec.concurrency)
    ]
    streams = [EventStream(spec.tag, index, spec.rooms) for index in range(spec.concurrency)]
    started = time.perf_counter()
    window_start = started + spec.warmup_s
    window_end = window_start + spec.measure_s

    interval = spec.concurrency / spec.rate if spec.rate > 0 else 0.0

    async def send_events(events: EventStream, client: httpx.AsyncClient) -> None:
        # Paced streams start staggered, so the offered load is even rather than in bursts.
        due = started + interval * events.stream / spec.concurrency
        while time.perf_counter() < window_end:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            this_due, due = due, due + interval
            body = events.next_body()
            headers = {
                "Authorization": sign(body, API_KEY, API_SECRET),
                "Content-Type": WEBHOOK_CONTENT_TYPE,
            }
            # Paced: an answer late enough to delay the next send counts that wait too (no
            # coordinated omission), so latency runs from when the event was due.
            sent_at = min(time.perf_counter(), this_due) if interval else time.perf_counter()
            try:
                response = await client.post(spec.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                result.transport_errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{type(error).__name__}: {error}")
                await asyncio.sleep(0.01)
                continue
            answered_at = time.perf_counter()
            statuses[response.status_code] += 1
            if not 200 <= response.status_code < 300:
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{response.status_code}: {response.text[:300]}")
                continue
            result.ok_total += 1
            if window_start <= answered_at <= window_end:
                result.ok_in_window += 1
                result.latencies.append(answered_at - sent_at)

    cpu_before = time.process_time()
    try:
        await asyncio.gather(*map(send_events, streams, clients))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    wall = time.perf_counter() - started
    result.client_cpu_pct = 100 * (time.process_time() - cpu_before) / wall
    result.latencies.sort()
    result.statuses = dict(statuses)
    return result


def run_load(spec: LoadSpec) -> LoadResult:
    """What the load process runs."""
    # httpcore tries `import sniffio` twice per request; without sniffio installed each failed
    # attempt searches the whole sys.path again (about 0.2 ms). None here fails it at once.
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    return asyncio.run(_load(spec))


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
