"""Finalising many sessions at once does exactly what finalising each does: the same records, the
same statuses, history and follow-up jobs, from the same presence; and its assessment of plain
rows is `assess`'s."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from _pytest.monkeypatch import MonkeyPatch
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.settings import effective_settings
from halaqa.attendance import batch
from halaqa.attendance.assessment import SessionShape, assess, assess_unique
from halaqa.attendance.batch import WriteBehind, finalise_many
from halaqa.attendance.batch_repository import FinalisationBatchRepository
from halaqa.attendance.finalisation import finalise
from halaqa.attendance.folding import Kind, PresenceEvent, Source
from halaqa.attendance.policy import AttendanceStatus, Decider, Override
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import (
    AttendanceRecord,
    ClassSession,
    Job,
    SessionParticipant,
    SessionStatusChange,
)
from tests.api import Api, Person
from tests.attendance.test_folding import END, START, t
from tests.attendance.test_intake import deliver
from tests.catalog.school import SLUG, enrolled, ok, open_course
from tests.livekit import FakeLiveKit
from tests.meetings.test_livekit import SESSIONS, TOMORROW, configured, room_of, tick

Finaliser = Callable[[Runtime, Sequence[ClassSession]], Awaitable[None]]


@pytest.fixture
def livekit(clock: FrozenClock) -> Iterator[FakeLiveKit]:
    with FakeLiveKit(clock=clock) as server:
        yield server


async def beat(api: Api, clock: FrozenClock, path: str, who: Person, *minutes: int) -> None:
    """`who`'s meeting page beating at these minutes after the start."""
    for minute in minutes:
        clock.set(TOMORROW + timedelta(minutes=minute))
        body = {"page_id": f"page-{who.id:08d}"}
        ok(await api.client.post(f"{path}/heartbeat", json=body, headers=who.headers))


async def book(api: Api, admin: Person, teacher: Person, **fields: Any) -> int:
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": teacher.id,
        "starts_at": TOMORROW.isoformat(),
        "duration_minutes": 60,
    } | fields
    made = ok(await api.client.post(SESSIONS, json=body, headers=admin.headers), 201)
    session_id: int = made["id"]
    return session_id


async def classes(api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit) -> list[int]:
    """Five classes at one hour, each ended its own way, none finalised yet:
    - held: teacher and student through LiveKit; the student drops out and comes back on a new
      connection that never sends a leave (the polls and the room finishing close it), and their
      meeting page beats beside it;
    - circle: a group whose teacher and first student stay, whose second leaves early, whose
      third never comes (an admin excuses them);
    - no teacher: only the student comes;
    - empty: nobody comes (the room opened, nobody started the class);
    - by hand: the student does not come, and the teacher completes the class anyway."""
    s = await configured(api, livekit, students=7)
    more = [await api.member(SLUG, s.admin, "teacher") for _ in range(3)]
    group = await open_course(api, s.admin, s.other_teacher)
    for student in s.students[1:4]:
        await enrolled(api, s.admin, group["id"], student)
    held = await book(api, s.admin, s.teacher, student_user_id=s.students[0].id)
    circle = await book(
        api, s.admin, s.other_teacher, kind="group", group_id=group["id"], title="Circle"
    )
    no_teacher = await book(api, s.admin, more[0], student_user_id=s.students[4].id)
    empty = await book(api, s.admin, more[1], student_user_id=s.students[5].id)
    by_hand = await book(api, s.admin, more[2], student_user_id=s.students[6].id)
    clock.set(TOMORROW - timedelta(minutes=15))
    await tick(app)  # the rooms open
    room = (await room_of(api, held)).room_name
    since = len(livekit.events)

    async def at(minute: int) -> None:
        clock.set(TOMORROW + timedelta(minutes=minute))

    await at(0)
    livekit.join(room, f"user-{s.teacher.id}")
    await at(3)
    first = livekit.join(room, f"user-{s.students[0].id}")
    await at(20)
    livekit.leave(room, first)
    await at(21)
    livekit.join(room, f"user-{s.students[0].id}")
    await deliver(api, livekit, since)
    since = len(livekit.events)
    await tick(app)
    await at(40)
    await tick(app)  # a poll: both still in
    await beat(api, clock, f"{SESSIONS}/{held}", s.students[0], 41, 45)
    await beat(api, clock, f"{SESSIONS}/{circle}", s.other_teacher, 0, 30, 60)
    await beat(api, clock, f"{SESSIONS}/{circle}", s.students[1], 2, 30, 60)
    await beat(api, clock, f"{SESSIONS}/{circle}", s.students[2], 9, 30, 45)
    await beat(api, clock, f"{SESSIONS}/{no_teacher}", s.students[4], 0, 30, 60)
    await beat(api, clock, f"{SESSIONS}/{by_hand}", more[2], 0, 30, 60)
    excuse = {"status": "excused", "note": "was ill"}
    ok(
        await api.client.put(
            f"{SESSIONS}/{circle}/attendance/{s.students[3].id}",
            json=excuse,
            headers=s.admin.headers,
        )
    )
    await at(62)
    livekit.finish(room)
    await deliver(api, livekit, since)
    await tick(app)  # the last webhooks in; nothing is due before the end + 5 minutes
    ok(await api.client.post(f"{SESSIONS}/{by_hand}/complete", json={}, headers=more[2].headers))
    await at(66)  # finalisation is due now, and nothing will run it but the tests
    return [held, circle, no_teacher, empty, by_hand]


