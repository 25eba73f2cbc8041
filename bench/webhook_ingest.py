"""Benchmark: signed LiveKit webhooks into a running Halaqa, against the simplest endpoint that
does the same job (verify with the SDK, insert one row), on SQLite and on PostgreSQL.

    .venv/bin/python bench/webhook_ingest.py

For each database (a fresh SQLite file in a temporary directory; a fresh PostgreSQL database that
is created here and dropped at the end) the bench migrates, loads the demo academy, and serves
Halaqa as two server processes sharing one port (SO_REUSEPORT: the kernel spreads connections
evenly between them), with HALAQA_WORKER_MODE=external so that nothing processes the events while
they are measured; the academy's meeting provider is then set to LiveKit, with a known key and
secret, through the API. The baseline, bench/plain_webhook_app.py, is served the same way on the
same database.

A separate load process posts webhooks signed as LiveKit signs them (camelCase protojson, each
with its own `id` and `createdAt`; Authorization is a JWT signed with the API secret whose
`sha256` claim is the base64 of the body's hash) over keep-alive connections at a fixed
concurrency, spread across several rooms: a warm-up, then a measured window. Halaqa and the
baseline are loaded in turns (Halaqa, plain, plain, Halaqa: drift on a shared machine then falls
on both alike), and the ratio of their rates is the result. Rows stored are counted while the
servers still run and compared with the 2xx answers (`stored` waits a few seconds for events
that Halaqa kept on local disk to reach the database). The last line printed is one JSON object.

Environment (all optional): BENCH_WARMUP_S (per turn, 2), BENCH_MEASURE_S (per endpoint, over
all its turns, 10), BENCH_ROUNDS (2), BENCH_CONCURRENCY (64), BENCH_ROOMS (16), BENCH_PROCESSES
(server processes, 2), BENCH_DATABASES (sqlite,postgresql), BENCH_PG_URL (the PostgreSQL server
the database is created on; postgresql://postgres@127.0.0.1:5432)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import httpx
import plain_webhook_app
from google.protobuf import json_format
from livekit.api import AccessToken
from livekit.protocol import models as lk_models
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
HALAQA_CLI = str(Path(PYTHON).with_name("halaqa"))
HOST = "127.0.0.1"

API_KEY = "bench-livekit-key"
API_SECRET = "bench-livekit-secret-6f1d2c3b4a5e6f708192a3b4c5d6e7f8"  # noqa: S105 (a fixture)
SERVER_SECRET_KEY = "halaqa-bench-server-secret-0123456789abcdef"  # noqa: S105 (a fixture)
DEMO_ACADEMY = "demo"
DEMO_ADMIN = "admin@demo.halaqa.example"
DEMO_PASSWORD = "halaqa-demo-2026"  # noqa: S105 (the demo's published password)
LIVEKIT_URL = "http://127.0.0.1:7880"  # never contacted while webhooks come in

HALAQA_APP = "halaqa.main:create_app"
HALAQA_HOOK_PATH = "/api/v1/webhooks/livekit"
HALAQA_TABLE = "meeting_events"
PLAIN_APP = "plain_webhook_app:create_app"
WEBHOOK_CONTENT_TYPE = "application/webhook+json"
WEBHOOK_TOKEN_TTL = timedelta(minutes=5)  # what LiveKit gives its webhook tokens

PG_DATABASE = "halaqa_bench_hooks"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_S = 15.0  # Halaqa moves events kept on disk into the database every 5 s
TARGET_RATIO, TARGET_P99_MS = 1.3, 100.0


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


WARMUP_S = _env_float("BENCH_WARMUP_S", 2.0)
MEASURE_S = _env_float("BENCH_MEASURE_S", 10.0)
ROUNDS = max(1, _env_int("BENCH_ROUNDS", 2))
CONCURRENCY = _env_int("BENCH_CONCURRENCY", 64)
ROOMS = _env_int("BENCH_ROOMS", 16)
SERVER_PROCESSES = _env_int("BENCH_PROCESSES", 2)
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")

Backend = Literal["sqlite", "postgresql"]
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


@contextlib.contextmanager
def step(backend: str, what: str) -> Iterator[None]:
    """Says what the bench is doing, and how long it took."""
    started = time.perf_counter()
    yield
    console.print(f"[bold]{backend}[/bold]: {what} ({time.perf_counter() - started:.1f} s)")


class BenchError(Exception):
    """The bench could not measure (a server did not start, a setup step failed)."""


# --- signed LiveKit webhooks ------------------------------------------------------------------


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


# --- the load process -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    url: str
    api_key: str
    api_secret: str
    tag: str  # makes this turn's event ids and rooms its own
    concurrency: int
    rooms: int
    warmup_s: float
    measure_s: float


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

    async def send_events(events: EventStream, client: httpx.AsyncClient) -> None:
        while time.perf_counter() < window_end:
            body = events.next_body()
            headers = {
                "Authorization": sign(body, spec.api_key, spec.api_secret),
                "Content-Type": WEBHOOK_CONTENT_TYPE,
            }
            sent_at = time.perf_counter()
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


def _started() -> int:
    return os.getpid()


class LoadProcess:
    """The separate process the load comes from: spawned once (so it shares nothing with this
    one), before any server starts, and used for every turn."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> int:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        return self._pool.submit(_started).result()

    def run(self, spec: LoadSpec) -> LoadResult:
        if self._pool is None:
            self.start()
        assert self._pool is not None
        return self._pool.submit(run_load, spec).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


