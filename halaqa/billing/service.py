"""The session ledger: after every change of a session's outcome (attendance finalised or
computed again, an override, a cancellation, a reopening), each of its students' charge is
brought in line with the counting rules — a charge to the subscription that covered the
session, a refund of it, or nothing — exactly once, whatever runs at the same time.

Exactly once rests on the database: each (session, student) has a numbered history in which
charges and refunds alternate (LedgerEntry), and two writers of the same number cannot both
commit; the loser looks again. A charge takes the cycle's row lock first, so two sessions never
spend the cycle's last session twice; a charge that would overdraw it is flagged for an admin
instead of being made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from halaqa.academies.auth import AcademyContext
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.roles import STAFF
from halaqa.academies.service import audit
from halaqa.attendance.policy import AttendanceStatus, Decider
from halaqa.attendance.repository import AttendanceRepository
from halaqa.billing.repository import LedgerRepository
from halaqa.billing.rules import Verdict, Why, next_entry, verdict
from halaqa.catalog.cycles import cycle_for
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.exceptions import Conflict, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import AttendanceRecord, ClassSession, LedgerEntry, LedgerFlag, Subscription
from halaqa.scheduling.lifecycle import Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import get_session, viewer_of
from halaqa.worker.jobs import enqueue

log = logging.getLogger("halaqa.billing")

FLAGS_LISTED = 500  # the newest; an academy with more open flags has bigger problems
ATTEMPTS = 5
_ALL_GROUPS = CatalogViewer(
    user_id=None, sees_all=True
)  # a writer that lost a race looks again; more losses in a row than this is a bug
_STUDENT_DRIVEN = frozenset(
    {Why.PRESENT, Why.LATE, Why.LEFT_EARLY, Why.PARTIAL, Why.NO_SHOW, Why.EXCUSED}
)


class LedgerRace(RuntimeError):
    """Another writer kept winning: the job fails and is retried later."""


# Kinds of job queued after each ledger entry, a charge or a refund (a balance running low is
# told to the family; the academy's systems hear of it).
ON_LEDGER_ENTRY: list[str] = []


def on_ledger_entry(kind: str) -> None:
    if kind not in ON_LEDGER_ENTRY:
        ON_LEDGER_ENTRY.append(kind)


async def apply_session(rt: Runtime, academy_id: int, session_id: int) -> None:
    """Brings every student's charge for the session in line with its outcome now."""
    session = await SessionRepository(rt.session, academy_id).get(session_id)
    if session is None:
        return
    records = {
        r.user_id: r for r in await AttendanceRepository(rt.session, academy_id).records(session.id)
    }
    people = await SessionRepository(rt.session, academy_id).participants(session.id)
    students = {p.user_id for p in people if p.role == "student"}
    students |= {r.user_id for r in records.values() if r.role == "student"}
    students |= await LedgerRepository(rt.session, academy_id).students_charged_for(session.id)
    decider = await _session_decider(rt, session)
    for student_id in sorted(students):
        await _settle(rt, session, student_id, records, decider)


async def _session_decider(rt: Runtime, session: ClassSession) -> Decider:
    """Who set the session's status, for the verdicts it alone decides (a cancellation, a
    reopening): the system, its teacher, or the staff."""
    change = await AttendanceRepository(rt.session, session.academy_id).last_change_into(
        session.id, session.status
    )
    if change is None or change.actor_user_id is None:
        return Decider.AUTO
    return Decider.TEACHER if change.actor_user_id == session.teacher_user_id else Decider.ADMIN


def _status(record: AttendanceRecord | None) -> AttendanceStatus | None:
    return None if record is None else AttendanceStatus(record.status)


async def _settle(
    rt: Runtime,
    session: ClassSession,
    student_id: int,
    records: dict[int, AttendanceRecord],
    session_decider: Decider,
) -> None:
    teacher = records.get(session.teacher_user_id)
    student = records.get(student_id)
    wanted = verdict(
        Status(session.status), session.cancellation_reason, _status(teacher), _status(student)
    )
    if wanted.why in _STUDENT_DRIVEN:
        assert student is not None
        by = Decider(student.status_source)
    elif wanted.why is Why.TEACHER_ABSENT and teacher is not None:
        by = Decider(teacher.status_source)
    else:
        by = session_decider
    for _ in range(ATTEMPTS):
        try:
            async with rt.session.begin_nested():
                await _move(rt, session, student_id, wanted, by)
            return
        except IntegrityError:  # another writer took this entry's number: look again
            log.info("session %s, student %s: lost a ledger race", session.id, student_id)
    raise LedgerRace(f"session {session.id}, student {student_id}: the ledger kept changing")