async def one_by_one(rt: Runtime, sessions: Sequence[ClassSession]) -> None:
    for session in sessions:
        await finalise(rt, session)


async def state(db: AsyncSession, ids: list[int]) -> dict[str, Any]:
    """Everything finalisation writes, in an order neither way of finalising decides."""
    records = (
        await db.scalars(
            select(AttendanceRecord)
            .where(AttendanceRecord.session_id.in_(ids))
            .order_by(AttendanceRecord.session_id, AttendanceRecord.user_id)
        )
    ).all()
    columns = [c.key for c in AttendanceRecord.__table__.columns if c.key != "id"]
    instants = await db.execute(  # as stored (SQLite keeps them as text), not as read
        select(
            *(
                type_coerce(AttendanceRecord.__table__.c[name], String)
                for name in ("first_join", "last_leave", "window_start", "computed_at")
            )
        )
        .where(AttendanceRecord.session_id.in_(ids))
        .order_by(AttendanceRecord.session_id, AttendanceRecord.user_id)
    )
    sessions = (
        await db.scalars(
            select(ClassSession)
            .where(ClassSession.id.in_(ids))
            .order_by(ClassSession.id)
            .execution_options(populate_existing=True)  # as stored, not as last loaded
        )
    ).all()
    history = (
        await db.scalars(
            select(SessionStatusChange)
            .where(SessionStatusChange.session_id.in_(ids))
            .order_by(SessionStatusChange.session_id, SessionStatusChange.id)
        )
    ).all()
    people = (
        await db.scalars(
            select(SessionParticipant)
            .where(SessionParticipant.session_id.in_(ids))
            .order_by(SessionParticipant.session_id, SessionParticipant.user_id)
        )
    ).all()
    jobs = (await db.scalars(select(Job))).all()
    return {
        "records": [{c: getattr(r, c) for c in columns} for r in records],
        "stored instants": [tuple(row) for row in instants],
        "sessions": [
            {
                c.key: getattr(s, c.key)
                for c in ClassSession.__table__.columns
                if c.key not in {"created_at"}
            }
            for s in sessions
        ],
        "history": [
            (c.session_id, c.from_status, c.to_status, c.action, c.actor_user_id, c.reason, c.at)
            for c in history
        ],
        "participants": [(p.session_id, p.user_id, p.active) for p in people],
        "jobs": per_session(jobs),
    }


