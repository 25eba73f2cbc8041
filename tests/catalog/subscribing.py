"""Calls to the packages and subscriptions API for the catalog tests, and ledger rows written
straight into the database (the balance is counted from them, whoever writes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from halaqa.models import LedgerEntry, SubscriptionCycle
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, ok

PACKAGES = f"/api/v1/academies/{SLUG}/packages"
SUBSCRIPTIONS = f"/api/v1/academies/{SLUG}/subscriptions"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"


async def new_package(api: Api, who: Person, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Hifz, 8 a month",
        "kind": "individual",
        "sessions_per_cycle": 8,
        "session_minutes": 60,
        **fields,
    }
    return ok(await api.client.post(PACKAGES, json=body, headers=who.headers), 201)


async def subscribe(api: Api, who: Person, **fields: Any) -> httpx.Response:
    return await api.client.post(SUBSCRIPTIONS, json=fields, headers=who.headers)


async def subscription(
    api: Api,
    s: School,
    package: dict[str, Any],
    *,
    student: int = 0,
    starts_on: str = "2026-03-01",
    activate: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """The student's subscription to the package (with the school's teacher, for individual
    packages), activated unless told not to."""
    body: dict[str, Any] = {
        "package_id": package["id"],
        "student_user_id": s.students[student].id,
        "starts_on": starts_on,
        **fields,
    }
    if package["kind"] == "individual":
        body.setdefault("teacher_user_id", s.teacher.id)
    made = ok(await subscribe(api, s.admin, **body), 201)
    if activate:
        made = ok(await act(api, s.admin, made["id"], "activate"))
    return made


async def act(
    api: Api, who: Person, subscription_id: int, action: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.client.post(
        f"{SUBSCRIPTIONS}/{subscription_id}/{action}", json=body or {}, headers=who.headers
    )


async def detail(api: Api, who: Person, subscription_id: int) -> dict[str, Any]:
    return ok(await api.client.get(f"{SUBSCRIPTIONS}/{subscription_id}", headers=who.headers))


async def configure(api: Api, admin: Person, **settings: Any) -> None:
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings", json=settings, headers=admin.headers
        )
    )


async def lesson(
    api: Api, s: School, starts_at: datetime, *, student: int = 0, teacher: Person | None = None
) -> httpx.Response:
    """Schedules an individual session of the school's teacher (or `teacher`) and a student."""
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": (teacher or s.teacher).id,
        "student_user_id": s.students[student].id,
        "starts_at": starts_at.isoformat(),
        "duration_minutes": 60,
    }
    return await api.client.post(SESSIONS, json=body, headers=s.admin.headers)


async def session_status(api: Api, s: School, session_id: int) -> str:
    status: str = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.admin.headers))[
        "status"
    ]
    return status


async def ledger(
    api: Api, subscription: dict[str, Any], cycle: int, session_id: int, *kinds: str
) -> None:
    """Writes the (session, student) history `kinds` (consumed, refunded, ...) against the
    subscription's cycle, which must exist already."""
    async with api.database.transaction() as db:
        found = await db.scalar(
            select(SubscriptionCycle).where(
                SubscriptionCycle.subscription_id == subscription["id"],
                SubscriptionCycle.number == cycle,
            )
        )
        assert found is not None
        for seq, kind in enumerate(kinds, start=1):
            db.add(
                LedgerEntry(
                    academy_id=found.academy_id,
                    subscription_id=subscription["id"],
                    cycle_id=found.id,
                    session_id=session_id,
                    student_user_id=subscription["student"]["user_id"],
                    seq=seq,
                    kind=kind,
                    outcome="present",
                    source="auto",
                    at=api.app.state.clock.now(),
                )
            )


async def cycle_rows(api: Api, subscription_id: int) -> int:
    async with api.database.transaction() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(SubscriptionCycle)
            .where(SubscriptionCycle.subscription_id == subscription_id)
        )
        return int(count or 0)
