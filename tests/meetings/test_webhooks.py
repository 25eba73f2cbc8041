"""LiveKit webhooks in: verified over the raw body, kept once, processed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from livekit.protocol import webhook as proto_webhook
from sqlalchemy import select

from halaqa.kit.clock import FrozenClock
from halaqa.models import MeetingEvent, SessionRoom
from halaqa.worker.runner import Worker
from tests.api import Api, assert_error
from tests.catalog.school import SLUG, ok, school
from tests.conftest import START
from tests.livekit import FakeLiveKit
from tests.livekit.server import encode_webhook

ACADEMY = f"/api/v1/academies/{SLUG}"
HOOK = "/api/v1/webhooks/livekit"
TOMORROW = START + timedelta(days=1)


@pytest.fixture
def livekit() -> Iterator[FakeLiveKit]:
    with FakeLiveKit() as server:
        yield server


async def open_room(api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit) -> str:
    """An academy on LiveKit with a session whose room the worker has opened; its name."""
    s = await school(api, students=1)
    body = {
        "provider": "livekit",
        "livekit_url": livekit.url,
        "livekit_api_key": livekit.api_key,
        "livekit_api_secret": livekit.api_secret,
    }
    ok(await api.client.put(f"{ACADEMY}/meeting-provider", json=body, headers=s.admin.headers))
    session = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
    }
    ok(await api.client.post(f"{ACADEMY}/sessions", json=session, headers=s.admin.headers), 201)
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    async with api.database.transaction() as db:
        return (await db.scalars(select(SessionRoom))).one().room_name


async def tick(app: FastAPI) -> dict[str, int]:
    return await Worker(app.state.database, app.state.settings, app.state.secret).tick()


def last(livekit: FakeLiveKit, event: str) -> proto_webhook.WebhookEvent:
    return [e for e in livekit.events if e.event == event][-1]


async def post(
    api: Api,
    body: bytes,
    authorization: str | None,
    content_type: str = "application/webhook+json",
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if authorization is not None:
        headers["Authorization"] = authorization
    return await api.client.post(HOOK, content=body, headers=headers)


async def stored(api: Api) -> list[MeetingEvent]:
    async with api.database.transaction() as db:
        return list(await db.scalars(select(MeetingEvent).order_by(MeetingEvent.id)))


async def test_an_event_is_kept_once_and_matched_to_its_session(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    room = await open_room(api, app, clock, livekit)
    livekit.join(room, "user-7", name="Omar")
    body = encode_webhook(last(livekit, "participant_joined"))
    first = await post(api, body, livekit.webhook_token(body))
    assert ok(first) == {"stored": True}
    again = await post(api, body, livekit.webhook_token(body))  # LiveKit retried it
    assert ok(again) == {"stored": False}
    [event] = await stored(api)
    assert (event.event, event.room_name, event.status) == ("participant_joined", room, "received")
    assert event.body == body.decode()  # exactly as received
    await tick(app)
    [event] = await stored(api)
    assert event.status == "processed"
    assert event.session_id is not None


async def test_room_finished_marks_the_room_closed(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    room = await open_room(api, app, clock, livekit)
    livekit.finish(room)
    body = encode_webhook(last(livekit, "room_finished"))
    ok(await post(api, body, livekit.webhook_token(body)))
    await tick(app)
    async with api.database.transaction() as db:
        assert (await db.scalars(select(SessionRoom))).one().status == "closed"


async def test_unknown_rooms_are_kept_and_recorders_set_aside(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    room = await open_room(api, app, clock, livekit)
    livekit.join("someone-elses-room", "user-9")
    livekit.join(room, "EG_recorder", kind="EGRESS")
    for event in [e for e in livekit.events if e.event == "participant_joined"]:
        body = encode_webhook(event)
        ok(await post(api, body, livekit.webhook_token(body)))
    await tick(app)
    assert [(e.room_name, e.status) for e in await stored(api)] == [
        ("someone-elses-room", "unknown_room"),
        (room, "ignored"),
    ]


@pytest.mark.parametrize(
    "forge",
    ["wrong_secret", "wrong_key", "tampered", "missing", "bearer", "expired", "garbage"],
)
async def test_a_webhook_that_does_not_verify_is_refused_and_not_kept(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, forge: str
) -> None:
    room = await open_room(api, app, clock, livekit)
    livekit.join(room, "user-7")
    body = encode_webhook(last(livekit, "participant_joined"))
    token: str | None = livekit.webhook_token(body)
    if forge == "wrong_secret":
        token = FakeLiveKit(api_secret="not-the-secret-at-all-but-long-enough").webhook_token(body)
    elif forge == "wrong_key":
        token = FakeLiveKit(api_key="APIother").webhook_token(body)
    elif forge == "tampered":
        body = body.replace(b"user-7", b"user-8")
    elif forge == "missing":
        token = None
    elif forge == "bearer":
        token = f"Bearer {token}"
    elif forge == "expired":
        token = FakeLiveKit(webhook_token_skew=-timedelta(minutes=10)).webhook_token(body)
    else:
        token = "not.a.jwt"
    response = await post(api, body, token)
    assert response.status_code == 401, response.text
    assert await stored(api) == []


async def test_what_is_not_a_webhook_body(api: Api, livekit: FakeLiveKit) -> None:
    assert_error(
        await post(api, b"{}", "x", content_type="text/plain"), 415, "unsupported_media_type"
    )
    huge = b"{" + b" " * (64 * 1024) + b"}"
    assert_error(await post(api, huge, livekit.webhook_token(huge)), 413, "body_too_large")
    assert await stored(api) == []


async def test_an_aborted_connection_is_matched_like_any_other_event(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    room = await open_room(api, app, clock, livekit)
    sid = livekit.join(room, "user-7", active=False)  # never got its media connected
    livekit.leave(room, sid)
    body = encode_webhook(last(livekit, "participant_connection_aborted"))
    assert ok(await post(api, body, livekit.webhook_token(body))) == {"stored": True}
    await tick(app)
    [event] = await stored(api)
    assert (event.event, event.status) == ("participant_connection_aborted", "processed")
    assert event.session_id is not None  # attendance reads it with the session's other events
