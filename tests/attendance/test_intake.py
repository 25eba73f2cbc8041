"""Presence in, from every source: LiveKit's webhooks, the worker's polls of live rooms, and the
meeting page's heartbeats — each normalised, kept once, and never changed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from sqlalchemy import select, update

from halaqa.kit.clock import FrozenClock
from halaqa.models import PresenceEvent
from tests.api import Api, assert_error
from tests.catalog.school import School, ok
from tests.livekit import FakeLiveKit
from tests.livekit.server import encode_webhook
from tests.meetings.test_livekit import SESSIONS, TOMORROW, book, configured, room_of, tick
from tests.meetings.test_webhooks import post

PAGE = {"page_id": "page-7f3a9c21"}


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    with FakeLiveKit() as server:
        yield server


async def presence(api: Api) -> list[PresenceEvent]:
    async with api.database.transaction() as db:
        query = select(PresenceEvent).order_by(PresenceEvent.at, PresenceEvent.id)
        return list(await db.scalars(query))


async def live_room(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> tuple[School, dict[str, Any], str]:
    """An academy on LiveKit with a session whose room is open (it is ready)."""
    s = await configured(api, livekit)
    made = await book(api, s)
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    return s, made, (await room_of(api, made["id"])).room_name


async def deliver(api: Api, livekit: FakeLiveKit, since: int) -> None:
    """Posts what the stand-in sent since then, as LiveKit would."""
    for event in livekit.events[since:]:
        body = encode_webhook(event)
        ok(await post(api, body, livekit.webhook_token(body)))


async def test_webhooks_become_presence_once(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    student = s.students[0]
    since = len(livekit.events)
    sid = livekit.join(room, f"user-{student.id}")
    livekit.join(room, "someone-with-a-foreign-token")
    livekit.leave(room, sid)
    aborted = livekit.join(room, f"user-{s.teacher.id}", active=False)
    livekit.leave(room, aborted)
    livekit.finish(room)
    await deliver(api, livekit, since)
    await deliver(api, livekit, since)  # LiveKit sent them all again
    await tick(app)
    await tick(app)
    rows = await presence(api)
    assert sorted((r.kind, r.user_id) for r in rows) == sorted(
        [
            ("joined", student.id),
            ("left", student.id),
            ("aborted", s.teacher.id),
            ("room_finished", None),
        ]
    )
    assert {(r.source, r.session_id) for r in rows} == {("webhook", made["id"])}
    joined = next(r for r in rows if r.kind == "joined")
    assert joined.participant_id == sid
    assert joined.meeting_event_id is not None
    [sent] = [
        e for e in livekit.events if e.event == "participant_joined" and e.participant.sid == sid
    ]
    # Counted from when the media connected, to the millisecond, not from when it was sent.
    assert joined.at == datetime.fromtimestamp(sent.participant.joined_at_ms / 1000, UTC)


async def test_live_rooms_are_polled_every_presence_poll_seconds(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    sid = livekit.join(room, f"user-{s.students[0].id}")
    livekit.join(room, "EG_recorder", kind="EGRESS")  # recorders are not people
    assert (await tick(app))["poll_presence"] == 1
    [seen] = await presence(api)
    assert (seen.kind, seen.source, seen.user_id, seen.participant_id, seen.at) == (
        "confirmed",
        "poll",
        s.students[0].id,
        sid,
        clock.now(),
    )
    clock.advance(timedelta(seconds=59))
    assert (await tick(app))["poll_presence"] == 0  # asked a minute ago
    clock.advance(timedelta(seconds=1))
    livekit.fail_next("ListParticipants", "unavailable")
    assert (await tick(app))["poll_presence"] == 0  # LiveKit could not say: asked next time
    clock.advance(timedelta(seconds=60))
    assert (await tick(app))["poll_presence"] == 1
    assert len(await presence(api)) == 2
    cancel = {"reason": "the teacher is ill"}
    ok(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/cancel", json=cancel, headers=s.admin.headers
        )
    )
    clock.advance(timedelta(seconds=60))
    assert (await tick(app))["poll_presence"] == 0  # over: nobody to ask about


async def test_heartbeats_from_the_meeting_page(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, _room = await live_room(api, app, clock, livekit)
    path = f"{SESSIONS}/{made['id']}/heartbeat"
    student = s.students[0]
    early = await api.client.post(path, json=PAGE, headers=student.headers)
    assert assert_error(early, 403, "too_early")["details"]["opens_at"] is not None
    clock.set(TOMORROW)
    assert ok(await api.client.post(path, json=PAGE, headers=student.headers)) == {
        "next_in_seconds": 30
    }
    clock.advance(timedelta(seconds=3))
    fast = await api.client.post(path, json=PAGE, headers=student.headers)
    assert_error(fast, 429, "rate_limited")
    assert fast.headers["Retry-After"] == "7"
    other_page = {"page_id": "second-tab-01"}  # another tab is another connection
    ok(await api.client.post(path, json=other_page, headers=student.headers))
    clock.advance(timedelta(seconds=30))
    ok(await api.client.post(path, json=PAGE, headers=student.headers))
    outsider = await api.client.post(path, json=PAGE, headers=s.other_teacher.headers)
    assert_error(outsider, 403, "not_a_participant")
    bad = await api.client.post(path, json={"page_id": "x"}, headers=student.headers)
    assert_error(bad, 422, "validation_error")
    rows = await presence(api)
    assert [(r.participant_id, r.source, r.kind) for r in rows] == [
        ("page:page-7f3a9c21", "heartbeat", "confirmed"),
        ("page:second-tab-01", "heartbeat", "confirmed"),
        ("page:page-7f3a9c21", "heartbeat", "confirmed"),
    ]
    assert {r.user_id for r in rows} == {student.id}


async def test_presence_is_never_changed(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, _room = await live_room(api, app, clock, livekit)
    clock.set(TOMORROW)
    path = f"{SESSIONS}/{made['id']}/heartbeat"
    ok(await api.client.post(path, json=PAGE, headers=s.students[0].headers))
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        async with api.database.transaction() as db:
            await db.execute(update(PresenceEvent).values(kind="left"))
    assert [r.kind for r in await presence(api)] == ["confirmed"]
