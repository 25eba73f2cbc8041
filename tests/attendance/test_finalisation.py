"""Finalisation: after the end and the delay, everyone's attendance goes on record and the session
is settled from it; presence arriving later computes it again; the first one in starts a class."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from halaqa.attendance import finalisation
from halaqa.attendance.assessment import Assessment
from halaqa.attendance.policy import Outcome
from halaqa.config import Settings
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.main import create_app
from halaqa.models import ClassSession, SessionStatusChange
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, Status
from halaqa.worker import jobs
from tests.api import Api, Person
from tests.attendance.test_intake import deliver, live_room
from tests.catalog.school import School, enrolled, ok, open_course, school
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import ACADEMY, SESSIONS, TOMORROW, tick

END = TOMORROW + timedelta(hours=1)
AFTER = END + timedelta(minutes=5)  # finalize_delay_minutes


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def book(api: Api, s: School, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
    } | fields
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def beat(api: Api, clock: FrozenClock, path: str, who: Person, *minutes: int) -> None:
    """`who`'s meeting page (one page) beating at these minutes after the start."""
    for minute in minutes:
        clock.set(TOMORROW + timedelta(minutes=minute))
        body = {"page_id": f"page-{who.id:08d}"}
        ok(await api.client.post(f"{path}/heartbeat", json=body, headers=who.headers))


async def session(api: Api, path: str, who: Person) -> dict[str, Any]:
    return ok(await api.client.get(path, headers=who.headers))


async def attendance(api: Api, path: str, who: Person) -> dict[str, Any]:
    return ok(await api.client.get(f"{path}/attendance", headers=who.headers))


async def finalised(app: FastAPI, clock: FrozenClock) -> None:
    """The worker runs after the end and the delay, and again (completion, then finalisation)."""
    clock.set(AFTER)
    for _ in range(3):
        await tick(app)


