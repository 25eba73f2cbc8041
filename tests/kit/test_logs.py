"""Logs: text or one JSON object per line, carrying the job or session being worked on."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from halaqa.config import LogFormat, LogLevel
from halaqa.exceptions import Conflict
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import (
    JsonFormatter,
    StderrHandler,
    TextFormatter,
    configure_logging,
    current_context,
    log_context,
)
from halaqa.models import Academy
from halaqa.scheduling import due
from halaqa.worker import jobs, runner
from halaqa.worker.jobs import enqueue, run_jobs
from halaqa.worker.runner import Worker
from tests.api import Api
from tests.catalog.school import SLUG, ok, school
from tests.conftest import START

LOGGED = "test.logs"


def record(message: str, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("halaqa.test", logging.INFO, __file__, 1, message, args, None)


class Lines(logging.Handler):
    """Formats each record as it is logged (where the context is in force), as JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def with_message(self, part: str) -> dict[str, Any]:
        [line] = [line for line in self.lines if part in line["message"]]
        return line


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes the root logger: put back what the test runner had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_context_nests_and_ends_with_its_block() -> None:
    assert current_context() == {}
    with log_context(job_id=1, session_id=None):  # None is left out
        assert current_context() == {"job_id": 1}
        with log_context(session_id=7, job_id=2):
            assert current_context() == {"job_id": 2, "session_id": 7}
        assert current_context() == {"job_id": 1}
    assert current_context() == {}


def test_a_json_line_has_time_level_logger_message_and_context() -> None:
    with log_context(job_id=12, job_kind="meetings.open_room"):
        line = json.loads(JsonFormatter().format(record("room %s opened", "r-1")))
    assert line.pop("time").endswith("+00:00")
    assert line == {
        "level": "INFO",
        "logger": "halaqa.test",
        "message": "room r-1 opened",
        "job_id": 12,
        "job_kind": "meetings.open_room",
    }


def test_a_json_line_carries_the_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logging.LogRecord(
            "halaqa.test", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(failed))
    assert "RuntimeError: boom" in line["exception"]
    assert "\n" not in JsonFormatter().format(failed)  # still one line


@pytest.mark.parametrize(
    ("context", "ends_with"),
    [
        ({}, "halaqa.test: session moved"),
        ({"session_id": 3}, "halaqa.test: session moved [session_id=3]"),
        ({"job_id": 9, "session_id": 3}, "session moved [job_id=9 session_id=3]"),
    ],
)
def test_a_text_line_ends_with_its_context(context: dict[str, Any], ends_with: str) -> None:
    with log_context(**context):
        assert TextFormatter().format(record("session moved")).endswith(ends_with)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", list(LogFormat))
def test_configure_logging_installs_one_handler_however_often_called(
    log_format: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        configure_logging(LogLevel.WARNING, log_format)
    root = logging.getLogger()
    assert len([h for h in root.handlers if isinstance(h, StderrHandler)]) == 1
    assert root.level == logging.WARNING
    with log_context(session_id=5):
        logging.getLogger("halaqa.test").info("not shown")
        logging.getLogger("halaqa.test").warning("shown")
    [written] = capsys.readouterr().err.splitlines()
    if log_format is LogFormat.JSON:
        line = json.loads(written)
        assert (line["message"], line["session_id"], line["level"]) == ("shown", 5, "WARNING")
    else:
        assert written.endswith("WARNING halaqa.test: shown [session_id=5]")


async def test_lines_logged_while_a_job_runs_carry_the_job(
    api: Api, app: FastAPI, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def logs(rt: Runtime, payload: dict[str, Any]) -> None:
        logging.getLogger("halaqa.test").info("working on %s", payload["n"])
        if payload.get("fail"):
            raise RuntimeError("no luck")

    monkeypatch.setitem(jobs.HANDLERS, LOGGED, logs)
    await api.academy(SLUG)
    async with api.database.transaction() as session:
        academy_id = await session.scalar(select(Academy.id).where(Academy.slug == SLUG))
        rt = api.runtime(session)
        first = await enqueue(rt, LOGGED, {"n": 1, "session_id": 40}, academy_id=academy_id)
        second = await enqueue(rt, LOGGED, {"n": 2, "fail": True})
    state = app.state
    await run_jobs(state.database, state.settings, state.secret, "w")
    working = lines.with_message("working on 1")
    assert (working["job_id"], working["job_kind"]) == (first.id, LOGGED)
    assert (working["academy_id"], working["session_id"]) == (academy_id, 40)
    failing = lines.with_message("working on 2")
    assert (failing["job_id"], failing["job_kind"]) == (second.id, LOGGED)
    assert "session_id" not in failing  # neither its payload nor the job has one
    assert "academy_id" not in failing
    failed = lines.with_message("failed, retried at")
    assert (failed["job_id"], failed["job_kind"], failed["level"]) == (second.id, LOGGED, "WARNING")
    assert "no luck" in failed["message"]
    assert current_context() == {}  # nothing left behind for what is logged next


async def test_due_scan_lines_carry_the_session(
    api: Api, app: FastAPI, clock: FrozenClock, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await school(api, students=1)
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": (START + timedelta(days=1)).isoformat(),
        "duration_minutes": 60,
    }
    made = ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/sessions", json=body, headers=s.admin.headers
        ),
        201,
    )

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise Conflict("refused for the test")

    monkeypatch.setattr(due, "transition", refused)
    monkeypatch.setattr(runner, "STEPS", {"session_steps": runner.STEPS["session_steps"]})
    clock.advance(timedelta(days=1))
    await Worker(app.state.database, app.state.settings, app.state.secret).tick()
    line = lines.with_message("refused for the test")
    assert (line["session_id"], line["step"], line["level"]) == (
        made["id"],
        "session_steps",
        "WARNING",
    )
    assert isinstance(line["academy_id"], int)
