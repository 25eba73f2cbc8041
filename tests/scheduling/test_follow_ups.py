"""Follow-up jobs queued by status changes: in the same transaction, for the statuses asked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from halaqa.kit.deps import Runtime
from halaqa.models import ClassSession, Job
from halaqa.scheduling import follow_ups
from halaqa.scheduling.lifecycle import Status
from halaqa.worker import jobs
from halaqa.worker.runner import Worker
from tests.api import Api, assert_error
from tests.catalog.school import SLUG, ok, school
from tests.conftest import START

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
KIND = "test.session_ended"
seen: list[dict[str, Any]] = []


async def remember(rt: Runtime, payload: dict[str, Any]) -> None:
    seen.append(payload)


@pytest.fixture(autouse=True)
def reaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.HANDLERS, KIND, remember)
    # Only this test's reaction (the meetings' own are tested with the meetings).
    monkeypatch.setattr(follow_ups, "REACTIONS", {status: [] for status in Status})
    follow_ups.on_status(KIND, Status.CANCELLED, Status.COMPLETED)
    follow_ups.on_status(KIND, Status.CANCELLED)  # asked twice, queued once
    seen.clear()


async def queued(api: Api) -> list[tuple[str, dict[str, Any]]]:
    async with api.database.transaction() as session:
        rows = await session.scalars(select(Job).order_by(Job.id))
        return [(job.kind, job.payload) for job in rows]


async def made_academy_id(api: Api, session_id: int) -> int:
    async with api.database.transaction() as session:
        found = await session.get(ClassSession, session_id)
        assert found is not None
        return found.academy_id


async def test_a_status_change_queues_what_was_asked_for_it(api: Api, app: FastAPI) -> None:
    s = await school(api, students=1)
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": (START + timedelta(days=1)).isoformat(),
        "duration_minutes": 60,
    }
    made = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    assert await queued(api) == []  # nobody asked about scheduled sessions
    path = f"{SESSIONS}/{made['id']}/cancel"
    ok(await api.client.post(path, json={"reason": "ill"}, headers=s.admin.headers))
    expected = {
        "academy_id": await made_academy_id(api, made["id"]),
        "session_id": made["id"],
        "from": "scheduled",
        "to": "cancelled",
    }
    assert await queued(api) == [(KIND, expected)]
    # A refused change writes nothing, jobs included.
    again = await api.client.post(path, json={"reason": "ill"}, headers=s.admin.headers)
    assert_error(again, 409, "invalid_transition")
    assert len(await queued(api)) == 1
    assert seen == []  # queued, not run: the worker runs it
    await Worker(app.state.database, app.state.settings, app.state.secret).tick()
    assert seen == [expected]
