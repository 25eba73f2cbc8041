"""Academy holidays over HTTP: only admins add or remove them, they cancel the schedules' sessions
on their local dates (never one-off sessions), and schedules made afterwards skip them."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.kit.clock import FrozenClock
from halaqa.models import AcademyHoliday, AuditEntry, ClassSession
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, audit, ok, school

HOLIDAYS = f"/api/v1/academies/{SLUG}/holidays"
SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"
PREVIEW = f"/api/v1/academies/{SLUG}/schedule-preview"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
MON, TUE, WED = 0, 1, 2


def weekly(s: School, *pairs: tuple[int, str], **changes: Any) -> dict[str, Any]:
    """Mondays and Wednesdays at 17:00 (Riyadh) for the teacher and students[0]."""
    return {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "slots": [
            {"weekday": weekday, "start": start}
            for weekday, start in pairs or ((MON, "17:00"), (WED, "17:00"))
        ],
        "duration_minutes": 45,
        "starts_on": "2026-03-02",
        **changes,
    }


async def create_schedule(api: Api, who: Person, body: dict[str, Any]) -> dict[str, Any]:
    return ok(await api.client.post(SCHEDULES, json=body, headers=who.headers), 201)


async def add_holiday(api: Api, who: Person, **body: Any) -> httpx.Response:
    return await api.client.post(HOLIDAYS, json={"name": "Eid", **body}, headers=who.headers)


async def holidays(api: Api, who: Person, **params: Any) -> dict[str, Any]:
    return ok(await api.client.get(HOLIDAYS, params=params, headers=who.headers))


async def by_id(api: Api) -> dict[int, ClassSession]:
    async with api.database.transaction() as session:
        return {c.id: c for c in (await session.scalars(select(ClassSession))).all()}


def local_day(session: ClassSession, zone: str) -> str:
    assert session.starts_at is not None
    return session.starts_at.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()


async def count(api: Api, model: type[Any]) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- who may ---------------------------------------------------------------------------------


async def test_only_admins_add_or_remove_holidays_and_every_member_reads_them(api: Api) -> None:
    s = await school(api, students=1)
    for person in (s.supervisor, s.teacher, s.students[0], s.parent):
        assert_error(await add_holiday(api, person, starts_on="2026-03-20"), 403, "role_required")
    assert await count(api, AcademyHoliday) == 0
    made = ok(await add_holiday(api, s.admin, starts_on="2026-03-20"), 201)
    holiday = made["holiday"]
    assert (holiday["name"], holiday["starts_on"], holiday["ends_on"]) == (
        "Eid",
        "2026-03-20",
        "2026-03-20",  # one day unless said otherwise
    )
    for person in (s.supervisor, s.teacher, s.students[0], s.parent):
        assert [h["id"] for h in (await holidays(api, person))["items"]] == [holiday["id"]]
        response = await api.client.delete(f"{HOLIDAYS}/{holiday['id']}", headers=person.headers)
        assert_error(response, 403, "role_required")
    outsider = await api.user()
    assert_error(await api.client.get(HOLIDAYS, headers=outsider.headers), 404, "not_found")
    assert await count(api, AcademyHoliday) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_on": "2026-03-20", "ends_on": "2026-03-19"}, "ends_on"),
        ({"starts_on": "2026-03-20", "ends_on": "2027-03-21"}, "ends_on"),  # over 366 days
        ({"starts_on": "2026-03-20", "name": " "}, "name"),
        ({"starts_on": "20 March"}, "starts_on"),
        ({}, "starts_on"),
        ({"starts_on": "2026-03-20", "cancel_sessions": "perhaps"}, "cancel_sessions"),
    ],
)
async def test_bad_holidays_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    await create_schedule(api, s.admin, weekly(s))
    before = (await count(api, AcademyHoliday), await count(api, AuditEntry))
    response = await add_holiday(api, s.admin, **body)
    assert error_fields(response) == {field}
    assert (await count(api, AcademyHoliday), await count(api, AuditEntry)) == before
    assert {c.status for c in (await by_id(api)).values()} == {"scheduled"}


# --- cancelling what is booked on those days ---------------------------------------------------


async def test_a_holiday_cancels_the_schedules_sessions_on_its_days(api: Api) -> None:
    s = await school(api, students=2)
    made = await create_schedule(api, s.admin, weekly(s))
    one_off = ok(
        await api.client.post(
            SESSIONS,
            json={
                "kind": "individual",
                "title": "Revision",
                "teacher_user_id": s.teacher.id,
                "student_user_id": s.students[1].id,
                "starts_at": "2026-03-17T10:00:00Z",
                "duration_minutes": 60,
            },
            headers=s.admin.headers,
        ),
        201,
    )
    response = await add_holiday(api, s.admin, starts_on="2026-03-16", ends_on="2026-03-18")
    created = ok(response, 201)
    sessions = await by_id(api)
    cancelled = {
        i: local_day(sessions[i], "Asia/Riyadh")
        for i in made["session_ids"]
        if sessions[i].status == "cancelled"
    }
    assert sorted(cancelled.values()) == ["2026-03-16", "2026-03-18"]
    assert sorted(created["cancelled_session_ids"]) == sorted(cancelled)
    assert {sessions[i].cancellation_reason for i in cancelled} == {"holiday: Eid"}
    # A session booked on its own, for that day on purpose, stays.
    assert sessions[one_off["id"]].status == "scheduled"
    assert sum(sessions[i].status == "scheduled" for i in made["session_ids"]) == 14
    [entry] = await audit(api, s.admin, "holiday.")
    assert entry["action"] == "holiday.created"
    assert sorted(entry["after"]["cancelled_sessions"]) == sorted(cancelled)
    # The time is free again: the student can be booked then.
    rebooked = await api.client.post(
        SESSIONS,
        json={
            "kind": "individual",
            "title": "Catch-up",
            "teacher_user_id": s.other_teacher.id,
            "student_user_id": s.students[0].id,
            "starts_at": "2026-03-16T14:00:00Z",
            "duration_minutes": 45,
        },
        headers=s.admin.headers,
    )
    assert rebooked.status_code == 201, rebooked.text


@pytest.mark.parametrize(
    ("zone", "start", "holiday", "cancelled"),
    [
        # 21:00 on Monday 16 March in New York is 01:00 UTC on Tuesday.
        ("America/New_York", "21:00", "2026-03-16", True),
        ("America/New_York", "21:00", "2026-03-17", False),
        # 01:00 on Monday 16 March in Riyadh is 22:00 UTC on Sunday.
        ("Asia/Riyadh", "01:00", "2026-03-16", True),
        ("Asia/Riyadh", "01:00", "2026-03-15", False),
    ],
)
async def test_holidays_are_local_dates_of_the_schedules_zone(
    api: Api, zone: str, start: str, holiday: str, cancelled: bool
) -> None:
    s = await school(api, students=1)
    made = await create_schedule(api, s.admin, weekly(s, (MON, start), time_zone=zone))
    created = ok(await add_holiday(api, s.admin, starts_on=holiday), 201)
    sessions = await by_id(api)
    on_the_16th = [i for i in made["session_ids"] if local_day(sessions[i], zone) == "2026-03-16"]
    assert len(on_the_16th) == 1
    assert created["cancelled_session_ids"] == (on_the_16th if cancelled else [])
    assert sum(sessions[i].status == "cancelled" for i in made["session_ids"]) == int(cancelled)


async def test_sessions_already_under_way_are_left_alone(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await create_schedule(api, s.admin, weekly(s))
    first, second = made["session_ids"][:2]
    clock.set(datetime(2026, 3, 2, 14, 5, tzinfo=UTC))  # five minutes into Monday's class
    created = ok(await add_holiday(api, s.admin, starts_on="2026-03-02", ends_on="2026-03-04"), 201)
    assert created["cancelled_session_ids"] == [second]
    assert (await by_id(api))[first].status == "scheduled"


async def test_holiday_without_cancelling_still_shapes_new_schedules(api: Api) -> None:
    s = await school(api, students=1)
    made = await create_schedule(api, s.admin, weekly(s))
    created = ok(
        await add_holiday(
            api, s.admin, starts_on="2026-03-16", ends_on="2026-03-18", cancel_sessions=False
        ),
        201,
    )
    assert created["cancelled_session_ids"] == []
    assert {(await by_id(api))[i].status for i in made["session_ids"]} == {"scheduled"}
    body = weekly(s, (TUE, "17:00"))
    preview = ok(await api.client.post(PREVIEW, json=body, headers=s.admin.headers))
    assert {"local_date": "2026-03-17", "local_start": "17:00:00", "reason": "holiday"} in (
        preview["skipped"]
    )


# --- schedules made afterwards ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "booked_days"),
    [
        (
            {"until": "2026-03-25"},
            ["2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11", "2026-03-23", "2026-03-25"],
        ),
        # Skipped days do not use up the count.
        (
            {"count": 6},
            ["2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11", "2026-03-23", "2026-03-25"],
        ),
    ],
)
async def test_schedules_made_afterwards_skip_the_holiday(
    api: Api, changes: dict[str, Any], booked_days: list[str]
) -> None:
    s = await school(api, students=1)
    ok(await add_holiday(api, s.admin, starts_on="2026-03-16", ends_on="2026-03-20"), 201)
    body = weekly(s, **changes)
    preview = ok(await api.client.post(PREVIEW, json=body, headers=s.admin.headers))
    assert [(k["local_date"], k["reason"]) for k in preview["skipped"]] == [
        ("2026-03-16", "holiday"),
        ("2026-03-18", "holiday"),
    ]
    assert [o["local_date"] for o in preview["occurrences"]] == booked_days
    made = await create_schedule(api, s.admin, body)
    sessions = await by_id(api)
    assert [local_day(sessions[i], "Asia/Riyadh") for i in made["session_ids"]] == booked_days
    assert [k["reason"] for k in made["skipped"]] == ["holiday", "holiday"]


# --- listing and removing ---------------------------------------------------------------------


async def test_list_holidays_between_dates(api: Api) -> None:
    s = await school(api, students=1)
    spring = ok(
        await add_holiday(
            api, s.admin, name="Eid al-Fitr", starts_on="2026-03-19", ends_on="2026-03-22"
        ),
        201,
    )
    national = ok(await add_holiday(api, s.admin, name="Founding Day", starts_on="2026-04-10"), 201)
    summer = ok(
        await add_holiday(
            api, s.admin, name="Eid al-Adha", starts_on="2026-05-26", ends_on="2026-05-29"
        ),
        201,
    )
    ids = {
        "spring": spring["holiday"]["id"],
        "national": national["holiday"]["id"],
        "summer": summer["holiday"]["id"],
    }
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({}, ["spring", "national", "summer"]),
        ({"from": "2026-03-22"}, ["spring", "national", "summer"]),  # overlaps its last day
        ({"from": "2026-03-23"}, ["national", "summer"]),
        ({"to": "2026-04-10"}, ["spring", "national"]),
        ({"from": "2026-03-23", "to": "2026-05-26"}, ["national", "summer"]),
        ({"from": "2026-04-11", "to": "2026-05-25"}, []),
    ]
    for params, names in cases:
        listed = await holidays(api, s.students[0], **params)
        assert [h["id"] for h in listed["items"]] == [ids[n] for n in names], params
        assert listed["total"] == len(names)
    response = await api.client.get(HOLIDAYS, params={"from": "soon"}, headers=s.admin.headers)
    assert error_fields(response) == {"from"}


async def test_removing_a_holiday(api: Api) -> None:
    s = await school(api, students=1)
    first = await create_schedule(api, s.admin, weekly(s, until="2026-03-31"))
    made = ok(await add_holiday(api, s.admin, starts_on="2026-03-16"), 201)
    [cancelled] = made["cancelled_session_ids"]
    holiday_id = made["holiday"]["id"]
    response = await api.client.delete(f"{HOLIDAYS}/{holiday_id}", headers=s.admin.headers)
    assert response.status_code == 204, response.text
    assert (await holidays(api, s.admin))["items"] == []
    # What the holiday cancelled stays cancelled; new schedules no longer skip the day.
    assert (await by_id(api))[cancelled].status == "cancelled"
    preview = ok(
        await api.client.post(
            PREVIEW,
            json=weekly(s, teacher_user_id=s.other_teacher.id, student_user_id=s.students[0].id),
            headers=s.admin.headers,
        )
    )
    assert "holiday" not in {k["reason"] for k in preview["skipped"]}
    clashing = {o["local_date"] for o in preview["occurrences"] if o["conflicts"]}
    assert "2026-03-16" not in clashing  # the student is free on the 16th again
    assert len(clashing) == len(first["session_ids"]) - 1
    again = await api.client.delete(f"{HOLIDAYS}/{holiday_id}", headers=s.admin.headers)
    assert_error(again, 404, "not_found")
    [entry] = await audit(api, s.admin, "holiday.deleted")
    assert entry["entity_id"] == str(holiday_id)


async def test_another_academys_holiday_changes_nothing_here(api: Api) -> None:
    s = await school(api, students=1)
    made = await create_schedule(api, s.admin, weekly(s))
    other_admin = await api.academy("al-huda")
    other = "/api/v1/academies/al-huda/holidays"
    response = await api.client.post(
        other, json={"name": "Eid", "starts_on": "2026-03-16"}, headers=other_admin.headers
    )
    created = ok(response, 201)
    assert created["cancelled_session_ids"] == []
    assert {(await by_id(api))[i].status for i in made["session_ids"]} == {"scheduled"}
    assert (await holidays(api, s.admin))["items"] == []
    response = await api.client.delete(
        f"{HOLIDAYS}/{created['holiday']['id']}", headers=s.admin.headers
    )
    assert_error(response, 404, "not_found")