async def _move(
    rt: Runtime, session: ClassSession, student_id: int, wanted: Verdict, by: Decider
) -> None:
    ledger = LedgerRepository(rt.session, session.academy_id)
    history = await ledger.entries(session.id, student_id)
    last = history[-1] if history else None
    charged = last is not None and last.kind == "consumed"
    kind = next_entry(charged, Decider(last.source) if last else None, wanted, by)
    if kind is None:
        if not wanted.charge:
            await _close_flag(rt, session, student_id, "no longer due")
        return
    if kind == "refunded":
        assert last is not None
        await ledger.locked_cycle(last.cycle_id)
        subscription_id, cycle_id = last.subscription_id, last.cycle_id
    else:
        found = await _cycle_to_charge(rt, session, student_id)
        if found is None:
            return  # no subscription covered it: nothing is charged
        subscription_id, cycle_id = found
        cycle = await ledger.locked_cycle(cycle_id)
        used = await SubscriptionRepository(rt.session, session.academy_id).used_in_cycles(
            [cycle_id]
        )
        if used[cycle_id] >= cycle.quota:
            await _flag(rt, session, student_id, subscription_id, "quota_exhausted")
            return
    await ledger.add_entry(
        LedgerEntry(
            academy_id=session.academy_id,
            subscription_id=subscription_id,
            cycle_id=cycle_id,
            session_id=session.id,
            student_user_id=student_id,
            seq=(last.seq if last else 0) + 1,
            kind=kind,
            outcome=wanted.why.value,
            source=by.value,
            reason=None,
            actor_user_id=None,
            at=rt.clock.now(),
        )
    )
    await _close_flag(rt, session, student_id, "charged" if kind == "consumed" else "refunded")
    entry = {
        "academy_id": session.academy_id,
        "session_id": session.id,
        "student_id": student_id,
        "subscription_id": subscription_id,
        "cycle_id": cycle_id,
        "kind": kind,
        "outcome": wanted.why.value,
    }
    for follow_up in ON_LEDGER_ENTRY:
        await enqueue(rt, follow_up, entry, academy_id=session.academy_id)
    log.info("session %s, student %s: %s (%s)", session.id, student_id, kind, wanted.why)


async def _day_of(rt: Runtime, session: ClassSession) -> date:
    """The session's date where it is taught: the day the subscription and cycle must cover."""
    assert session.starts_at is not None
    zone = session.time_zone
    if zone is None:
        academy = await AcademyRepository(rt.session).get(session.academy_id)
        assert academy is not None
        zone = academy.time_zone
    return session.starts_at.astimezone(ZoneInfo(zone)).date()


async def _cycle_to_charge(
    rt: Runtime, session: ClassSession, student_id: int
) -> tuple[int, int] | None:
    """(subscription, cycle) a charge of the session goes to: the subscription to its teacher
    (individual lessons) or its group that covered it, and that subscription's cycle of the
    day. Trial and assessment sessions are never charged to a package."""
    if session.kind not in ("individual", "group") or session.starts_at is None:
        return None
    day = await _day_of(rt, session)
    subscription = await LedgerRepository(rt.session, session.academy_id).covering(
        student_id,
        session.teacher_user_id if session.kind == "individual" else None,
        session.group_id if session.kind == "group" else None,
        day,
        session.starts_at,
    )
    if subscription is None:
        return None
    cycle = await cycle_for(rt, subscription, day)
    return None if cycle is None else (subscription.id, cycle.id)


async def _flag(
    rt: Runtime, session: ClassSession, student_id: int, subscription_id: int, reason: str
) -> None:
    ledger = LedgerRepository(rt.session, session.academy_id)
    if await ledger.open_flag(session.id, student_id) is None:
        await ledger.add_flag(
            LedgerFlag(
                academy_id=session.academy_id,
                session_id=session.id,
                student_user_id=student_id,
                subscription_id=subscription_id,
                reason=reason,
                status="open",
            )
        )
        log.warning("session %s, student %s: charge held (%s)", session.id, student_id, reason)


