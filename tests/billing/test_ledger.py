"""The session ledger, the whole story: each session charged once to the right subscription,
refunded when its outcome changes, never twice, never past the cycle's quota."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from halaqa.billing.service import apply_session
from halaqa.kit.clock import FrozenClock
from halaqa.models import LedgerEntry
from tests.api import Api, Person
from tests.attendance.test_finalisation import AFTER, beat, finalised, session
from tests.catalog.school import School, ok, school
from tests.meetings.test_livekit import ACADEMY, SESSIONS, TOMORROW, tick

DAY = timedelta(days=1)


async def subscribed(api: Api, s: School, quota: int = 8) -> dict[str, Any]:
    """The first student subscribed to lessons with the teacher: `quota` a month, from today."""
    package = ok(
        await api.client.post(
            f"{ACADEMY}/packages",
            json={
                "name": f"{quota} a month",
                "kind": "individual",
                "sessions_per_cycle": quota,
                "cycle_length": 1,
                "cycle_unit": "month",
                "session_minutes": 60,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    made = ok(
        await api.client.post(
            f"{ACADEMY}/subscriptions",
            json={
                "package_id": package["id"],
                "student_user_id": s.students[0].id,
                "teacher_user_id": s.teacher.id,
                "starts_on": (TOMORROW - 10 * DAY).date().isoformat(),
            },
            headers=s.admin.headers,
        ),
        201,
    )
    path = f"{ACADEMY}/subscriptions/{made['id']}"
    return ok(await api.client.post(f"{path}/activate", json={}, headers=s.admin.headers))


async def lesson(api: Api, s: School, days: int = 0) -> str:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": (TOMORROW + days * DAY).isoformat(),
        "duration_minutes": 60,
    }
    made = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    return f"{SESSIONS}/{made['id']}"


async def held(api: Api, app: FastAPI, clock: FrozenClock, s: School, days: int = 0) -> str:
    """A lesson both came to, finalised, its ledger job run."""
    path = await lesson(api, s, days)
    await attend(api, app, clock, s, path, days)
    return path


async def attend(
    api: Api, app: FastAPI, clock: FrozenClock, s: School, path: str, days: int
) -> None:
    """The teacher and the student in the lesson `days` after TOMORROW, start to end; then
    the worker finalises it and runs its ledger job."""
    for minute in (0, 30, 60):
        clock.set(TOMORROW + days * DAY + timedelta(minutes=minute))
        for who in (s.teacher, s.students[0]):
            body = {"page_id": f"page-{who.id:08d}"}
            ok(await api.client.post(f"{path}/heartbeat", json=body, headers=who.headers))
    clock.set(AFTER + days * DAY)
    for _ in range(4):
        await tick(app)


async def ledger(api: Api, path: str, who: Person) -> list[tuple[str, str, str]]:
    response = await api.client.get(f"{path}/ledger", headers=who.headers)
    assert response.status_code == 200, response.text
    return [(e["kind"], e["outcome"], e["source"]) for e in response.json()]


async def test_a_held_lesson_is_charged_once(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    sub = await subscribed(api, s)
    path = await held(api, app, clock, s)
    assert await ledger(api, path, s.admin) == [("consumed", "present", "auto")]
    for _ in range(3):  # the job again, and the worker again: nothing more
        await tick(app)
    assert await ledger(api, path, s.students[0]) == [("consumed", "present", "auto")]
    mine = f"{ACADEMY}/subscriptions/{sub['id']}/ledger"
    page = ok(await api.client.get(mine, headers=s.parent.headers))
    assert (page["total"], page["items"][0]["source"]) == (1, "auto")
    stranger = await api.client.get(f"{path}/ledger", headers=s.other_teacher.headers)
    assert stranger.status_code == 404


async def test_cancelled_after_the_fact_is_refunded(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await subscribed(api, s)
    path = await held(api, app, clock, s)
    cancel = {"reason": "recorded by mistake"}
    ok(await api.client.post(f"{path}/cancel", json=cancel, headers=s.admin.headers))
    await tick(app)
    assert await ledger(api, path, s.admin) == [
        ("consumed", "present", "auto"),
        ("refunded", "cancelled", "admin"),
    ]


async def test_reverted_then_completed_again_is_still_one(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await subscribed(api, s)
    path = await held(api, app, clock, s)
    ok(await api.client.post(f"{path}/reopen", json={}, headers=s.admin.headers))
    ok(await api.client.post(f"{path}/complete", json={}, headers=s.teacher.headers))
    for _ in range(3):
        await tick(app)
    kinds = [kind for kind, _, _ in await ledger(api, path, s.admin)]
    assert kinds.count("consumed") - kinds.count("refunded") == 1
    assert (await session(api, path, s.admin))["status"] == "completed"


async def test_the_teachers_absence_charges_nobody_and_its_makeup_once(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await subscribed(api, s)
    missed = await lesson(api, s)
    await beat(api, clock, missed, s.students[0], 0, 60)
    await finalised(app, clock)
    await tick(app)
    assert (await session(api, missed, s.admin))["cancellation_reason"] == "teacher_absent"
    assert await ledger(api, missed, s.admin) == []
    booked = await api.client.post(
        f"{missed}/makeup",
        json={"starts_at": (TOMORROW + 2 * DAY).isoformat()},
        headers=s.admin.headers,
    )
    makeup = f"{SESSIONS}/{ok(booked, 201)['id']}"
    await attend(api, app, clock, s, makeup, days=2)
    assert await ledger(api, makeup, s.admin) == [("consumed", "present", "auto")]
    assert await ledger(api, missed, s.admin) == []  # the two together: one session charged


async def test_an_admins_word_beats_a_later_automatic_result(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await subscribed(api, s)
    path = await held(api, app, clock, s)
    body = {"status": "excused", "note": "family emergency, told us before"}
    student = s.students[0].id
    ok(await api.client.put(f"{path}/attendance/{student}", json=body, headers=s.admin.headers))
    await tick(app)
    assert await ledger(api, path, s.admin) == [
        ("consumed", "present", "auto"),
        ("refunded", "excused", "admin"),
    ]
    await apply_again(api, path)  # a later automatic run changes nothing
    assert len(await ledger(api, path, s.admin)) == 2


async def apply_again(api: Api, path: str) -> None:
    session_id = int(path.rsplit("/", 1)[1])
    async with api.database.transaction() as db:
        academy_id = (await db.scalar(select(LedgerEntry.academy_id).limit(1))) or 0
        await apply_session(api.runtime(db), academy_id, session_id)


async def test_the_cycle_quota_is_never_exceeded(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await subscribed(api, s, quota=1)
    first = await held(api, app, clock, s)
    second = await held(api, app, clock, s, days=2)
    assert await ledger(api, first, s.admin) == [("consumed", "present", "auto")]
    assert await ledger(api, second, s.admin) == []  # held for an admin, not charged
    response = await api.client.get(f"{ACADEMY}/ledger-flags", headers=s.admin.headers)
    assert response.status_code == 200, response.text
    flags: list[dict[str, Any]] = response.json()
    assert [(f["reason"], f["status"]) for f in flags] == [("quota_exhausted", "open")]
    # The first is refunded (cancelled after the fact): the held one now goes through.
    ok(
        await api.client.post(
            f"{first}/cancel", json={"reason": "mistake"}, headers=s.admin.headers
        )
    )
    await tick(app)
    flag_id = flags[0]["id"]
    retried = ok(
        await api.client.post(f"{ACADEMY}/ledger-flags/{flag_id}/retry", headers=s.admin.headers)
    )
    assert retried["status"] == "resolved"
    assert await ledger(api, second, s.admin) == [("consumed", "present", "auto")]


async def test_fifty_concurrent_finalisations_charge_once(
    api: Api, app: FastAPI, clock: FrozenClock, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    s = await school(api, students=1)
    await subscribed(api, s)
    path = await held(api, app, clock, s)
    session_id = int(path.rsplit("/", 1)[1])
    async with api.database.transaction() as db:
        academy_id = await db.scalar(select(LedgerEntry.academy_id).limit(1))
    assert academy_id is not None

    async def race() -> None:
        async def once() -> None:
            async with api.database.transaction() as db:
                await apply_session(api.runtime(db), academy_id, session_id)

        await asyncio.gather(*(once() for _ in range(50)))

    student = s.students[0].id
    for status in ("excused", "present"):  # a refund due, then a charge due: 50 at once
        body = {"status": status, "note": "corrected"}
        ok(await api.client.put(f"{path}/attendance/{student}", json=body, headers=s.admin.headers))
        await race()
    kinds = [kind for kind, _, _ in await ledger(api, path, s.admin)]
    assert kinds == ["consumed", "refunded", "consumed"]
