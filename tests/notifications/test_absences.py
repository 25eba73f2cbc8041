"""Told once a class is on record: absences to parents, a run of consecutive absences reaching
the academy's alert to parents and supervisors, a package running low or out to the family."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api, Person
from tests.catalog.school import SLUG, School, ok, school
from tests.catalog.subscribing import new_package, subscription
from tests.notifications.test_notifications import bell, tick

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"


async def held_class(
    api: Api, app: FastAPI, clock: FrozenClock, s: School, starts: datetime, *, student_came: bool
) -> int:
    """A class of an hour at `starts` the teacher holds (their page beating throughout), with or
    without the student, run by the worker until its attendance is on record."""
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": starts.isoformat(),
        "duration_minutes": 60,
    }
    created = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    path = f"{SESSIONS}/{created['id']}"
    people: list[Person] = [s.teacher, *([s.students[0]] if student_came else [])]
    for minute in (0, 30, 60):
        clock.set(starts + timedelta(minutes=minute))
        for person in people:
            beat = {"page_id": f"page-{person.id:08d}"}
            ok(await api.client.post(f"{path}/heartbeat", json=beat, headers=person.headers))
    clock.set(starts + timedelta(minutes=66))
    for _ in range(3):
        await tick(app)
    session_id: int = created["id"]
    return session_id


def of_kind(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [n for n in items if n["kind"] == kind]


async def test_parents_hear_of_each_absence_and_of_a_run_reaching_the_alert(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=s.parent.headers)
    first_day = clock.now() + timedelta(days=1)
    await held_class(api, app, clock, s, first_day, student_came=True)
    assert of_kind((await bell(api, s.parent))["items"], "absence_recorded") == []
    for day in (2, 3):
        await held_class(api, app, clock, s, first_day + timedelta(days=day), student_came=False)
    parent_items = (await bell(api, s.parent))["items"]
    assert len(of_kind(parent_items, "absence_recorded")) == 2
    assert of_kind(parent_items, "consecutive_absences") == []
    third = await held_class(api, app, clock, s, first_day + timedelta(days=4), student_came=False)
    parent_items = (await bell(api, s.parent))["items"]
    (alert,) = of_kind(parent_items, "consecutive_absences")
    assert alert["subject"] == "Student 0 missed 3 classes in a row"
    assert alert["payload"]["session_id"] == third
    assert len(of_kind((await bell(api, s.supervisor))["items"], "consecutive_absences")) == 1
    assert of_kind((await bell(api, s.teacher))["items"], "consecutive_absences") == []
    # A fourth absence lengthens the same run: no second alert.
    await held_class(api, app, clock, s, first_day + timedelta(days=5), student_came=False)
    parent_items = (await bell(api, s.parent))["items"]
    assert len(of_kind(parent_items, "absence_recorded")) == 4
    assert len(of_kind(parent_items, "consecutive_absences")) == 1


async def test_the_family_hears_when_the_package_runs_low_and_out(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    package = await new_package(api, s.admin, sessions_per_cycle=3, cycle_unit="month")
    await subscription(api, s, package)
    first_day = clock.now() + timedelta(days=1)
    await held_class(api, app, clock, s, first_day, student_came=True)
    assert of_kind((await bell(api, s.students[0]))["items"], "balance_low") == []
    await held_class(api, app, clock, s, first_day + timedelta(days=1), student_came=True)
    for person in (s.students[0], s.parent):
        (low,) = of_kind((await bell(api, person))["items"], "balance_low")
        assert low["payload"]["left"] == 1
        assert low["link"] == f"http://127.0.0.1:8000/a/{SLUG}/learn/balance"
    # The student missing the class is charged too: that was the last one.
    await held_class(api, app, clock, s, first_day + timedelta(days=2), student_came=False)
    items = (await bell(api, s.students[0]))["items"]
    (out,) = of_kind(items, "balance_exhausted")
    assert out["payload"]["left"] == 0
    assert len(of_kind(items, "balance_low")) == 1
    assert of_kind((await bell(api, s.teacher))["items"], "balance_low") == []
