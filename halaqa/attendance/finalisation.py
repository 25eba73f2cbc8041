"""Finalisation: after a session's end and the finalise delay, its presence is folded into one
record per teacher and student, and the session's status is settled from them (completed,
absent, or cancelled for the teacher's absence with a make-up owed). Presence that arrives
later, or an override, computes it all again; the follow-ups registered here (the ledger) are
queued each time, so they can put right what the last computation decided.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from halaqa.academies.auth import Actor
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.attendance.assessment import Assessment, Role, SessionShape, assess
from halaqa.attendance.folding import Source
from halaqa.attendance.policy import AttendanceStatus, Decider, Override, outcome_transition
from halaqa.attendance.repository import AttendanceRepository, PresenceRepository
from halaqa.attendance.service import as_folding
from halaqa.kit.deps import Runtime
from halaqa.models import AttendanceOverride, AttendanceRecord, ClassSession, SessionStatusChange
from halaqa.scheduling.calendar import refresh_next_step
from halaqa.scheduling.lifecycle import By, Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import transition
from halaqa.worker.jobs import HANDLERS, enqueue, enqueue_many, handles

log = logging.getLogger("halaqa.attendance")

SYSTEM = Actor()
# What the history says of a change finalisation makes, unless the outcome has its own reason.
BECAUSE = "attendance"
# Kinds of job run each time a session's attendance is finalised (the ledger's, say), through
# one job of kind FOLLOW_UPS for all the sessions of an academy finalised together.
ON_FINALIZED: list[str] = []
FOLLOW_UPS = "attendance.follow_ups"


def on_finalized(kind: str) -> None:
    """Run the handler of jobs of `kind`, with the session's academy and id, after every
    finalisation."""
    if kind not in ON_FINALIZED:
        ON_FINALIZED.append(kind)


def as_override(row: AttendanceOverride) -> Override:
    return Override(AttendanceStatus(row.status), Decider(row.source), row.decided_at)


async def shape_of(rt: Runtime, session: ClassSession) -> SessionShape:
    people = await SessionRepository(rt.session, session.academy_id).participants(session.id)
    return shape_from(session, (p.user_id for p in people if p.role == "student"))


def shape_from(session: ClassSession, student_ids: Iterable[int]) -> SessionShape:
    """The session's shape, given who takes part in it as a student."""
    assert session.starts_at is not None
    assert session.ends_at is not None
    students = tuple(sorted(student_ids))
    if session.student_user_id is not None and session.student_user_id not in students:
        students = (*students, session.student_user_id)
    return SessionShape(
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        teacher_id=session.teacher_user_id,
        student_ids=students,
        group=session.kind == "group",
    )


async def assess_session(
    rt: Runtime, session: ClassSession, settings: AcademySettings
) -> Assessment:
    """The session's attendance as its presence and overrides stand now."""
    events = await PresenceRepository(rt.session, session.academy_id).of_session(session.id)
    rows = await AttendanceRepository(rt.session, session.academy_id).overrides(session.id)
    overrides: dict[int, list[Override]] = defaultdict(list)
    for row in rows:
        overrides[row.user_id].append(as_override(row))
    return assess(
        [as_folding(event) for event in events],
        await shape_of(rt, session),
        settings,
        overrides,
    )


def records_of(
    session: ClassSession, assessment: Assessment, rt: Runtime
) -> list[AttendanceRecord]:
    return [
        AttendanceRecord(**values) for values in record_values(session, assessment, rt.clock.now())
    ]


# A record's columns, in the order of `record_rows`.
RECORD_COLUMNS = (
    "academy_id",
    "session_id",
    "user_id",
    "role",
    "first_join",
    "last_leave",
    "seconds",
    "window_start",
    "window_seconds",
    "reconnects",
    "inferred_end",
    "sources",
    "computed_status",
    "status",
    "status_source",
    "computed_at",
)


RecordRow = tuple[Any, ...]
# Each status, role and decider as the plain text a column keeps (a lookup: reading an enum
# member's value a million times costs more).
_TEXT: dict[StrEnum, str] = {
    member: member.value for kind in (AttendanceStatus, Decider, Role) for member in kind
}


@functools.cache
def _sources_text(sources: frozenset[Source]) -> str:
    return ",".join(sorted(sources))


def record_rows(session: ClassSession, assessment: Assessment, now: datetime) -> list[RecordRow]:
    """The session's records, one per teacher and student, as rows of RECORD_COLUMNS (for
    writing many in bulk: no mapping per record)."""
    academy_id, session_id = session.academy_id, session.id
    rows = []
    for attendee in assessment.attendees:
        presence = attendee.presence
        rows.append(
            (
                academy_id,
                session_id,
                attendee.user_id,
                _TEXT[attendee.role],
                presence.first_join if presence else None,
                presence.last_leave if presence else None,
                presence.seconds if presence else 0,
                attendee.window_start,
                attendee.window_seconds,
                presence.reconnects if presence else 0,
                presence.inferred_end if presence else False,
                _sources_text(attendee.sources),
                _TEXT[attendee.computed],
                _TEXT[attendee.decision.status],
                _TEXT[attendee.decision.source],
                now,
            )
        )
    return rows


