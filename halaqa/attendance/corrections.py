"""People's word on attendance: overrides by the session's teacher (its students) and by
admins (anyone's, the teacher's too), and students' absence requests before a class, which a
teacher or an admin approves (the student is then excused) or declines.

Precedence is the policy's (auto < teacher < admin); every decision is kept, never edited. A
session whose attendance is already on record is finalised again at once, so its records,
its outcome and the ledger's follow-up follow the new word.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.roles import STAFF
from halaqa.academies.service import audit
from halaqa.academies.settings import effective_settings
from halaqa.attendance.finalisation import assess_session, finalise, presence_arrived, records_of
from halaqa.attendance.policy import AttendanceStatus, Decider
from halaqa.attendance.repository import AttendanceRepository, PresenceRepository
from halaqa.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import (
    AbsenceRequest,
    AttendanceOverride,
    AttendanceRecord,
    ClassSession,
    PresenceEvent,
)
from halaqa.scheduling.lifecycle import TEACHER_ABSENT, Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import SessionView, get_session, viewer_of

# Statuses of a session that was, or is to be, held: only these have attendance to correct.
_HELD = frozenset({Status.SCHEDULED, Status.READY, Status.ONGOING, Status.COMPLETED, Status.ABSENT})


@dataclass(frozen=True)
class SessionAttendance:
    session_id: int
    finalized_at: datetime | None  # None: provisional, computed from the presence so far
    records: list[AttendanceRecord]
    overrides: list[AttendanceOverride]


def _held(session: ClassSession) -> bool:
    status = Status(session.status)
    return status in _HELD or (
        status is Status.CANCELLED and session.cancellation_reason == TEACHER_ABSENT
    )


def _is_staff(ctx: AcademyContext) -> bool:
    return bool(ctx.roles & STAFF)


def _visible_to(view: SessionView, ctx: AcademyContext, children: frozenset[int]) -> set[int]:
    """Whose attendance the viewer may see: all of it for the teacher and staff, their own for a
    student, their children's for a parent."""
    everyone = {view.session.teacher_user_id, *view.facts.student_ids}
    if ctx.user_id == view.session.teacher_user_id or _is_staff(ctx):
        return everyone
    mine = {ctx.user_id} if ctx.user_id in view.facts.student_ids else set()
    return mine | (children & view.facts.student_ids)


async def session_attendance(
    rt: Runtime, ctx: AcademyContext, session_id: int
) -> SessionAttendance:
    """The session's attendance as the viewer may see it: the records once finalised, before
    that computed from the presence so far (from its start), and the overrides' history."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    viewer = await viewer_of(rt, ctx)
    visible = _visible_to(view, ctx, viewer.children)
    repository = AttendanceRepository(rt.session, ctx.academy.id)
    if session.attendance_finalized_at is not None:
        records = list(await repository.records(session.id))
    elif session.starts_at is not None and session.starts_at <= rt.clock.now() and _held(session):
        settings = effective_settings(ctx.academy.settings)
        records = records_of(session, await assess_session(rt, session, settings), rt)
    else:
        records = []
    overrides = await repository.overrides(session.id)
    return SessionAttendance(
        session_id=session.id,
        finalized_at=session.attendance_finalized_at,
        records=[r for r in records if r.user_id in visible],
        overrides=[o for o in overrides if o.user_id in visible],
    )


async def override(
    rt: Runtime,
    ctx: AcademyContext,
    session_id: int,
    user_id: int,
    status: AttendanceStatus,
    note: str,
    *,
    absence_request_id: int | None = None,
) -> AttendanceOverride:
    """Sets someone's status in a session, as the session's teacher (its students only) or as
    an admin or supervisor (anyone, its teacher too). Refused when an admin has already decided
    and a teacher tries to, for a session that is not held, and, but for excusing someone in
    advance, before the class has begun."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    source = _source_of(view, ctx, user_id)
    if not _held(session):
        raise Conflict(
            f"this session is {session.status}: it has no attendance to correct",
            code="session_not_held",
        )
    now = rt.clock.now()
    begun = session.starts_at is not None and session.starts_at <= now
    if not begun and status is not AttendanceStatus.EXCUSED:
        raise Conflict(
            "the class has not begun: before it, a student can only be excused",
            code="not_begun",
        )
    repository = AttendanceRepository(rt.session, ctx.academy.id)
    earlier = [o for o in await repository.overrides(session.id) if o.user_id == user_id]
    if source is Decider.TEACHER and any(o.source == Decider.ADMIN for o in earlier):
        raise Conflict(
            "an admin has already decided this attendance; ask an admin to change it",
            code="decided_by_admin",
        )
    row = AttendanceOverride(
        academy_id=ctx.academy.id,
        session_id=session.id,
        user_id=user_id,
        status=status.value,
        source=source.value,
        note=note,
        decided_by_user_id=ctx.user_id,
        decided_at=now,
        absence_request_id=absence_request_id,
    )
    await repository.add_override(row)
    await audit(
        rt,
        ctx.actor,
        "attendance.overridden",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={"user_id": user_id, "status": status, "source": source, "note": note},
    )
    await refinalise(rt, session)
    return row