LOAD_PROCESS = LoadProcess()


# --- server processes -------------------------------------------------------------------------


def serve_main(app: str, shared_port: int, private_port: int) -> None:
    """One server process (`webhook_ingest.py _serve APP SHARED PRIVATE`): uvicorn on the shared
    port (SO_REUSEPORT: every process binds it, the kernel balances connections between them)
    and on a port of its own, through which the bench sees that this very process is ready."""
    import uvicorn

    shared = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind((HOST, shared_port))
    private = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    private.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    private.bind((HOST, private_port))
    config = uvicorn.Config(
        app, factory=True, log_level="warning", access_log=False, timeout_graceful_shutdown=10
    )
    uvicorn.Server(config).run(sockets=[shared, private])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; 0 where /proc is not there)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:.,]+\S*\s+")
_VARYING = re.compile(r"EV_\w+|\b[0-9a-f]{32}\b|\d+")


class ServerPair:
    """SERVER_PROCESSES uvicorn processes serving one app on one port."""

    def __init__(self, name: str, app: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.app = app
        self.env = env
        self.port = free_port()
        self.private_ports = [free_port() for _ in range(SERVER_PROCESSES)]
        self.logs = [log_dir / f"{name}-{i}.log" for i in range(SERVER_PROCESSES)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        for private, log in zip(self.private_ports, self.logs, strict=True):
            with log.open("wb") as output:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603 (our own interpreter and script)
                        [PYTHON, __file__, "_serve", self.app, str(self.port), str(private)],
                        cwd=ROOT,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = set(self.private_ports)
        with httpx.Client(timeout=5.0) as client:
            while waiting:
                for process in self.processes:
                    if process.poll() is not None:
                        raise BenchError(
                            f"{self.name}: server process {process.pid} exited with "
                            f"{process.returncode} while starting\n{self.output()}"
                        )
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{self.name}: not ready after {READY_TIMEOUT_S:.0f} s\n{self.output()}"
                    )
                for port in sorted(waiting):
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"http://{HOST}:{port}/readyz").status_code == 200:
                            waiting.discard(port)
                if waiting:
                    time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(process.pid) for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def output(self) -> str:
        parts = []
        for process, log in zip(self.processes, self.logs, strict=False):
            content = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {self.name}, pid {process.pid} ---\n{content.rstrip()}")
        return "\n".join(parts)

    def problems(self) -> Counter[str]:
        """Lines of the servers' output that look wrong, alike ones counted together."""
        found: Counter[str] = Counter()
        for log in self.logs:
            if not log.exists():
                continue
            for line in log.read_text(errors="replace").splitlines():
                if re.search(r"Traceback|Error|ERROR|WARNING|CRITICAL|Exception", line):
                    found[_VARYING.sub("…", _TIMESTAMP.sub("", line.strip()))] += 1
        return found


@contextlib.contextmanager
def serving(pairs: list[ServerPair]) -> Iterator[None]:
    """Starts every pair (all at once: startup is mostly imports), waits until each process is
    ready, and stops them all, whatever happens."""
    try:
        for pair in pairs:
            pair.start()
        for pair in pairs:
            pair.wait_ready()
        yield
    finally:
        for pair in pairs:
            pair.stop()


# --- one database -----------------------------------------------------------------------------


