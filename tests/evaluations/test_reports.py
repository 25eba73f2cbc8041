"""Session reports over HTTP: who writes and when, who reads what, validation, attendance beside
the evaluation, a student's reports over time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.academies.auth import Actor
from halaqa.kit.clock import FrozenClock
from halaqa.models import AttendanceRecord, AuditEntry, ClassSession, SessionReport
from halaqa.models import SessionReportPassage as Passage
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.service import transition
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, new_group, ok, school
from tests.conftest import START

ACADEMY = f"/api/v1/academies/{SLUG}"
SESSIONS = f"{ACADEMY}/sessions"
TOMORROW = START + timedelta(days=1)

QURAN_REPORT: dict[str, Any] = {
    "quran": {
        "memorisation": [
            {"from_surah": 67, "from_ayah": 1, "to_surah": 68, "to_ayah": 52, "from_page": 562}
        ],
        "revision": [
            {"from_surah": 1, "from_ayah": 1, "to_surah": 1, "to_ayah": 7},
            {
                "from_surah": 2,
                "from_ayah": 1,
                "to_surah": 2,
                "to_ayah": 25,
                "from_page": 2,
                "to_page": 4,
            },
        ],
        "recitation_grade": 9,
    },
    "homework": {"assigned": "Memorise Al-Haqqah 1-20", "verdict": "done"},
    "teacher_notes": "  Clear makharij; watch the madd.  ",
}


async def booked(
    api: Api, s: School, *, student: int = 0, starts_at: datetime = TOMORROW, **fields: Any
) -> int:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student].id,
        "starts_at": starts_at.isoformat(),
        "duration_minutes": 60,
        **fields,
    }
    made = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    session_id: int = made["id"]
    return session_id


async def started(api: Api, s: School, clock: FrozenClock, session_id: int) -> None:
    """The teacher starts the class at its start (the clock moves there)."""
    detail = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.admin.headers))
    clock.set(datetime.fromisoformat(detail["starts_at"]))
    path = f"{SESSIONS}/{session_id}/start"
    assert ok(await api.client.post(path, json={}, headers=s.teacher.headers))["status"] == (
        "ongoing"
    )


async def put(
    api: Api, who: Person, session_id: int, student: Person | int, body: dict[str, Any]
) -> httpx.Response:
    student_id = student if isinstance(student, int) else student.id
    return await api.client.put(
        f"{SESSIONS}/{session_id}/reports/{student_id}", json=body, headers=who.headers
    )


async def of_session(api: Api, who: Person, session_id: int) -> httpx.Response:
    return await api.client.get(f"{SESSIONS}/{session_id}/reports", headers=who.headers)


async def lines(api: Api, who: Person, session_id: int) -> list[dict[str, Any]]:
    response = await of_session(api, who, session_id)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def of_student(api: Api, who: Person, student: Person, **params: Any) -> httpx.Response:
    return await api.client.get(
        f"{ACADEMY}/students/{student.id}/reports", headers=who.headers, params=params
    )


async def count(api: Api, model: type[SessionReport] | type[Passage] | type[AuditEntry]) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def report_audit(api: Api) -> list[AuditEntry]:
    async with api.database.transaction() as session:
        query = select(AuditEntry).where(AuditEntry.entity_type == "session_report")
        return list(await session.scalars(query.order_by(AuditEntry.id)))


# --- writing and reading -----------------------------------------------------------------------


async def test_the_teacher_writes_and_the_student_and_parent_read(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    student = s.students[0]

    written = ok(await put(api, s.teacher, session_id, student, QURAN_REPORT))
    assert written["student_user_id"] == student.id
    assert written["session"]["id"] == session_id
    assert written["session"]["status"] == "ongoing"
    memorised = written["quran"]["memorisation"]
    assert len(memorised) == 1
    assert memorised[0]["from_surah"] == {
        "number": 67,
        "name_ar": "الملك",
        "name_en": "Al-Mulk",
        "ayahs": 30,
    }
    assert memorised[0]["to_surah"]["name_en"] == "Al-Qalam"
    assert (memorised[0]["ayahs"], memorised[0]["from_page"], memorised[0]["pages"]) == (82, 562, 1)
    revised = written["quran"]["revision"]
    assert [(r["from_surah"]["name_en"], r["ayahs"], r["pages"]) for r in revised] == [
        ("Al-Fatiha", 7, None),
        ("Al-Baqarah", 25, 3),
    ]
    assert written["quran"]["recitation_grade"] == 9
    assert written["academic"] is None
    assert written["homework"] == {
        "assigned": "Memorise Al-Haqqah 1-20",
        "reviewed": None,
        "verdict": "done",
    }
    assert written["teacher_notes"] == "Clear makharij; watch the madd."
    assert written["written_by_user_id"] == written["updated_by_user_id"] == s.teacher.id
    assert written["attendance"] is None  # computed after the session ends

    for reader in (s.teacher, student, s.parent, s.admin, s.supervisor):
        assert await lines(api, reader, session_id) == [written], reader
    for outsider in (s.students[1], s.other_teacher):
        assert_error(await of_session(api, outsider, session_id), 404, "not_found")


async def test_a_group_sessions_students_each_see_their_own(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=3)
    group = await new_group(api, s.admin, s.teacher, "circle")
    for student in s.students[:2]:
        path = f"{ACADEMY}/groups/{group['id']}/enrollments"
        body = {"student_user_id": student.id}
        ok(await api.client.post(path, json=body, headers=s.admin.headers), 201)
    made = await api.client.post(
        SESSIONS,
        json={
            "kind": "group",
            "title": "Circle",
            "group_id": group["id"],
            "starts_at": TOMORROW.isoformat(),
            "duration_minutes": 45,
        },
        headers=s.admin.headers,
    )
    session_id = ok(made, 201)["id"]
    await started(api, s, clock, session_id)
    first, second, outside = s.students
    ok(await put(api, s.teacher, session_id, second, {"academic": {"grade": 7}}))

    everyone = await lines(api, s.teacher, session_id)
    assert [(line["student_user_id"], line["id"] is None) for line in everyone] == [
        (first.id, True),  # no report yet: the teacher sees whom they still owe one
        (second.id, False),
    ]
    assert everyone[1]["academic"] == {"grade": 7, "learning_outcomes": None}
    assert everyone[1]["quran"] is None
    assert await lines(api, s.admin, session_id) == everyone
    assert await lines(api, second, session_id) == everyone[1:]
    assert await lines(api, first, session_id) == everyone[:1]
    assert await lines(api, s.parent, session_id) == everyone[:1]  # the parent of students[0]
    assert_error(await of_session(api, outside, session_id), 404, "not_found")
    # Not one of the session's students: nobody writes a report on them.
    assert_error(
        await put(api, s.teacher, session_id, outside, {"teacher_notes": "?"}), 404, "not_a_student"
    )


async def test_only_the_sessions_students_get_a_report(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    body = {"teacher_notes": "Well done"}
    for nobody in (s.students[1], s.teacher, s.parent, s.admin):
        assert_error(await put(api, s.teacher, session_id, nobody, body), 404, "not_a_student")
    assert_error(await put(api, s.teacher, session_id, 2**40, body), 404, "not_a_student")
    assert await count(api, SessionReport) == 0


async def test_who_may_write(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    student = s.students[0]
    body = {"teacher_notes": "Good"}
    for watcher in (student, s.parent):
        assert_error(await put(api, watcher, session_id, student, body), 403, "role_required")
    # Another teacher does not see the session at all.
    assert_error(await put(api, s.other_teacher, session_id, student, body), 404, "not_found")
    assert await count(api, SessionReport) == 0
    for writer in (s.supervisor, s.admin, s.teacher):
        assert ok(await put(api, writer, session_id, student, body))["teacher_notes"] == "Good"
    assert await count(api, SessionReport) == 1


async def test_a_rewrite_keeps_who_wrote_first_and_changes_are_audited(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    student = s.students[0]
    first = ok(await put(api, s.teacher, session_id, student, QURAN_REPORT))
    clock.advance(timedelta(minutes=30))
    changed = {
        "quran": {"revision": [{"from_surah": 2, "from_ayah": 1, "to_surah": 2, "to_ayah": 5}]},
        "academic": {"grade": 8, "learning_outcomes": "Reads the rules of noon sakinah"},
    }
    second = ok(await put(api, s.admin, session_id, student, changed))
    assert second["id"] == first["id"]
    assert (second["written_by_user_id"], second["updated_by_user_id"]) == (
        s.teacher.id,
        s.admin.id,
    )
    assert second["created_at"] == first["created_at"]
    assert datetime.fromisoformat(second["updated_at"]) == clock.now()
    # PUT replaces the report whole: what the second one left out is gone.
    assert second["quran"]["memorisation"] == []
    assert second["quran"]["recitation_grade"] is None
    assert [r["ayahs"] for r in second["quran"]["revision"]] == [5]
    assert (second["homework"], second["teacher_notes"]) == (None, None)
    assert await count(api, SessionReport) == 1
    assert await count(api, Passage) == 1

    # Writing the same again changes nothing, and records nothing.
    clock.advance(timedelta(minutes=5))
    again = ok(await put(api, s.teacher, session_id, student, changed))
    assert again == second

    entries = await report_audit(api)
    assert [(e.action, e.actor_user_id) for e in entries] == [
        ("session_report.created", s.teacher.id),
        ("session_report.updated", s.admin.id),
    ]
    assert entries[0].before is None
    assert entries[1].before is not None
    assert entries[1].after is not None
    assert entries[1].before["recitation_grade"] == 9
    assert entries[1].before["memorisation"] == [[67, 1, 68, 52, 562, None]]
    assert entries[1].after["academic_grade"] == 8
    assert entries[1].after["session_id"] == session_id


# --- when -------------------------------------------------------------------------------------


async def _to(api: Api, session_id: int, status: Status) -> None:
    async with api.database.transaction() as session:
        row = await session.get(ClassSession, session_id)
        assert row is not None
        await transition(api.runtime(session), row, status, By.SYSTEM, Actor())


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("unscheduled", "session_not_scheduled"),
        ("scheduled", "session_not_started"),
        ("ready", "session_not_started"),
        ("suspended", "session_suspended"),
        ("cancelled", "session_cancelled"),
    ],
)
async def test_no_report_for_a_session_not_held(
    api: Api, clock: FrozenClock, status: str, code: str
) -> None:
    s = await school(api)
    if status == "unscheduled":
        body = {
            "kind": "individual",
            "title": "Later",
            "teacher_user_id": s.teacher.id,
            "student_user_id": s.students[0].id,
            "duration_minutes": 30,
        }
        made = await api.client.post(SESSIONS, json=body, headers=s.admin.headers)
        session_id = ok(made, 201)["id"]
    else:
        session_id = await booked(api, s)
    if status == "ready":
        clock.set(TOMORROW - timedelta(minutes=15))
        await _to(api, session_id, Status.READY)
    elif status == "suspended":
        await _to(api, session_id, Status.SUSPENDED)
    elif status == "cancelled":
        path = f"{SESSIONS}/{session_id}/cancel"
        ok(await api.client.post(path, json={"reason": "ill"}, headers=s.admin.headers))
    detail = ok(await api.client.get(f"{SESSIONS}/{session_id}", headers=s.admin.headers))
    assert detail["status"] == status
    for writer in (s.teacher, s.admin):
        response = await put(api, writer, session_id, s.students[0], QURAN_REPORT)
        assert_error(response, 409, code)
    assert await count(api, SessionReport) == 0
    # Reading is never refused: the session's students, with nothing written yet.
    [line] = await lines(api, s.teacher, session_id)
    assert (line["id"], line["student_user_id"], line["quran"]) == (None, s.students[0].id, None)


async def test_reports_stay_writable_after_the_session(api: Api, clock: FrozenClock) -> None:
    """Completed, or the student absent: a report (homework, a note) may still be written."""
    s = await school(api, students=2)
    held = await booked(api, s)
    missed = await booked(api, s, student=1, starts_at=TOMORROW + timedelta(hours=2))
    await started(api, s, clock, held)
    clock.advance(timedelta(minutes=55))
    ok(await api.client.post(f"{SESSIONS}/{held}/complete", json={}, headers=s.teacher.headers))
    await started(api, s, clock, missed)
    path = f"{SESSIONS}/{missed}/mark-absent"
    ok(await api.client.post(path, json={"reason": "no show"}, headers=s.teacher.headers))
    clock.advance(timedelta(days=3))
    done = ok(await put(api, s.teacher, held, s.students[0], {"academic": {"grade": 10}}))
    assert done["session"]["status"] == "completed"
    absent = ok(
        await put(api, s.teacher, missed, s.students[1], {"homework": {"assigned": "Revise 78"}})
    )
    assert absent["session"]["status"] == "absent"


# --- validation -------------------------------------------------------------------------------


def passage(**fields: Any) -> dict[str, Any]:
    return {"from_surah": 1, "from_ayah": 1, "to_surah": 1, "to_ayah": 7, **fields}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"quran": {"memorisation": [passage(to_ayah=300)]}},
            "quran.memorisation.0.to_ayah",
            "Al-Fatiha (surah 1) has 7 ayahs; there is no ayah 300 in it",
        ),
        (
            {"quran": {"revision": [passage(), passage(from_ayah=300, to_surah=2, to_ayah=1)]}},
            "quran.revision.1.from_ayah",
            "has 7 ayahs",
        ),
        (
            {"quran": {"revision": [passage(from_surah=115)]}},
            "quran.revision.0.from_surah",
            "less than or equal to 114",
        ),
        (
            {"quran": {"revision": [passage(from_surah=2, from_ayah=10, to_surah=2, to_ayah=5)]}},
            "quran.revision.0.to_ayah",
            "before it starts",
        ),
        (
            {"quran": {"revision": [passage(from_surah=3, to_surah=2, to_ayah=1)]}},
            "quran.revision.0.to_surah",
            "before surah 3",
        ),
        (
            {"quran": {"revision": [passage(from_page=605)]}},
            "quran.revision.0.from_page",
            "less than or equal to 604",
        ),
        (
            {"quran": {"revision": [passage(from_page=5, to_page=4)]}},
            "quran.revision.0.to_page",
            "comes before the first",
        ),
        (
            {"quran": {"revision": [passage(to_page=4)]}},
            "quran.revision.0.to_page",
            "a last page needs a first one",
        ),
        ({"quran": {"recitation_grade": 11}}, "quran.recitation_grade", "less than or equal"),
        ({"academic": {"grade": 11}}, "academic.grade", "less than or equal to 10"),
        ({"academic": {"grade": -1}}, "academic.grade", "greater than or equal to 0"),
        ({"homework": {"verdict": "maybe"}}, "homework.verdict", "'done'"),
        ({"teacher_notes": "x" * 5001}, "teacher_notes", "at most 5000"),
        ({"teacher_notes": "ok", "grade": 5}, "grade", "Extra inputs"),
        ({}, "body", "the report says nothing"),
        ({"teacher_notes": "   ", "quran": {"memorisation": []}}, "body", "says nothing"),
    ],
)
async def test_invalid_reports_name_the_field(
    api: Api, clock: FrozenClock, body: dict[str, Any], field: str, message: str
) -> None:
    s = await school(api, students=1)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    response = await put(api, s.teacher, session_id, s.students[0], body)
    assert error_fields(response) == {field}
    [detail] = response.json()["error"]["details"]
    assert message in detail["message"], detail
    assert await count(api, SessionReport) == 0


# --- attendance beside the evaluation ---------------------------------------------------------


async def test_attendance_is_read_from_the_attendance_records(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    session_id = await booked(api, s)
    await started(api, s, clock, session_id)
    student = s.students[0]
    [line] = await lines(api, s.teacher, session_id)
    assert line["attendance"] is None  # not computed yet
    async with api.database.transaction() as session:
        row = await session.get(ClassSession, session_id)
        assert row is not None
        for user_id, role, status, seconds in (
            (s.teacher.id, "teacher", "present", 3600),
            (student.id, "student", "late", 2700),
        ):
            session.add(
                AttendanceRecord(
                    academy_id=row.academy_id,
                    session_id=session_id,
                    user_id=user_id,
                    role=role,
                    first_join=TOMORROW + timedelta(minutes=15),
                    last_leave=TOMORROW + timedelta(minutes=60),
                    seconds=seconds,
                    window_start=TOMORROW,
                    window_seconds=3600,
                    reconnects=0,
                    inferred_end=False,
                    sources="webhook",
                    computed_status=status,
                    status=status,
                    status_source="auto",
                    computed_at=clock.now(),
                )
            )
    expected = {
        "status": "late",
        "status_source": "auto",
        "seconds": 2700,
        "window_seconds": 3600,
        "first_join": "2026-03-02T09:15:00Z",
        "last_leave": "2026-03-02T10:00:00Z",
    }
    [line] = await lines(api, student, session_id)
    assert (line["id"], line["attendance"]) == (None, expected)  # before any report
    written = ok(await put(api, s.teacher, session_id, student, {"teacher_notes": "Came late"}))
    assert written["attendance"] == expected
    [line] = await lines(api, s.parent, session_id)
    assert line["attendance"] == expected
    [listed] = ok(await of_student(api, student, student))["items"]
    assert listed["attendance"] == expected


# --- a student's reports over time --------------------------------------------------------------


async def test_a_students_reports_over_a_span(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=2)
    student, other = s.students
    days = [TOMORROW + timedelta(days=n) for n in range(3)]
    ids = [await booked(api, s, starts_at=day) for day in days]
    # The last one is given by another teacher.
    other_teachers = await booked(
        api, s, starts_at=days[2] + timedelta(hours=3), teacher_user_id=s.other_teacher.id
    )
    for n, session_id in enumerate(ids):
        await started(api, s, clock, session_id)
        ok(await put(api, s.teacher, session_id, student, {"academic": {"grade": n + 5}}))
    detail = ok(await api.client.get(f"{SESSIONS}/{other_teachers}", headers=s.admin.headers))
    clock.set(datetime.fromisoformat(detail["starts_at"]))
    path = f"{SESSIONS}/{other_teachers}/start"
    ok(await api.client.post(path, json={}, headers=s.other_teacher.headers))
    ok(await put(api, s.other_teacher, other_teachers, student, {"teacher_notes": "Guest"}))

    def grades(page: dict[str, Any]) -> list[Any]:
        return [
            (item["academic"] or {}).get("grade") or item["teacher_notes"] for item in page["items"]
        ]

    for reader in (student, s.parent, s.admin, s.supervisor):
        everything = ok(await of_student(api, reader, student))
        assert grades(everything) == ["Guest", 7, 6, 5], reader  # newest first
        assert everything["total"] == 4
    # A teacher sees the reports of the sessions they give.
    assert grades(ok(await of_student(api, s.teacher, student))) == [7, 6, 5]
    assert grades(ok(await of_student(api, s.other_teacher, student))) == ["Guest"]
    span = {"from": days[1].isoformat(), "to": days[2].isoformat()}
    assert grades(ok(await of_student(api, student, student, **span))) == [6]
    paged = ok(await of_student(api, s.parent, student, per_page=2, page=2))
    assert (grades(paged), paged["total"]) == ([6, 5], 4)
    # Another student, or a parent of someone else, learns nothing; nor about a made-up id.
    assert_error(await of_student(api, other, student), 404, "not_found")
    assert grades(ok(await of_student(api, other, other))) == []
    stranger_parent = await api.member(SLUG, s.admin, "parent")
    assert_error(await of_student(api, stranger_parent, student), 404, "not_found")
    response = await api.client.get(f"{ACADEMY}/students/{2**40}/reports", headers=s.admin.headers)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02T00:00:00"}, "from"),  # no UTC offset
        ({"to": "2026-03-02T00:00:00"}, "to"),
        ({"from": "2026-03-05T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "to"),
        ({"from": "yesterday"}, "from"),
    ],
)
async def test_a_bad_span_names_the_field(api: Api, params: dict[str, str], field: str) -> None:
    s = await school(api, students=1)
    assert error_fields(await of_student(api, s.admin, s.students[0], **params)) == {field}