def by_user(found: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {record["user_id"]: record for record in found["records"]}


async def test_a_held_class_is_completed_with_everyone_on_record(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)
    await beat(api, clock, path, s.teacher, 0)
    assert (await session(api, path, s.admin))["status"] == "ongoing"  # the first one in
    await beat(api, clock, path, s.students[0], 12)  # late
    for minute in range(15, 61, 15):
        await beat(api, clock, path, s.teacher, minute)
        await beat(api, clock, path, s.students[0], minute)
    provisional = await attendance(api, path, s.teacher)
    assert provisional["finalized"] is False
    assert by_user(provisional)[s.students[0].id]["status"] == "late"
    await finalised(app, clock)
    assert (await session(api, path, s.admin))["status"] == "completed"
    found = await attendance(api, path, s.teacher)
    assert found["finalized"] is True
    teacher, student = by_user(found)[s.teacher.id], by_user(found)[s.students[0].id]
    assert (teacher["role"], teacher["status"], teacher["seconds"]) == ("teacher", "present", 3600)
    assert student == student | {
        "role": "student",
        "status": "late",
        "status_source": "auto",
        "computed_status": "late",
        "seconds": 48 * 60,
        "window_seconds": 3600,
        "share_percent": 80.0,
        "reconnects": 0,
        "inferred_end": True,  # no leave: closed at the last heartbeat
        "sources": ["heartbeat"],
    }
    # The student sees their own record only; the parent their child's.
    mine = await attendance(api, path, s.students[0])
    assert [r["user_id"] for r in mine["records"]] == [s.students[0].id]
    assert [r["user_id"] for r in (await attendance(api, path, s.parent))["records"]] == [
        s.students[0].id
    ]


async def test_the_student_not_coming_makes_the_session_absent(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    path = f"{SESSIONS}/{(await book(api, s))['id']}"
    await beat(api, clock, path, s.teacher, 0, 30, 60)
    await finalised(app, clock)
    assert (await session(api, path, s.admin))["status"] == "absent"
    assert by_user(await attendance(api, path, s.admin))[s.students[0].id]["status"] == "absent"


async def test_nobody_coming_is_the_teachers_absence_and_a_makeup_is_owed(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    made = await book(api, s)
    path = f"{SESSIONS}/{made['id']}"
    await beat(api, clock, path, s.students[0], 0, 30, 60)  # only the student came
    await finalised(app, clock)
    found = await session(api, path, s.admin)
    assert (found["status"], found["cancellation_reason"]) == ("cancelled", "teacher_absent")
    owed = ok(await api.client.get(f"{ACADEMY}/makeups", headers=s.admin.headers))
    assert made["id"] in {item["session"]["id"] for item in owed["items"]}
    records = by_user(await attendance(api, path, s.admin))
    assert records[s.teacher.id]["status"] == "absent"
    assert records[s.students[0].id]["status"] == "present"  # on record, charged to nobody


async def test_late_webhooks_reopen_and_correct_the_outcome(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """LiveKit's webhooks reach Halaqa only after finalisation decided nobody came: they are
    kept, the attendance is computed again, and the session becomes what it was."""
    s, made, room = await live_room(api, app, clock, livekit)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    since = len(livekit.events)
    teacher = livekit.join(room, f"user-{s.teacher.id}")
    student = livekit.join(room, f"user-{s.students[0].id}")
    clock.set(END)
    livekit.leave(room, student)
    livekit.leave(room, teacher)
    await finalised(app, clock)  # the webhooks were held up
    assert (await session(api, path, s.admin))["cancellation_reason"] == "teacher_absent"
    clock.set(AFTER + timedelta(minutes=30))
    await deliver(api, livekit, since)
    await tick(app)  # processes the events: finalised again at the next tick
    await tick(app)
    found = await session(api, path, s.admin)
    assert (found["status"], found["cancellation_reason"]) == ("completed", None)
    records = by_user(await attendance(api, path, s.admin))
    assert records[s.students[0].id]["seconds"] == 3600
    assert records[s.students[0].id]["sources"] == ["webhook"]


async def test_a_group_class_starts_when_its_first_student_arrives(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=3)
    group = await open_course(api, s.admin, s.teacher)
    for student in s.students:
        await enrolled(api, s.admin, group["id"], student)
    made = await book(api, s, kind="group", group_id=group["id"], student_user_id=None)
    path = f"{SESSIONS}/{made['id']}"
    await beat(api, clock, path, s.students[1], -5)
    assert (await session(api, path, s.admin))["status"] == "ongoing"
    await beat(api, clock, path, s.teacher, 0, 60)
    await beat(api, clock, path, s.students[1], 60)
    await finalised(app, clock)
    assert (await session(api, path, s.admin))["status"] == "completed"
    statuses = {
        r["user_id"]: r["status"] for r in (await attendance(api, path, s.admin))["records"]
    }
    assert statuses == {
        s.teacher.id: "present",
        s.students[0].id: "absent",
        s.students[1].id: "present",
        s.students[2].id: "absent",
    }


async def test_each_finalisation_queues_the_registered_follow_ups(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    async def ledger(rt: Runtime, payload: dict[str, Any]) -> None:
        seen.append(payload)

    monkeypatch.setitem(jobs.HANDLERS, "test.ledger", ledger)
    monkeypatch.setattr(finalisation, "ON_FINALIZED", [])
    finalisation.on_finalized("test.ledger")
    finalisation.on_finalized("test.ledger")  # once is enough
    s = await school(api, students=1)
    made = await book(api, s)
    path = f"{SESSIONS}/{made['id']}"
    await beat(api, clock, path, s.teacher, 0, 60)
    await finalised(app, clock)
    assert [p["session_id"] for p in seen] == [made["id"]]
    # An override computes it again, and the follow-up runs again.
    body = {"status": "excused", "note": "was ill"}
    ok(
        await api.client.put(
            f"{path}/attendance/{s.students[0].id}", json=body, headers=s.admin.headers
        )
    )
    await tick(app)
    assert [p["session_id"] for p in seen] == [made["id"], made["id"]]


async def test_a_follow_up_failing_for_one_session_is_retried_on_its_own(
    api: Api, app: FastAPI, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions finalised together share one follow-ups job; one session's failing follow-up is
    taken back and queued as a job of its own, and the others' stand."""
    seen: list[int] = []
    failing: set[int] = set()

    async def ledger(rt: Runtime, payload: dict[str, Any]) -> None:
        if payload["session_id"] in failing:
            raise RuntimeError("the ledger cannot be reached")
        seen.append(payload["session_id"])

    monkeypatch.setitem(jobs.HANDLERS, "test.ledger", ledger)
    monkeypatch.setattr(finalisation, "ON_FINALIZED", [])
    finalisation.on_finalized("test.ledger")
    s = await school(api, students=1)
    earlier = await book(api, s, starts_at=(TOMORROW - timedelta(hours=2)).isoformat())
    later = await book(api, s)
    failing.add(earlier["id"])
    await finalised(app, clock)  # both due at the same tick: one job for the two
    assert seen == [later["id"]]
    failing.clear()
    clock.set(AFTER + jobs.LONGEST_RETRY)
    await tick(app)
    assert seen == [later["id"], earlier["id"]]


async def test_a_restart_with_stays_still_open_loses_nothing(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, settings: Settings
) -> None:
    """Halaqa stops while people are in the room (their stays have no leave yet) and LiveKit's
    leave webhooks are lost; after the restart a new process's worker asks LiveKit who is in,
    and finalisation closes each stay at its last confirmation."""
    s, made, room = await live_room(api, app, clock, livekit)
    path = f"{SESSIONS}/{made['id']}"
    clock.set(TOMORROW)
    since = len(livekit.events)
    teacher = livekit.join(room, f"user-{s.teacher.id}")
    student = livekit.join(room, f"user-{s.students[0].id}")
    await deliver(api, livekit, since)
    await tick(app)
    restarted = create_app(settings, clock=clock)  # the first process is gone
    async with restarted.router.lifespan_context(restarted):
        clock.set(TOMORROW + timedelta(minutes=40))
        await tick(restarted)  # LiveKit still lists both: confirmed at 40
        livekit.leave(room, student)  # its webhook never arrives
        clock.set(TOMORROW + timedelta(minutes=59))
        await tick(restarted)  # confirmed the teacher at 59
        livekit.leave(room, teacher)
        clock.set(AFTER)
        for _ in range(3):
            await tick(restarted)
    records = by_user(await attendance(api, path, s.admin))
    assert (records[s.teacher.id]["seconds"], records[s.teacher.id]["status"]) == (
        59 * 60,
        "present",
    )
    student_record = records[s.students[0].id]
    assert (student_record["seconds"], student_record["inferred_end"]) == (40 * 60, True)
    assert student_record["status"] == "left_early"
    assert (await session(api, path, s.admin))["status"] == "completed"


# --- the moves that settle a session (pure) ----------------------------------------------------

COMPLETED = Outcome(Status.COMPLETED)
ABSENT = Outcome(Status.ABSENT)
NO_TEACHER = Outcome(Status.CANCELLED, TEACHER_ABSENT)
BY_HAND, BY_SYSTEM = 7, None  # who made the session's latest change of status


@pytest.mark.parametrize(
    ("status", "cancelled_for", "changed_by", "outcome", "expected"),
    [
        # Most: the session already stands where its attendance puts it.
        ("completed", None, BY_SYSTEM, COMPLETED, []),
        ("cancelled", TEACHER_ABSENT, BY_SYSTEM, NO_TEACHER, []),
        # Finished by the system, then the attendance says otherwise.
        ("ongoing", None, BY_SYSTEM, COMPLETED, [("completed", "attendance")]),
        ("completed", None, BY_SYSTEM, NO_TEACHER, [("cancelled", TEACHER_ABSENT)]),
        ("completed", None, BY_SYSTEM, ABSENT, [("absent", "attendance")]),
        ("cancelled", TEACHER_ABSENT, BY_SYSTEM, COMPLETED, [("completed", "attendance")]),
        # A person's word on a finished class stands; on a cancellation it is not about attendance.
        ("completed", None, BY_HAND, NO_TEACHER, []),
        ("absent", None, BY_HAND, COMPLETED, []),
        ("cancelled", "student_request", BY_HAND, COMPLETED, []),
        # A room nobody started is started first; nobody there is cancelled from where it is.
        (
            "ready",
            None,
            BY_SYSTEM,
            COMPLETED,
            [("ongoing", "attendance"), ("completed", "attendance")],
        ),
        (
            "scheduled",
            None,
            BY_SYSTEM,
            ABSENT,
            [("ongoing", "attendance"), ("absent", "attendance")],
        ),
        ("ready", None, BY_SYSTEM, NO_TEACHER, [("cancelled", TEACHER_ABSENT)]),
        # Never due to be held: attendance does not end it.
        ("suspended", None, BY_SYSTEM, NO_TEACHER, []),
    ],
)
def test_the_moves_that_settle_a_session(
    status: str,
    cancelled_for: str | None,
    changed_by: int | None,
    outcome: Outcome,
    expected: list[tuple[str, str]],
) -> None:
    session = ClassSession(status=status, cancellation_reason=cancelled_for)
    change = SessionStatusChange(to_status=status, actor_user_id=changed_by)
    assessment = Assessment(attendees=(), outcome=outcome)
    assert finalisation.moves(session, assessment, change) == expected
