"""The outbox: jobs exist only with the change that wrote them, run once, retry, park, resume."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from halaqa.academies.auth import Actor
from halaqa.academies.service import audit
from halaqa.db.session import Database
from halaqa.exceptions import Conflict
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import AuditEntry, Job
from halaqa.worker import jobs
from halaqa.worker.jobs import LEASE, enqueue, retry, retry_delay, run_jobs
from halaqa.worker.repository import JobRepository
from tests.api import Api

RECORD = "test.record"
FAIL = "test.fail"
failures: dict[str, int] = {}


async def record(rt: Runtime, payload: dict[str, Any]) -> None:
    """Writes what it did in the job's own transaction (an audit entry)."""
    await audit(rt, Actor(), "test.recorded", academy_id=None, entity_type="test", after=payload)


async def fail(rt: Runtime, payload: dict[str, Any]) -> None:
    await record(rt, payload)  # rolled back with the failure
    failures[payload["name"]] = failures.get(payload["name"], 0) + 1
    if failures[payload["name"]] <= payload.get("fail_times", 10**6):
        raise RuntimeError(f"{payload['name']} failed")


@pytest.fixture(autouse=True)
def handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.HANDLERS, RECORD, record)
    monkeypatch.setitem(jobs.HANDLERS, FAIL, fail)
    failures.clear()


async def add(api: Api, kind: str, count: int = 1, **payload: Any) -> list[int]:
    async with api.database.transaction() as session:
        made = [
            await enqueue(api.runtime(session), kind, {"n": n, **payload}, max_attempts=3)
            for n in range(count)
        ]
        return [job.id for job in made]


async def run(app: FastAPI, worker: str = "w1") -> int:
    state = app.state
    return await run_jobs(state.database, state.settings, state.secret, worker)


async def recorded(database: Database) -> list[dict[str, Any]]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "test.recorded").order_by(AuditEntry.id)
        )
        return [row.after or {} for row in rows]


async def job(database: Database, job_id: int) -> Job:
    async with database.transaction() as session:
        found = await JobRepository(session).get(job_id)
        assert found is not None
        return found


async def test_a_job_exists_only_if_its_transaction_commits(api: Api, app: FastAPI) -> None:

    async def change_that_fails() -> None:
        async with api.database.transaction() as session:
            await enqueue(api.runtime(session), RECORD, {"n": 1})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    async with api.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
    [job_id] = await add(api, RECORD)
    assert await run(app) == 1
    assert await recorded(api.database) == [{"n": 0}]
    done = await job(api.database, job_id)
    assert (done.status, done.attempts, done.claimed_by) == ("done", 1, None)
    assert await run(app) == 0  # once


async def test_an_unknown_kind_is_a_programming_error(api: Api) -> None:
    async with api.database.transaction() as session:
        with pytest.raises(ValueError, match="no handler"):
            await enqueue(api.runtime(session), "nobody.handles", {})


async def test_a_failing_job_is_retried_later_then_parked(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    [job_id] = await add(api, FAIL, name="a")
    assert await run(app) == 0
    first = await job(api.database, job_id)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.run_after == clock.now() + timedelta(seconds=10)
    assert first.last_error is not None
    assert "a failed" in first.last_error
    assert await recorded(api.database) == []  # its writes went with the failure
    assert await run(app) == 0  # not yet due
    clock.advance(timedelta(seconds=10))
    assert await run(app) == 0
    second = await job(api.database, job_id)
    assert second.run_after == clock.now() + timedelta(seconds=20)
    clock.advance(timedelta(seconds=20))
    assert await run(app) == 1  # the third and last attempt: parked
    parked = await job(api.database, job_id)
    assert (parked.status, parked.attempts) == ("parked", 3)
    clock.advance(timedelta(days=1))
    assert await run(app) == 0  # parked stays parked


async def test_a_parked_job_is_retried_by_hand(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    [job_id] = await add(api, FAIL, name="b", fail_times=3)
    for _ in range(3):
        await run(app)
        clock.advance(timedelta(hours=1))
    assert (await job(api.database, job_id)).status == "parked"
    async with api.database.transaction() as session:
        await retry(api.runtime(session), job_id)
    assert await run(app) == 1
    assert (await job(api.database, job_id)).status == "done"
    assert await recorded(api.database) == [{"n": 0, "name": "b", "fail_times": 3}]
    async with api.database.transaction() as session:
        with pytest.raises(Conflict):
            await retry(api.runtime(session), job_id)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (10**6, 3600)],
)
def test_retry_delays_double_up_to_an_hour(attempts: int, delay: int) -> None:
    assert retry_delay(attempts) == timedelta(seconds=delay)


async def test_a_worker_killed_after_claiming_loses_nothing_and_duplicates_nothing(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    [job_id] = await add(api, RECORD)
    now = clock.now()
    async with api.database.transaction() as session:  # the dead worker's claim, then nothing
        assert await JobRepository(session).claim("dead", now, now + LEASE, 10) == [job_id]
    assert await run(app, "alive") == 0  # its lease still holds
    clock.advance(LEASE)
    assert await run(app, "alive") == 1
    assert await recorded(api.database) == [{"n": 0}]
    async with api.database.transaction() as session:  # the dead worker wakes: nothing is its
        assert await JobRepository(session).held(job_id, "dead") is None
    done = await job(api.database, job_id)
    assert (done.status, done.attempts) == ("done", 2)


async def test_workers_racing_run_each_job_once(api: Api, app: FastAPI, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    await add(api, RECORD, count=40)
    state = app.state
    finished = await asyncio.gather(
        *(
            run_jobs(state.database, state.settings, state.secret, f"w{n}", batch=7)
            for n in range(4)
        )
    )
    while sum(finished) < 40:
        more = await asyncio.gather(*(run(app, f"w{n}") for n in range(4)))
        assert sum(more) > 0
        finished += more
    assert sorted(entry["n"] for entry in await recorded(api.database)) == list(range(40))


async def test_finished_jobs_are_purged_after_two_weeks_and_parked_ones_kept(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    [old] = await add(api, RECORD)
    [parked] = await add(api, FAIL, name="stubborn")
    for _ in range(3):  # its three attempts
        await run(app)
        clock.advance(timedelta(hours=2))
    assert (await job(api.database, old)).status == "done"
    assert (await job(api.database, parked)).status == "parked"
    clock.advance(jobs.KEEP_DONE - timedelta(hours=6) + timedelta(seconds=1))
    [recent] = await add(api, RECORD)
    await run(app)
    async with api.database.transaction() as session:
        assert await jobs.purge_finished_jobs(api.runtime(session)) == 1
    async with api.database.transaction() as session:
        left = set(await session.scalars(select(Job.id)))
    assert left == {parked, recent}
