"""Benchmark (issue 6): attendance finalised from the database to stored records — 10,000
finished group sessions of 30 students, 1,000,000 presence events — on SQLite and PostgreSQL,
against a naive baseline.

Each database is migrated with the project's migrations and loaded in bulk (bench/fold_data.py
says what the classes and their presence look like; PostgreSQL loads them without running its
foreign-key triggers, the data being consistent by construction). Then the worker's way:
transactions of BATCH sessions taken by the due-scan (`due_sessions`), each finalised by
`finalise_many` and committed, until none is due; timed from the first query to the last commit,
with the process's CPU time beside it (the machine is shared: wall time waits for the CPU too)
and, for a PostgreSQL server on this machine, the server's (one transaction is one server
process: what it spends bounds the run, however fast this side is),
and split by step (the records are written beside the assessing: the step shows the wait).
The stored records are checked: one per teacher and student, the statuses settled as the
presence says, and some sessions' records field by field against `assess` on their events.
Beside the run, the floor under it: the database alone storing the same records again, the way
finalisation writes them (`store_only`). On PostgreSQL, the same run again on a copy of the
loaded data by WORKERS worker processes side by side, as a deployment may run them.

The naive baseline is what a typical web app does: one row per (session, person) holding the
join/leave cycles as JSON, read, appended to, totalled and written back for every event, each
event in its own transaction as its webhook would be; timed over NAIVE_EVENTS events.

Run: .venv/bin/python bench/fold.py (PostgreSQL at HALAQA_BENCH_POSTGRES_URL, default postgres
on 127.0.0.1:5432; it creates and drops the database halaqa_bench_fold).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import multiprocessing
import os
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from fold_data import (
    EVENTS,
    NOW,
    SESSIONS,
    TABLES,
    Event,
    event_rows,
    events_of,
    group_of,
    insert,
    insert_events,
    people_rows,
    session_rows,
    slot,
    student_of,
    teacher_of,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, Integer, MetaData, Text, func, select
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import make_url

import halaqa.worker.runner  # noqa: F401 (registers the jobs status changes queue, as the worker)
from halaqa.academies.settings import effective_settings
from halaqa.attendance import batch
from halaqa.attendance.assessment import SessionShape, assess
from halaqa.attendance.batch_repository import FinalisationBatchRepository
from halaqa.attendance.finalisation import RECORD_COLUMNS, record_values
from halaqa.attendance.folding import Kind, PresenceEvent, Source
from halaqa.config import Settings, WorkerMode
from halaqa.db.engine import create_engine
from halaqa.db.migrate import upgrade
from halaqa.db.session import Database
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import AttendanceRecord, ClassSession
from halaqa.scheduling.repository import due_sessions

BATCH = 500  # sessions finalised per transaction
WORKERS = 2  # worker processes side by side, on PostgreSQL
# The cells of what a run does not have: a second writer (SQLite), a server on this machine.
NOT_RUN = {"workers_seconds": "one writer", "server_cpu_seconds": "none here"}
LOAD_CHUNK = 500  # sessions loaded per transaction
NAIVE_EVENTS = 20_000
CHECKED = range(1, SESSIONS + 1, 333)  # sessions whose records are checked field by field
TARGET_SECONDS, TARGET_RATIO = 4.0, 100
POSTGRES_URL = os.environ.get(
    "HALAQA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "halaqa_bench_fold"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105
console = Console()

NAIVE = SqlTable(
    "bench_naive_attendance",
    MetaData(),
    Column("session_id", Integer, primary_key=True),
    Column("user_id", Integer, primary_key=True),
    Column("cycles", Text, nullable=False),  # [[joined, left or null], ...] as ISO text
    Column("seconds", Integer, nullable=False),
)

# --- where the time goes: the steps of finalise_many, timed in place (diagnostics only) -------

STEPS: dict[str, float] = defaultdict(float)
# Written while the next records are assessed (batch.WriteBehind): beside the other steps, not
# one after them, so not in their sum; what they hold up is the wait for them, and their Python
# part (encoding the rows) is in "other".
BACKGROUND = "write records (bulk INSERT), in the background"
TIMED: list[tuple[str, object, str]] = [
    ("read presence events", FinalisationBatchRepository, "presence"),
    ("read students, overrides, last changes", FinalisationBatchRepository, "students"),
    ("read students, overrides, last changes", FinalisationBatchRepository, "overrides"),
    ("read students, overrides, last changes", FinalisationBatchRepository, "last_changes"),
    ("assess (fold + policy)", batch, "assess_unique"),
    ("record values", batch, "record_rows"),
    ("delete the old records", FinalisationBatchRepository, "delete_records"),
    (BACKGROUND, FinalisationBatchRepository, "insert_records"),
    ("waiting for the records' writes", batch.WriteBehind, "_finish"),
    ("conclude (stamp, settle)", batch, "conclude"),
    ("mark finalised", batch, "_mark_finalised"),
    ("queue follow-ups", batch, "queue_follow_ups"),
]


def time_steps() -> None:
    """Wraps each step of finalise_many with a timer adding to STEPS."""
    for label, owner, name in TIMED:
        original = getattr(owner, name)
        if inspect.iscoroutinefunction(original):

            async def timed_async(
                *args: Any, _f: Any = original, _s: str = label, **kw: Any
            ) -> Any:
                began = time.perf_counter()
                try:
                    return await _f(*args, **kw)
                finally:
                    STEPS[_s] += time.perf_counter() - began

            setattr(owner, name, functools.wraps(original)(timed_async))
        else:

            def timed_sync(*args: Any, _f: Any = original, _s: str = label, **kw: Any) -> Any:
                began = time.perf_counter()
                try:
                    return _f(*args, **kw)
                finally:
                    STEPS[_s] += time.perf_counter() - began

            setattr(owner, name, functools.wraps(original)(timed_sync))


# --- the run ---------------------------------------------------------------------------------


async def load(database: Database) -> float:
    began = time.perf_counter()
    async with database.engine.begin() as connection:
        for name, rows in people_rows().items():
            await connection.execute(TABLES[name].insert(), rows)
    postgresql = database.dialect == "postgresql"
    for first in range(1, SESSIONS + 1, LOAD_CHUNK):
        stop = min(first + LOAD_CHUNK, SESSIONS + 1)
        async with database.engine.begin() as connection:
            if postgresql:  # the rows are consistent by construction: no foreign-key triggers
                # (a check per event makes loading ten minutes long); constraints still hold
                await connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                await connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            for name, rows in session_rows(first, stop).items():
                await insert(connection, name, rows)
            await insert_events(connection, list(event_rows(first, stop)))
    async with database.engine.connect() as connection:  # as an operator's database would be
        if postgresql:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("VACUUM (ANALYZE)" if postgresql else "ANALYZE")
        await connection.commit()
    return time.perf_counter() - began


async def finalise_all(database: Database, settings: Settings) -> dict[str, Any]:
    """The worker's way: BATCH due sessions per transaction until none is due."""
    STEPS.clear()
    began, cpu, batches, secret = time.perf_counter(), time.process_time(), 0, settings.secret()
    server_cpu = server_cpu_seconds(database)
    due: list[ClassSession] = [ClassSession()]  # until the due-scan finds none
    while due:
        scan = time.perf_counter()
        async with database.transaction() as session:
            due = list(await due_sessions(session, NOW, BATCH))
            STEPS["due-scan (load the sessions)"] += time.perf_counter() - scan
            await batch.finalise_many(Runtime(session, database.clock, settings, secret), due)
            batches += bool(due)
            commit = time.perf_counter()
        STEPS["flush + commit"] += time.perf_counter() - commit
    seconds = time.perf_counter() - began
    steps = {step: round(spent, 2) for step, spent in STEPS.items()}
    steps["other"] = round(seconds - sum(v for k, v in STEPS.items() if k != BACKGROUND), 2)
    figures = {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "batches": batches,
        "steps": steps,
    }
    server_cpu_after = server_cpu_seconds(database)
    if server_cpu is not None and server_cpu_after is not None:
        figures["server_cpu_seconds"] = round(server_cpu_after - server_cpu, 2)
    return figures


