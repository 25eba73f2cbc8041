"""GET /metrics: jobs by kind and status, due-scan lag and webhook backlog read from the database
at scrape time, this process's counters, and an optional bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from halaqa.config import Settings
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.kit.metrics import WEBHOOK_EVENTS
from halaqa.main import create_app
from halaqa.models import MeetingEvent
from halaqa.worker import jobs, runner
from halaqa.worker.jobs import LEASE, enqueue, run_jobs
from halaqa.worker.repository import JobRepository
from halaqa.worker.runner import Worker
from tests.api import Api, assert_error
from tests.catalog.school import SLUG, ok, school
from tests.conftest import START

OK, FAILS = "test.ok", "test.fails"
TOKEN = "a-metrics-token-long-enough"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def succeed(rt: Runtime, payload: dict[str, Any]) -> None:
    return None


async def fail(rt: Runtime, payload: dict[str, Any]) -> None:
    raise RuntimeError("always fails")


@pytest.fixture(autouse=True)
def handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.HANDLERS, OK, succeed)
    monkeypatch.setitem(jobs.HANDLERS, FAILS, fail)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def jobs_gauge(samples: Samples, kind: str) -> dict[str, float]:
    return {
        status: samples[("halaqa_jobs", frozenset({("kind", kind), ("status", status)}))]
        for status in ("queued", "running", "parked")
    }


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def add(api: Api, kind: str, count: int, max_attempts: int = 8) -> None:
    async with api.database.transaction() as session:
        for n in range(count):
            await enqueue(api.runtime(session), kind, {"n": n}, max_attempts=max_attempts)


async def test_every_figure_is_there_when_nothing_happened(client: httpx.AsyncClient) -> None:
    samples = await scrape(client)
    # Every kind of job the worker knows is shown, at 0, so that alerts have a series to watch.
    assert jobs_gauge(samples, "meetings.open_room") == {"queued": 0, "running": 0, "parked": 0}
    assert samples[("halaqa_due_scan_lag_seconds", frozenset())] == 0
    assert samples[("halaqa_webhook_events_backlog", frozenset())] == 0


async def test_jobs_by_kind_and_status(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    await add(api, OK, 3)
    await add(api, FAILS, 2, max_attempts=1)
    state = app.state
    before_done = counted("halaqa_jobs_run_total", kind=OK, outcome="done")
    before_parked = counted("halaqa_jobs_run_total", kind=FAILS, outcome="parked")
    # Everything runs: the three succeed, the two are parked at their only attempt.
    assert await run_jobs(state.database, state.settings, state.secret, "w") == 5
    await add(api, OK, 2)
    await add(api, FAILS, 1)
    now = clock.now()
    async with api.database.transaction() as session:  # one of the new ones claimed, not done
        assert len(await JobRepository(session).claim("busy", now, now + LEASE, 1)) == 1
    samples = await scrape(api.client)
    assert jobs_gauge(samples, OK) == {"queued": 1, "running": 1, "parked": 0}
    assert jobs_gauge(samples, FAILS) == {"queued": 1, "running": 0, "parked": 2}
    # What this process ran, counted as it ran.
    assert counted("halaqa_jobs_run_total", kind=OK, outcome="done") == before_done + 3
    assert counted("halaqa_jobs_run_total", kind=FAILS, outcome="parked") == before_parked + 2


async def test_due_scan_lag_is_the_wait_of_the_oldest_due_step(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await school(api, students=1)
    tomorrow = START + timedelta(days=1)
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": tomorrow.isoformat(),
        "duration_minutes": 60,
    }
    sessions = f"/api/v1/academies/{SLUG}/sessions"
    ok(await api.client.post(sessions, json=body, headers=s.admin.headers), 201)
    prepare = tomorrow - timedelta(minutes=15)  # its room opens then: its next step
    lag: tuple[str, frozenset[tuple[str, str]]] = ("halaqa_due_scan_lag_seconds", frozenset())
    for at, expected in [
        (prepare - timedelta(seconds=1), 0),  # not due yet
        (prepare, 0),
        (prepare + timedelta(seconds=90), 90),  # no worker for a minute and a half
    ]:
        clock.set(at)
        assert (await scrape(api.client))[lag] == expected
    monkeypatch.setattr(runner, "STEPS", {"session_steps": runner.STEPS["session_steps"]})
    worker = Worker(app.state.database, app.state.settings, app.state.secret)
    before = counted("halaqa_worker_step_seconds_count", step="session_steps")
    assert (await worker.tick())["session_steps"] == 1
    assert (await scrape(api.client))[lag] == 0
    assert counted("halaqa_worker_step_seconds_count", step="session_steps") == before + 1


async def test_webhook_backlog_counts_events_kept_and_not_processed(api: Api) -> None:
    async with api.database.transaction() as session:
        for n, status in enumerate(
            ["received", "processed", "received", "ignored", "unknown_room"]
        ):
            session.add(
                MeetingEvent(
                    provider="livekit",
                    event_id=f"EV_{n}",
                    event="participant_joined",
                    body="{}",
                    status=status,
                    received_at=START,
                )
            )
    samples = await scrape(api.client)
    assert samples[("halaqa_webhook_events_backlog", frozenset())] == 2


def test_the_webhook_counter_counts_by_provider_and_outcome() -> None:
    before = counted("halaqa_webhook_events_total", provider="livekit", outcome="received")
    WEBHOOK_EVENTS.labels(provider="livekit", outcome="received").inc()
    assert counted("halaqa_webhook_events_total", provider="livekit", outcome="received") == (
        before + 1
    )


@pytest.fixture
async def guarded(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}), clock=clock
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as http:
            yield http


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}x", 401),
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),  # the scheme is case-insensitive (RFC 9110)
    ],
)
async def test_a_metrics_token_guards_the_endpoint(
    guarded: httpx.AsyncClient, authorization: str | None, status: int
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await guarded.get("/metrics", headers=headers)
    if status == 401:
        assert_error(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert response.status_code == 200
        assert "halaqa_jobs" in response.text


def test_a_short_metrics_token_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Settings(_env_file=None, database_url=settings.database_url, metrics_token="short")


async def test_metrics_stay_out_of_the_api_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