async def _close_flag(rt: Runtime, session: ClassSession, student_id: int, note: str) -> None:
    flag = await LedgerRepository(rt.session, session.academy_id).open_flag(session.id, student_id)
    if flag is not None:
        flag.status = "resolved"
        flag.resolution_note = note


# --- what people see -------------------------------------------------------------------------


async def session_ledger(rt: Runtime, ctx: AcademyContext, session_id: int) -> list[LedgerEntry]:
    """A session's entries, for those who may see its students' charges: its teacher and the
    staff all of them, a student their own, a parent their children's."""
    view = await get_session(rt, ctx, session_id)
    ledger = LedgerRepository(rt.session, ctx.academy.id)
    students = await ledger.students_charged_for(view.session.id)
    if not (ctx.roles & STAFF) and ctx.user_id != view.session.teacher_user_id:
        viewer = await viewer_of(rt, ctx)
        students &= {ctx.user_id, *viewer.children}
    entries: list[LedgerEntry] = []
    for student_id in sorted(s for s in students if s is not None):
        entries.extend(await ledger.entries(view.session.id, student_id))
    return entries


async def visible_subscription(
    rt: Runtime, ctx: AcademyContext, subscription_id: int
) -> Subscription:
    """The subscription if the viewer may see its ledger (staff; its student and their parents;
    its teacher, or its group's); otherwise 404, as if absent."""
    subscription = await LedgerRepository(rt.session, ctx.academy.id).subscription(subscription_id)
    if subscription is not None:
        if ctx.roles & STAFF:
            return subscription
        viewer = await viewer_of(rt, ctx)
        teachers = {subscription.teacher_user_id}
        if subscription.group_id is not None:
            group = await GroupRepository(rt.session, ctx.academy.id).get(
                _ALL_GROUPS, subscription.group_id
            )
            teachers.add(group.teacher_user_id if group else None)
        mine = {subscription.student_user_id} & {ctx.user_id, *viewer.children}
        if mine or (ctx.user_id is not None and ctx.user_id in teachers):
            return subscription
    raise NotFound(f"no subscription {subscription_id} in this academy")


async def subscription_ledger(
    rt: Runtime, ctx: AcademyContext, subscription_id: int, *, offset: int, limit: int
) -> tuple[Sequence[LedgerEntry], int]:
    subscription = await visible_subscription(rt, ctx, subscription_id)
    ledger = LedgerRepository(rt.session, ctx.academy.id)
    return await ledger.of_subscription(subscription.id, offset=offset, limit=limit)


async def flags(rt: Runtime, ctx: AcademyContext, status: str | None) -> Sequence[LedgerFlag]:
    return await LedgerRepository(rt.session, ctx.academy.id).flags(status, FLAGS_LISTED)


async def _open_flag(rt: Runtime, ctx: AcademyContext, flag_id: int) -> LedgerFlag:
    flag = await LedgerRepository(rt.session, ctx.academy.id).flag(flag_id)
    if flag is None:
        raise NotFound(f"no ledger flag {flag_id} in this academy")
    if flag.status != "open":
        raise Conflict(f"this flag is already {flag.status}", code="already_decided")
    return flag


async def retry_flag(rt: Runtime, ctx: AcademyContext, flag_id: int) -> LedgerFlag:
    """Once the cycle has room again (a bigger quota, a waived one), the held charge is made by
    applying the session again; the flag closes if it went through."""
    flag = await _open_flag(rt, ctx, flag_id)
    await apply_session(rt, ctx.academy.id, flag.session_id)
    if flag.status != "open":
        flag.resolved_by_user_id = ctx.user_id
    await audit(
        rt,
        ctx.actor,
        "ledger.flag_retried",
        academy_id=ctx.academy.id,
        entity_type="ledger_flag",
        entity_id=flag.id,
        after={"status": flag.status},
    )
    return flag


async def dismiss_flag(rt: Runtime, ctx: AcademyContext, flag_id: int, note: str) -> LedgerFlag:
    """The admin decides the session is not to be charged after all (left as it is)."""
    flag = await _open_flag(rt, ctx, flag_id)
    flag.status = "dismissed"
    flag.resolved_by_user_id = ctx.user_id
    flag.resolution_note = note
    await audit(
        rt,
        ctx.actor,
        "ledger.flag_dismissed",
        academy_id=ctx.academy.id,
        entity_type="ledger_flag",
        entity_id=flag.id,
        after={"note": note},
    )
    return flag
