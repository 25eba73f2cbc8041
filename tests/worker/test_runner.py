"""The worker's tick: housekeeping of auth rows, and one failing step never stops the others."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from halaqa.academies.service import purge_expired_auth
from halaqa.config import Settings, WorkerMode
from halaqa.db.session import Database
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.main import create_app
from halaqa.models import AuthToken, LoginAttempt, User
from halaqa.worker import runner
from halaqa.worker.runner import Worker
from tests.api import Api
from tests.conftest import START

TOKEN_TTL = timedelta(hours=24 * 14)
KEPT_AFTER_EXPIRY = timedelta(days=30)
WINDOW = timedelta(minutes=15)


def worker_of(app: FastAPI) -> Worker:
    return Worker(app.state.database, app.state.settings, app.state.secret)


async def count(database: Database, model: type[Any]) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def fail_login(api: Api, email: str) -> None:
    response = await api.client.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong-password"}
    )
    assert response.status_code == 401


async def me_status(api: Api, token: str) -> int:
    response = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_tick_with_nothing_to_do(app: FastAPI) -> None:
    assert (await worker_of(app).tick())["purge_expired_auth"] == 0


async def test_tick_purges_long_expired_tokens_and_keeps_the_rest(
    api: Api, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    old = await api.user()  # its token expires at START + TOKEN_TTL
    clock.advance(timedelta(days=10))
    recent = await api.user()  # expires 10 days later
    worker = worker_of(app)
    assert await count(database, AuthToken) == 2
    # Expired, but not yet for 30 days: kept.
    old_expiry = START + TOKEN_TTL
    clock.set(old_expiry + KEPT_AFTER_EXPIRY)
    assert (await worker.tick())["purge_expired_auth"] == 0
    assert await count(database, AuthToken) == 2
    # One second more and the first token goes; the second (and the users) stay.
    clock.set(old_expiry + KEPT_AFTER_EXPIRY + timedelta(seconds=1))
    assert (await worker.tick())["purge_expired_auth"] == 1
    assert await count(database, AuthToken) == 1
    assert await count(database, User) == 2
    async with database.transaction() as session:
        remaining = await session.scalars(select(AuthToken.user_id))
        assert list(remaining) == [recent.id]
    assert old.id != recent.id


async def test_tick_keeps_live_tokens_working(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    person = await api.user()
    clock.advance(TOKEN_TTL - timedelta(seconds=1))
    assert (await worker_of(app).tick())["purge_expired_auth"] == 0
    assert await me_status(api, person.token) == 200


async def test_tick_purges_login_attempts_older_than_the_window(
    api: Api, app: FastAPI, database: Database, clock: FrozenClock
) -> None:
    person = await api.user()
    for _ in range(3):
        await fail_login(api, person.email)
    clock.advance(timedelta(minutes=10))
    for _ in range(2):
        await fail_login(api, person.email)
    worker = worker_of(app)
    # At the window's edge the first three still count (and so are kept).
    clock.set(START + WINDOW)
    assert (await worker.tick())["purge_expired_auth"] == 0
    assert await count(database, LoginAttempt) == 5
    clock.advance(timedelta(seconds=1))
    assert (await worker.tick())["purge_expired_auth"] == 3
    assert await count(database, LoginAttempt) == 2
    # The two that remain still count towards the limit: three more failures lock the account.
    for _ in range(3):
        await fail_login(api, person.email)
    locked = await api.client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": "correct-horse-battery"}
    )
    assert locked.status_code == 429
    clock.advance(timedelta(hours=1))
    assert (await worker.tick())["purge_expired_auth"] == 5
    assert await count(database, LoginAttempt) == 0


async def test_failing_step_does_not_stop_the_others(
    api: Api,
    app: FastAPI,
    database: Database,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    person = await api.user()
    calls: list[str] = []

    async def broken(rt: Runtime) -> int:
        calls.append("broken")
        # Writes, then fails: its transaction must be rolled back, not half-applied.
        user = await rt.session.get(User, person.id)
        assert user is not None
        user.name = "half-written"
        await rt.session.flush()
        raise RuntimeError("step exploded")

    async def counting(rt: Runtime) -> int:
        calls.append("counting")
        return 7

    monkeypatch.setattr(
        runner,
        "STEPS",
        {"broken": broken, "purge_expired_auth": purge_expired_auth, "counting": counting},
    )
    clock.advance(TOKEN_TTL + KEPT_AFTER_EXPIRY + timedelta(seconds=1))
    result = await worker_of(app).tick()
    assert result == {"broken": -1, "purge_expired_auth": 1, "counting": 7, "jobs": 0}
    assert calls == ["broken", "counting"]
    assert await count(database, AuthToken) == 0
    async with database.transaction() as session:
        user = await session.get(User, person.id)
        assert user is not None
        assert user.name != "half-written"
    assert any(
        "worker step broken failed" in r.getMessage() and r.exc_info is not None
        for r in caplog.records
    )
    # The next tick runs every step again, the broken one included.
    again = await worker_of(app).tick()
    assert again == {"broken": -1, "purge_expired_auth": 0, "counting": 7, "jobs": 0}
    assert calls == ["broken", "counting"] * 2


async def test_run_ticks_until_stopped(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    stop = asyncio.Event()
    ticks: list[int] = []

    async def third_tick_stops(rt: Runtime) -> int:
        ticks.append(len(ticks) + 1)
        if len(ticks) == 3:
            stop.set()
        return 0

    # A tiny poll interval, so ticks follow one another; the stop event ends the loop.
    worker = Worker(
        app.state.database,
        app.state.settings.model_copy(update={"worker_poll_seconds": 0.001}),
        app.state.secret,
    )
    monkeypatch.setattr(runner, "STEPS", {"step": third_tick_stops})
    await asyncio.wait_for(worker.run(stop), timeout=30)
    assert ticks == [1, 2, 3]


async def test_run_returns_at_once_when_already_stopped(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def step(rt: Runtime) -> int:
        calls.append("step")
        return 0

    monkeypatch.setattr(runner, "STEPS", {"step": step})
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(worker_of(app).run(stop), timeout=30)
    assert calls == []


async def test_embedded_worker_runs_inside_the_server_and_stops_with_it(
    settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticked = asyncio.Event()

    async def step(rt: Runtime) -> int:
        ticked.set()
        return 0

    monkeypatch.setattr(runner, "STEPS", {"step": step})
    embedded = settings.model_copy(
        update={"worker_mode": WorkerMode.EMBEDDED, "worker_poll_seconds": 3600.0}
    )
    application = create_app(embedded, clock=clock)
    async with application.router.lifespan_context(application):
        await asyncio.wait_for(ticked.wait(), timeout=30)
        [task] = [t for t in asyncio.all_tasks() if t.get_name() == "halaqa-worker"]
        assert not task.done()
    # Shutting down stops the worker at once, though its next tick is an hour away.
    assert task.done()
    assert task.exception() is None


async def test_a_busy_worker_ticks_again_at_once_and_pauses_when_idle(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = asyncio.Event()
    idle = asyncio.Event()
    results = iter([2, 1, 0])  # a backlog taken in two batches, then nothing left
    calls: list[int] = []

    async def backlog(rt: Runtime) -> int:
        calls.append(len(calls) + 1)
        done = next(results, 0)
        if done == 0:
            idle.set()
        return done

    monkeypatch.setattr(runner, "STEPS", {"backlog": backlog})
    # An hour between ticks: only a worker that does not pause while busy reaches the idle tick.
    worker = Worker(
        app.state.database,
        app.state.settings.model_copy(update={"worker_poll_seconds": 3600.0}),
        app.state.secret,
    )
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(idle.wait(), timeout=30)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert calls == [1, 2, 3]
