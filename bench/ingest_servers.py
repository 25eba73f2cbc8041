"""The servers bench/webhook_ingest.py loads, and what they stand on: the database (a PostgreSQL
one created and dropped here) migrated and loaded with the demo academy, LiveKit set up through
the API, uvicorn processes sharing one port started, awaited and stopped, and the rows counted.

Each server process runs this file: `ingest_servers.py APP SHARED_PORT PRIVATE_PORT`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import plain_webhook_app
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
SERVE_SCRIPT = str(Path(__file__).resolve())
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

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")
PG_DATABASE = "halaqa_bench_hooks"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_S = 15.0  # Halaqa moves events kept on disk into the database every 5 s


class BenchError(Exception):
    """The bench could not measure (a server did not start, a setup step failed)."""


@dataclass(frozen=True)
class Endpoint:
    """One of the two endpoints measured: the app that serves it, where it takes the webhooks,
    and the table it stores them in."""

    name: str
    app: str
    path: str
    table: str


HALAQA = Endpoint("Halaqa", "halaqa.main:create_app", "/api/v1/webhooks/livekit", "meeting_events")
PLAIN = Endpoint(
    "plain", "plain_webhook_app:create_app", plain_webhook_app.PATH, plain_webhook_app.TABLE_NAME
)


# --- the database and the academy -------------------------------------------------------------


def server_env(database_url: str, work_dir: Path) -> dict[str, str]:
    """The environment of every server process on one database, Halaqa's and the baseline's:
    nothing processes Halaqa's events while they come in (the worker is external)."""
    return {
        **os.environ,
        "HALAQA_DATABASE_URL": database_url,
        "HALAQA_SECRET_KEY": SERVER_SECRET_KEY,
        "HALAQA_SECRET_KEY_FILE": str(work_dir / "secret_key"),
        "HALAQA_WEBHOOK_SPOOL_DIR": str(_spool(work_dir)),
        "HALAQA_WORKER_MODE": "external",
        "HALAQA_LOG_LEVEL": "WARNING",
        "PLAIN_WEBHOOK_DATABASE_URL": database_url,
        "PLAIN_WEBHOOK_API_KEY": API_KEY,
        "PLAIN_WEBHOOK_API_SECRET": API_SECRET,
    }


def _spool(work_dir: Path) -> Path:
    return work_dir / "webhook-spool"


def spooled_events(work_dir: Path) -> int:
    """Events Halaqa still keeps on local disk, not yet in the database (a file per batch kept,
    a line per event, in a folder per database)."""
    spool = _spool(work_dir)
    files = spool.rglob("*.jsonl") if spool.is_dir() else ()
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in files)


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 (our own tools)
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def migrate(env: dict[str, str]) -> None:
    _run([HALAQA_CLI, "db", "upgrade"], env)


def load_demo(database_url: str, env: dict[str, str]) -> None:
    """The demo academy for Halaqa, the table for the baseline."""
    _run([HALAQA_CLI, "demo", "load"], env)
    asyncio.run(plain_webhook_app.create_schema(database_url))


async def _pg_admin(pg_server_url: str, statements: list[str]) -> None:
    engine = create_async_engine(
        make_url(f"{pg_server_url}/postgres").set(drivername="postgresql+asyncpg"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def fresh_database(backend: Backend, work_dir: Path, pg_server_url: str) -> Iterator[str]:
    """A new database, its URL: a SQLite file in `work_dir` (removed with it), or a database
    created on the PostgreSQL server at `pg_server_url` and dropped at the end."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{work_dir / 'halaqa.db'}"
        return
    drop = f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'
    asyncio.run(_pg_admin(pg_server_url, [drop, f'CREATE DATABASE "{PG_DATABASE}"']))
    try:
        url = make_url(f"{pg_server_url}/{PG_DATABASE}").set(drivername="postgresql+asyncpg")
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(pg_server_url, [drop]))


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


def count_stored(database_url: str, table: str, rows_before: int, sent: int) -> tuple[int, int]:
    """The rows stored since `rows_before`: at once, and after waiting a little for late ones
    (events kept on local disk while the database was slow are moved into it every few
    seconds) while fewer than `sent`."""
    at_once = stored = count_rows(database_url, table) - rows_before
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while stored < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = count_rows(database_url, table) - rows_before
    return at_once, stored


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


# --- the server processes ---------------------------------------------------------------------


def serve_main(app: str, shared_port: int, private_port: int) -> None:
    """One server process (`ingest_servers.py APP SHARED PRIVATE`): uvicorn on the shared
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
    """`processes` uvicorn processes serving one app on one port."""

    def __init__(
        self, name: str, app: str, env: dict[str, str], log_dir: Path, processes: int
    ) -> None:
        self.name = name
        self.app = app
        self.env = env
        self.port = free_port()
        self.private_ports = [free_port() for _ in range(processes)]
        self.logs = [log_dir / f"{name}-{i}.log" for i in range(processes)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        for private, log in zip(self.private_ports, self.logs, strict=True):
            with log.open("wb") as output:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603 (our own interpreter and script)
                        [PYTHON, SERVE_SCRIPT, self.app, str(self.port), str(private)],
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


if __name__ == "__main__":
    serve_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