@dataclass
class Target:
    """One endpoint on one database, over all its turns of load."""

    name: str
    servers: ServerPair
    path: str
    table: str
    tag: str
    checks: list[str] = field(default_factory=list)
    turns: list[LoadResult] = field(default_factory=list)
    server_cpu_pct: list[float] = field(default_factory=list)
    rows_before: int = 0
    stored_at_end: int = 0  # right after the last answer
    stored: int = 0  # after waiting for events kept on disk
    problems: Counter[str] = field(default_factory=Counter)

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


@dataclass
class BackendResult:
    backend: Backend
    halaqa: Target
    plain: Target
    spooled_left: int

    @property
    def ratio(self) -> float:
        plain = self.plain.events_per_s
        return self.halaqa.events_per_s / plain if plain else 0.0

    def summary(self) -> dict[str, float | int]:
        return {
            "events_per_s": round(self.halaqa.events_per_s, 1),
            "p50_ms": round(self.halaqa.percentile_ms(0.50), 2),
            "p99_ms": round(self.halaqa.percentile_ms(0.99), 2),
            "sent": self.halaqa.sent,
            "stored": self.halaqa.stored,
            "plain_events_per_s": round(self.plain.events_per_s, 1),
            "ratio": round(self.ratio, 3),
        }


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 (our own tools)
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


