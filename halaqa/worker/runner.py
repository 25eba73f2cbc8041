"""Runs every periodic step, each in its own transaction, once per tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from functools import partial

from halaqa import handlers  # noqa: F401 (registers every job handler and follow-up)
from halaqa.academies.service import purge_expired_auth
from halaqa.attendance.intake import poll_presence
from halaqa.bookings.service import expire_bookings
from halaqa.catalog.subscription_service import end_run_out_pauses, expire_subscriptions
from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import log_context
from halaqa.kit.metrics import WORKER_STEP_SECONDS
from halaqa.meetings.cleanup import close_forgotten_rooms
from halaqa.notifications.reminders import send_reminders
from halaqa.schedules.materialise import materialise_schedules
from halaqa.scheduling.due import run_due_steps
from halaqa.worker.jobs import purge_finished_jobs, run_jobs, worker_name

log = logging.getLogger("halaqa.worker")

Step = Callable[[Runtime], Awaitable[int]]

STEPS: dict[str, Step] = {
    "purge_expired_auth": purge_expired_auth,
    "materialise_schedules": materialise_schedules,
    # Before the session steps: a completion that is due sees who is in the room now.
    "poll_presence": poll_presence,
    "session_steps": run_due_steps,
    "send_reminders": send_reminders,
    "expire_bookings": expire_bookings,
    "end_subscription_pauses": end_run_out_pauses,
    "expire_subscriptions": expire_subscriptions,
    "close_forgotten_rooms": close_forgotten_rooms,
    "purge_finished_jobs": purge_finished_jobs,
}


SIGNALS = (signal.SIGTERM, signal.SIGINT)  # systemd / docker stop, and Ctrl-C


class Worker:
    def __init__(self, database: Database, settings: Settings, secret: bytes) -> None:
        self.database = database
        self.settings = settings
        self.secret = secret
        self.name = worker_name()  # whose claims are whose, among several workers

    async def tick(self, stop: asyncio.Event | None = None) -> dict[str, int]:
        """One pass over every step, then the jobs that are due; a failing step is logged and
        does not stop the others. Once `stop` is set no further step starts (see run_jobs)."""
        steps: dict[str, Callable[[], Awaitable[int]]] = {
            name: partial(self._in_transaction, step) for name, step in STEPS.items()
        }
        steps["jobs"] = partial(
            run_jobs, self.database, self.settings, self.secret, self.name, stop=stop
        )
        done: dict[str, int] = {}
        for name, run in steps.items():
            if stop is not None and stop.is_set():
                break
            with log_context(step=name), WORKER_STEP_SECONDS.labels(step=name).time():
                try:
                    done[name] = await run()
                except Exception:
                    log.exception("worker step %s failed", name)
                    done[name] = -1
        return done

    async def _in_transaction(self, step: Step) -> int:
        async with self.database.transaction() as session:
            return await step(Runtime(session, self.database.clock, self.settings, self.secret))

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started (every %ss)", self.name, self.settings.worker_poll_seconds)
        while not stop.is_set():
            done = await self.tick(stop)
            if any(count > 0 for count in done.values()):
                continue  # a step may have left work for its next batch: no pause while busy
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_poll_seconds)
        log.info("worker %s stopped", self.name)


@contextlib.contextmanager
def stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """While in force, SIGTERM and SIGINT set `stop` (for `Worker.run` in the running loop)."""
    loop = asyncio.get_running_loop()

    def stopping(signum: signal.Signals) -> None:
        log.info("%s: finishing the job running, then stopping", signum.name)
        stop.set()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, stopping, signum)
    try:
        yield
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
