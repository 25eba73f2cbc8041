"""Stopping a worker (SIGTERM, SIGINT, the server shutting down): the job running finishes, the
jobs it claimed but never started go back at once, and nothing runs twice or is lost."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import Job
from halaqa.worker import jobs, runner
from halaqa.worker.jobs import LEASE, enqueue, run_jobs
from halaqa.worker.repository import JobRepository
from halaqa.worker.runner import Worker, stopped_by_signals
from tests.api import Api

STEP = "test.step"
BATCH = 5


class Stopper:
    """A job handler that records what ran and, at the chosen job, asks the worker to stop
    (as a signal arriving while that job runs would)."""

    def __init__(self, stop: asyncio.Event, at: int) -> None:
        self.stop, self.at = stop, at
        self.ran: list[int] = []

    async def __call__(self, rt: Runtime, payload: dict[str, Any]) -> None:
        self.ran.append(payload["n"])
        if payload["n"] == self.at:
            self.stop.set()


@pytest.fixture(autouse=True)
def handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered for every test; those that run jobs put their own in its place."""
    monkeypatch.setitem(jobs.HANDLERS, STEP, Stopper(asyncio.Event(), at=-1))


async def add(api: Api, count: int) -> list[int]:
    async with api.database.transaction() as session:
        made = [await enqueue(api.runtime(session), STEP, {"n": n}) for n in range(count)]
        return [job.id for job in made]


async def all_jobs(api: Api) -> list[Job]:
    async with api.database.transaction() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))


async def run(app: FastAPI, worker: str, stop: asyncio.Event | None = None) -> int:
    state = app.state
    return await run_jobs(
        state.database, state.settings, state.secret, worker, batch=BATCH, stop=stop
    )


@pytest.mark.parametrize(
    ("stop_at", "done"),
    [
        (0, 1),  # the first job of the batch: the other four go back
        (2, 3),
        (BATCH - 1, BATCH),  # the last: nothing is left to hand back
    ],
)
async def test_stopping_finishes_the_job_running_and_releases_the_rest(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    stop_at: int,
    done: int,
) -> None:
    stop = asyncio.Event()
    handler = Stopper(stop, at=stop_at)
    monkeypatch.setitem(jobs.HANDLERS, STEP, handler)
    await add(api, BATCH)
    assert await run(app, "stopping", stop) == done
    assert handler.ran == list(range(done))
    found = await all_jobs(api)
    assert [(j.status, j.claimed_by, j.attempts) for j in found] == [("done", None, 1)] * done + [
        ("queued", None, 0)  # the claim is not counted as an attempt
    ] * (BATCH - done)
    assert all(j.run_after == clock.now() for j in found[done:])
    # Another worker takes them at once, without waiting for the stopped one's lease.
    assert await run(app, "other") == BATCH - done
    assert handler.ran == list(range(BATCH))
    assert [(j.status, j.attempts) for j in await all_jobs(api)] == [("done", 1)] * BATCH


async def test_release_hands_back_only_that_workers_claims(api: Api, clock: FrozenClock) -> None:
    ids = await add(api, 4)
    now = clock.now()
    async with api.database.transaction() as session:
        repository = JobRepository(session)
        assert await repository.claim("w1", now, now + LEASE, 2) == ids[:2]
        assert await repository.claim("w2", now, now + LEASE, 1) == ids[2:3]
    async with api.database.transaction() as session:
        assert await JobRepository(session).release("w1", now) == 2
        assert await JobRepository(session).release("nobody", now) == 0
    assert [(j.status, j.claimed_by) for j in await all_jobs(api)] == [
        ("queued", None),
        ("queued", None),
        ("running", "w2"),
        ("queued", None),
    ]


async def test_sigterm_stops_the_worker_loop_gracefully(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    ran: list[int] = []

    async def signalled_while_running(rt: Runtime, payload: dict[str, Any]) -> None:
        ran.append(payload["n"])
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd or `docker stop` sends
        await stop.wait()  # the job goes on (and finishes) after the signal arrived

    monkeypatch.setitem(jobs.HANDLERS, STEP, signalled_while_running)
    monkeypatch.setattr(runner, "STEPS", {})
    await add(api, 3)
    # A poll an hour long: only the signal can end this loop within the timeout.
    worker = Worker(
        app.state.database,
        app.state.settings.model_copy(update={"worker_poll_seconds": 3600.0}),
        app.state.secret,
    )
    with stopped_by_signals(stop):
        await asyncio.wait_for(worker.run(stop), timeout=30)
    assert ran == [0]
    assert [j.status for j in await all_jobs(api)] == ["done", "queued", "queued"]
    assert any("SIGTERM" in r.getMessage() for r in caplog.records)


async def test_a_stop_between_steps_claims_nothing(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = asyncio.Event()
    calls: list[str] = []

    async def first(rt: Runtime) -> int:
        calls.append("first")
        stop.set()
        return 0

    async def second(rt: Runtime) -> int:
        calls.append("second")
        return 0

    monkeypatch.setattr(runner, "STEPS", {"first": first, "second": second})
    await add(api, 2)
    worker = Worker(app.state.database, app.state.settings, app.state.secret)
    assert await worker.tick(stop) == {"first": 0}
    assert calls == ["first"]
    assert [(j.status, j.claimed_by) for j in await all_jobs(api)] == [("queued", None)] * 2
