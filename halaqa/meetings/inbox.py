"""Where verified webhooks go: into the database in batches, or onto local disk when it is slow.

Each request waits until its event is durable and no longer: the events of concurrent requests
are written together in one transaction (a "group commit": one commit for many events is what
makes ingest fast), and a request whose batch has not committed within `webhook_answer_ms`
writes its event to a spool file (fsynced) and answers anyway, so a slow database never holds
LiveKit's per-room queue. Spooled events are moved into the database later, by any server process
on the machine (each file by one process at a time, under a lock the system drops if that process
dies); the unique event id makes a second copy harmless. Nothing answered 2xx is lost, even if the
process is killed right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.kit.deps import Runtime
from halaqa.meetings.repository import add_events
from halaqa.worker.jobs import enqueue

log = logging.getLogger("halaqa.webhooks")

PROCESS = "meetings.process_event"
BATCH = 200  # events per transaction at most
# Batches committing at once. SQLite lets one transaction write at a time: a second one would
# only wait in its busy handler, which sleeps in steps of up to 100 ms.
WRITERS = {"postgresql": 4, "sqlite": 1}
DRAIN_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class Arrival:
    """A verified event, as it will be kept."""

    provider: str
    event_id: str
    event: str
    room_name: str | None
    academy_id: int
    body: str  # exactly as received
    received_at: datetime


Waiting = tuple[Arrival, "asyncio.Future[bool]"]


class WebhookInbox:
    def __init__(self, database: Database, settings: Settings, secret: bytes) -> None:
        self.database, self.settings, self.secret = database, settings, secret
        # Per database: what a server kept for one database is never moved into another.
        self.spool_dir = settings.webhook_spool_dir / _database_key(settings.database_url)
        self.writers_lock = self.spool_dir.with_name(f"{self.spool_dir.name}.writers.lock")
        self._waiting: list[Waiting] = []
        self._to_spool: list[Waiting] = []
        self._wake, self._spool_wake = asyncio.Event(), asyncio.Event()
        self._stopped = asyncio.Event()  # wakes the drain to stop
        self._writers = asyncio.Semaphore(WRITERS.get(database.dialect, 1))
        self._writes: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        try:
            await self.drain_spool()  # what an earlier process kept but did not move
        except Exception:
            log.exception("spooled webhooks stay on disk until the database answers")
        self._stopping = False
        self._stopped.clear()
        self._tasks = [
            asyncio.create_task(self._write_batches(), name="halaqa-webhook-inbox"),
            asyncio.create_task(self._write_spool(), name="halaqa-webhook-spool"),
            asyncio.create_task(self._drain_now_and_then(), name="halaqa-webhook-drain"),
        ]

    async def stop(self) -> None:
        """Writes what is waiting, then stops."""
        self._stopping = True
        self._wake.set()
        self._spool_wake.set()
        self._stopped.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []

    async def keep(self, arrival: Arrival) -> bool:
        """Makes the event durable: True when it is new (or kept on disk for now), False when
        it was kept before (LiveKit sent it again)."""
        if not self._tasks:
            raise RuntimeError("the webhook inbox is not started")
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[bool] = loop.create_future()
        self._waiting.append((arrival, stored))
        self._wake.set()
        try:
            return await asyncio.wait_for(
                asyncio.shield(stored), self.settings.webhook_answer_ms / 1000
            )
        except TimeoutError:
            pass  # the database is slow: keep it on disk now, the batch may still commit
        except Exception as error:
            log.warning("database failed (%s): webhook %s kept on disk", error, arrival.event_id)
        spooled: asyncio.Future[bool] = loop.create_future()
        self._to_spool.append((arrival, spooled))
        self._spool_wake.set()
        return await spooled

    async def _write_batches(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                # Several batches commit side by side; a batch forms while the others commit.
                await self._writers.acquire()
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                write = asyncio.create_task(self._write(batch))
                self._writes.add(write)
                write.add_done_callback(self._written)
        await asyncio.gather(*self._writes)

    async def _drain_now_and_then(self) -> None:
        """Moves what was kept on disk into the database every few seconds, beside the batches
        (never holding them up)."""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), DRAIN_EVERY_SECONDS)
            if self._stopping or not self._has_spool():
                continue
            try:
                await self.drain_spool()
            except Exception:
                log.exception("moving spooled webhooks into the database failed")

    def _written(self, write: asyncio.Task[None]) -> None:
        self._writes.discard(write)
        self._writers.release()

    async def _write(self, batch: list[Waiting]) -> None:
        try:
            new = await self._store([arrival for arrival, _ in batch])
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for arrival, future in batch:
            if not future.done():
                # The first of two copies in one batch is the new one.
                future.set_result(new.pop(arrival.event_id, None) is not None)

    async def _store(self, arrivals: list[Arrival]) -> dict[str, int]:
        """Stores the new events and queues their processing, one job per academy; the row ids
        of the new ones by event id."""
        unique = list({a.event_id: a for a in reversed(arrivals)}.values())
        async with self._writers_turn(), self.database.transaction() as session:
            new = await add_events(session, [{**asdict(a), "status": "received"} for a in unique])
            by_academy: dict[int, list[int]] = {}
            for arrival in unique:
                if arrival.event_id in new:
                    by_academy.setdefault(arrival.academy_id, []).append(new[arrival.event_id])
            rt = Runtime(session, self.database.clock, self.settings, self.secret)
            for academy_id, row_ids in by_academy.items():
                await enqueue(
                    rt, PROCESS, {"event_row_ids": sorted(row_ids)}, academy_id=academy_id
                )
        return new

    @contextlib.asynccontextmanager
    async def _writers_turn(self) -> AsyncIterator[None]:
        """On SQLite, the server processes' inboxes take turns through a file lock: the next
        one is woken the moment the last commits, where SQLite's busy handler would have it
        poll with sleeps of up to 100 ms. PostgreSQL needs no turns."""
        if self.database.dialect != "sqlite":
            yield
            return
        self.writers_lock.parent.mkdir(parents=True, exist_ok=True)
        with self.writers_lock.open("a") as lock:
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # --- the spool: files of events, each written whole (fsync, then rename) or not at all ---

    async def _write_spool(self) -> None:
        while not (self._stopping and not self._to_spool):
            await self._spool_wake.wait()
            self._spool_wake.clear()
            while self._to_spool:
                batch, self._to_spool = self._to_spool, []
                try:
                    await asyncio.to_thread(self._spool, [arrival for arrival, _ in batch])
                except Exception as error:  # the disk too: LiveKit will send it again
                    log.exception("webhooks could not be kept on disk either")
                    for _, future in batch:
                        future.set_exception(error)
                    continue
                log.warning("database slow: %s webhooks kept on disk for now", len(batch))
                for _, future in batch:
                    future.set_result(True)

    def _spool(self, arrivals: list[Arrival]) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.jsonl"
        draft = self.spool_dir / f".{name}.part"
        with draft.open("w", encoding="utf-8") as file:
            for arrival in arrivals:
                record = {**asdict(arrival), "received_at": arrival.received_at.isoformat()}
                file.write(json.dumps(record) + "\n")
            file.flush()
            os.fsync(file.fileno())
        draft.rename(self.spool_dir / name)
        directory = os.open(self.spool_dir, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    def _has_spool(self) -> bool:
        return self.spool_dir.is_dir() and any(self.spool_dir.glob("*.jsonl"))

    async def drain_spool(self) -> int:
        """Moves spooled events into the database; how many events were moved. A file another
        process is moving is left to it."""
        if not self.spool_dir.is_dir():
            return 0
        moved = 0
        for path in sorted(self.spool_dir.glob("*.jsonl")):
            with _claimed(path) as arrivals:
                if arrivals is None:
                    continue  # moved, or being moved, by another process
                for start in range(0, len(arrivals), BATCH):
                    async with self._writers:  # a writer's turn, as a batch of requests takes
                        await self._store(arrivals[start : start + BATCH])
                path.unlink(missing_ok=True)  # under the claim: no one reads it again
                moved += len(arrivals)
        if moved:
            log.info("moved %s spooled webhooks into the database", moved)
        return moved


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[list[Arrival] | None]:
    """The events of a spool file, claimed by an exclusive lock for as long as the block runs;
    None when another process holds the claim or the file is gone. The system drops the lock if
    this process dies, and the file is then moved by another."""
    try:
        file = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        yield None
        return
    with file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        if not path.exists():  # moved and removed by another process before the claim
            yield None
            return
        yield [_arrival(line) for line in file.read().splitlines()]


def _database_key(database_url: str) -> str:
    return hashlib.sha256(
        make_url(database_url).render_as_string(hide_password=True).encode()
    ).hexdigest()[:16]


def _arrival(line: str) -> Arrival:
    record: dict[str, Any] = json.loads(line)
    record["received_at"] = datetime.fromisoformat(record["received_at"])
    return Arrival(**record)
