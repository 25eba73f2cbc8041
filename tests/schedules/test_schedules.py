"""Recurring schedules over HTTP: local time across DST, all-or-nothing booking with every clash
reported, count/until/horizon/blocked days/monthly target, bad input, who may create and see
them, and "this occurrence" / "this and following" changes and cancellations."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.kit.clock import FrozenClock
from halaqa.models import AuditEntry, ClassSession, Schedule, SessionParticipant
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import (
    SLUG,
    School,
    audit,
    enrolled,
    new_group,
    ok,
    school,
    set_group_status,
)

SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"
PREVIEW = f"/api/v1/academies/{SLUG}/schedule-preview"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
SETTINGS = f"/api/v1/academies/{SLUG}/settings"
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
# The clock starts on Sunday 1 March 2026 (12:00 in Riyadh); the default horizon is 56 days.
FIRST_MONDAY = "2026-03-02"
HORIZON_END = "2026-04-26"


def slots(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"weekday": weekday, "start": start} for weekday, start in pairs]


def weekly(s: School, *pairs: tuple[int, str], **changes: Any) -> dict[str, Any]:
    """An individual schedule (teacher, students[0]) on Mondays and Wednesdays at 17:00."""
    return {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "slots": slots(*(pairs or ((MON, "17:00"), (WED, "17:00")))),
        "duration_minutes": 45,
        "starts_on": FIRST_MONDAY,
        **changes,
    }


async def post(api: Api, who: Person, body: dict[str, Any], url: str = SCHEDULES) -> httpx.Response:
    return await api.client.post(url, json=body, headers=who.headers)


async def create(api: Api, who: Person, body: dict[str, Any]) -> dict[str, Any]:
    return ok(await post(api, who, body), 201)


async def configure(api: Api, s: School, **values: Any) -> None:
    ok(await api.client.patch(SETTINGS, json=values, headers=s.admin.headers))


async def one_off(
    api: Api, s: School, teacher: Person, student: Person, starts_at: str, minutes: int = 60
) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "One-off",
        "teacher_user_id": teacher.id,
        "student_user_id": student.id,
        "starts_at": starts_at,
        "duration_minutes": minutes,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def count(api: Api, model: type[Any]) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def written(api: Api) -> tuple[int, int, int, int]:
    """Sessions, participants, schedules and audit entries: a refused request adds none."""
    return (
        await count(api, ClassSession),
        await count(api, SessionParticipant),
        await count(api, Schedule),
        await count(api, AuditEntry),
    )


async def sessions_of(api: Api, schedule_id: int) -> list[ClassSession]:
    async with api.database.transaction() as session:
        result = await session.scalars(
            select(ClassSession)
            .where(ClassSession.schedule_id == schedule_id)
            .order_by(ClassSession.starts_at)
        )
        return list(result.all())


async def people_of(api: Api, session_id: int) -> dict[int, str]:
    async with api.database.transaction() as session:
        result = await session.scalars(
            select(SessionParticipant).where(SessionParticipant.session_id == session_id)
        )
        return {p.user_id: p.role for p in result}


def local(instant: datetime | None, zone: str) -> datetime:
    assert instant is not None
    return instant.astimezone(zoneinfo.ZoneInfo(zone))


def days(sessions: list[ClassSession], zone: str, status: str | None = None) -> list[str]:
    return [
        local(c.starts_at, zone).date().isoformat()
        for c in sessions
        if status is None or c.status == status
    ]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def get_schedule(api: Api, who: Person, schedule_id: int) -> httpx.Response:
    return await api.client.get(f"{SCHEDULES}/{schedule_id}", headers=who.headers)


async def change(api: Api, who: Person, schedule_id: int, **body: Any) -> httpx.Response:
    return await api.client.post(
        f"{SCHEDULES}/{schedule_id}/change",
        json={"reason": "new timetable", **body},
        headers=who.headers,
    )


async def cancel(api: Api, who: Person, schedule_id: int, **body: Any) -> httpx.Response:
    return await api.client.post(
        f"{SCHEDULES}/{schedule_id}/cancel",
        json={"reason": "term ends", **body},
        headers=who.headers,
    )


# --- local time across DST -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # (local Friday, UTC start of 17:00 that day) just before and just after a change.
        pytest.param(
            "America/New_York",
            ("2026-03-06", "22:00"),  # EST, UTC-5
            ("2026-03-13", "21:00"),  # EDT from 8 March, UTC-4
            id="new-york",
        ),
        pytest.param(
            "Europe/London",
            ("2026-03-27", "17:00"),  # GMT
            ("2026-04-03", "16:00"),  # BST from 29 March
            id="london",
        ),
        pytest.param(
            "Africa/Cairo",
            ("2026-04-17", "15:00"),  # EET, UTC+2
            ("2026-04-24", "14:00"),  # EEST from 24 April, UTC+3
            id="cairo",
        ),
        pytest.param(
            "Asia/Riyadh",
            ("2026-03-06", "14:00"),  # UTC+3 all year
            ("2026-04-24", "14:00"),
            id="riyadh-no-dst",
        ),
    ],
)
async def test_a_17_00_class_stays_17_00_across_dst(
    api: Api, zone: str, before: tuple[str, str], after: tuple[str, str]
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, (FRI, "17:00"), time_zone=zone))
    assert made["schedule"]["time_zone"] == zone
    booked = await sessions_of(api, made["schedule"]["id"])
    # Every Friday from 6 March to 24 April, each at 17:00 on the local clock.
    assert days(booked, zone) == [
        (date(2026, 3, 6) + timedelta(weeks=n)).isoformat() for n in range(8)
    ]
    assert {local(c.starts_at, zone).strftime("%H:%M") for c in booked} == {"17:00"}
    utc_starts = {
        c.starts_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for c in booked if c.starts_at
    }
    assert f"{before[0]} {before[1]}" in utc_starts
    assert f"{after[0]} {after[1]}" in utc_starts
    for c in booked:
        assert c.time_zone == zone
        assert c.starts_at is not None
        assert c.ends_at == c.starts_at + timedelta(minutes=45)


async def test_a_local_time_that_does_not_exist_is_skipped_and_said(api: Api) -> None:
    s = await school(api, students=1)
    body = weekly(s, (SUN, "02:30"), time_zone="America/New_York")
    preview = ok(await post(api, s.admin, body, PREVIEW))
    assert {
        "local_date": "2026-03-08",
        "local_start": "02:30:00",
        "reason": "nonexistent_time",
    } in (preview["skipped"])
    starts = [o["starts_at"] for o in preview["occurrences"]]
    assert "2026-03-08" not in [o["local_date"] for o in preview["occurrences"]]
    assert utc(starts[0]) == datetime(2026, 3, 15, 6, 30, tzinfo=UTC)  # EDT, UTC-4
    made = await create(api, s.admin, body)
    assert len(made["session_ids"]) == len(preview["occurrences"]) == 7
    assert [k["reason"] for k in made["skipped"]] == ["nonexistent_time"]


async def test_the_zone_defaults_to_the_groups_then_the_academys(api: Api) -> None:
    s = await school(api, students=2)
    group = await new_group(api, s.admin, s.teacher, "circle", time_zone="Africa/Cairo")
    for student in s.students:
        await enrolled(api, s.admin, group["id"], student)
    group_body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group["id"],
        "slots": slots((TUE, "17:00")),
        "duration_minutes": 60,
        "starts_on": FIRST_MONDAY,
    }
    in_group_zone = await create(api, s.admin, group_body)
    assert in_group_zone["schedule"]["time_zone"] == "Africa/Cairo"
    # The group's teacher by default, and every enrolled student.
    assert in_group_zone["schedule"]["teacher_user_id"] == s.teacher.id
    first = in_group_zone["session_ids"][0]
    assert await people_of(api, first) == {
        s.teacher.id: "teacher",
        s.students[0].id: "student",
        s.students[1].id: "student",
    }
    [opening] = (await sessions_of(api, in_group_zone["schedule"]["id"]))[:1]
    assert opening.starts_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 17:00 in Cairo
    explicit = await create(
        api, s.admin, group_body | {"slots": slots((THU, "17:00")), "time_zone": "Europe/London"}
    )
    assert explicit["schedule"]["time_zone"] == "Europe/London"
    academy_zone = await create(
        api, s.admin, weekly(s, (SAT, "17:00"), teacher_user_id=s.other_teacher.id)
    )
    assert academy_zone["schedule"]["time_zone"] == "Asia/Riyadh"
    [saturday] = (await sessions_of(api, academy_zone["schedule"]["id"]))[:1]
    assert saturday.starts_at == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)


# --- booking up to the horizon --------------------------------------------------------------


async def test_preview_writes_nothing_and_matches_what_is_booked(api: Api) -> None:
    s = await school(api, students=1)
    before = await written(api)
    preview = ok(await post(api, s.admin, weekly(s), PREVIEW))
    assert await written(api) == before
    assert preview["through"] == HORIZON_END
    assert preview["conflicts"] == 0
    assert [o["index"] for o in preview["occurrences"]] == list(range(16))
    first = preview["occurrences"][0]
    assert (first["local_date"], first["local_start"]) == ("2026-03-02", "17:00:00")
    assert utc(first["starts_at"]) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert utc(first["ends_at"]) == datetime(2026, 3, 2, 14, 45, tzinfo=UTC)
    made = await create(api, s.admin, weekly(s))
    booked = await sessions_of(api, made["schedule"]["id"])
    assert [c.id for c in booked] == made["session_ids"]
    assert [c.starts_at for c in booked] == [utc(o["starts_at"]) for o in preview["occurrences"]]
    assert {c.status for c in booked} == {"scheduled"}
    assert [c.code for c in booked][:2] == ["IN-000001", "IN-000002"]
    schedule = made["schedule"]
    assert (schedule["status"], schedule["materialised_through"]) == ("active", HORIZON_END)
    assert schedule["slots"] == [
        {"weekday": MON, "start": "17:00:00"},
        {"weekday": WED, "start": "17:00:00"},
    ]
    [entry] = await audit(api, s.admin, "schedule.")
    assert entry["action"] == "schedule.created"
    assert entry["after"]["sessions"] == made["session_ids"]


@pytest.mark.parametrize(
    ("changes", "expected_days", "status"),
    [
        pytest.param({}, 16, "active", id="open-ended"),
        pytest.param({"count": 5}, 5, "ended", id="count-within-horizon"),
        pytest.param({"count": 30}, 16, "active", id="count-beyond-horizon"),
        pytest.param({"until": "2026-03-18"}, 6, "ended", id="until-within-horizon"),
        pytest.param({"until": "2026-12-31"}, 16, "active", id="until-beyond-horizon"),
        pytest.param({"until": "2026-03-18", "count": 3}, 3, "ended", id="count-first"),
        pytest.param({"until": "2026-03-04", "count": 9}, 2, "ended", id="until-first"),
    ],
)
async def test_count_and_until_end_the_series(
    api: Api, changes: dict[str, Any], expected_days: int, status: str
) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, **changes))
    booked = await sessions_of(api, made["schedule"]["id"])
    every = [(date(2026, 3, 2) + timedelta(weeks=n // 2, days=2 * (n % 2))) for n in range(16)]
    assert days(booked, "Asia/Riyadh") == [d.isoformat() for d in every[:expected_days]]
    assert made["schedule"]["status"] == status


async def test_the_horizon_is_an_academy_setting(api: Api) -> None:
    s = await school(api, students=1)
    await configure(api, s, schedule_horizon_days=14)
    made = await create(api, s.admin, weekly(s))
    assert made["schedule"]["materialised_through"] == "2026-03-15"
    booked = await sessions_of(api, made["schedule"]["id"])
    assert days(booked, "Asia/Riyadh") == ["2026-03-02", "2026-03-04", "2026-03-09", "2026-03-11"]


async def test_blocked_weekdays_are_skipped_and_do_not_count(api: Api) -> None:
    s = await school(api, students=1)
    await configure(api, s, blocked_weekdays=[WED])
    made = await create(api, s.admin, weekly(s, count=3))
    booked = await sessions_of(api, made["schedule"]["id"])
    assert days(booked, "Asia/Riyadh") == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert [(k["local_date"], k["reason"]) for k in made["skipped"]] == [
        ("2026-03-04", "blocked_day"),
        ("2026-03-11", "blocked_day"),
    ]
    assert made["schedule"]["status"] == "ended"


async def test_the_monthly_target_caps_each_local_month(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, monthly_target=5))
    booked = days(await sessions_of(api, made["schedule"]["id"]), "Asia/Riyadh")
    assert booked == [
        "2026-03-02",
        "2026-03-04",
        "2026-03-09",
        "2026-03-11",
        "2026-03-16",
        "2026-04-01",
        "2026-04-06",
        "2026-04-08",
        "2026-04-13",
        "2026-04-15",
    ]
    capped = [k["local_date"] for k in made["skipped"] if k["reason"] == "monthly_target"]
    assert capped == [
        "2026-03-18",
        "2026-03-23",
        "2026-03-25",
        "2026-03-30",
        "2026-04-20",
        "2026-04-22",
    ]
    assert made["schedule"]["monthly_target"] == 5


async def test_todays_slots_that_have_passed_are_skipped(api: Api) -> None:
    s = await school(api, students=1)
    # 10:00 in Riyadh is 07:00 UTC, before the clock's 09:00; 15:00 is still ahead.
    made = await create(
        api,
        s.admin,
        weekly(s, (SUN, "10:00"), (SUN, "15:00"), starts_on="2026-03-01", until="2026-03-01"),
    )
    booked = await sessions_of(api, made["schedule"]["id"])
    assert [c.starts_at for c in booked] == [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    assert made["skipped"] == [
        {"local_date": "2026-03-01", "local_start": "10:00:00", "reason": "past"}
    ]


# --- conflicts: all reported, nothing written ------------------------------------------------


@pytest.mark.parametrize(
    ("pause", "clashing_days"),
    [
        (0, ["2026-03-04", "2026-03-16", "2026-04-01"]),
        # With a 15-minute break, a class ending at 14:45 UTC also leaves no room.
        (15, ["2026-03-04", "2026-03-09", "2026-03-16", "2026-04-01"]),
    ],
)
async def test_a_schedule_reports_every_clash_and_writes_nothing(
    api: Api, pause: int, clashing_days: list[str]
) -> None:
    s = await school(api, students=2)
    await configure(api, s, session_break_minutes=pause)
    teacher_busy = await one_off(api, s, s.teacher, s.students[1], "2026-03-04T14:30:00Z")
    student_busy = await one_off(api, s, s.other_teacher, s.students[0], "2026-03-16T13:30:00Z")
    both_busy = await one_off(api, s, s.teacher, s.students[0], "2026-04-01T14:00:00Z")
    # Ends at 14:00 UTC, when the 17:00 Riyadh class starts: fine without a break.
    await one_off(api, s, s.teacher, s.students[1], "2026-03-09T13:00:00Z")
    before = await written(api)
    response = await post(api, s.admin, weekly(s))
    error = assert_error(response, 409, "schedule_conflict")
    assert await written(api) == before
    assert [d["local_date"] for d in error["details"]] == clashing_days
    by_day = {d["local_date"]: d for d in error["details"]}
    assert [(c["session_id"], c["role"]) for c in by_day["2026-03-04"]["conflicts"]] == [
        (teacher_busy["id"], "teacher")
    ]
    assert [(c["session_id"], c["role"]) for c in by_day["2026-03-16"]["conflicts"]] == [
        (student_busy["id"], "student")
    ]
    assert {(c["user_id"], c["role"]) for c in by_day["2026-04-01"]["conflicts"]} == {
        (s.teacher.id, "teacher"),
        (s.students[0].id, "student"),
    }
    assert {c["session_code"] for c in by_day["2026-04-01"]["conflicts"]} == {both_busy["code"]}
    assert by_day["2026-03-04"]["local_start"] == "17:00"
    assert utc(by_day["2026-03-04"]["starts_at"]) == datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    preview = ok(await post(api, s.admin, weekly(s), PREVIEW))
    assert preview["conflicts"] == len(clashing_days)
    assert [o["local_date"] for o in preview["occurrences"] if o["conflicts"]] == clashing_days
    assert await written(api) == before


async def test_a_cancelled_session_leaves_its_time_free_for_a_schedule(api: Api) -> None:
    s = await school(api, students=1)
    busy = await one_off(api, s, s.teacher, s.students[0], "2026-03-04T14:00:00Z")
    assert_error(await post(api, s.admin, weekly(s)), 409, "schedule_conflict")
    ok(
        await api.client.post(
            f"{SESSIONS}/{busy['id']}/cancel", json={"reason": "moved"}, headers=s.admin.headers
        )
    )
    assert len((await create(api, s.admin, weekly(s)))["session_ids"]) == 16


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"starts_on": "2026-02-28"}, "starts_on", id="starts-in-the-past"),
        pytest.param({"until": "2026-03-01"}, "until", id="until-before-start"),
        pytest.param({"slots": slots((MON, "17:00"), (MON, "17:30"))}, "slots", id="slots-overlap"),
        pytest.param(
            {"slots": slots((SUN, "23:30"), (MON, "00:00")), "duration_minutes": 60},
            "slots",
            id="slots-overlap-across-the-week",
        ),
        pytest.param(
            {"slots": slots((MON, "17:00"), (MON, "17:00"))}, "slots", id="duplicate-slot"
        ),
        pytest.param({"slots": []}, "slots", id="no-slots"),
        pytest.param({"slots": slots((7, "17:00"))}, "slots.0.weekday", id="weekday-7"),
        pytest.param({"group_id": 1}, "group_id", id="individual-with-group"),
        pytest.param({"student_user_id": None}, "student_user_id", id="individual-no-student"),
        pytest.param({"kind": "group", "group_id": 1}, "student_user_id", id="group-with-student"),
        pytest.param(
            {"kind": "group", "student_user_id": None}, "group_id", id="group-without-group"
        ),
        pytest.param(
            {"kind": "group", "student_user_id": None, "group_id": 999},
            "group_id",
            id="no-such-group",
        ),
        pytest.param({"kind": "trial"}, "kind", id="unknown-kind"),
        pytest.param({"duration_minutes": 0}, "duration_minutes", id="no-duration"),
        pytest.param({"count": 0}, "count", id="count-zero"),
        pytest.param({"monthly_target": 0}, "monthly_target", id="target-zero"),
        pytest.param({"time_zone": "Mars/Olympus"}, "time_zone", id="unknown-zone"),
        pytest.param({"title": " "}, "title", id="blank-title"),
        pytest.param({"unknown": 1}, "unknown", id="unknown-field"),
    ],
)
async def test_bad_input_names_the_field(api: Api, changes: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    before = await written(api)
    for path in (SCHEDULES, PREVIEW):
        response = await post(api, s.admin, weekly(s, **changes), path)
        assert error_fields(response) == {field}, (path, response.text)
    assert await written(api) == before


@pytest.mark.parametrize(
    ("who", "field"),
    [
        ("teacher=student", "teacher_user_id"),  # no teacher role
        ("teacher=outsider", "teacher_user_id"),
        ("student=outsider", "student_user_id"),  # not in the academy
        ("student=parent", "student_user_id"),  # no student role
        ("student=other_teacher", "student_user_id"),
    ],
)
async def test_people_must_belong_with_the_right_role(api: Api, who: str, field: str) -> None:
    s = await school(api, students=1)
    outsider = await api.user()
    people = {
        "student": s.students[0],
        "outsider": outsider,
        "parent": s.parent,
        "other_teacher": s.other_teacher,
    }
    role, person = who.split("=")
    body = weekly(s, **{f"{role}_user_id": people[person].id})
    before = await written(api)
    assert error_fields(await post(api, s.admin, body)) == {field}
    assert await written(api) == before


@pytest.mark.parametrize("status", ["completed", "cancelled"])
async def test_a_finished_group_takes_no_schedule(api: Api, status: str) -> None:
    s = await school(api, students=1)
    group = await new_group(api, s.admin, s.teacher, "circle")
    ok(await set_group_status(api, s.admin, group["id"], status))
    body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group["id"],
        "slots": slots((TUE, "17:00")),
        "duration_minutes": 60,
        "starts_on": FIRST_MONDAY,
    }
    response = await post(api, s.admin, body)
    assert error_fields(response) == {"group_id"}
    assert status in response.json()["error"]["message"]
    assert await count(api, Schedule) == 0


async def test_who_may_create_a_schedule(api: Api) -> None:
    s = await school(api, students=1)
    # A teacher schedules their own classes only.
    create_own = await post(api, s.teacher, weekly(s, (MON, "08:00")))
    assert create_own.status_code == 201, create_own.text
    for path in (SCHEDULES, PREVIEW):
        refused = await post(api, s.teacher, weekly(s, teacher_user_id=s.other_teacher.id), path)
        assert_error(refused, 403, "role_required")
    # Students and parents do not create schedules at all.
    for person in (s.students[0], s.parent):
        for path in (SCHEDULES, PREVIEW):
            assert_error(await post(api, person, weekly(s), path), 403, "role_required")
    assert (await post(api, s.supervisor, weekly(s, (TUE, "08:00")))).status_code == 201
    assert await count(api, Schedule) == 2


# --- who sees which schedule -----------------------------------------------------------------


async def test_viewers_see_their_own_schedules(api: Api) -> None:
    s = await school(api, students=4)
    mine = await create(api, s.admin, weekly(s))
    theirs = await create(
        api,
        s.admin,
        weekly(s, teacher_user_id=s.other_teacher.id, student_user_id=s.students[1].id),
    )
    group = await new_group(api, s.admin, s.other_teacher, "circle")
    await enrolled(api, s.admin, group["id"], s.students[2])
    # A pending request is not a place in the group: its schedules stay out of sight.
    ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/groups/{group['id']}/enrollments",
            json={"student_user_id": s.students[3].id, "status": "pending"},
            headers=s.admin.headers,
        ),
        201,
    )
    circle = await create(
        api,
        s.admin,
        {
            "kind": "group",
            "title": "Circle",
            "group_id": group["id"],
            "slots": slots((TUE, "17:00")),
            "duration_minutes": 60,
            "starts_on": FIRST_MONDAY,
        },
    )
    ids = {"mine": mine, "theirs": theirs, "circle": circle}
    everything = {"mine", "theirs", "circle"}
    visible: list[tuple[Person, set[str]]] = [
        (s.admin, everything),
        (s.supervisor, everything),
        (s.teacher, {"mine"}),
        (s.other_teacher, {"theirs", "circle"}),
        (s.students[0], {"mine"}),
        (s.students[1], {"theirs"}),
        (s.students[2], {"circle"}),
        (s.students[3], set()),
        (s.parent, {"mine"}),  # the parent of students[0]
    ]
    for person, names in visible:
        body = ok(await api.client.get(SCHEDULES, headers=person.headers))
        expected = {ids[n]["schedule"]["id"] for n in names}
        assert {item["id"] for item in body["items"]} == expected, person
        assert body["total"] == len(names)
        for name, made in ids.items():
            detail = await get_schedule(api, person, made["schedule"]["id"])
            if name in names:
                assert ok(detail)["id"] == made["schedule"]["id"]
            else:
                assert_error(detail, 404, "not_found")


async def test_list_filters(api: Api) -> None:
    s = await school(api, students=2)
    mine = await create(api, s.admin, weekly(s))
    theirs = await create(
        api,
        s.admin,
        weekly(s, teacher_user_id=s.other_teacher.id, student_user_id=s.students[1].id),
    )
    ok(await cancel(api, s.admin, theirs["schedule"]["id"]))

    async def ids(**params: Any) -> list[int]:
        response = await api.client.get(SCHEDULES, params=params, headers=s.admin.headers)
        return [item["id"] for item in ok(response)["items"]]

    mine_id, theirs_id = mine["schedule"]["id"], theirs["schedule"]["id"]
    assert await ids() == [theirs_id, mine_id]  # newest first
    assert await ids(status="active") == [mine_id]
    assert await ids(status="cancelled") == [theirs_id]
    assert await ids(teacher_user_id=s.other_teacher.id) == [theirs_id]
    assert await ids(student_user_id=s.students[0].id) == [mine_id]
    assert await ids(per_page=1, page=2) == [mine_id]
    response = await api.client.get(SCHEDULES, params={"status": "x"}, headers=s.admin.headers)
    assert error_fields(response) == {"status"}


# --- "this occurrence" ------------------------------------------------------------------------


async def test_one_occurrence_is_moved_or_cancelled_alone(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    moved_id, cancelled_id = made["session_ids"][1], made["session_ids"][2]
    moved = ok(
        await api.client.post(
            f"{SESSIONS}/{moved_id}/reschedule",
            json={"reason": "exam", "local_start": {"date": "2026-03-05", "time": "18:00"}},
            headers=s.teacher.headers,
        )
    )
    assert moved["starts_at"].startswith("2026-03-05T15:00:00")
    assert (moved["schedule_id"], moved["status"]) == (schedule_id, "scheduled")
    ok(
        await api.client.post(
            f"{SESSIONS}/{cancelled_id}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    booked = await sessions_of(api, schedule_id)
    assert [c.status for c in booked].count("cancelled") == 1
    assert [c.status for c in booked].count("scheduled") == 15
    assert days(booked, "Asia/Riyadh")[:4] == [
        "2026-03-02",
        "2026-03-05",
        "2026-03-09",
        "2026-03-11",
    ]
    # The series itself is untouched.
    schedule = ok(await get_schedule(api, s.admin, schedule_id))
    assert (schedule["status"], schedule["until"], schedule["slots"]) == (
        "active",
        None,
        made["schedule"]["slots"],
    )


# --- "this and following" ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "until",
    [
        pytest.param(None, id="open-ended-stays-open-ended"),
        pytest.param("2026-12-31", id="new-end-date"),
    ],
)
async def test_change_splits_the_series_at_the_date(api: Api, until: str | None) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    old_id = made["schedule"]["id"]
    response = await change(
        api,
        s.teacher,
        old_id,
        from_date="2026-03-16",
        slots=slots((TUE, "18:00")),
        duration_minutes=60,
        **({} if until is None else {"until": until}),
    )
    changed = ok(response, 201)
    new = changed["schedule"]
    assert new["id"] != old_id
    assert (new["follows_schedule_id"], new["starts_on"], new["status"]) == (
        old_id,
        "2026-03-16",
        "active",
    )
    assert (new["duration_minutes"], new["until"], new["title"]) == (60, until, "Hifz")
    assert new["slots"] == [{"weekday": TUE, "start": "18:00:00"}]
    # The old series ends the day before; its sessions from then on are cancelled.
    old = ok(await get_schedule(api, s.admin, old_id))
    assert (old["status"], old["until"]) == ("ended", "2026-03-15")
    booked = await sessions_of(api, old_id)
    assert days(booked, "Asia/Riyadh", "scheduled") == [
        "2026-03-02",
        "2026-03-04",
        "2026-03-09",
        "2026-03-11",
    ]
    taken_off = [c for c in booked if c.status == "cancelled"]
    assert sorted(changed["cancelled_session_ids"]) == sorted(c.id for c in taken_off)
    assert len(taken_off) == 12
    assert {(c.cancellation_reason, c.makeup_owed) for c in taken_off} == {("new timetable", False)}
    following = await sessions_of(api, new["id"])
    assert [c.id for c in following] == changed["session_ids"]
    assert days(following, "Asia/Riyadh") == [
        "2026-03-17",
        "2026-03-24",
        "2026-03-31",
        "2026-04-07",
        "2026-04-14",
        "2026-04-21",
    ]
    assert {local(c.starts_at, "Asia/Riyadh").strftime("%H:%M") for c in following} == {"18:00"}
    assert {c.duration_minutes for c in following} == {60}
    [entry] = await audit(api, s.admin, "schedule.changed")
    assert (entry["entity_id"], entry["after"]["continued_by"]) == (str(old_id), new["id"])


async def test_change_from_the_first_day_replaces_the_series(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    old_id = made["schedule"]["id"]
    changed = ok(
        await change(
            api, s.admin, old_id, from_date=FIRST_MONDAY, teacher_user_id=s.other_teacher.id
        ),
        201,
    )
    assert ok(await get_schedule(api, s.admin, old_id))["status"] == "cancelled"
    assert len(changed["cancelled_session_ids"]) == 16
    assert changed["schedule"]["teacher_user_id"] == s.other_teacher.id
    assert len(changed["session_ids"]) == 16
    following = await sessions_of(api, changed["schedule"]["id"])
    assert {c.teacher_user_id for c in following} == {s.other_teacher.id}


async def test_a_counted_series_carries_what_is_left_into_the_change(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, count=20))
    assert made["schedule"]["status"] == "active"  # 16 of 20 booked so far
    changed = ok(
        await change(
            api,
            s.admin,
            made["schedule"]["id"],
            from_date="2026-03-16",
            slots=slots((TUE, "18:00")),
            until="2026-12-31",  # given: see test_change_splits_the_series_at_the_date
        ),
        201,
    )
    # Four were held before 16 March: sixteen are left for the new series.
    assert changed["schedule"]["count"] == 16
    assert len(changed["session_ids"]) == 6


async def test_a_clash_in_the_new_series_changes_nothing(api: Api) -> None:
    s = await school(api, students=2)
    made = await create(api, s.admin, weekly(s))
    old_id = made["schedule"]["id"]
    await one_off(api, s, s.teacher, s.students[1], "2026-03-24T15:00:00Z")  # Tue 18:00 Riyadh
    before = await written(api)
    response = await change(
        api,
        s.admin,
        old_id,
        from_date="2026-03-16",
        slots=slots((TUE, "18:00")),
        until="2026-12-31",  # given: see test_change_splits_the_series_at_the_date
    )
    error = assert_error(response, 409, "schedule_conflict")
    assert [d["local_date"] for d in error["details"]] == ["2026-03-24"]
    assert await written(api) == before
    old = ok(await get_schedule(api, s.admin, old_id))
    assert (old["status"], old["until"]) == ("active", None)
    assert {c.status for c in await sessions_of(api, old_id)} == {"scheduled"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_date": "2026-02-28"}, "from_date"),  # in the past
        ({"from_date": "2026-03-16", "duration_minutes": 0}, "duration_minutes"),
        ({"from_date": "2026-03-16", "slots": []}, "slots"),
        ({"from_date": "2026-03-16", "reason": ""}, "reason"),
        ({"reason": "x"}, "from_date"),
    ],
)
async def test_change_refuses_bad_input(api: Api, body: dict[str, Any], field: str) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    before = await written(api)
    response = await change(api, s.admin, made["schedule"]["id"], **body)
    assert error_fields(response) == {field}
    assert await written(api) == before


async def test_change_after_the_series_ends_is_refused(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, until="2026-12-31"))
    response = await change(api, s.admin, made["schedule"]["id"], from_date="2027-01-04")
    assert error_fields(response) == {"from_date"}


async def test_cancel_the_whole_series(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    cancelled = ok(await cancel(api, s.admin, schedule_id))
    assert cancelled["schedule"]["status"] == "cancelled"
    assert sorted(cancelled["cancelled_session_ids"]) == sorted(made["session_ids"])
    assert {c.status for c in await sessions_of(api, schedule_id)} == {"cancelled"}
    # Not twice, and the time is free again for a new series.
    assert_error(await cancel(api, s.admin, schedule_id), 409, "schedule_not_active")
    assert_error(
        await change(api, s.admin, schedule_id, from_date="2026-03-16"), 409, "schedule_not_active"
    )
    assert len((await create(api, s.admin, weekly(s)))["session_ids"]) == 16
    [entry] = await audit(api, s.admin, "schedule.cancelled")
    assert entry["after"]["reason"] == "term ends"


async def test_cancel_leaves_sessions_that_have_begun(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    first = made["session_ids"][0]
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    ok(await api.client.post(f"{SESSIONS}/{first}/start", json={}, headers=s.teacher.headers))
    cancelled = ok(await cancel(api, s.teacher, schedule_id, from_date="2026-03-02"))
    assert first not in cancelled["cancelled_session_ids"]
    assert len(cancelled["cancelled_session_ids"]) == 15
    statuses = {c.id: c.status for c in await sessions_of(api, schedule_id)}
    assert statuses[first] == "ongoing"


@pytest.mark.parametrize(
    ("from_date", "field"),
    [("2026-02-28", "from_date"), ("2027-01-01", "from_date")],
)
async def test_cancel_from_a_date_outside_the_series(api: Api, from_date: str, field: str) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, until="2026-12-31"))
    before = await written(api)
    assert error_fields(
        await cancel(api, s.admin, made["schedule"]["id"], from_date=from_date)
    ) == {field}
    assert await written(api) == before


async def test_who_may_change_or_cancel(api: Api) -> None:
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s))
    schedule_id = made["schedule"]["id"]
    # Students and parents: not schedulers at all. Another teacher: not their schedule.
    for person in (s.students[0], s.parent):
        assert_error(await cancel(api, person, schedule_id), 403, "role_required")
        assert_error(
            await change(api, person, schedule_id, from_date="2026-03-16"), 403, "role_required"
        )
    assert_error(await cancel(api, s.other_teacher, schedule_id), 404, "not_found")
    # The schedule's teacher may not hand the series to someone else; staff may.
    response = await change(
        api, s.teacher, schedule_id, from_date="2026-03-16", teacher_user_id=s.other_teacher.id
    )
    assert_error(response, 403, "role_required")
    assert ok(await get_schedule(api, s.admin, schedule_id))["status"] == "active"
    assert (
        ok(await cancel(api, s.teacher, schedule_id, from_date="2026-03-16"))["schedule"]["until"]
        == "2026-03-15"
    )


async def test_a_series_booked_to_its_end_can_still_be_cut_short(api: Api) -> None:
    """A counted or dated series is fully booked at once (status "ended"), yet its sessions to
    come are still "this and following" occurrences that can be changed or cancelled."""
    s = await school(api, students=1)
    made = await create(api, s.admin, weekly(s, until="2026-03-31"))
    assert made["schedule"]["status"] == "ended"
    response = await cancel(api, s.admin, made["schedule"]["id"], from_date="2026-03-16")
    cancelled = ok(response)
    assert cancelled["schedule"]["until"] == "2026-03-15"
    assert len(cancelled["cancelled_session_ids"]) == 5
