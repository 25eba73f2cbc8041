"""How an academy meets, and joining a class with meeting links (LiveKit: test_livekit.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from halaqa.exceptions import Conflict
from halaqa.kit.clock import FrozenClock
from halaqa.kit.crypto import SecretBox
from halaqa.kit.deps import Runtime
from halaqa.meetings.service import reseal_secrets
from halaqa.models import AuditEntry, MeetingConfig, SessionRoom
from halaqa.worker.runner import Worker
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, new_group, ok, school
from tests.conftest import START

ACADEMY = f"/api/v1/academies/{SLUG}"
PROVIDER = f"{ACADEMY}/meeting-provider"
SESSIONS = f"{ACADEMY}/sessions"
TOMORROW = START + timedelta(days=1)
LIVEKIT = {
    "provider": "livekit",
    "livekit_url": "wss://livekit.example.org/",
    "livekit_api_key": "APIkey",
    "livekit_api_secret": "a-very-secret-secret",
}


async def put(api: Api, who: Person, body: dict[str, Any]) -> httpx.Response:
    return await api.client.put(PROVIDER, json=body, headers=who.headers)


async def stored(api: Api) -> MeetingConfig:
    async with api.database.transaction() as session:
        return (await session.scalars(select(MeetingConfig))).one()


async def test_meeting_links_by_default_and_livekit_when_configured(api: Api) -> None:
    s = await school(api, students=1)
    assert ok(await api.client.get(PROVIDER, headers=s.admin.headers)) == {
        "provider": "link",
        "livekit_url": None,
        "livekit_api_key": None,
        "livekit_api_secret_set": False,
        "jitsi_base_url": None,
        "recordings": None,
    }
    saved = ok(await put(api, s.admin, LIVEKIT))
    assert saved == {
        "provider": "livekit",
        "livekit_url": "wss://livekit.example.org",
        "livekit_api_key": "APIkey",
        "livekit_api_secret_set": True,
        "jitsi_base_url": None,
        "recordings": None,
    }
    row = await stored(api)
    assert row.livekit_api_secret_sealed is not None
    assert "a-very-secret-secret" not in row.livekit_api_secret_sealed
    # Keeping the key, the secret may be left out; a new key needs its secret.
    kept = {k: v for k, v in LIVEKIT.items() if k != "livekit_api_secret"}
    assert ok(await put(api, s.admin, kept))["livekit_api_secret_set"] is True
    assert (await stored(api)).livekit_api_secret_sealed == row.livekit_api_secret_sealed
    assert error_fields(await put(api, s.admin, kept | {"livekit_api_key": "other"})) == {
        "livekit_api_secret"
    }
    async with api.database.transaction() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "meetings.configured")
            )
        ).all()
    assert [e.after["livekit_api_secret"] for e in entries if e.after] == ["changed", "kept"]
    assert all("a-very-secret" not in str(e.after) for e in entries)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "livekit", "livekit_api_key": "k", "livekit_api_secret": "s"}, "livekit_url"),
        (
            {"provider": "livekit", "livekit_url": "wss://x.org", "livekit_api_secret": "s"},
            "livekit_api_key",
        ),
        ({**LIVEKIT, "livekit_url": "livekit.example.org"}, "livekit_url"),
        ({**LIVEKIT, "livekit_url": "ftp://livekit.example.org"}, "livekit_url"),
        ({**LIVEKIT, "livekit_api_secret": ""}, "livekit_api_secret"),
        ({"provider": "link", "jitsi_base_url": "wss://meet.example.org"}, "jitsi_base_url"),
        ({"provider": "zoom"}, "provider"),
    ],
)
async def test_bad_configuration_is_refused(api: Api, body: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    assert error_fields(await put(api, s.admin, body)) == {field}
    assert ok(await api.client.get(PROVIDER, headers=s.admin.headers))["provider"] == "link"


async def test_only_admins_configure(api: Api) -> None:
    s = await school(api, students=1)
    for who in (s.supervisor, s.teacher, s.students[0]):
        assert_error(await put(api, who, {"provider": "link"}), 403, "role_required")


# --- joining by link ---------------------------------------------------------------------------


async def book(api: Api, s: School, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def join(api: Api, who: Person, session_id: int) -> httpx.Response:
    return await api.client.post(f"{SESSIONS}/{session_id}/join", headers=who.headers)


async def jitsi(api: Api, s: School) -> None:
    ok(await put(api, s.admin, {"provider": "link", "jitsi_base_url": "https://meet.jit.si/"}))


async def test_the_join_window_decides_who_gets_in_when(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    await jitsi(api, s)
    made = await book(api, s)
    student, teacher = s.students[0], s.teacher
    early = assert_error(await join(api, student, made["id"]), 403, "too_early")
    assert early["details"]["opens_at"] == (TOMORROW - timedelta(minutes=5)).isoformat()
    clock.set(TOMORROW - timedelta(minutes=15))
    teacher_in = ok(await join(api, teacher, made["id"]))
    assert teacher_in["provider"] == "link"
    assert teacher_in["join_url"].startswith("https://meet.jit.si/hq-")
    assert teacher_in["token"] is None
    assert_error(await join(api, student, made["id"]), 403, "too_early")  # 5 min for students
    clock.set(TOMORROW - timedelta(minutes=5))
    student_in = ok(await join(api, student, made["id"]))
    assert student_in["join_url"] == teacher_in["join_url"]  # one room per session
    assert student_in["expires_at"].startswith((TOMORROW + timedelta(minutes=75)).isoformat()[:16])
    assert ok(await join(api, s.admin, made["id"]))["join_url"] == teacher_in["join_url"]
    assert_error(await join(api, s.students[1], made["id"]), 403, "not_a_participant")
    assert_error(await join(api, s.parent, made["id"]), 403, "not_a_participant")
    clock.set(TOMORROW + timedelta(minutes=75))
    assert_error(await join(api, student, made["id"]), 403, "ended")


async def test_parents_watch_only_when_the_academy_allows(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    await jitsi(api, s)
    made = await book(api, s)
    clock.set(TOMORROW)
    assert_error(await join(api, s.parent, made["id"]), 403, "not_a_participant")
    ok(
        await api.client.patch(
            f"{ACADEMY}/settings", json={"parents_may_observe": True}, headers=s.admin.headers
        )
    )
    assert ok(await join(api, s.parent, made["id"]))["provider"] == "link"


async def test_a_cancelled_session_is_not_joined(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    await jitsi(api, s)
    made = await book(api, s)
    ok(
        await api.client.post(
            f"{SESSIONS}/{made['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    clock.set(TOMORROW)
    assert_error(await join(api, s.students[0], made["id"]), 403, "cancelled")


async def test_the_session_or_group_link_comes_first(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    own = await book(api, s, meeting_url="https://zoom.example.com/j/123")
    group = await new_group(
        api, s.admin, s.teacher, meeting_url="https://meet.google.example/abc-defg"
    )
    ok(
        await api.client.post(
            f"{ACADEMY}/groups/{group['id']}/enrollments",
            json={"student_user_id": s.students[0].id},
            headers=s.admin.headers,
        ),
        201,
    )
    grouped = ok(
        await api.client.post(
            SESSIONS,
            json={
                "kind": "group",
                "title": "Circle",
                "group_id": group["id"],
                "starts_at": (TOMORROW + timedelta(hours=3)).isoformat(),
                "duration_minutes": 60,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    clock.set(TOMORROW)
    assert ok(await join(api, s.students[0], own["id"]))["join_url"] == (
        "https://zoom.example.com/j/123"
    )
    clock.set(TOMORROW + timedelta(hours=3))
    assert ok(await join(api, s.students[0], grouped["id"]))["join_url"] == (
        "https://meet.google.example/abc-defg"
    )


async def test_without_any_link_joining_says_what_is_missing(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await book(api, s)
    clock.set(TOMORROW)
    error = assert_error(await join(api, s.teacher, made["id"]), 503, "unavailable")
    assert "no meeting link" in error["message"]


async def test_api_keys_and_strangers(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    await jitsi(api, s)
    made = await book(api, s)
    key = ok(
        await api.client.post(
            f"{ACADEMY}/api-keys", json={"name": "k", "roles": ["admin"]}, headers=s.admin.headers
        ),
        201,
    )["key"]
    clock.set(TOMORROW)
    by_key = await api.client.post(
        f"{SESSIONS}/{made['id']}/join", headers={"Authorization": f"Bearer {key}"}
    )
    assert_error(by_key, 403, "not_a_participant")
    outsider = await api.user()
    assert_error(await join(api, outsider, made["id"]), 404, "not_found")
    assert_error(await join(api, s.teacher, 999_999), 404, "not_found")


async def test_the_worker_opens_the_room_when_the_session_is_ready(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await jitsi(api, s)
    made = await book(api, s)
    clock.set(TOMORROW - timedelta(minutes=15))
    worker = Worker(app.state.database, app.state.settings, app.state.secret)
    done = await worker.tick()
    # The room's job, and the notifications of the session's creation and of its room opening.
    assert (done["session_steps"], done["jobs"]) == (1, 4)
    async with api.database.transaction() as session:
        room = (await session.scalars(select(SessionRoom))).one()
    assert (room.session_id, room.status, room.provider) == (made["id"], "open", "link")
    assert room.join_url == f"https://meet.jit.si/{room.room_name}"


async def test_rotating_the_server_secret_reseals_stored_secrets(api: Api, app: FastAPI) -> None:
    s = await school(api, students=1)
    ok(await put(api, s.admin, LIVEKIT))
    sealed = (await stored(api)).livekit_api_secret_sealed
    old = app.state.settings.secret_key
    rotated = app.state.settings.model_copy(
        update={"secret_key": SecretStr("n" * 48), "previous_secret_keys": [old]}
    )
    async with api.database.transaction() as session:
        rt = Runtime(session, app.state.clock, rotated, rotated.secret())
        assert await reseal_secrets(rt) == (1, 0)
    resealed = (await stored(api)).livekit_api_secret_sealed
    assert resealed is not None
    assert resealed != sealed
    context = f"academy:{(await stored(api)).academy_id}:livekit"
    assert SecretBox(b"n" * 48).open(resealed, context=context) == "a-very-secret-secret"
    async with api.database.transaction() as session:
        rt = Runtime(session, app.state.clock, rotated, rotated.secret())
        assert await reseal_secrets(rt) == (0, 1)
    forgotten = rotated.model_copy(update={"previous_secret_keys": []})
    ok(await put(api, s.admin, LIVEKIT))  # sealed again under the old secret
    with pytest.raises(Conflict, match="HALAQA_PREVIOUS_SECRET_KEYS"):
        async with api.database.transaction() as session:
            await reseal_secrets(Runtime(session, app.state.clock, forgotten, b""))
