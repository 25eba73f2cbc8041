"""The worker's due-scan over sessions: each step on time, once, in order, after any downtime."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from halaqa.kit.clock import FrozenClock
from halaqa.models import ClassSession, SessionStatusChange
from halaqa.scheduling.due import run_due_steps
from halaqa.worker.runner import Worker
from tests.api import Api
from tests.catalog.school import SLUG, School, ok, school
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
TOMORROW = START + timedelta(days=1)


def worker_of(app: FastAPI) -> Worker:
    return Worker(app.state.database, app.state.settings, app.state.secret)


async def book(api: Api, s: School, starts_in: timedelta, student: int = 0) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": (START + starts_in).isoformat(),
        "duration_minutes": 60,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def status_of(api: Api, s: School, session_id: int) -> str:
    body = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.admin.headers))
    status: str = body["status"]
    return status


async def steps(api: Api) -> int:
    return (await worker_of(api.app).tick())["session_steps"]


async def test_a_session_becomes_ready_when_its_room_opens(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await book(api, s, timedelta(days=1))
    clock.set(TOMORROW - timedelta(minutes=15, seconds=1))
    assert await steps(api) == 0
    assert await status_of(api, s, made["id"]) == "scheduled"
    clock.set(TOMORROW - timedelta(minutes=15))
    assert await steps(api) == 1
    assert await status_of(api, s, made["id"]) == "ready"
    assert await steps(api) == 0  # done once
    response = await api.client.get(f"{SESSIONS}/{made['id']}/history", headers=s.admin.headers)
    history: list[dict[str, Any]] = response.json()
    assert [(h["action"], h["actor_user_id"]) for h in history] == [
        ("create", s.admin.id),
        ("prepare", None),
    ]


async def test_an_ongoing_session_completes_after_its_end_and_buffer(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await book(api, s, timedelta(days=1))
    clock.set(TOMORROW)
    ok(await api.client.post(f"{SESSIONS}/{made['id']}/start", json={}, headers=s.teacher.headers))
    clock.set(TOMORROW + timedelta(minutes=64))
    assert await steps(api) == 0
    clock.set(TOMORROW + timedelta(minutes=65))
    assert await steps(api) == 1
    assert await status_of(api, s, made["id"]) == "completed"


async def test_a_moved_session_takes_its_step_at_the_new_time(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await book(api, s, timedelta(days=1))
    moved = (TOMORROW + timedelta(days=1)).isoformat()
    ok(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/reschedule",
            json={"starts_at": moved, "reason": "exam"},
            headers=s.admin.headers,
        )
    )
    clock.set(TOMORROW)
    assert await steps(api) == 0
    assert await status_of(api, s, made["id"]) == "scheduled"
    clock.set(TOMORROW + timedelta(days=1) - timedelta(minutes=15))
    assert await steps(api) == 1


async def test_a_cancelled_session_has_no_step(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await book(api, s, timedelta(days=1))
    ok(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    clock.set(TOMORROW)
    assert await steps(api) == 0
    assert await status_of(api, s, made["id"]) == "cancelled"


async def test_after_a_day_of_downtime_every_session_is_caught_up_in_order(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api, students=3)
    made = [await book(api, s, timedelta(hours=3 + 2 * n), student=n % 3) for n in range(6)]
    clock.advance(timedelta(days=1))
    assert await steps(api) == 6
    assert {await status_of(api, s, m["id"]) for m in made} == {"ready"}
    async with api.database.transaction() as session:
        prepared = await session.scalars(
            select(SessionStatusChange.session_id)
            .where(SessionStatusChange.action == "prepare")
            .order_by(SessionStatusChange.id)
        )
        assert list(prepared) == [m["id"] for m in made]  # the oldest step first
    # Then their attendance: nobody came to any, so each is the teacher's absence, owed.
    assert await steps(api) == 6
    assert {await status_of(api, s, m["id"]) for m in made} == {"cancelled"}
    async with api.database.transaction() as session:
        settled = (
            await session.execute(
                select(ClassSession.cancellation_reason, ClassSession.makeup_owed).where(
                    ClassSession.id.in_([m["id"] for m in made])
                )
            )
        ).all()
        assert set(settled) == {("teacher_absent", True)}
    assert await steps(api) == 0  # nothing is left to do, and nothing stuck


async def test_the_cost_of_a_tick_follows_what_is_due(api: Api, clock: FrozenClock) -> None:
    """Only sessions whose step has come are taken: a batch smaller than the backlog leaves the
    rest, oldest first, for the next tick."""
    s = await school(api, students=3)
    made = [await book(api, s, timedelta(hours=3 + 2 * n), student=n % 3) for n in range(5)]
    clock.advance(timedelta(days=1))
    async with api.database.transaction() as session:
        assert await run_due_steps(api.runtime(session), batch=2) == 2
    assert [await status_of(api, s, m["id"]) for m in made] == ["ready"] * 2 + ["scheduled"] * 3


async def test_two_workers_racing_take_each_step_once(
    api: Api, clock: FrozenClock, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    s = await school(api, students=3)
    for n in range(12):
        await book(api, s, timedelta(hours=3 + 2 * n), student=n % 3)
    clock.advance(timedelta(days=2))
    first, second = worker_of(api.app), worker_of(api.app)
    done = await asyncio.gather(first.tick(), second.tick())
    assert done[0]["session_steps"] + done[1]["session_steps"] == 12
    async with api.database.transaction() as session:
        changes = await session.scalar(
            select(func.count())
            .select_from(SessionStatusChange)
            .where(SessionStatusChange.action == "prepare")
        )
        ready = await session.scalar(
            select(func.count()).select_from(ClassSession).where(ClassSession.status == "ready")
        )
    assert (changes, ready) == (12, 12)