async def _count(database_url: str, table: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            # The probes' events (sent before the load, one possibly kept on disk and stored
            # late) are left out, so that only the load's events are compared with its answers.
            query = f"SELECT count(*) FROM {table} WHERE event_id NOT LIKE '%probe%'"  # noqa: S608
            count = await connection.scalar(text(query))
            return int(count or 0)
    finally:
        await engine.dispose()


def count_rows(database_url: str, table: str) -> int:
    return asyncio.run(_count(database_url, table))


def configure_livekit(base_url: str) -> str:
    """Signs in as the demo admin and sets the academy's provider to LiveKit with the bench's key
    and secret, through the API."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        login = client.post(
            "/api/v1/auth/login", json={"email": DEMO_ADMIN, "password": DEMO_PASSWORD}
        )
        if login.status_code != 200:
            raise BenchError(f"login as {DEMO_ADMIN}: {login.status_code} {login.text}")
        configured = client.put(
            f"/api/v1/academies/{DEMO_ACADEMY}/meeting-provider",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            json={
                "provider": "livekit",
                "livekit_url": LIVEKIT_URL,
                "livekit_api_key": API_KEY,
                "livekit_api_secret": API_SECRET,
            },
        )
        if configured.status_code != 200 or not configured.json().get("livekit_api_secret_set"):
            raise BenchError(f"meeting-provider: {configured.status_code} {configured.text}")
    return f"PUT meeting-provider (LiveKit, key {API_KEY}) → {configured.status_code}"


def probe(target: Target, *, twice: bool) -> None:
    """Before the load: a forged webhook must get 401; with `twice`, a webhook sent twice must
    get 2xx both times (the second a no-op). The probes' rows are not counted as stored."""
    body = EventStream(f"{target.tag}probe", 0, 1).next_body()
    headers = {"Content-Type": WEBHOOK_CONTENT_TYPE}
    with httpx.Client(base_url=target.servers.base_url, timeout=30.0) as client:
        forged = {**headers, "Authorization": sign(body, API_KEY, API_SECRET + "-wrong")}
        refused = client.post(target.path, content=body, headers=forged)
        if refused.status_code != 401:
            raise BenchError(f"{target.name}: a forged webhook got {refused.status_code}, not 401")
        target.checks.append("forged signature → 401")
        if twice:
            signed = {**headers, "Authorization": sign(body, API_KEY, API_SECRET)}
            answers = [client.post(target.path, content=body, headers=signed) for _ in range(2)]
            codes = [answer.status_code for answer in answers]
            if any(not 200 <= code < 300 for code in codes):
                last = answers[-1].text
                raise BenchError(f"{target.name}: one webhook twice got {codes}: {last}")
            target.checks.append(
                f"same event twice → {codes[0]} {answers[0].text}, {codes[1]} {answers[1].text}"
            )


def load_turn(target: Target, turn: int, measure_s: float) -> None:
    spec = LoadSpec(
        url=target.servers.base_url + target.path,
        api_key=API_KEY,
        api_secret=API_SECRET,
        tag=f"{target.tag}{turn}",
        concurrency=CONCURRENCY,
        rooms=ROOMS,
        warmup_s=WARMUP_S,
        measure_s=measure_s,
    )
    cpu_before, wall_before = target.servers.cpu_seconds(), time.perf_counter()
    target.turns.append(LOAD_PROCESS.run(spec))
    cpu = target.servers.cpu_seconds() - cpu_before
    target.server_cpu_pct.append(100 * cpu / (time.perf_counter() - wall_before))


def settle(target: Target, database_url: str) -> None:
    """Counts the rows stored by the load at once, then waits a little for late ones (events
    kept on local disk while the database was slow are moved into it every few seconds)."""
    target.stored_at_end = count_rows(database_url, target.table) - target.rows_before
    target.stored = target.stored_at_end
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while target.stored < target.sent and time.monotonic() < deadline:
        time.sleep(0.5)
        target.stored = count_rows(database_url, target.table) - target.rows_before


def bench_database(backend: Backend, database_url: str, work_dir: Path) -> BackendResult:
    spool = work_dir / "webhook-spool"
    env = {
        **os.environ,
        "HALAQA_DATABASE_URL": database_url,
        "HALAQA_SECRET_KEY": SERVER_SECRET_KEY,
        "HALAQA_SECRET_KEY_FILE": str(work_dir / "secret_key"),
        "HALAQA_WEBHOOK_SPOOL_DIR": str(spool),
        "HALAQA_WORKER_MODE": "external",
        "HALAQA_LOG_LEVEL": "WARNING",
        "PLAIN_WEBHOOK_DATABASE_URL": database_url,
        "PLAIN_WEBHOOK_API_KEY": API_KEY,
        "PLAIN_WEBHOOK_API_SECRET": API_SECRET,
    }
    with step(backend, "migrated"):
        _run([HALAQA_CLI, "db", "upgrade"], env)
    with step(backend, "demo academy loaded"):
        _run([HALAQA_CLI, "demo", "load"], env)
        asyncio.run(plain_webhook_app.create_schema(database_url))
    halaqa = Target(
        "Halaqa",
        ServerPair(f"{backend}-halaqa", HALAQA_APP, env, work_dir),
        HALAQA_HOOK_PATH,
        HALAQA_TABLE,
        f"h{backend[0]}",
    )
    plain = Target(
        "plain",
        ServerPair(f"{backend}-plain", PLAIN_APP, env, work_dir),
        plain_webhook_app.PATH,
        plain_webhook_app.TABLE_NAME,
        f"p{backend[0]}",
    )
    with contextlib.ExitStack() as running:
        with step(backend, f"Halaqa and plain up, {SERVER_PROCESSES} processes each"):
            running.enter_context(serving([halaqa.servers, plain.servers]))
        with step(backend, "LiveKit set through the API, webhooks probed"):
            halaqa.checks.append(configure_livekit(halaqa.servers.base_url))
            probe(halaqa, twice=True)
            probe(plain, twice=False)
            for target in (halaqa, plain):
                target.rows_before = count_rows(database_url, target.table)
        order = [halaqa, plain, plain, halaqa] * (ROUNDS // 2) + [halaqa, plain] * (ROUNDS % 2)
        measure_s = MEASURE_S / ROUNDS
        for turn, target in enumerate(order):
            what = f"turn {turn + 1}/{len(order)}: {target.name}, {WARMUP_S:g} + {measure_s:g} s"
            with step(backend, what):
                load_turn(target, turn, measure_s)
        with step(backend, "rows counted"):
            for target in (halaqa, plain):
                settle(target, database_url)
        with step(backend, "servers stopped"):
            running.close()
    for target in (halaqa, plain):
        target.problems = target.servers.problems()
    spooled_left = len(list(spool.glob("*.json"))) if spool.is_dir() else 0
    return BackendResult(backend, halaqa, plain, spooled_left)


async def _pg_admin(statements: list[str]) -> None:
    engine = create_async_engine(
        make_url(f"{PG_SERVER_URL}/postgres").set(drivername="postgresql+asyncpg"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def bench_sqlite(work_dir: Path) -> BackendResult:
    return bench_database("sqlite", f"sqlite+aiosqlite:///{work_dir / 'halaqa.db'}", work_dir)


def bench_postgresql(work_dir: Path) -> BackendResult:
    drop = f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'
    asyncio.run(_pg_admin([drop, f'CREATE DATABASE "{PG_DATABASE}"']))
    try:
        url = make_url(f"{PG_SERVER_URL}/{PG_DATABASE}").set(drivername="postgresql+asyncpg")
        return bench_database("postgresql", url.render_as_string(hide_password=False), work_dir)
    finally:
        asyncio.run(_pg_admin([drop]))


# --- report -----------------------------------------------------------------------------------


def _row(backend: str, target: Target) -> list[str]:
    failures = f"{target.failures:,}"
    refused = {code: n for code, n in target.statuses.items() if not 200 <= code < 300}
    if refused:
        failures += " (" + ", ".join(f"{code}×{n}" for code, n in sorted(refused.items())) + ")"
    stored = f"{target.stored:,} " + ("✓" if target.stored == target.sent else "[red]✗[/red]")
    if target.stored_at_end != target.stored:
        stored += f" ({target.stored_at_end:,} at once)"
    server_cpu = max(target.server_cpu_pct, default=0.0)
    return [
        f"{backend} · {target.name}",
        f"{target.events_per_s:,.0f}",
        f"{target.percentile_ms(0.50):.1f}",
        f"{target.percentile_ms(0.90):.1f}",
        f"{target.percentile_ms(0.99):.1f}",
        f"{target.percentile_ms(1.0):.0f}",
        f"{target.sent:,}",
        stored,
        failures,
        f"{target.client_cpu_pct:.0f}% / {server_cpu:.0f}%",
    ]


def report(results: list[BackendResult]) -> None:
    table = Table(
        title=(
            f"LiveKit webhooks in — {SERVER_PROCESSES} server processes per endpoint, "
            f"{CONCURRENCY} keep-alive connections over {ROOMS} rooms, "
            f"{MEASURE_S:g} s measured per endpoint in {ROUNDS} turns "
            f"(each after {WARMUP_S:g} s warm-up)"
        )
    )
    columns = (
        "database · endpoint",
        "events/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "sent (2xx)",
        "stored",
        "non-2xx / errors",
        "CPU load proc. / servers",
    )
    for column in columns:
        table.add_column(column, justify="left" if column.startswith("database") else "right")
    for result in results:
        table.add_row(*_row(result.backend, result.halaqa))
        table.add_row(*_row(result.backend, result.plain), end_section=True)
    console.print(table)
    console.print(
        f"{os.cpu_count()} CPUs shared by the load process, the servers and the database; "
        "CPU columns: highest turn, % of one CPU (servers: both processes together)"
    )
    for result in results:
        summary = result.summary()
        met = (
            result.ratio >= TARGET_RATIO
            and result.halaqa.percentile_ms(0.99) <= TARGET_P99_MS
            and result.halaqa.stored == result.halaqa.sent
        )
        console.print(
            f"[bold]{result.backend}[/bold]: Halaqa / plain = {result.ratio:.2f}×, "
            f"p99 {summary['p99_ms']} ms, stored {result.halaqa.stored:,} of "
            f"{result.halaqa.sent:,} — target (≥ {TARGET_RATIO}×, p99 ≤ {TARGET_P99_MS:g} ms, "
            f"stored = sent) " + ("met" if met else "[red]not met[/red]")
        )
        if result.spooled_left:
            console.print(f"  {result.spooled_left} events still in Halaqa's spool at the end")
        for target in (result.halaqa, result.plain):
            for check in target.checks:
                console.print(f"  {target.name} check: {check}", markup=False)
            for sample in target.error_samples:
                console.print(f"  {target.name} error answer: {sample}", markup=False)
            for line, count in target.problems.most_common(6):
                console.print(f"  {target.name} server log ×{count}: {line[:200]}", markup=False)


def main() -> int:
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    runners = {"sqlite": bench_sqlite, "postgresql": bench_postgresql}
    started = time.perf_counter()
    results: list[BackendResult] = []
    summary: dict[str, dict[str, float | int] | None] = {}
    LOAD_PROCESS.start()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(LOAD_PROCESS.close)
        temp = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="halaqa-bench-hooks-"))
        for backend, runner in runners.items():
            if backend not in wanted:
                continue
            work_dir = Path(temp) / backend
            work_dir.mkdir()
            try:
                result = runner(work_dir)
            except Exception as error:
                console.print(f"[red]{backend}: not measured[/red]")
                console.print(f"{type(error).__name__}: {error}", markup=False)
                summary[backend] = None
                continue
            results.append(result)
            summary[backend] = result.summary()
    if results:
        report(results)
    console.print(f"bench runtime: {time.perf_counter() - started:.0f} s")
    print(json.dumps(summary))
    return 0 if all(value is not None for value in summary.values()) else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_serve":
        serve_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
