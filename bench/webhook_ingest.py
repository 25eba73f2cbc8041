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

Throughput (events_per_s) is Halaqa flat out. Latency (p50_ms, p99_ms) is Halaqa's on a steady
load both endpoints sustain: a last turn offers it the plain endpoint's measured rate on a fixed
timetable, each latency counted from when its event was due, so a slow answer also counts the
sends it held up. Flat out, 64 clients that send again the moment they are answered only measure
the queue they build themselves (latency = clients / throughput); LiveKit sends a room's events
one at a time, as they happen. The p99 flat out is reported too (p99_saturated_ms).

Environment (all optional): BENCH_WARMUP_S (per turn, 2), BENCH_MEASURE_S (per endpoint, over
all its turns, 10), BENCH_ROUNDS (2), BENCH_CONCURRENCY (64), BENCH_ROOMS (16), BENCH_PROCESSES
(server processes, 2), BENCH_DATABASES (sqlite,postgresql), BENCH_PG_URL (the PostgreSQL server
the database is created on; postgresql://postgres@127.0.0.1:5432)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest_load import LoadProcess, LoadSpec, LoadTotals, probe
from ingest_servers import (
    BACKENDS,
    HALAQA,
    PLAIN,
    Backend,
    Endpoint,
    ServerPair,
    configure_livekit,
    count_rows,
    count_stored,
    fresh_database,
    load_demo,
    migrate,
    server_env,
    serving,
    spooled_events,
)
from rich.console import Console
from rich.table import Table

TARGET_RATIO, TARGET_P99_MS = 1.3, 100.0

WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", 2.0))
MEASURE_S = float(os.environ.get("BENCH_MEASURE_S", 10.0))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", 2)))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 64))
ROOMS = int(os.environ.get("BENCH_ROOMS", 16))
SERVER_PROCESSES = int(os.environ.get("BENCH_PROCESSES", 2))
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
LOAD_PROCESS = LoadProcess()


@contextlib.contextmanager
def step(backend: str, what: str) -> Iterator[None]:
    """Says what the bench is doing, and how long it took."""
    started = time.perf_counter()
    yield
    console.print(f"[bold]{backend}[/bold]: {what} ({time.perf_counter() - started:.1f} s)")


@dataclass
class Target:
    """One endpoint on one database, over all its turns of load."""

    endpoint: Endpoint
    servers: ServerPair
    tag: str  # makes the event ids and rooms of its turns its own
    load: LoadTotals = field(default_factory=LoadTotals)
    # Halaqa again, offered a steady load (the plain endpoint's measured rate): its latency then.
    paced: LoadTotals = field(default_factory=LoadTotals)
    paced_rate: float = 0.0
    checks: list[str] = field(default_factory=list)
    server_cpu_pct: list[float] = field(default_factory=list)
    rows_before: int = 0
    stored_at_end: int = 0  # right after the last answer
    stored: int = 0  # after waiting for events kept on disk
    problems: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def sent(self) -> int:
        return self.load.sent + self.paced.sent

    @property
    def url(self) -> str:
        return self.servers.base_url + self.endpoint.path


@dataclass
class BackendResult:
    backend: Backend
    halaqa: Target
    plain: Target
    spooled_left: int

    @property
    def ratio(self) -> float:
        plain = self.plain.load.events_per_s
        return self.halaqa.load.events_per_s / plain if plain else 0.0

    def summary(self) -> dict[str, float | int]:
        halaqa, paced = self.halaqa.load, self.halaqa.paced
        return {
            "events_per_s": round(halaqa.events_per_s, 1),
            "p50_ms": round(paced.percentile_ms(0.50), 2),
            "p99_ms": round(paced.percentile_ms(0.99), 2),
            "offered_per_s": round(self.halaqa.paced_rate, 1),
            "p99_saturated_ms": round(halaqa.percentile_ms(0.99), 2),
            "sent": self.halaqa.sent,
            "stored": self.halaqa.stored,
            "plain_events_per_s": round(self.plain.load.events_per_s, 1),
            "ratio": round(self.ratio, 3),
        }


# --- one database -----------------------------------------------------------------------------


def load_turn(target: Target, turn: int, measure_s: float, rate: float = 0.0) -> None:
    spec = LoadSpec(
        target.url, f"{target.tag}{turn}", CONCURRENCY, ROOMS, WARMUP_S, measure_s, rate
    )
    cpu_before, wall_before = target.servers.cpu_seconds(), time.perf_counter()
    (target.paced if rate else target.load).turns.append(LOAD_PROCESS.run(spec))
    cpu = target.servers.cpu_seconds() - cpu_before
    target.server_cpu_pct.append(100 * cpu / (time.perf_counter() - wall_before))


def bench_database(backend: Backend, database_url: str, work_dir: Path) -> BackendResult:
    env = server_env(database_url, work_dir)
    with step(backend, "migrated"):
        migrate(env)
    with step(backend, "demo academy loaded"):
        load_demo(database_url, env)

    def target_of(endpoint: Endpoint) -> Target:
        name = f"{backend}-{endpoint.name.lower()}"
        servers = ServerPair(name, endpoint.app, env, work_dir, SERVER_PROCESSES)
        return Target(endpoint, servers, tag=f"{endpoint.name[0].lower()}{backend[0]}")

    halaqa, plain = target_of(HALAQA), target_of(PLAIN)
    with contextlib.ExitStack() as running:
        with step(backend, f"Halaqa and plain up, {SERVER_PROCESSES} processes each"):
            running.enter_context(serving([halaqa.servers, plain.servers]))
        with step(backend, "LiveKit set through the API, webhooks probed"):
            halaqa.checks.append(configure_livekit(halaqa.servers.base_url))
            for target, twice in ((halaqa, True), (plain, False)):
                target.checks += probe(target.name, target.url, target.tag, twice=twice)
                target.rows_before = count_rows(database_url, target.endpoint.table)
        order = [halaqa, plain, plain, halaqa] * (ROUNDS // 2) + [halaqa, plain] * (ROUNDS % 2)
        measure_s = MEASURE_S / ROUNDS
        for turn, target in enumerate(order):
            what = f"turn {turn + 1}/{len(order)}: {target.name}, {WARMUP_S:g} + {measure_s:g} s"
            with step(backend, what):
                load_turn(target, turn, measure_s)
        # Latency is read at a load both endpoints sustain (what the plain one manages flat
        # out), not in the queue 64 clients sending flat out build by themselves.
        halaqa.paced_rate = plain.load.events_per_s
        what = f"Halaqa offered {halaqa.paced_rate:,.0f} events/s, {WARMUP_S:g} + {MEASURE_S:g} s"
        with step(backend, what):
            load_turn(halaqa, len(order), MEASURE_S, halaqa.paced_rate)
        with step(backend, "rows counted"):
            for target in (halaqa, plain):
                table, before, sent = target.endpoint.table, target.rows_before, target.sent
                target.stored_at_end, target.stored = count_stored(
                    database_url, table, before, sent
                )
        with step(backend, "servers stopped"):
            running.close()
    for target in (halaqa, plain):
        target.problems = target.servers.problems()
    return BackendResult(backend, halaqa, plain, spooled_events(work_dir))


# --- report -----------------------------------------------------------------------------------


def _row(backend: str, target: Target, *, paced: bool = False) -> list[str]:
    load = target.paced if paced else target.load
    failures = f"{load.failures:,}"
    refused = {code: n for code, n in load.statuses.items() if not 200 <= code < 300}
    if refused:
        failures += " (" + ", ".join(f"{code}×{n}" for code, n in sorted(refused.items())) + ")"
    stored = f"{target.stored:,} " + ("✓" if target.stored == target.sent else "[red]✗[/red]")
    if target.stored_at_end != target.stored:
        stored += f" ({target.stored_at_end:,} at once)"
    server_cpu = max(target.server_cpu_pct, default=0.0)
    name = f"{target.name} at {target.paced_rate:,.0f}/s offered" if paced else target.name
    return [
        f"{backend} · {name}",
        f"{load.events_per_s:,.0f}",
        f"{load.percentile_ms(0.50):.1f}",
        f"{load.percentile_ms(0.90):.1f}",
        f"{load.percentile_ms(0.99):.1f}",
        f"{load.percentile_ms(1.0):.0f}",
        f"{load.sent:,}",
        "" if paced else stored,
        failures,
        f"{load.client_cpu_pct:.0f}% / {server_cpu:.0f}%",
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
        table.add_row(*_row(result.backend, result.plain))
        table.add_row(*_row(result.backend, result.halaqa, paced=True), end_section=True)
    console.print(table)
    console.print(
        f"{os.cpu_count()} CPUs shared by the load process, the servers and the database; "
        "CPU columns: highest turn, % of one CPU (servers: both processes together)"
    )
    for result in results:
        summary = result.summary()
        met = (
            result.ratio >= TARGET_RATIO
            and result.halaqa.paced.percentile_ms(0.99) <= TARGET_P99_MS
            and result.halaqa.stored == result.halaqa.sent
        )
        console.print(
            f"[bold]{result.backend}[/bold]: Halaqa / plain = {result.ratio:.2f}×, "
            f"p99 {summary['p99_ms']} ms at {summary['offered_per_s']} events/s offered "
            f"({summary['p99_saturated_ms']} ms flat out), stored {result.halaqa.stored:,} of "
            f"{result.halaqa.sent:,} — target (≥ {TARGET_RATIO}×, p99 ≤ {TARGET_P99_MS:g} ms, "
            f"stored = sent) " + ("met" if met else "[red]not met[/red]")
        )
        if result.spooled_left:
            console.print(
                f"  {result.spooled_left} events still in Halaqa's spool at the end (copies of "
                "events whose batch committed after they were kept on disk, or events not moved "
                "yet: the next server start moves them, copies as no-ops)"
            )
        for target in (result.halaqa, result.plain):
            for check in target.checks:
                console.print(f"  {target.name} check: {check}", markup=False)
            for sample in target.load.error_samples:
                console.print(f"  {target.name} error answer: {sample}", markup=False)
            for line, count in target.problems.most_common(6):
                console.print(f"  {target.name} server log ×{count}: {line[:200]}", markup=False)


def main() -> int:
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    started = time.perf_counter()
    results: list[BackendResult] = []
    summary: dict[str, dict[str, float | int] | None] = {}
    LOAD_PROCESS.start()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(LOAD_PROCESS.close)
        temp = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="halaqa-bench-hooks-"))
        for backend in BACKENDS:
            if backend not in wanted:
                continue
            work_dir = Path(temp) / backend
            work_dir.mkdir()
            try:
                with fresh_database(backend, work_dir, PG_SERVER_URL) as database_url:
                    result = bench_database(backend, database_url, work_dir)
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
    sys.exit(main())
