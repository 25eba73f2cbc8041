"""Runs every periodic step, each in its own transaction, once per tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from halaqa import handlers  # noqa: F401 (registers every job handler and follow-up)
from halaqa.academies.service import purge_expired_auth
from halaqa.bookings.service import expire_bookings
from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.kit.deps import Runtime
from halaqa.schedules.materialise import materialise_schedules
from halaqa.scheduling.due import run_due_steps
from halaqa.worker.jobs import run_jobs, worker_name

log = logging.getLogger("halaqa.worker")

Step = Callable[[Runtime], Awaitable[int]]

STEPS: dict[str, Step] = {
    "purge_expired_auth": purge_expired_auth,
    "materialise_schedules": materialise_schedules,
    "session_steps": run_due_steps,
    "expire_bookings": expire_bookings,
}


class Worker:
    def __init__(self, database: Database, settings: Settings, secret: bytes) -> None:
        self.database = database
        self.settings = settings
        self.secret = secret
        self.name = worker_name()  # whose claims are whose, among several workers

    async def tick(self) -> dict[str, int]:
        """One pass over every step, then the jobs that are due; a failing step is logged and
        does not stop the others."""
        done: dict[str, int] = {}
        for name, step in STEPS.items():
            try:
                async with self.database.transaction() as session:
                    rt = Runtime(session, self.database.clock, self.settings, self.secret)
                    done[name] = await step(rt)
            except Exception:
                log.exception("worker step %s failed", name)
                done[name] = -1
        try:
            done["jobs"] = await run_jobs(self.database, self.settings, self.secret, self.name)
        except Exception:
            log.exception("running jobs failed")
            done["jobs"] = -1
        return done

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started (every %ss)", self.settings.worker_poll_seconds)
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_poll_seconds)
        log.info("worker stopped")