def per_session(jobs: Sequence[Job]) -> list[tuple[Any, ...]]:
    """The jobs, one that names several sessions (the follow-ups) once per session: finalising
    one by one queues one such job per session, finalising many one for them all."""
    rows = []
    for job in jobs:
        payload = dict(job.payload)
        ids = payload.pop("session_ids", None)
        for about in [payload] if ids is None else [payload | {"session_id": i} for i in ids]:
            about_text = json.dumps(about, sort_keys=True)
            rows.append((job.kind, about_text, job.academy_id, job.status, job.run_after))
    return sorted(rows)


async def finalised_by(api: Api, ids: list[int], *finalisers: Finaliser) -> dict[str, Any]:
    """What the database holds after the finalisers ran in turn, in one transaction that is then
    rolled back (so each way starts from the same place)."""
    async with api.database.session() as db:
        await db.begin()
        for finaliser in finalisers:
            query = select(ClassSession).where(ClassSession.id.in_(ids)).order_by(ClassSession.id)
            await finaliser(api.runtime(db), list(await db.scalars(query)))
        await db.flush()
        found = await state(db, ids)
        await db.rollback()
    return found


async def test_finalising_many_is_finalising_each(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    ids = await classes(api, app, clock, livekit)
    each = await finalised_by(api, ids, one_by_one)
    many = await finalised_by(api, ids, finalise_many)
    assert many == each
    outcomes = [(s["status"], s["cancellation_reason"]) for s in many["sessions"]]
    assert outcomes == [
        ("completed", None),
        ("completed", None),
        ("cancelled", "teacher_absent"),
        ("cancelled", "teacher_absent"),
        ("completed", None),  # the teacher's word stands
    ]
    assert all(s["attendance_finalized_at"] == clock.now() for s in many["sessions"])
    by_user = {(r["session_id"], r["user_id"]): r for r in many["records"]}
    assert len(by_user) == 2 + 4 + 2 + 2 + 2
    held, circle = ids[:2]
    student = next(r for r in many["records"] if r["session_id"] == held and r["role"] != "teacher")
    assert (student["reconnects"], student["inferred_end"]) == (1, True)
    assert student["sources"] == "heartbeat,poll,webhook"
    circle_statuses = sorted(
        (r["status"], r["status_source"]) for r in many["records"] if r["session_id"] == circle
    )
    assert circle_statuses == [
        ("excused", "admin"),
        ("left_early", "auto"),
        ("present", "auto"),
        ("present", "auto"),
    ]


async def test_finalising_many_again_is_finalising_each_again(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit
) -> None:
    """The second time, the statuses are settled already: records replaced, nothing moved,
    the follow-ups queued again."""
    ids = await classes(api, app, clock, livekit)
    clock.advance(timedelta(minutes=30))
    each = await finalised_by(api, ids, one_by_one, one_by_one)
    many = await finalised_by(api, ids, finalise_many, finalise_many)
    assert many == each
    assert len(many["records"]) == 12


async def test_records_written_a_few_at_a_time_are_the_same(
    api: Api, app: FastAPI, clock: FrozenClock, livekit: FakeLiveKit, monkeypatch: MonkeyPatch
) -> None:
    """A batch's records go in writes of a statement's worth, each beside the next assessments
    (here a statement carries 5): the same records as finalising each."""
    monkeypatch.setattr(batch, "MOST_ROWS", 5)
    written: list[int] = []
    insert = FinalisationBatchRepository.insert_records

    async def counted(repository: FinalisationBatchRepository, records: Sequence[Any]) -> None:
        written.append(len(records))
        await insert(repository, records)

    monkeypatch.setattr(FinalisationBatchRepository, "insert_records", counted)
    ids = await classes(api, app, clock, livekit)
    each = await finalised_by(api, ids, one_by_one)
    assert written == []
    many = await finalised_by(api, ids, finalise_many)
    assert written == [5, 5, 2]
    assert many == each


async def test_no_sessions_is_nothing_to_do(api: Api) -> None:
    async with api.database.transaction() as db:
        await finalise_many(api.runtime(db), [])


# --- writing behind the assessing -------------------------------------------------------------


async def test_writes_go_on_behind_the_caller_one_at_a_time() -> None:
    happened: list[str] = []

    async def write(records: list[Any]) -> None:
        happened.append(f"write {records[0][0]} starts")
        await asyncio.sleep(0)
        happened.append(f"write {records[0][0]} ends")

    async with WriteBehind(write) as writes:
        await writes.start([(1,)])
        happened.append("the caller goes on")
        await writes.start([])  # nothing to write: only the wait for the one before
        await writes.start([(2,)])
    happened.append("the block is over")
    assert happened == [
        "write 1 starts",
        "the caller goes on",
        "write 1 ends",
        "write 2 starts",
        "write 2 ends",
        "the block is over",
    ]


async def test_a_failed_write_is_raised_to_the_caller() -> None:
    async def write(records: list[Any]) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(f"write {records[0][0]} failed")

    async def two_writes() -> None:
        async with WriteBehind(write) as writes:
            await writes.start([(1,)])
            await writes.start([(2,)])
            pytest.fail("the write before must fail this start")

    with pytest.raises(RuntimeError, match="write 1 failed"):
        await two_writes()


async def test_a_failing_caller_waits_for_the_write_under_way() -> None:
    """The transaction is rolled back only once its connection is free; the caller's error is
    the one raised, whatever became of the write."""
    ended: list[int] = []

    async def write(records: list[Any]) -> None:
        await asyncio.sleep(0)
        ended.append(records[0][0])
        raise RuntimeError("the write failed too")

    async def failing() -> None:
        async with WriteBehind(write) as writes:
            await writes.start([(1,)])
            raise ValueError("the caller failed")

    with pytest.raises(ValueError, match="the caller failed"):
        await failing()
    assert ended == [1]


# --- the assessment of plain rows ------------------------------------------------------------

TEACHER, STUDENTS = 1, (2, 3, 4)
_KINDS = st.sampled_from([Kind.JOINED, Kind.JOINED, Kind.LEFT, Kind.ABORTED, Kind.CONFIRMED])


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[PresenceEvent], SessionShape, dict[int, Any]]:
    """A session's events, each once (as the database keeps them), with overrides."""
    events = []
    for n in range(draw(st.integers(0, 24))):
        at = t(draw(st.integers(-10, 70)), draw(st.sampled_from([0, 30])))
        if draw(st.integers(0, 9)) == 0:
            events.append(PresenceEvent(None, None, Kind.ROOM_FINISHED, at, Source.WEBHOOK, f"{n}"))
            continue
        user = draw(st.sampled_from([TEACHER, *STUDENTS, 9]))  # 9: an observer
        connection = draw(st.sampled_from(["a", "b", "page:1", None]))
        source = draw(st.sampled_from(list(Source)))
        events.append(PresenceEvent(user, connection, draw(_KINDS), at, source, f"{n}"))
    group = draw(st.booleans())
    students = STUDENTS if group else (draw(st.sampled_from(STUDENTS)),)
    overrides = {
        user: [
            Override(
                draw(st.sampled_from(list(AttendanceStatus))),
                draw(st.sampled_from([Decider.TEACHER, Decider.ADMIN])),
                t(draw(st.integers(60, 90))),
            )
        ]
        for user in draw(st.sets(st.sampled_from([TEACHER, *STUDENTS]), max_size=2))
    }
    return events, SessionShape(START, END, TEACHER, students, group), overrides


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(sessions(), st.randoms(use_true_random=False), st.sampled_from([0, 120, 600]))
def test_rows_are_assessed_as_events_are(
    session: tuple[list[PresenceEvent], SessionShape, dict[int, Any]],
    rng: random.Random,
    merge: int,
) -> None:
    events, shape, overrides = session
    academy = effective_settings({"reconnect_merge_seconds": merge})
    rows = [(e.at, e.kind.value, e.user_id, e.participant_id, e.source.value) for e in events]
    rng.shuffle(rows)
    assert assess_unique(rows, shape, academy, overrides) == assess(
        events, shape, academy, overrides
    )