def record_values(
    session: ClassSession, assessment: Assessment, now: datetime
) -> list[dict[str, Any]]:
    """The columns of the session's records, one per teacher and student."""
    return [
        dict(zip(RECORD_COLUMNS, row, strict=True)) for row in record_rows(session, assessment, now)
    ]


async def finalise(rt: Runtime, session: ClassSession) -> None:
    """Computes and keeps the session's attendance, settles its status from it, and queues the
    follow-ups. Safe to run again: it replaces what the last run kept."""
    academy = await AcademyRepository(rt.session).get(session.academy_id)
    assert academy is not None
    settings = effective_settings(academy.settings)
    assessment = await assess_session(rt, session, settings)
    attendance = AttendanceRepository(rt.session, session.academy_id)
    await attendance.replace_records(session.id, records_of(session, assessment, rt))
    change = await attendance.last_change_into(session.id, session.status)
    await conclude(rt, session, settings, assessment, change)
    await queue_follow_ups(rt, [session])


async def conclude(
    rt: Runtime,
    session: ClassSession,
    settings: AcademySettings,
    assessment: Assessment,
    change: SessionStatusChange | None,
) -> None:
    """Finalisation once the session's records are kept: marks it finalised and settles its
    status (`queue_follow_ups` then queues what follows). `change`: the latest change of its
    status, if it was into the status it has now (`AttendanceRepository.last_change_into`)."""
    session.attendance_finalized_at = rt.clock.now()
    for target, reason in moves(session, assessment, change):
        await transition(rt, session, target, By.SYSTEM, SYSTEM, reason=reason)
    refresh_next_step(session, settings)
    log.info("session %s: attendance finalised, outcome %s", session.id, assessment.outcome)


async def queue_follow_ups(rt: Runtime, sessions: Sequence[ClassSession]) -> None:
    """Queues the follow-ups registered for each finalisation, for these finalised sessions: one
    job per academy, which runs each of them for each session (`run_follow_ups`). A backlog of
    ten thousand sessions is then a few jobs for the worker to claim and run, not thirty
    thousand."""
    if not ON_FINALIZED:
        return
    by_academy: dict[int, list[int]] = defaultdict(list)
    for session in sessions:
        by_academy[session.academy_id].append(session.id)
    await enqueue_many(
        rt,
        FOLLOW_UPS,
        [
            ({"academy_id": academy_id, "session_ids": ids}, academy_id)
            for academy_id, ids in by_academy.items()
        ],
    )


@handles(FOLLOW_UPS)
async def run_follow_ups(rt: Runtime, payload: dict[str, Any]) -> None:
    """Each registered follow-up for each of the finalised sessions, each in a savepoint: one
    that fails is taken back and queued as a job of its own, to be retried (and parked, if it
    keeps failing) apart from the rest, which go on."""
    academy_id = payload["academy_id"]
    for session_id in payload["session_ids"]:
        about = {"academy_id": academy_id, "session_id": session_id}
        for kind in ON_FINALIZED:
            try:
                async with rt.session.begin_nested():
                    await HANDLERS[kind](rt, dict(about))
            except Exception:
                log.exception(
                    "session %s: follow-up %s failed; queued on its own", session_id, kind
                )
                await enqueue(rt, kind, about, academy_id=academy_id)


def moves(
    session: ClassSession, assessment: Assessment, change: SessionStatusChange | None
) -> list[tuple[Status, str]]:
    """The changes of status (each with its reason) that settle the session as its attendance
    says, in order, as the system; none, most of the time. A status a person chose once the
    class was over (a teacher completing it or marking the student absent, staff correcting it)
    stands: the computation never overrules a person, as with attendance overrides. A room
    nobody started is started first, since only a started class completes."""
    current = Status(session.status)
    chosen = change is not None and change.actor_user_id is not None
    if chosen and current in (Status.COMPLETED, Status.ABSENT):
        return []
    outcome = assessment.outcome
    target = outcome_transition(current, outcome, cancellation_reason=session.cancellation_reason)
    steps = []
    if target is None and current in (Status.SCHEDULED, Status.READY):
        steps.append((Status.ONGOING, BECAUSE))
        target = outcome_transition(Status.ONGOING, outcome)
    if target is not None:
        steps.append((target, outcome.reason or BECAUSE))
    return steps


async def presence_arrived(
    rt: Runtime, academy_id: int, session_id: int, arrivals: set[int]
) -> None:
    """New presence is on record for the session (`arrivals`: who joined or was seen in it).
    The first of its teacher or students in starts it; presence after its attendance was
    finalised has it computed again at the worker's next tick. The session's row is locked
    first, as finalisation locks it, so a finalisation either sees this presence or is
    re-opened by it: none slips between the two."""
    session = await SessionRepository(rt.session, academy_id).get(session_id, lock=True)
    if session is None or session.starts_at is None:
        return
    if session.attendance_finalized_at is not None:
        session.attendance_finalized_at = None
        academy = await AcademyRepository(rt.session).get(academy_id)
        assert academy is not None
        refresh_next_step(session, effective_settings(academy.settings))
        log.info("session %s: late presence, attendance to be finalised again", session.id)
        return
    if Status(session.status) in (Status.SCHEDULED, Status.READY):
        shape = await shape_of(rt, session)
        if arrivals & {shape.teacher_id, *shape.student_ids}:
            await transition(
                rt, session, Status.ONGOING, By.SYSTEM, SYSTEM, reason="first participant in"
            )