def _source_of(view: SessionView, ctx: AcademyContext, user_id: int) -> Decider:
    """Who the viewer decides as for `user_id`'s attendance: 403 unless they may."""
    session = view.session
    if _is_staff(ctx):
        source = Decider.ADMIN
    elif ctx.user_id == session.teacher_user_id and user_id != session.teacher_user_id:
        source = Decider.TEACHER
    else:
        raise Forbidden(
            "only the session's teacher (for its students) or an admin may correct attendance",
            code="not_allowed",
        )
    if user_id != session.teacher_user_id and user_id not in view.facts.student_ids:
        raise NotFound(f"user {user_id} is neither the teacher nor a student of this session")
    return source


async def mark_presence(
    rt: Runtime,
    ctx: AcademyContext,
    session_id: int,
    user_id: int,
    start: datetime,
    end: datetime,
    note: str,
) -> None:
    """Someone's presence marked by hand (a student on the teacher's phone when the room failed,
    say): a stay from `start` to `end`, kept as manual presence events beside the others and
    folded with them. The same people may mark as may override; the stay must lie around the
    class (an hour before its start to the overtime cap after its end)."""
    view = await get_session(rt, ctx, session_id)
    session = view.session
    source = _source_of(view, ctx, user_id)
    if not _held(session) or session.starts_at is None or session.ends_at is None:
        raise Conflict(
            f"this session is {session.status}: it has no attendance to mark",
            code="session_not_held",
        )
    now = rt.clock.now()
    cap = timedelta(minutes=effective_settings(ctx.academy.settings).overtime_cap_minutes)
    earliest, latest = session.starts_at - timedelta(hours=1), session.ends_at + cap
    latest = min(latest, now)
    if end <= start:
        raise InvalidInput.field("to", "must be after from")
    if start < earliest or end > latest:
        raise InvalidInput.field(
            "from",
            f"the stay must lie between {earliest.isoformat()} (an hour before the class) and "
            f"{latest.isoformat()} (the overtime cap after it, and never in the future)",
        )
    mark = f"manual:{secrets.token_hex(8)}"
    events = [
        PresenceEvent(
            academy_id=session.academy_id,
            session_id=session.id,
            user_id=user_id,
            participant_id=mark,
            kind=kind,
            source="manual",
            at=at,
            arrived_at=now,
            event_key=f"{mark}:{kind}",
        )
        for kind, at in (("joined", start), ("left", end))
    ]
    await PresenceRepository(rt.session, session.academy_id).add(events)
    await audit(
        rt,
        ctx.actor,
        "attendance.presence_marked",
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=session.id,
        after={
            "user_id": user_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by": source,
            "note": note,
        },
    )
    if not await refinalise(rt, session):  # not on record yet: as any presence coming in
        await presence_arrived(rt, session.academy_id, session.id, {user_id})


async def refinalise(rt: Runtime, session: ClassSession) -> bool:
    """A session whose attendance is on record is computed again now, its row locked as the
    worker's finalisation locks it (True); one not finalised yet takes the new word when it
    is (False)."""
    locked = await SessionRepository(rt.session, session.academy_id).get(session.id, lock=True)
    assert locked is not None
    if locked.attendance_finalized_at is None:
        return False
    await finalise(rt, locked)
    return True


# --- absence requests ------------------------------------------------------------------------


async def request_absence(
    rt: Runtime, ctx: AcademyContext, session_id: int, student_id: int | None, reason: str
) -> AbsenceRequest:
    """A student (or a parent, for their child, or the staff, for a request phoned in) asks for
    the student to be excused from a class before it begins. One open or granted request per
    student and class."""
    view = await get_session(rt, ctx, session_id)
    viewer = await viewer_of(rt, ctx)
    student = ctx.user_id if student_id is None else student_id
    if student not in view.facts.student_ids:
        raise NotFound(f"user {student} is not a student of this session")
    if student != ctx.user_id and student not in viewer.children and not _is_staff(ctx):
        raise Forbidden(
            "only the student, their parent or the staff may ask for a student to be excused",
            code="not_allowed",
        )
    session = view.session
    if Status(session.status) not in (Status.SCHEDULED, Status.READY):
        raise Conflict(f"this session is {session.status}", code="session_not_upcoming")
    assert session.starts_at is not None
    if rt.clock.now() >= session.starts_at:
        raise Conflict(
            "the class has begun: ask the teacher to excuse you instead", code="already_begun"
        )
    repository = AttendanceRepository(rt.session, ctx.academy.id)
    open_ = await repository.absence_requests(session_id=session.id, student_ids=[student])
    if any(r.status in ("pending", "approved") for r in open_):
        raise Conflict(
            "an absence request for this class is already pending or approved",
            code="already_requested",
        )
    request = AbsenceRequest(
        academy_id=ctx.academy.id,
        session_id=session.id,
        student_user_id=student,
        requested_by_user_id=ctx.user_id,
        reason=reason,
        status="pending",
    )
    await repository.add_absence_request(request)
    await audit(
        rt,
        ctx.actor,
        "absence.requested",
        academy_id=ctx.academy.id,
        entity_type="absence_request",
        entity_id=request.id,
        after={"session_id": session.id, "student_id": student, "reason": reason},
    )
    return request