def server_cpu_seconds(database: Database) -> float | None:
    """CPU time this machine's PostgreSQL processes have used so far (Linux's /proc), when the
    server is on this machine: what the database does of a run, beside this process's own.
    None on SQLite (it works in this process) and for a server elsewhere."""
    host = database.engine.url.host
    if database.dialect != "postgresql" or host not in ("127.0.0.1", "localhost", "::1"):
        return None
    ticks, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process has gone
            continue
        if text[text.index("(") + 1 : text.rindex(")")].startswith("postgres"):
            fields = text[text.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


async def check(database: Database) -> dict[str, Any]:
    """The records and statuses as they must be; some sessions field by field."""
    async with database.transaction() as session:
        records = await session.scalar(select(func.count()).select_from(AttendanceRecord))
        outcomes = Counter(
            {
                f"{status} ({reason})" if reason else status: count
                for status, reason, count in await session.execute(
                    select(
                        ClassSession.status, ClassSession.cancellation_reason, func.count()
                    ).group_by(ClassSession.status, ClassSession.cancellation_reason)
                )
            }
        )
        unfinalised = await session.scalar(
            select(func.count()).where(ClassSession.attendance_finalized_at.is_(None))
        )
        by_status = select(AttendanceRecord.status, func.count()).group_by(AttendanceRecord.status)
        statuses: dict[str, int] = dict((await session.execute(by_status)).all())
        for session_id in CHECKED:
            found = await session.get(ClassSession, session_id)
            assert found is not None
            stored = await session.scalars(
                select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
            )
            got = {r.user_id: {k: getattr(r, k) for k in expected_keys()} for r in stored}
            want = {v["user_id"]: v for v in expected_records(found)}
            assert got == want, f"session {session_id}: records differ"
    assert records == SESSIONS * 31, records
    assert unfinalised == 0, unfinalised
    assert outcomes == {"completed": 9_800, "cancelled (teacher_absent)": 200}, outcomes
    return {"records": records, "outcomes": dict(outcomes), "record_statuses": statuses}


async def store_only(database: Database) -> float:
    """What the database alone takes to store the 310,000 records: the rows already made (read
    back as the database keeps them), written again by the path finalisation takes (PostgreSQL:
    a binary COPY, with no encoding on this side; SQLite: INSERTs of as many rows as a statement
    may carry) in one transaction, then rolled back. The floor under the finalisation's time."""
    columns = ", ".join(RECORD_COLUMNS)
    table = AttendanceRecord.__tablename__
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        if database.dialect == "postgresql":
            rows = BytesIO()
            await driver.copy_from_table(
                table, columns=RECORD_COLUMNS, output=rows, format="binary"
            )
            await connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608
            rows.seek(0)
            began = time.perf_counter()
            await driver.copy_to_table(table, columns=RECORD_COLUMNS, source=rows, format="binary")
        else:
            result = await connection.exec_driver_sql(f"SELECT {columns} FROM {table}")  # noqa: S608
            stored = result.fetchall()
            await connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608
            size = 32_766 // len(RECORD_COLUMNS)
            marks = "(" + ", ".join(["?"] * len(RECORD_COLUMNS)) + ")"
            began = time.perf_counter()
            for start in range(0, len(stored), size):
                chunk = stored[start : start + size]
                await connection.exec_driver_sql(
                    f"INSERT INTO {table} ({columns}) VALUES {', '.join([marks] * len(chunk))}",  # noqa: S608
                    tuple(value for row in chunk for value in row),
                )
        seconds = time.perf_counter() - began
        await connection.rollback()
    return seconds


def expected_keys() -> list[str]:
    return [c.key for c in AttendanceRecord.__table__.columns if c.key != "id"]


def expected_records(session: ClassSession) -> list[dict[str, Any]]:
    """The session's records as `assess` makes them from its events, one by one."""
    group = group_of(session.id)
    events = [
        PresenceEvent(
            e.user_id, e.participant_id, Kind(e.kind), e.at, Source(e.source), e.event_key
        )
        for e in events_of(session.id)
    ]
    students = tuple(student_of(group, k) for k in range(30))
    shape = SessionShape(*slot(session.id), teacher_of(group), students, group=True)
    assessment = assess(events, shape, effective_settings({}), {})
    return record_values(session, assessment, NOW)


async def naive_rate(database: Database) -> float:
    """Events per second the naive way: each event read-modify-written in its own transaction."""
    engine = database.engine
    async with engine.begin() as connection:
        await connection.run_sync(NAIVE.metadata.create_all)
    events: list[Event] = []
    for session_id in range(1, SESSIONS + 1):
        events += sorted((e for e in events_of(session_id) if e.user_id), key=lambda e: e.at)
        if len(events) >= NAIVE_EVENTS:
            break
    began = time.perf_counter()
    for event in events[:NAIVE_EVENTS]:
        async with engine.begin() as connection:
            key = (NAIVE.c.session_id == event.session_id) & (NAIVE.c.user_id == event.user_id)
            row = (await connection.execute(select(NAIVE.c.cycles).where(key))).first()
            cycles = json.loads(row[0]) if row else []
            open_ = bool(cycles) and cycles[-1][1] is None
            if event.kind in ("joined", "confirmed") and not open_:
                cycles.append([event.at.isoformat(), None])
            elif event.kind in ("left", "aborted") and open_:
                cycles[-1][1] = event.at.isoformat()
            seconds = sum(
                (datetime.fromisoformat(left) - datetime.fromisoformat(joined)).total_seconds()
                for joined, left in cycles
                if left is not None
            )
            values = {"cycles": json.dumps(cycles), "seconds": int(seconds)}
            if row:
                await connection.execute(NAIVE.update().where(key).values(values))
            else:
                await connection.execute(
                    NAIVE.insert().values(
                        session_id=event.session_id, user_id=event.user_id, **values
                    )
                )
    return NAIVE_EVENTS / (time.perf_counter() - began)


async def bench(url: str, copy_to: str | None = None) -> dict[str, Any]:
    backend = make_url(url).get_backend_name()
    console.print(f"{backend}: migrating and loading {SESSIONS:,} sessions, {EVENTS:,} events…")
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    settings = Settings(
        _env_file=None, database_url=url, secret_key=SECRET, worker_mode=WorkerMode.EXTERNAL
    )
    database = Database(create_engine(url), FrozenClock(NOW))
    try:
        loaded = await load(database)
        if copy_to is not None:  # the loaded data again, for the workers side by side
            await database.dispose()  # a template takes no other connection while copied
            await admin(f"CREATE DATABASE {copy_to} TEMPLATE {make_url(url).database}")
        load_average = os.getloadavg()[0]
        run = await finalise_all(database, settings)
        checked = await check(database)
        floor = await store_only(database)
        naive = await naive_rate(database)
    finally:
        await database.dispose()
    rate = EVENTS / run["seconds"]
    figures = {
        "events": EVENTS,
        "seconds": run["seconds"],
        "events_per_s": round(rate),
        "naive_events_per_s": round(naive, 1),
        "ratio": round(rate / naive, 1),
        "cpu_seconds": run["cpu_seconds"],
        "store_only_seconds": round(floor, 2),
        "batch": BATCH,
        "batches": run["batches"],
        "load_seconds": round(loaded),
        "load_average_before": round(load_average, 2),
        "steps": run["steps"],
        **checked,
    }
    if "server_cpu_seconds" in run:
        figures["server_cpu_seconds"] = run["server_cpu_seconds"]
    console.print(f"{backend}: {figures}")
    return figures


async def admin(*statements: str) -> None:
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await autocommit.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def bench_postgresql() -> dict[str, Any]:
    """As on SQLite; then the same finalisation again, on a copy of the loaded data, by WORKERS
    worker processes side by side, as docs/deploy.md runs them (SQLite has one writer)."""
    copy = f"{BENCH_DB}_workers"
    drop = [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in (BENCH_DB, copy)]
    await admin(*drop, f"CREATE DATABASE {BENCH_DB}")
    url = make_url(POSTGRES_URL)
    try:
        figures = await bench(url.set(database=BENCH_DB).render_as_string(False), copy_to=copy)
        workers_url = url.set(database=copy).render_as_string(False)
        figures["workers_side_by_side"] = WORKERS
        figures["workers_seconds"] = round(await side_by_side(workers_url), 2)
        database = Database(create_engine(workers_url), FrozenClock(NOW))
        try:
            checked = await check(database)
            assert checked == {key: figures[key] for key in checked}, "the workers' records differ"
        finally:
            await database.dispose()
        console.print(f"postgresql, {WORKERS} workers: {figures['workers_seconds']} s")
        return figures
    finally:
        await admin(*drop)


async def side_by_side(url: str) -> float:
    """Seconds for WORKERS processes, each the worker's way (`finalise_all`), to finalise every
    due session between them: from all of them ready to the last one done."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(WORKERS + 1)
    workers = [spawn.Process(target=worker_process, args=(url, ready)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    await asyncio.to_thread(ready.wait)
    began = time.perf_counter()
    for worker in workers:
        await asyncio.to_thread(worker.join)
    seconds = time.perf_counter() - began
    assert all(worker.exitcode == 0 for worker in workers), "a worker failed"
    return seconds


def worker_process(url: str, ready: Any) -> None:
    async def work() -> None:
        settings = Settings(
            _env_file=None, database_url=url, secret_key=SECRET, worker_mode=WorkerMode.EXTERNAL
        )
        database = Database(create_engine(url), FrozenClock(NOW))
        try:
            async with database.engine.connect():  # connected before the clock starts
                pass
            await asyncio.to_thread(ready.wait)
            await finalise_all(database, settings)
        finally:
            await database.dispose()

    asyncio.run(work())


def report(results: dict[str, dict[str, Any]]) -> None:
    table = Table(
        title=f"Attendance finalised: {SESSIONS:,} sessions × 31 people, {EVENTS:,} events, "
        f"{BATCH} sessions a transaction (targets: ≤ {TARGET_SECONDS:g} s, ≥ {TARGET_RATIO}× naive)"
    )
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")
    rows = [
        ("finalised, database to committed records (s)", "seconds"),
        ("  CPU time of this process (s)", "cpu_seconds"),
        ("  CPU time of the database server (s)", "server_cpu_seconds"),
        ("  the database alone storing the records (s)", "store_only_seconds"),
        (f"  by {WORKERS} worker processes side by side (s)", "workers_seconds"),
        ("events folded per s", "events_per_s"),
        *((f"  {step} (s)", f"steps.{step}") for step in next(iter(results.values()))["steps"]),
        (f"naive: events per s ({NAIVE_EVENTS:,}, a transaction each)", "naive_events_per_s"),
        ("ratio", "ratio"),
        ("records stored (10,000 × 31)", "records"),
        ("load average before the run", "load_average_before"),
        ("loading the data (s)", "load_seconds"),
    ]
    for label, key in rows:
        head, _, tail = key.partition(".")
        cells = [
            f[head][tail] if tail else f[head] if head in f else NOT_RUN[head]
            for f in results.values()
        ]
        table.add_row(label, *[f"{c:,}" if isinstance(c, int | float) else str(c) for c in cells])
    console.print(table)
    for name, figures in results.items():
        met = figures["seconds"] <= TARGET_SECONDS and figures["ratio"] >= TARGET_RATIO
        console.print(
            f"{name}: {figures['seconds']} s ({figures['cpu_seconds']} s CPU), "
            f"{figures['ratio']}× naive; outcomes {figures['outcomes']}; "
            f"record statuses {figures['record_statuses']} → targets {'met' if met else 'MISSED'}"
        )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    time_steps()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="halaqa-bench-") as directory:
        results["sqlite"] = asyncio.run(bench(f"sqlite:///{directory}/fold.db"))
    results["postgresql"] = asyncio.run(bench_postgresql())
    report(results)
    keys = ["events", "seconds", "events_per_s", "naive_events_per_s", "ratio", "cpu_seconds"]
    keys += ["server_cpu_seconds"]  # PostgreSQL's, when on this machine
    keys += ["workers_side_by_side", "workers_seconds"]  # PostgreSQL's
    print(json.dumps({name: {k: f[k] for k in keys if k in f} for name, f in results.items()}))


if __name__ == "__main__":
    main()
