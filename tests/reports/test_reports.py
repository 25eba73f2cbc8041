"""The attendance reports over real attendance: presence sent as heartbeats (and LiveKit webhooks),
finalised by the worker, then read back as JSON, CSV and XLSX by each kind of member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from halaqa.reports import service
from tests.api import Api, Person, assert_error, error_fields
from tests.attendance.test_intake import deliver, live_room
from tests.catalog.school import SLUG, ok, school
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import SESSIONS, TOMORROW, tick
from tests.reports.classes import (
    DAY,
    HOUR,
    MINUTE,
    PERIOD,
    Beat,
    book_individual,
    hold,
    report,
    report_json,
    settle,
    term,
)
from tests.reports.files import read_csv, read_xlsx

SECOND = timedelta(seconds=1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def local(instant: datetime) -> datetime:
    """A UTC instant as a Riyadh wall-clock time (UTC+3 all year), as the files show it."""
    return (instant + 3 * HOUR).replace(tzinfo=None)


def rows_by_user(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {person["user_id"]: person for person in body["people"]}


# --- one session -----------------------------------------------------------------------------


async def test_a_session_report_has_each_record_and_timeline(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    s0, s1, s2 = s.students
    day1 = t.circle[0]
    body = await report_json(api, s.admin, f"/sessions/{day1['id']}/attendance")
    assert body["time_zone"] == "Asia/Riyadh"
    assert (body["session"]["id"], body["session"]["status"]) == (day1["id"], "completed")
    assert body["session"]["attendance_finalized_at"] == z(TOMORROW + HOUR + 5 * MINUTE)
    assert [p["user_id"] for p in body["people"]] == [s.teacher.id, s0.id, s1.id, s2.id]
    people = rows_by_user(body)

    teacher = people[s.teacher.id]
    assert (teacher["role"], teacher["name"]) == ("teacher", "Teacher")
    assert teacher["intervals"] == [
        {"start": z(TOMORROW), "end": z(TOMORROW + HOUR), "seconds": 3600}
    ]
    assert {k: teacher["record"][k] for k in ("status", "seconds", "minutes", "first_join")} == {
        "status": "present",
        "seconds": 3600,
        "minutes": 60.0,
        "first_join": z(TOMORROW),
    }

    first = people[s0.id]
    assert first["intervals"] == [
        {"start": z(TOMORROW), "end": z(TOMORROW + 20 * MINUTE), "seconds": 1200},
        {"start": z(TOMORROW + 25 * MINUTE), "end": z(TOMORROW + HOUR), "seconds": 2100},
    ]
    assert first["record"] == {
        "status": "present",
        "computed_status": "present",
        "status_source": "auto",
        "first_join": z(TOMORROW),
        "last_leave": z(TOMORROW + HOUR),
        "seconds": 3300,
        "minutes": 55.0,
        "window_start": z(TOMORROW),
        "window_seconds": 3600,
        "reconnects": 1,
        "inferred_end": True,
        "sources": ["heartbeat"],
        "computed_at": z(TOMORROW + HOUR + 5 * MINUTE),
    }

    late = people[s1.id]
    joined = TOMORROW + 15 * MINUTE + 7 * SECOND
    assert late["intervals"] == [{"start": z(joined), "end": z(TOMORROW + HOUR), "seconds": 2693}]
    assert (late["record"]["status"], late["record"]["seconds"], late["record"]["minutes"]) == (
        "late",
        2693,
        44.9,
    )
    never = people[s2.id]
    assert never["intervals"] == []
    assert (never["record"]["status"], never["record"]["seconds"]) == ("absent", 0)
    # Day 1 holds 8 heartbeats: more presence than a timeline folds is refused, not cut short.
    monkeypatch.setattr(service, "MAX_EVENTS", 7)
    path = f"/sessions/{day1['id']}/attendance"
    error = assert_error(await report(api, s.admin, path), 422, "report_too_large")
    assert "more than 7 presence events" in error["message"]
    monkeypatch.setattr(service, "MAX_EVENTS", 8)
    assert len((await report_json(api, s.admin, path))["people"]) == 4


async def test_who_sees_which_rows_of_a_session(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=4)  # students[3] is in no class
    t = await term(api, app, clock, s)
    s0, s1, s2, outsider = s.students
    path = f"/sessions/{t.circle[0]['id']}/attendance"

    async def seen(who: Person) -> list[int]:
        return [p["user_id"] for p in (await report_json(api, who, path))["people"]]

    everyone = [s.teacher.id, s0.id, s1.id, s2.id]
    assert await seen(s.admin) == everyone
    assert await seen(s.supervisor) == everyone
    assert await seen(s.teacher) == everyone
    assert await seen(s1) == [s1.id]  # a student sees their own row, not the others'
    assert await seen(s.parent) == [s0.id]  # a parent their child's
    assert_error(await report(api, outsider, path), 404, "not_found")
    assert_error(await report(api, s.other_teacher, path), 404, "not_found")
    assert_error(await report(api, s.admin, "/sessions/999999/attendance"), 404, "not_found")
    # The same goes for the files.
    rows = read_csv((await report(api, s.parent, path, format="csv")).content)
    assert [row[3] for row in rows[1:]] == [str(s0.id)]


async def test_a_session_report_as_files(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    s0, s1, s2 = s.students
    day1 = t.circle[0]
    path = f"/sessions/{day1['id']}/attendance"

    response = await report(api, s.teacher, path, format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    code = day1["code"]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="attendance-session-{code}.csv"'
    )
    header, *rows = read_csv(response.content)
    assert header == [
        "Session",
        "Title",
        "Starts at (Asia/Riyadh)",
        "User id",
        "Name",
        "Role",
        "Status",
        "Decided by",
        "First join (Asia/Riyadh)",
        "Last leave (Asia/Riyadh)",
        "Minutes present",
        "Seconds present",
        "Computed status",
        "Window start (Asia/Riyadh)",
        "Window minutes",
        "Window seconds",
        "Reconnects",
        "End inferred",
        "Sources",
        "Presence (Asia/Riyadh)",
    ]
    by_user = {row[3]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_user) == [str(s.teacher.id), str(s0.id), str(s1.id), str(s2.id)]
    first = by_user[str(s0.id)]
    assert first["Starts at (Asia/Riyadh)"] == "2026-03-02 12:00:00"  # 09:00 UTC
    assert (first["First join (Asia/Riyadh)"], first["Last leave (Asia/Riyadh)"]) == (
        "2026-03-02 12:00:00",
        "2026-03-02 13:00:00",
    )
    assert (first["Status"], first["Minutes present"], first["Seconds present"]) == (
        "present",
        "55.0",
        "3300",
    )
    assert first["Presence (Asia/Riyadh)"] == (
        "2026-03-02 12:00:00–12:20:00; 2026-03-02 12:25:00–13:00:00"
    )
    assert (first["Reconnects"], first["End inferred"], first["Window minutes"]) == (
        "1",
        "yes",
        "60.0",
    )
    late = by_user[str(s1.id)]
    assert (late["Status"], late["Minutes present"], late["Seconds present"]) == (
        "late",
        "44.9",
        "2693",
    )
    assert late["First join (Asia/Riyadh)"] == "2026-03-02 12:15:07"
    assert (
        by_user[str(s2.id)]["Seconds present"],
        by_user[str(s2.id)]["Presence (Asia/Riyadh)"],
    ) == (
        "0",
        "",
    )

    response = await report(api, s.admin, path, format="xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"].endswith(f'{code}.xlsx"')
    sheets = read_xlsx(response.content)
    assert list(sheets) == ["Attendance", "Timeline"]
    attendance = sheets["Attendance"]
    assert attendance[0] == header
    first_row = dict(zip(header, attendance[2], strict=True))
    assert first_row["User id"] == s0.id
    assert first_row["First join (Asia/Riyadh)"] == local(TOMORROW)
    assert (first_row["Minutes present"], first_row["Seconds present"]) == (55, 3300)
    assert first_row["End inferred"] is True
    assert sheets["Timeline"] == [
        ["User id", "Name", "Role", "From (Asia/Riyadh)", "To (Asia/Riyadh)", "Minutes", "Seconds"],
        [s.teacher.id, "Teacher", "teacher", local(TOMORROW), local(TOMORROW + HOUR), 60, 3600],
        [s0.id, "Student 0", "student", local(TOMORROW), local(TOMORROW + 20 * MINUTE), 20, 1200],
        [
            s0.id,
            "Student 0",
            "student",
            local(TOMORROW + 25 * MINUTE),
            local(TOMORROW + HOUR),
            35,
            2100,
        ],
        [
            s1.id,
            "Student 1",
            "student",
            local(TOMORROW + 15 * MINUTE + 7 * SECOND),
            local(TOMORROW + HOUR),
            Decimal("44.9"),
            2693,
        ],
    ]


async def test_names_cannot_become_formulas_and_arabic_stays_arabic(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    sly = await api.member(SLUG, s.admin, "student", name='=HYPERLINK("http://x.example","x")')
    arabic = await api.member(SLUG, s.admin, "student", name="عبد الرحمن")
    made = [
        await book_individual(api, s, sly, TOMORROW),
        await book_individual(api, s, arabic, TOMORROW + 2 * HOUR),
    ]
    for lesson in made:
        await hold(api, app, clock, lesson, [Beat(0 * MINUTE, s.teacher), Beat(HOUR, s.teacher)])
    response = await report(api, s.admin, "/absentees", **PERIOD, format="csv")
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    assert "عبد الرحمن".encode() in data
    header, *rows = read_csv(data)
    names = [row[header.index("Student")] for row in rows]
    assert names == ['\'=HYPERLINK("http://x.example","x")', "عبد الرحمن"]
    # In the workbook the name is a text cell as it was given: a spreadsheet never runs it.
    sheets = read_xlsx((await report(api, s.admin, "/absentees", **PERIOD, format="xlsx")).content)
    column = sheets["Absentees"][0].index("Student")
    assert [row[column] for row in sheets["Absentees"][1:]] == [
        '=HYPERLINK("http://x.example","x")',
        "عبد الرحمن",
    ]


# --- students, groups, teachers ---------------------------------------------------------------


async def test_a_students_report_over_a_period(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=4)
    t = await term(api, app, clock, s)
    s0, s1, _, outsider = s.students
    path = f"/students/{s0.id}/attendance"
    body = await report_json(api, s.admin, path, **PERIOD)
    assert body["period"] == {
        "first_day": "2026-03-02",
        "last_day": "2026-03-04",
        "starts_from": "2026-03-01T21:00:00Z",
        "starts_before": "2026-03-04T21:00:00Z",
    }
    assert body["student"] == {"user_id": s0.id, "name": "Student 0"}
    assert body["only_taught_by"] is None
    assert [row["session"]["id"] for row in body["sessions"]] == t.session_ids
    assert [(row["record"]["status"], row["record"]["seconds"]) for row in body["sessions"]] == [
        ("present", 3300),
        ("present", 3600),
        ("absent", 0),
        ("left_early", 2100),
    ]
    assert [row["session"]["status"] for row in body["sessions"]] == [
        "completed",
        "completed",
        "absent",  # the lesson's only student did not come
        "completed",
    ]
    assert body["summary"] == {
        "present": 2,
        "late": 0,
        "left_early": 1,
        "partial": 0,
        "absent": 1,
        "excused": 0,
        "no_record": 0,
        "counted": 4,
        "attended": 3,
        "rate": 75.0,
        "seconds": 9000,
        "minutes": 150.0,
    }
    # A period of one day holds that day's sessions only.
    one_day = await report_json(api, s.admin, path, **{"from": "2026-03-03", "to": "2026-03-03"})
    assert [row["session"]["id"] for row in one_day["sessions"]] == t.session_ids[1:3]

    # The student and their parent see it; other students and parents do not.
    assert (await report_json(api, s0, path, **PERIOD))["summary"]["rate"] == 75.0
    assert (await report_json(api, s.parent, path, **PERIOD))["summary"]["rate"] == 75.0
    for who in (s1, outsider):
        assert_error(await report(api, who, path, **PERIOD), 403, "not_allowed")
    assert_error(
        await report(api, s.parent, f"/students/{s1.id}/attendance", **PERIOD), 403, "not_allowed"
    )
    # A teacher sees the sessions they teach the student; one who teaches them nothing, nothing.
    taught = await report_json(api, s.teacher, path, **PERIOD)
    assert (taught["only_taught_by"], len(taught["sessions"])) == (s.teacher.id, 4)
    assert_error(await report(api, s.other_teacher, path, **PERIOD), 403, "not_allowed")
    assert_error(await report(api, s.admin, "/students/999999/attendance"), 404, "not_found")

    sheets = read_xlsx((await report(api, s0, path, **PERIOD, format="xlsx")).content)
    assert list(sheets) == ["Sessions", "Summary"]
    summary = {row[0]: row[1] for row in sheets["Summary"][1:]}
    assert (summary["Rate %"], summary["Seconds present"], summary["Minutes present"]) == (
        75,
        9000,
        150,
    )
    assert summary["Student"] == "Student 0"


async def test_a_groups_matrix_and_rates(api: Api, app: FastAPI, clock: FrozenClock) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    s0, s1, s2 = s.students
    path = f"/groups/{t.group_id}/attendance"
    body = await report_json(api, s.teacher, path, **PERIOD)
    assert body["group"]["id"] == t.group_id
    assert [c["session"]["id"] for c in body["sessions"]] == [c["id"] for c in t.circle]
    assert [
        (c["expected"], c["summary"]["attended"], c["summary"]["rate"]) for c in body["sessions"]
    ] == [
        (3, 2, 66.7),
        (3, 1, 33.3),
        (3, 1, 33.3),
    ]
    matrix = {row["user_id"]: row for row in body["students"]}
    assert list(matrix) == [s0.id, s1.id, s2.id]
    assert [cell["status"] for cell in matrix[s0.id]["cells"]] == [
        "present",
        "present",
        "left_early",
    ]
    assert [cell["seconds"] for cell in matrix[s0.id]["cells"]] == [3300, 3600, 2100]
    assert [cell["status"] for cell in matrix[s1.id]["cells"]] == ["late", "absent", "absent"]
    assert all(cell["expected"] for row in body["students"] for cell in row["cells"])
    assert [matrix[u]["summary"]["rate"] for u in (s0.id, s1.id, s2.id)] == [100.0, 33.3, 0.0]
    assert matrix[s0.id]["summary"]["seconds"] == 9000  # the lesson is not the group's
    assert (body["summary"]["counted"], body["summary"]["attended"], body["summary"]["rate"]) == (
        9,
        4,
        44.4,
    )

    csv_rows = read_csv((await report(api, s.admin, path, **PERIOD, format="csv")).content)
    assert csv_rows[0][:3] == [
        "Student id",
        "Name",
        f"{t.circle[0]['code']} 2026-03-02 12:00 (Asia/Riyadh)",
    ]
    assert csv_rows[2][:5] == [str(s1.id), "Student 1", "late", "absent", "absent"]
    assert csv_rows[2][-3:] == ["33.3", "44.9", "2693"]

    # Staff and the group's teacher only.
    assert_error(await report(api, s.other_teacher, path, **PERIOD), 404, "not_found")
    assert_error(await report(api, s0, path, **PERIOD), 403, "role_required")
    assert_error(await report(api, s.parent, path, **PERIOD), 403, "role_required")


async def test_a_teachers_report_has_their_own_attendance(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    path = f"/teachers/{s.teacher.id}/attendance"
    body = await report_json(api, s.teacher, path, **PERIOD)
    assert [row["session"]["id"] for row in body["sessions"]] == t.session_ids
    assert [(row["record"]["status"], row["record"]["seconds"]) for row in body["sessions"]] == [
        ("present", 3600)
    ] * 4
    assert [row["expected"] for row in body["sessions"]] == [3, 3, 1, 3]
    assert [row["students"]["attended"] for row in body["sessions"]] == [2, 1, 0, 1]
    assert (body["own"]["present"], body["own"]["seconds"], body["own"]["rate"]) == (
        4,
        14400,
        100.0,
    )
    assert (
        body["students"]["counted"],
        body["students"]["attended"],
        body["students"]["rate"],
    ) == (
        10,
        4,
        40.0,
    )
    assert (await report_json(api, s.admin, path, **PERIOD))["own"]["minutes"] == 240.0
    sheets = read_xlsx((await report(api, s.supervisor, path, **PERIOD, format="xlsx")).content)
    assert list(sheets) == ["Sessions", "Teacher", "Students"]
    header = sheets["Sessions"][0]
    assert header[5:11] == [
        "Teacher status",
        "Teacher decided by",
        "Teacher first join (Asia/Riyadh)",
        "Teacher last leave (Asia/Riyadh)",
        "Teacher minutes present",
        "Teacher seconds present",
    ]
    assert sheets["Sessions"][1][5:11] == [
        "present",
        "auto",
        local(TOMORROW),
        local(TOMORROW + HOUR),
        60,
        3600,
    ]
    # A teacher sees their own report only; students and parents none.
    assert_error(await report(api, s.other_teacher, path), 403, "not_allowed")
    assert_error(await report(api, s.students[0], path), 403, "role_required")
    assert_error(await report(api, s.admin, "/teachers/999999/attendance"), 404, "not_found")
    other = await report_json(api, s.other_teacher, f"/teachers/{s.other_teacher.id}/attendance")
    assert other["sessions"] == []
    # More sessions than a report holds: refused, saying the cap and what to change.
    monkeypatch.setattr(service, "MAX_SESSIONS", 3)
    error = assert_error(await report(api, s.admin, path, **PERIOD), 422, "report_too_large")
    assert error["message"] == (
        "this report would list more than 3 sessions, the most one report holds; choose fewer "
        "days than 2026-03-02…2026-03-04"
    )
    assert error["details"] == {"cap": 3}


# --- across the academy ----------------------------------------------------------------------


async def test_absentees_are_expected_students_who_did_not_come(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    s0, s1, s2 = s.students
    body = await report_json(api, s.admin, "/absentees", **PERIOD)
    day1, day2, lesson, day3 = t.session_ids
    assert [(item["session"]["id"], item["student"]["user_id"]) for item in body["items"]] == [
        (day1, s2.id),
        (day2, s1.id),
        (day2, s2.id),
        (lesson, s0.id),
        (day3, s1.id),
        (day3, s2.id),
    ]
    assert {(item["reason"], item["status_source"]) for item in body["items"]} == {
        ("absent", "auto")
    }
    assert body["total"] == 6
    narrowed = await report_json(api, s.admin, "/absentees", group_id=t.group_id, **PERIOD)
    assert narrowed["total"] == 5
    day = await report_json(
        api, s.teacher, "/absentees", **{"from": "2026-03-04", "to": "2026-03-04"}
    )
    assert [item["student"]["user_id"] for item in day["items"]] == [s1.id, s2.id]
    # Another teacher's list holds none of these; filtering by someone else finds nothing.
    assert (await report_json(api, s.other_teacher, "/absentees", **PERIOD))["items"] == []
    filtered = await report_json(
        api, s.other_teacher, "/absentees", teacher_user_id=s.teacher.id, **PERIOD
    )
    assert filtered["items"] == []
    assert_error(await report(api, s0, "/absentees"), 403, "role_required")
    monkeypatch.setattr(service, "MAX_ROWS", 5)
    error = assert_error(
        await report(api, s.admin, "/absentees", **PERIOD), 422, "report_too_large"
    )
    assert "more than 5 absentees" in error["message"]
    assert (await report_json(api, s.admin, "/absentees", group_id=t.group_id, **PERIOD))[
        "total"
    ] == 5


async def test_a_finished_class_without_records_lists_its_students_until_finalised(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    lesson = await book_individual(api, s, s.students[0], TOMORROW)
    path = f"{SESSIONS}/{lesson['id']}"
    clock.set(TOMORROW)
    for who in (s.teacher, s.students[0]):
        response = await api.client.post(
            f"{path}/heartbeat", json={"page_id": "page-one-0001"}, headers=who.headers
        )
        assert response.status_code == 200, response.text
    clock.set(TOMORROW + 50 * MINUTE)
    for who in (s.teacher, s.students[0]):
        response = await api.client.post(
            f"{path}/heartbeat", json={"page_id": "page-one-0001"}, headers=who.headers
        )
        assert response.status_code == 200, response.text
    ok(await api.client.post(f"{path}/complete", json={}, headers=s.teacher.headers))
    await tick(app)  # nothing is due: attendance is finalised 5 minutes after the end
    listed = await report_json(api, s.admin, "/absentees", **PERIOD)
    assert [
        (i["student"]["user_id"], i["reason"], i["status_source"]) for i in listed["items"]
    ] == [(s.students[0].id, "no_record", None)]
    student = await report_json(api, s.admin, f"/students/{s.students[0].id}/attendance", **PERIOD)
    assert (student["sessions"][0]["record"], student["summary"]["no_record"]) == (None, 1)
    await settle(app, clock, TOMORROW + HOUR + 5 * MINUTE)
    assert (await report_json(api, s.admin, "/absentees", **PERIOD))["items"] == []
    student = await report_json(api, s.admin, f"/students/{s.students[0].id}/attendance", **PERIOD)
    # 50 of 60 minutes: 83 %, so present; nobody is missing any more.
    assert (student["sessions"][0]["record"]["status"], student["summary"]["no_record"]) == (
        "present",
        0,
    )
    assert student["summary"]["seconds"] == 3000


async def test_students_with_consecutive_absences(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    s0, s1, s2 = s.students
    runs = "/consecutive-absences"
    body = await report_json(api, s.admin, runs, **{"from": "2026-03-02"})
    assert body["at_least"] == 3  # no academy setting for it: the default
    [only] = body["items"]
    assert only == {
        "student": {"user_id": s2.id, "name": "Student 2"},
        "consecutive": 3,
        "excused_within": 0,
        "first_absent_at": z(TOMORROW),
        "last_absent_at": z(TOMORROW + 2 * DAY),
        "session_ids": [c["id"] for c in t.circle],
        "may_be_longer": True,  # never came in the period: it may have begun earlier
    }
    two = await report_json(api, s.teacher, runs, at_least=2, **{"from": "2026-03-02"})
    assert [
        (i["student"]["user_id"], i["consecutive"], i["may_be_longer"]) for i in two["items"]
    ] == [
        (s2.id, 3, True),
        (s1.id, 2, False),  # late on day 1 broke it
    ]
    # s0 missed the lesson but came to the circle on day 3: no run. From day 3 on, s2's run is one.
    one = await report_json(api, s.admin, runs, at_least=1, **{"from": "2026-03-04"})
    assert [(i["student"]["user_id"], i["consecutive"]) for i in one["items"]] == [
        (s1.id, 1),
        (s2.id, 1),
    ]
    # The default look-back (90 days up to today) sees the whole term.
    assert [i["student"]["user_id"] for i in (await report_json(api, s.admin, runs))["items"]] == [
        s2.id
    ]
    assert (await report_json(api, s.other_teacher, runs, at_least=1))["items"] == []
    assert_error(await report(api, s0, runs), 403, "role_required")
    header, row = read_csv((await report(api, s.admin, runs, format="csv")).content)
    assert dict(zip(header, row, strict=True)) == {
        "Student id": str(s2.id),
        "Student": "Student 2",
        "Consecutive absences": "3",
        "Excused within": "0",
        "First absence (Asia/Riyadh)": "2026-03-02 12:00:00",
        "Last absence (Asia/Riyadh)": "2026-03-04 12:00:00",
        "May be longer": "yes",
        "Session ids": " ".join(str(c["id"]) for c in t.circle),
    }


# --- LiveKit ---------------------------------------------------------------------------------


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:  # LiveKit's clock agrees with Halaqa's
        yield server


async def test_a_timeline_from_livekit_bridges_a_quick_reconnect(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    s, made, room = await live_room(api, app, clock, livekit)
    student = s.students[0]
    since = len(livekit.events)

    async def at(offset: timedelta) -> None:
        nonlocal since
        await deliver(api, livekit, since)
        since = len(livekit.events)
        await tick(app)
        clock.set(TOMORROW + offset)

    await at(0 * MINUTE)
    teacher = livekit.join(room, f"user-{s.teacher.id}")
    await at(5 * MINUTE)
    first = livekit.join(room, f"user-{student.id}")
    await at(20 * MINUTE)
    livekit.leave(room, first)
    await at(21 * MINUTE)  # back within reconnect_merge_seconds (120)
    second = livekit.join(room, f"user-{student.id}")
    await at(50 * MINUTE)
    livekit.leave(room, second)
    await at(HOUR)
    livekit.leave(room, teacher)
    await at(HOUR)
    await settle(app, clock, TOMORROW + HOUR + 5 * MINUTE)
    body = await report_json(api, s.admin, f"/sessions/{made['id']}/attendance")
    people = rows_by_user(body)
    assert people[student.id]["intervals"] == [
        {"start": z(TOMORROW + 5 * MINUTE), "end": z(TOMORROW + 50 * MINUTE), "seconds": 2700}
    ]
    record = people[student.id]["record"]
    # 45 of 60 minutes, the one-minute gap bridged: 75 %, from the start, to 10 minutes before
    # the end: partial.
    assert (record["seconds"], record["reconnects"], record["status"]) == (2700, 1, "partial")
    assert "webhook" in record["sources"]
    assert people[s.teacher.id]["intervals"] == [
        {"start": z(TOMORROW), "end": z(TOMORROW + HOUR), "seconds": 3600}
    ]
    assert people[s.teacher.id]["record"]["seconds"] == 3600


# --- what the reports refuse ------------------------------------------------------------------


async def test_periods_and_formats_that_cannot_be_answered(api: Api) -> None:
    s = await school(api, students=1)
    path = f"/students/{s.students[0].id}/attendance"
    backwards = await report(api, s.admin, path, **{"from": "2026-03-05", "to": "2026-03-01"})
    error = assert_error(backwards, 422, "validation_error")
    assert (
        error["message"] == "to: 2026-03-01 is before from (2026-03-05); give a to on or after from"
    )
    too_long = await report(
        api, s.admin, "/absentees", **{"from": "2025-01-01", "to": "2026-03-01"}
    )
    error = assert_error(too_long, 422, "validation_error")
    assert "425 days; a report covers at most 366 days" in error["message"]
    assert error_fields(too_long) == {"from"}
    assert error_fields(await report(api, s.admin, path, **{"from": "0001-01-01"})) == {"from"}
    assert error_fields(await report(api, s.admin, path, **{"to": "2026-02-30"})) == {"to"}
    assert error_fields(await report(api, s.admin, path, format="pdf")) == {"format"}
    runs = await report(api, s.admin, "/consecutive-absences", at_least=0)
    assert error_fields(runs) == {"at_least"}
    # Runs are counted up to today.
    future = await report(api, s.admin, "/consecutive-absences", **{"from": "2026-04-01"})
    assert error_fields(future) == {"from"}


async def test_an_excused_absence_neither_breaks_nor_extends_a_run(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=3)
    t = await term(api, app, clock, s)
    _, s1, s2 = s.students
    day3 = t.circle[2]["id"]
    # The teacher excuses s1 from day 3 after the fact; the worker computes it again.
    ok(
        await api.client.put(
            f"{SESSIONS}/{day3}/attendance/{s1.id}",
            json={"status": "excused", "note": "ill, a doctor's note came"},
            headers=s.teacher.headers,
        )
    )
    await settle(app, clock, clock.now() + MINUTE)
    runs = await report_json(api, s.admin, "/consecutive-absences", at_least=1)
    assert [
        (i["student"]["user_id"], i["consecutive"], i["excused_within"], i["session_ids"])
        for i in runs["items"]
    ] == [
        (s2.id, 3, 0, [c["id"] for c in t.circle]),
        (s1.id, 1, 1, [t.circle[1]["id"]]),  # late, absent, excused: a run of one
    ]
    absentees = await report_json(api, s.admin, "/absentees", **PERIOD)
    assert (day3, s1.id) not in {
        (i["session"]["id"], i["student"]["user_id"]) for i in absentees["items"]
    }
    student = await report_json(api, s.admin, f"/students/{s1.id}/attendance", **PERIOD)
    assert student["sessions"][-1]["record"]["status"] == "excused"
    assert student["sessions"][-1]["record"]["computed_status"] == "absent"
    assert student["sessions"][-1]["record"]["status_source"] == "teacher"
    figures = student["summary"]
    assert (figures["excused"], figures["counted"], figures["attended"], figures["rate"]) == (
        1,
        2,
        1,
        50.0,
    )
