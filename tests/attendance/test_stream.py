"""The live stream: a session page hears of status and presence changes as they commit, and the
stream ends once the class is over and on record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from halaqa.attendance import stream
from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person, assert_error
from tests.attendance.test_finalisation import AFTER, beat, book, finalised
from tests.catalog.school import school
from tests.meetings.test_livekit import SESSIONS, TOMORROW, tick


class Stream:
    """An open event stream read as the browser reads it, one event at a time, straight from
    the ASGI app (httpx's test transport would wait for the whole body)."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.buffer = ""
        self.status = 0
        self.ended = False

    async def event(self) -> tuple[str, Any]:
        """The next event (comments and the retry line skipped)."""
        while True:
            if "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines())
                if "event" in fields:
                    return fields["event"], json.loads(fields["data"])
                continue
            message = await asyncio.wait_for(self.chunks.get(), timeout=30)
            if message["type"] == "http.response.start":
                self.status = message["status"]
                continue
            self.buffer += message.get("body", b"").decode()
            self.ended = not message.get("more_body", False)

    async def closed(self) -> bool:
        """Whether the server ends the stream with nothing more in it."""
        while not self.ended:
            message = await asyncio.wait_for(self.chunks.get(), timeout=30)
            self.buffer += message.get("body", b"").decode()
            self.ended = not message.get("more_body", False)
        return self.buffer.strip() == ""

    async def next(self, name: str) -> Any:
        """The data of the next event called `name`, those before it passed over."""
        while True:
            found, data = await self.event()
            if found == name:
                return data


@asynccontextmanager
async def opened(app: FastAPI, path: str, who: Person) -> AsyncIterator[Stream]:
    reader = Stream()
    disconnect = asyncio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{path}/events",
        "raw_path": f"{path}/events".encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in who.headers.items()]
        + [(b"host", b"halaqa.test")],
        "client": ("127.0.0.1", 5000),
        "server": ("halaqa.test", 80),
    }
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        await reader.chunks.put(dict(message))

    task = asyncio.create_task(app(scope, receive, send))
    try:
        yield reader
    finally:
        disconnect.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Looks follow commits at once; nothing waits on the wall clock but an idle look."""
    monkeypatch.setattr(stream, "AT_MOST_EVERY", 0)


async def test_a_page_hears_the_class_start_fill_and_end(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    async with opened(app, path, s.teacher) as page:
        assert await page.event() == (
            "status",
            {"status": "ready", "cancellation_reason": None, "attendance_finalized": False},
        )
        assert await page.event() == ("presence", [])
        assert page.status == 200
        await beat(api, clock, path, s.teacher, 0)  # commits: the page looks at once
        assert (await page.event())[1]["status"] == "ongoing"
        name, people = await page.event()
        assert (name, [(p["user_id"], p["in_now"]) for p in people]) == (
            "presence",
            [(s.teacher.id, True)],
        )
        await beat(api, clock, path, s.students[0], 1)
        name, people = await page.event()
        assert [(p["user_id"], p["role"], p["in_now"]) for p in people] == [
            (s.teacher.id, "teacher", True),
            (s.students[0].id, "student", True),
        ]
        await beat(api, clock, path, s.teacher, 60)
        await beat(api, clock, path, s.students[0], 60)
        clock.set(AFTER)
        await tick(app)
        assert (await page.next("status"))["status"] == "completed"
        await tick(app)
        assert await page.next("status") == {
            "status": "completed",
            "cancellation_reason": None,
            "attendance_finalized": True,
        }
        assert await page.event() == ("end", {})
        assert await page.closed()


async def test_a_finished_class_streams_what_happened_and_closes(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    await beat(api, clock, path, s.teacher, 0, 60)
    await finalised(app, clock)
    response = await api.client.get(f"{path}/events", headers=s.parent.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [
        line[len("event: ") :] for line in response.text.splitlines() if line.startswith("event")
    ]
    assert names == ["status", "presence", "end"]
    assert_error(
        await api.client.get(f"{path}/events", headers=s.other_teacher.headers), 404, "not_found"
    )


async def test_a_one_off_look_closes_at_once(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    response = await api.client.get(
        f"{path}/events", params={"follow": "false"}, headers=s.students[0].headers
    )
    assert response.status_code == 200
    assert [line for line in response.text.splitlines() if line.startswith("event")] == [
        "event: status",
        "event: presence",
    ]
