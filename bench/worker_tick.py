"""Benchmark (issue 5): the worker's idle tick at 10,000 and at 1,000,000 sessions, and how fast
its ticks move due sessions through their step, on SQLite and on PostgreSQL.

Each database is migrated with the project's own migrations, then loaded in bulk (executemany on
SQLite, COPY on PostgreSQL) with one academy's calendar: 2,000 teachers with 10 students each, one
class per teacher every three hours. 7 slots in 10 are past (completed, room closed, its two jobs
done), 3 in 10 in the coming weeks (scheduled, next step days ahead): at the frozen instant nothing
is due. Idle ticks are timed at 10k; the database is copied, grown to 1M, and its ticks timed
alternately with the copy's, so both figures see the same load on a shared machine. Due work: one
class per teacher starting ten minutes after that instant (room opening due), run by back-to-back
ticks until every session is ready with its room open.

Run: .venv/bin/python bench/worker_tick.py (PostgreSQL at HALAQA_BENCH_POSTGRES_URL, default
postgres on 127.0.0.1:5432; it creates and drops the databases halaqa_bench_tick[_10k]).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from halaqa.config import Settings, WorkerMode
from halaqa.db.base import Base
from halaqa.db.engine import create_engine
from halaqa.db.migrate import upgrade
from halaqa.db.session import Database
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import ClassSession, SessionRoom
from halaqa.worker.jobs import run_jobs
from halaqa.worker.runner import STEPS, Worker

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the worker's frozen instant
TEACHERS, STUDENTS_PER_TEACHER = 2_000, 10
SLOT, MINUTES, PREPARE = timedelta(hours=3), 60, timedelta(minutes=15)  # academy defaults
SMALL, LARGE, DUE = 10_000, 1_000_000, TEACHERS
WARMUP, TICKS, CHUNK = 3, 21, 25_000
POSTGRES_URL = os.environ.get(
    "HALAQA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "halaqa_bench_tick"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105
ACADEMY, ADMIN = 1, 1
TABLES = Base.metadata.tables
console = Console()


def teacher_id(t: int) -> int:
    return 2 + t


def student_id(t: int, k: int) -> int:
    return 2 + TEACHERS + t * STUDENTS_PER_TEACHER + k


def slot_start(i: int) -> tuple[datetime, bool]:
    """When session i (0-based) starts, and whether it is over. Teacher i % TEACHERS gives it in
    their slot i // TEACHERS: 7 slots in 10 go back from a day ago, 3 forward from in two days."""
    if i >= LARGE:  # the due batch: one class per teacher, its room due five minutes ago
        return NOW + PREPARE - timedelta(minutes=5), False
    cycle, pos = divmod(i // TEACHERS, 10)
    if pos < 7:
        return NOW - timedelta(days=1) - SLOT * (cycle * 7 + pos), True
    return NOW + timedelta(days=2) + SLOT * (cycle * 3 + pos - 7), False


def rows(first: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    """Sessions first..stop-1 with their participants and, once over, their closed room and its
    two done jobs."""
    sessions, people, jobs, rooms = [], [], [], []
    for i in range(first, stop):
        sid, t = i + 1, i % TEACHERS
        starts, past = slot_start(i)
        ends, made = starts + timedelta(minutes=MINUTES), starts - timedelta(days=30)
        teacher, student = teacher_id(t), student_id(t, (i // TEACHERS) % STUDENTS_PER_TEACHER)
        sessions.append(
            {"id": sid, "academy_id": ACADEMY, "code": f"IN-{sid:07d}", "kind": "individual"}
            | {"status": "completed" if past else "scheduled", "title": "Hifz"}
            | {"teacher_user_id": teacher, "student_user_id": student, "starts_at": starts}
            | {"duration_minutes": MINUTES, "ends_at": ends, "created_by_user_id": ADMIN}
            | {"makeup_owed": False, "late_cancellation": False}
            | {"next_step_at": None if past else starts - PREPARE}
            | {"created_at": made, "updated_at": ends if past else made}
        )
        people += [
            {"session_id": sid, "user_id": user, "academy_id": ACADEMY, "role": role}
            | {"starts_at": starts, "busy_until": ends, "active": True}
            for user, role in ((teacher, "teacher"), (student, "student"))
        ]
        if not past:
            continue
        opened, closed = starts - PREPARE, ends + timedelta(hours=1)
        jobs += [
            {"academy_id": ACADEMY, "kind": f"meetings.{kind}", "status": "done", "run_after": at}
            | {"payload": {"academy_id": ACADEMY, "session_id": sid, "to": to}}
            | {"attempts": 1, "max_attempts": 8, "created_at": at, "finished_at": at}
            for kind, at, to in (
                ("open_room", opened, "ready"),
                ("close_room", closed, "completed"),
            )
        ]
        rooms.append(
            {"session_id": sid, "academy_id": ACADEMY, "room_name": f"hq-bench-{sid}"}
            | {"provider": "link", "status": "closed", "attempts": 1, "opened_at": opened}
            | {"students_may_share_screen": False, "closed_at": closed}
            | {"created_at": opened, "updated_at": closed}
        )
    tables = ("class_sessions", "session_participants", "jobs", "session_rooms")
    return dict(zip(tables, (sessions, people, jobs, rooms), strict=True))


def people_rows() -> dict[str, list[dict[str, Any]]]:
    """The academy, its admin, teachers and students, and one weekly schedule per student
    (active, extended a day ago, next due tomorrow)."""
    made = {"created_at": NOW - timedelta(days=400), "updated_at": NOW - timedelta(days=400)}
    academy = {"id": ACADEMY, "slug": "bench", "name": "Bench", "time_zone": "UTC"}
    roles = [(ADMIN, "admin")] + [(teacher_id(t), "teacher") for t in range(TEACHERS)]
    pairs = [(t, k) for t in range(TEACHERS) for k in range(STUDENTS_PER_TEACHER)]
    roles += [(student_id(t, k), "student") for t, k in pairs]
    users = [
        {"id": user, "email": f"u{user}@bench.test", "email_key": f"u{user}@bench.test"}
        | {"name": f"{role} {user}", "locale": "en", "time_zone": "UTC", **made}
        for user, role in roles
    ]
    schedules = [
        {"academy_id": ACADEMY, "kind": "individual", "status": "active", "title": "Hifz"}
        | {"teacher_user_id": teacher_id(t), "student_user_id": student_id(t, k)}
        | {"duration_minutes": MINUTES, "time_zone": "UTC", "problems": []}
        | {"slots": [{"weekday": k % 7, "start": "09:00"}], "starts_on": NOW.date()}
        | {"materialised_through": NOW.date() + timedelta(days=55)}
        | {"materialise_due_on": NOW.date() + timedelta(days=1), **made}
        for t, k in pairs
    ]
    return {
        "academies": [academy | {"default_locale": "en", "settings": {}, **made}],
        "users": users,
        "memberships": [{"id": u, "academy_id": ACADEMY, "user_id": u, **made} for u, _ in roles],
        "membership_roles": [{"membership_id": user, "role": role} for user, role in roles],
        "schedules": schedules,
    }


async def insert(connection: AsyncConnection, name: str, batch: list[dict[str, Any]]) -> None:
    """Core executemany on SQLite, COPY on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        await connection.execute(TABLES[name].insert(), batch)
        return
    columns = list(batch[0])
    records = [
        [json.dumps(v) if isinstance(v, dict | list) else v for v in row.values()] for row in batch
    ]
    asyncpg = (await connection.get_raw_connection()).driver_connection
    assert asyncpg is not None
    await asyncpg.copy_records_to_table(name, records=records, columns=columns)


async def load(engine: AsyncEngine, first: int, stop: int) -> None:
    """Sessions first..stop-1, CHUNK at a time, in transactions of 4 chunks; then statistics."""
    for start in range(first, stop, 4 * CHUNK):
        async with engine.begin() as connection:
            for chunk in range(start, min(start + 4 * CHUNK, stop), CHUNK):
                for name, batch in rows(chunk, min(chunk + CHUNK, stop)).items():
                    if batch:
                        await insert(connection, name, batch)
    postgresql = engine.dialect.name == "postgresql"
    async with engine.connect() as connection:  # as an operator's database would have them
        if postgresql:  # VACUUM too, or autovacuum would run (and compete) during the ticks
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("VACUUM (ANALYZE)" if postgresql else "ANALYZE")
        await connection.commit()


async def idle_ms(*workers: Worker) -> list[float]:
    """Each worker's median idle tick; their ticks alternate, so all see the same machine."""
    times: list[list[float]] = [[] for _ in workers]
    for round_ in range(WARMUP + TICKS):
        for worker, found in zip(workers, times, strict=True):
            began = time.perf_counter()
            done = await worker.tick()
            if round_ >= WARMUP:
                found.append((time.perf_counter() - began) * 1000)
            assert not any(done.values()), f"an idle tick did something: {done}"
    return [round(statistics.median(found), 2) for found in times]


async def step_ms(worker: Worker) -> dict[str, float]:
    """Each step of an idle tick timed alone (median), to see which one costs what."""
    database, found = worker.database, {}
    for name, step in {**STEPS, "jobs": None}.items():
        times = []
        for _ in range(TICKS):
            began = time.perf_counter()
            if step is None:
                await run_jobs(database, worker.settings, worker.secret, worker.name)
            else:
                async with database.transaction() as session:
                    await step(Runtime(session, database.clock, worker.settings, worker.secret))
            times.append((time.perf_counter() - began) * 1000)
        found[name] = round(statistics.median(times), 2)
    return found


async def due_rate(worker: Worker) -> dict[str, float]:
    """Ticks back to back until the due batch is ready with its rooms open."""
    await load(worker.database.engine, LARGE, LARGE + DUE)
    began = time.perf_counter()
    ticks, steps_done_at, all_done_at = 0, 0.0, 0.0
    while True:
        done = await worker.tick()
        assert min(done.values()) >= 0, f"a step failed: {done}"
        if not any(done.values()):
            break
        ticks += 1
        all_done_at = time.perf_counter() - began
        if done["session_steps"]:
            steps_done_at = all_done_at
    async with worker.database.transaction() as session:
        ready = await session.scalar(select(func.count()).where(ClassSession.status == "ready"))
        rooms = await session.scalar(select(func.count()).where(SessionRoom.status == "open"))
    assert ready == rooms == DUE, f"{ready} ready, {rooms} rooms open, {DUE} due"
    return {
        "due_sessions_per_s": round(DUE / all_done_at, 1),
        "due_steps_per_s": round(DUE / steps_done_at, 1),
        "due_ticks": ticks,
    }


def worker_for(url: str) -> Worker:
    settings = Settings(
        _env_file=None, database_url=url, secret_key=SECRET, worker_mode=WorkerMode.EXTERNAL
    )
    return Worker(Database(create_engine(url), FrozenClock(NOW)), settings, settings.secret())


async def snapshot(worker: Worker, url: str) -> str:
    """A copy of the database as it is now, whose ticks are timed again beside the grown one's."""
    await worker.database.dispose()  # SQLite checkpoints; PostgreSQL copies only an unused db
    path = make_url(url).database or ""
    if make_url(url).get_backend_name() == "sqlite":
        await asyncio.to_thread(shutil.copyfile, path, f"{path}.10k")
        return f"{url}.10k"
    await admin(
        f"DROP DATABASE IF EXISTS {path}_10k", f"CREATE DATABASE {path}_10k TEMPLATE {path}"
    )
    return f"{url}_10k"


async def bench(url: str) -> dict[str, Any]:
    backend, began = make_url(url).get_backend_name(), time.perf_counter()
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    worker, figures = worker_for(url), dict[str, Any]()
    async with worker.database.engine.begin() as connection:
        for name, batch in people_rows().items():
            await connection.execute(TABLES[name].insert(), batch)
    await load(worker.database.engine, 0, SMALL)
    [figures["idle_tick_ms_10k_alone"]] = await idle_ms(worker)
    small = worker_for(await snapshot(worker, url))
    try:
        loading = time.perf_counter()
        await load(worker.database.engine, SMALL, LARGE)
        console.print(
            f"{backend}: grown to {LARGE:,} sessions in {time.perf_counter() - loading:.0f} s"
        )
        figures["idle_tick_ms_1m"], figures["idle_tick_ms_10k"] = await idle_ms(worker, small)
        figures["idle_step_ms_1m"] = await step_ms(worker)
        figures |= await due_rate(worker)
        figures["runtime_s"] = round(time.perf_counter() - began)
        console.print(f"{backend}: {figures}")
        return figures
    finally:
        await small.database.dispose()
        await worker.database.dispose()


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
    drop = [
        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in (BENCH_DB, f"{BENCH_DB}_10k")
    ]
    await admin(*drop, f"CREATE DATABASE {BENCH_DB}")
    try:
        return await bench(make_url(POSTGRES_URL).set(database=BENCH_DB).render_as_string(False))
    finally:
        await admin(*drop)


def report(results: dict[str, dict[str, Any]]) -> None:
    table = Table(title=f"Worker tick: {LARGE:,} sessions, {DUE:,} due (targets: < 50 ms, ≤ 2×)")
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")
    lines = [
        ("idle tick at 10k, measured alone (ms)", "idle_tick_ms_10k_alone"),
        ("idle tick at 10k, beside the 1M one (ms)", "idle_tick_ms_10k"),
        ("idle tick at 1M (ms)", "idle_tick_ms_1m"),
        *[(f"  of which {s} alone", f"idle_step_ms_1m.{s}") for s in [*STEPS, "jobs"]],
        ("due: sessions ready + room open per s", "due_sessions_per_s"),
        ("due: sessions stepped per s", "due_steps_per_s"),
        ("due: ticks", "due_ticks"),
        ("runtime (s)", "runtime_s"),
    ]
    for label, key in lines:
        head, _, tail = key.partition(".")
        table.add_row(
            label, *[f"{(f[head][tail] if tail else f[head]):,}" for f in results.values()]
        )
    console.print(table)
    for name, figures in results.items():
        growth = figures["idle_tick_ms_1m"] / figures["idle_tick_ms_10k"]
        ok = figures["idle_tick_ms_1m"] < 50 and growth <= 2
        figures["targets_met"] = ok
        console.print(f"{name}: 1M / 10k = {growth:.2f}× → targets {'met' if ok else 'MISSED'}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="halaqa-bench-") as directory:
        results["sqlite"] = asyncio.run(bench(f"sqlite:///{directory}/bench.db"))
    results["postgresql"] = asyncio.run(bench_postgresql())
    report(results)
    print(json.dumps(results))  # the last line: for machines


if __name__ == "__main__":
    main()
