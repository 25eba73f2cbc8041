"""The webhook inbox: events of concurrent requests written together, and kept on local disk
when the database is slow or down, so nothing answered 2xx is lost."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.kit.clock import FrozenClock
from halaqa.meetings.inbox import PROCESS, Arrival, WebhookInbox
from halaqa.models import Job
from tests.api import Api
from tests.conftest import START
from tests.livekit import FakeLiveKit
from tests.livekit.server import encode_webhook
from tests.meetings.test_webhooks import last, open_room, post, stored


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Answers wait for the database here, whatever the machine's speed; the slow-database test
    # sets the real limit back.
    return settings.model_copy(update={"webhook_answer_ms": 60_000})


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    with FakeLiveKit() as server:
        yield server


def signed_events(livekit: FakeLiveKit, room: str, count: int) -> list[tuple[bytes, str]]:
    before = len(livekit.events)
    for n in range(count // 2):  # joining and leaving: the room has places for a few only
        livekit.leave(room, livekit.join(room, f"user-{n}"))
    arrived = livekit.events[before:]
    assert len(arrived) == count
    return [(body, livekit.webhook_token(body)) for body in map(encode_webhook, arrived)]


async def jobs(database: Database) -> list[Job]:
    async with database.transaction() as db:
        return list(await db.scalars(select(Job).where(Job.kind == PROCESS)))


@asynccontextmanager
async def database_held(database: Database) -> AsyncIterator[None]:
    """Another connection holds what writing an event needs, as a long migration or a stuck
    transaction would."""
    async with database.engine.connect() as connection:
        transaction = await connection.begin()  # SQLite: BEGIN IMMEDIATE takes the write lock
        if database.dialect == "postgresql":
            await connection.execute(text("LOCK TABLE meeting_events IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await transaction.rollback()


async def test_concurrent_events_are_written_together_each_once(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    room = await open_room(api, app, clock, livekit)
    signed = signed_events(livekit, room, 30)
    sends = signed + signed[:5]  # LiveKit retries five of them meanwhile
    answers = await asyncio.gather(*(post(api, body, token) for body, token in sends))
    assert [a.status_code for a in answers] == [200] * len(sends)
    assert sum(a.json()["stored"] for a in answers) == 30
    assert len(await stored(api)) == 30
    queued = await jobs(api.database)
    row_ids = [row_id for job in queued for row_id in job.payload["event_row_ids"]]
    assert sorted(row_ids) == sorted(e.id for e in await stored(api))  # each processed once
    assert len(queued) < 30  # written in batches, not one transaction per request


async def test_a_slow_database_is_answered_from_disk_and_caught_up_later(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.state.settings, "webhook_answer_ms", 50)
    room = await open_room(api, app, clock, livekit)
    (first, first_token), (second, second_token) = signed_events(livekit, room, 2)
    assert (await post(api, first, first_token)).json() == {"stored": True}
    inbox: WebhookInbox = app.state.webhook_inbox
    async with database_held(api.database):
        answer = await post(api, second, second_token)
        assert answer.json() == {"stored": True}
        assert len(list(inbox.spool_dir.glob("*.jsonl"))) == 1
    await inbox.drain_spool()
    assert list(inbox.spool_dir.iterdir()) == []
    assert sorted(e.body for e in await stored(api)) == sorted([first.decode(), second.decode()])
    row_ids = [
        row_id for job in await jobs(api.database) for row_id in job.payload["event_row_ids"]
    ]
    assert sorted(row_ids) == sorted(e.id for e in await stored(api))


async def test_on_sqlite_the_processes_inboxes_take_turns_to_write(
    api: Api,
    app: FastAPI,
    clock: FrozenClock,
    livekit: FakeLiveKit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if api.database.dialect != "sqlite":
        pytest.skip("PostgreSQL lets several transactions write at once")
    monkeypatch.setattr(app.state.settings, "webhook_answer_ms", 50)
    room = await open_room(api, app, clock, livekit)
    [(body, token)] = signed_events(livekit, room, 2)[:1]
    inbox: WebhookInbox = app.state.webhook_inbox
    inbox.writers_lock.parent.mkdir(parents=True, exist_ok=True)
    with inbox.writers_lock.open("a") as elsewhere:
        fcntl.flock(elsewhere, fcntl.LOCK_EX)  # another server process's inbox is writing
        assert (await post(api, body, token)).json() == {"stored": True}  # from disk
        assert await stored(api) == []
    await inbox.drain_spool()  # its turn now
    assert [e.body for e in await stored(api)] == [body.decode()]


async def joined_arrival(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, event_id: str
) -> Arrival:
    """A verified participant_joined event of an open room, as a server keeps it on disk."""
    room = await open_room(api, app, clock, livekit)
    livekit.join(room, "user-1")
    body = encode_webhook(last(livekit, "participant_joined")).decode()
    return Arrival("livekit", event_id, "participant_joined", room, 1, body, START)


async def test_what_a_killed_process_kept_on_disk_is_stored_by_the_next(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    arrival = await joined_arrival(api, app, clock, livekit, "EV_kept")
    killed = WebhookInbox(api.database, app.state.settings, app.state.secret)
    await asyncio.to_thread(killed._spool, [arrival])  # answered 2xx, then the process died
    successor = WebhookInbox(api.database, app.state.settings, app.state.secret)
    await successor.start()
    await successor.stop()
    [event] = await stored(api)
    assert (event.event_id, event.body, event.status) == ("EV_kept", arrival.body, "received")
    assert list(successor.spool_dir.glob("*")) == []


async def test_a_spool_file_another_process_is_moving_is_left_to_it(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    arrival = await joined_arrival(api, app, clock, livekit, "EV_claimed")
    inbox: WebhookInbox = app.state.webhook_inbox
    await asyncio.to_thread(inbox._spool, [arrival])
    [path] = inbox.spool_dir.glob("*.jsonl")
    with path.open() as elsewhere:
        fcntl.flock(elsewhere, fcntl.LOCK_EX)  # another server process is moving it
        assert await inbox.drain_spool() == 0
        assert path.exists()
    assert await inbox.drain_spool() == 1  # that process died before it was done
    assert [e.event_id for e in await stored(api)] == ["EV_claimed"]
    assert list(inbox.spool_dir.glob("*.jsonl")) == []


async def test_an_inbox_that_is_not_running_takes_nothing(api: Api, app: FastAPI) -> None:
    idle = WebhookInbox(api.database, app.state.settings, app.state.secret)
    arrival = Arrival("livekit", "EV_1", "room_started", None, 1, "{}", START)
    with pytest.raises(RuntimeError, match="not started"):
        await idle.keep(arrival)
    assert await stored(api) == []
