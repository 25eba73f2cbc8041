"""The outbox: follow-up work written as rows with the change that causes it, run after commit.

A change calls `enqueue` inside its own transaction, so the job exists exactly when the change
does. Workers claim due jobs with a lease (one transaction), then run each job's handler in a
transaction of its own that also marks it done: a worker killed in between leaves the job to be
claimed again when the lease runs out, and the handler's writes and "done" commit together.
Handlers must be idempotent (a job may run again after a crash). A job that keeps failing is
retried with growing delays, then parked with its error for `halaqa jobs retry`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.exceptions import Conflict, NotFound
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import log_context
from halaqa.kit.metrics import JOBS_RUN
from halaqa.models import Job
from halaqa.worker.repository import JobRepository

log = logging.getLogger("halaqa.jobs")

Handler = Callable[[Runtime, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}

LEASE = timedelta(minutes=5)  # a claimed job is another worker's again after this
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
CLAIM_BATCH = 50
ERROR_CHARS = 4000


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Registers the handler of a kind of job (one per kind)."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS:
            raise ValueError(f"a handler for {kind!r} is registered already")
        HANDLERS[kind] = handler
        return handler

    return register


async def enqueue(
    rt: Runtime,
    kind: str,
    payload: dict[str, Any],
    *,
    academy_id: int | None = None,
    delay: timedelta = timedelta(0),
    max_attempts: int = MAX_ATTEMPTS,
) -> Job:
    """Writes a job in the caller's transaction; it runs once that transaction commits."""
    return await JobRepository(rt.session).add(
        Job(**_job(rt, kind, payload, academy_id, delay=delay, max_attempts=max_attempts))
    )


async def enqueue_many(
    rt: Runtime,
    kind: str,
    payloads: Sequence[tuple[dict[str, Any], int | None]],
    *,
    delay: timedelta = timedelta(0),
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """`enqueue` for many (payload, academy id) pairs at once, in one statement; the jobs are
    written, not returned."""
    await JobRepository(rt.session).add_many(
        [
            _job(rt, kind, payload, academy_id, delay=delay, max_attempts=max_attempts)
            for payload, academy_id in payloads
        ]
    )


async def enqueue_kinds(
    rt: Runtime, kinds: Sequence[str], payload: dict[str, Any], *, academy_id: int | None
) -> None:
    """A job of each of `kinds` for the same payload, in one statement."""
    await JobRepository(rt.session).add_many(
        [
            _job(rt, kind, payload, academy_id, delay=timedelta(0), max_attempts=MAX_ATTEMPTS)
            for kind in kinds
        ]
    )


def _job(
    rt: Runtime,
    kind: str,
    payload: dict[str, Any],
    academy_id: int | None,
    *,
    delay: timedelta,
    max_attempts: int,
) -> dict[str, Any]:
    if kind not in HANDLERS:
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    now = rt.clock.now()
    return {
        "academy_id": academy_id,
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "run_after": now + delay,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }


KEEP_DONE = timedelta(days=14)  # finished jobs stay this long, for `halaqa jobs list`
PURGE_BATCH = 1000


async def purge_finished_jobs(rt: Runtime) -> int:
    """Housekeeping for the worker: jobs done more than KEEP_DONE ago go (parked ones stay until
    someone retries them); a thousand per pass, so a large backlog goes over a few passes."""
    return await JobRepository(rt.session).purge_done(rt.clock.now() - KEEP_DONE, PURGE_BATCH)


def retry_delay(attempts: int) -> timedelta:
    """10 s after the first failure, doubling up to an hour."""
    doublings = min(max(attempts - 1, 0), 20)  # capped before multiplying: no overflow
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def run_jobs(
    database: Database,
    settings: Settings,
    secret: bytes,
    worker: str,
    *,
    batch: int = CLAIM_BATCH,
    stop: asyncio.Event | None = None,
) -> int:
    """Claims what is due and runs it, one job after another; returns how many jobs finished
    (done or parked). Once `stop` is set the job running finishes, and those claimed but not
    started are released at once for other workers (instead of after the lease)."""
    now = database.clock.now()
    async with database.transaction() as session:
        claimed = await JobRepository(session).claim(worker, now, now + LEASE, batch)
    finished = 0
    for job_id in claimed:
        if stop is not None and stop.is_set():
            await _release(database, worker)
            break
        with log_context(job_id=job_id):
            outcome = await _run(database, settings, secret, worker, job_id)
        finished += outcome in {"done", "parked"}
    return finished


def _job_context(job: Job) -> AbstractContextManager[None]:
    return log_context(
        job_kind=job.kind, academy_id=job.academy_id, session_id=job.payload.get("session_id")
    )


async def _run(
    database: Database, settings: Settings, secret: bytes, worker: str, job_id: int
) -> str | None:
    """Runs one claimed job: "done", "retry" or "parked", or None if it is not ours any more."""
    try:
        async with database.transaction() as session:
            rt = Runtime(session, database.clock, settings, secret)
            job = await JobRepository(session).held(job_id, worker)
            if job is None:  # our lease ran out and another worker took it
                return None
            with _job_context(job):
                await HANDLERS[job.kind](rt, dict(job.payload))
            job.status, job.claimed_by = "done", None
            job.finished_at = database.clock.now()
    except Exception:
        return await _failed(database, job_id, worker, traceback.format_exc()[-ERROR_CHARS:])
    with _job_context(job):  # once committed
        log.info("job %s (%s) done", job.id, job.kind)
    JOBS_RUN.labels(kind=job.kind, outcome="done").inc()
    return "done"


async def _failed(database: Database, job_id: int, worker: str, error: str) -> str | None:
    """Puts a failed job back with a delay ("retry"), or parks it after its last attempt."""
    async with database.transaction() as session:
        job = await JobRepository(session).held(job_id, worker)
        if job is None:
            return None
        job.last_error, job.claimed_by = error, None
        with _job_context(job):
            last_line = error.strip().splitlines()[-1]
            if job.attempts >= job.max_attempts:
                job.status, job.finished_at = "parked", database.clock.now()
                log.error("job %s parked after %s attempts: %s", job.id, job.attempts, last_line)
                outcome = "parked"
            else:
                job.status = "queued"
                job.run_after = database.clock.now() + retry_delay(job.attempts)
                log.warning("job %s failed, retried at %s: %s", job.id, job.run_after, last_line)
                outcome = "retry"
        JOBS_RUN.labels(kind=job.kind, outcome=outcome).inc()
    return outcome


async def _release(database: Database, worker: str) -> None:
    async with database.transaction() as session:
        released = await JobRepository(session).release(worker, database.clock.now())
    log.info("stopping: %s claimed jobs not started handed back to other workers", released)


async def retry(rt: Runtime, job_id: int) -> Job:
    """Gives a parked (or waiting) job a fresh set of attempts, due now."""
    job = await JobRepository(rt.session).get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status not in {"parked", "queued"}:
        raise Conflict(f"job {job_id} is {job.status}; only parked or queued jobs are retried")
    job.status, job.attempts, job.run_after = "queued", 0, rt.clock.now()
    job.finished_at = None
    return job