async def absence_requests(
    rt: Runtime, ctx: AcademyContext, *, session_id: int | None, status: str | None
) -> list[AbsenceRequest]:
    """The requests the viewer may see: staff all, a teacher those for their classes, a student
    their own, a parent their children's."""
    repository = AttendanceRepository(rt.session, ctx.academy.id)
    if session_id is not None:
        await get_session(rt, ctx, session_id)  # 404 unless the viewer takes part
    if _is_staff(ctx):
        found = await repository.absence_requests(session_id=session_id, status=status)
        return list(found)
    if ctx.user_id is None:  # an API key without a staff role speaks for nobody
        return []
    viewer = await viewer_of(rt, ctx)
    own = await repository.absence_requests(
        session_id=session_id, student_ids=[ctx.user_id, *viewer.children], status=status
    )
    taught = await repository.absence_requests(
        session_id=session_id, session_ids_of_teacher=ctx.user_id, status=status
    )
    merged = {r.id: r for r in [*own, *taught]}
    return sorted(merged.values(), key=lambda r: r.id, reverse=True)


async def _pending(rt: Runtime, ctx: AcademyContext, request_id: int) -> AbsenceRequest:
    request = await AttendanceRepository(rt.session, ctx.academy.id).absence_request(request_id)
    visible = request is not None and any(
        r.id == request_id
        for r in await absence_requests(rt, ctx, session_id=request.session_id, status=None)
    )
    if request is None or not visible:
        raise NotFound(f"no absence request {request_id} in this academy")
    if request.status != "pending":
        raise Conflict(f"this request is already {request.status}", code="already_decided")
    return request


async def decide_absence(
    rt: Runtime, ctx: AcademyContext, request_id: int, *, approve: bool, note: str | None
) -> AbsenceRequest:
    """The session's teacher or an admin approves (the student is excused, as that person's
    override) or declines a pending request."""
    request = await _pending(rt, ctx, request_id)
    view = await get_session(rt, ctx, request.session_id)
    if not _is_staff(ctx) and ctx.user_id != view.session.teacher_user_id:
        raise Forbidden(
            "only the session's teacher or an admin may decide an absence request",
            code="not_allowed",
        )
    _close(rt, ctx, request, "approved" if approve else "declined", note)
    if approve:
        await override(
            rt,
            ctx,
            request.session_id,
            request.student_user_id,
            AttendanceStatus.EXCUSED,
            note or f"absence request approved: {request.reason}",
            absence_request_id=request.id,
        )
    await audit(
        rt,
        ctx.actor,
        "absence.approved" if approve else "absence.declined",
        academy_id=ctx.academy.id,
        entity_type="absence_request",
        entity_id=request.id,
        after={"note": note},
    )
    return request


async def withdraw_absence(rt: Runtime, ctx: AcademyContext, request_id: int) -> AbsenceRequest:
    """The student, their parent or the staff take back a request still pending."""
    request = await _pending(rt, ctx, request_id)
    viewer = await viewer_of(rt, ctx)
    mine = request.student_user_id == ctx.user_id or request.student_user_id in viewer.children
    if not mine and not _is_staff(ctx):
        raise Forbidden(
            "only the student, their parent or the staff may withdraw it", code="not_allowed"
        )
    _close(rt, ctx, request, "withdrawn", None)
    return request


# What a pending request may become; a decided one is final.
_CLOSED = frozenset({"approved", "declined", "withdrawn"})


def _close(
    rt: Runtime, ctx: AcademyContext, request: AbsenceRequest, status: str, note: str | None
) -> None:
    """The one place an absence request's status changes: from pending to a final status, with
    who decided and when."""
    if request.status != "pending" or status not in _CLOSED:
        raise Conflict(f"this request is already {request.status}", code="already_decided")
    request.status = status
    request.decided_by_user_id = ctx.user_id
    request.decided_at = rt.clock.now()
    request.decision_note = note
