"""Attendance reports: per session (with everyone's presence timeline), per student, per group,
per teacher, the absentees of a period, the students with a run of consecutive absences, and
every class held in a period with its students' tally (the overview's weekly rate).

Who sees what. Staff (admins, supervisors) see everything; every class's tally is theirs only. A
teacher sees their own sessions (everyone in them), the groups they teach, their own teacher
report, the absentees and runs of absences in their own sessions, and a student's report narrowed
to the sessions they teach that student. A student sees their own report and their own rows in
their sessions' reports; a parent the same for each of their children. An API key without a staff
role speaks for nobody.

Periods are whole days in the academy's time zone, `first_day` to `last_day` included, at most
MAX_DAYS long; a report lists at most MAX_SESSIONS sessions (MAX_ROWS absentees), and says so, with
what to change, rather than cutting the list short.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from halaqa.academies.auth import AcademyContext
from halaqa.academies.roles import Role
from halaqa.academies.settings import effective_settings
from halaqa.attendance.folding import SECOND, fold
from halaqa.attendance.policy import AttendanceStatus, Decider
from halaqa.attendance.service import as_folding
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.exceptions import Forbidden, InvalidInput, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import AttendanceRecord, ClassSession
from halaqa.reports import absences
from halaqa.reports.repository import ReportRepository, Window
from halaqa.reports.schemas import (
    AbsenteeOut,
    AbsenteesOut,
    CellOut,
    ConsecutiveAbsencesOut,
    GroupAttendanceOut,
    GroupOut,
    GroupSessionOut,
    GroupStudentOut,
    IntervalOut,
    PeriodOut,
    PersonOut,
    RecordOut,
    RunOut,
    SessionAttendanceOut,
    SessionBrief,
    StudentAttendanceOut,
    StudentSessionOut,
    TallyOut,
    TeacherAttendanceOut,
    TeacherSessionOut,
    TimelineOut,
)
from halaqa.reports.summary import Tally, held, minutes, settles_teacher, tally
from halaqa.scheduling.lifecycle import Status, Viewer
from halaqa.scheduling.service import get_session, viewer_of

MAX_DAYS = 366  # the longest period one report covers
DEFAULT_DAYS = 30  # the period when none is given: the last 30 days, today included
DEFAULT_RUN_DAYS = 90  # how far back runs of absences are looked for, unless told
DEFAULT_AT_LEAST = 3  # the shortest run listed, unless told (there is no academy setting)
MAX_SESSIONS = 1000  # sessions in one report
# Classes added up across the academy in one go (the overview's weekly rate): many teachers'.
MAX_CLASSES = 20_000
MAX_ROWS = 5000  # absentees in one report
MAX_OUTCOMES = 100_000  # records read to find runs of absences
MAX_EVENTS = 100_000  # presence events folded for one session's timeline

TOO_LARGE = "report_too_large"


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    zone: str
    window: Window

    def out(self) -> PeriodOut:
        return PeriodOut(
            first_day=self.first_day,
            last_day=self.last_day,
            starts_from=self.window.starts_from,
            starts_before=self.window.starts_before,
        )


def today_in(zone: str, now: datetime) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(zone)).date()


def _midnight(day: date, zone: str) -> datetime:
    local = datetime.combine(day, time(), zoneinfo.ZoneInfo(zone))
    return local.astimezone(zoneinfo.ZoneInfo("UTC"))


def period_of(
    first_day: date | None,
    last_day: date | None,
    zone: str,
    today: date,
    *,
    default_days: int = DEFAULT_DAYS,
) -> Period:
    """The days from `first_day` to `last_day` in `zone`, both included. Without `last_day`,
    up to today (or to `first_day`, if that is later); without `first_day`, the `default_days`
    up to `last_day`. 422, saying what to change, when the days are the wrong way round or more
    than MAX_DAYS."""
    if last_day is None:
        last_day = today if first_day is None or first_day <= today else first_day
    if first_day is None:
        first_day = last_day - timedelta(days=default_days - 1)
    if last_day < first_day:
        raise InvalidInput.field(
            "to", f"{last_day} is before from ({first_day}); give a to on or after from"
        )
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise InvalidInput.field(
            "from",
            f"from {first_day} to {last_day} is {days} days; a report covers at most {MAX_DAYS} "
            "days, so move from and to closer together",
        )
    window = Window(_midnight(first_day, zone), _midnight(last_day + timedelta(days=1), zone))
    return Period(first_day, last_day, zone, window)


def _too_many(what: str, cap: int, fix: str) -> InvalidInput:
    return InvalidInput(
        f"this report would list more than {cap} {what}, the most one report holds; {fix}",
        code=TOO_LARGE,
        details={"cap": cap},
    )


def _capped(items: list[ClassSession], period: Period, cap: int) -> list[ClassSession]:
    if len(items) > cap:
        raise _too_many(
            "sessions", cap, f"choose fewer days than {period.first_day}…{period.last_day}"
        )
    return items


# --- shaping ---------------------------------------------------------------------------------


def session_brief(session: ClassSession) -> SessionBrief:
    return SessionBrief(
        id=session.id,
        code=session.code,
        title=session.title,
        kind=session.kind,
        status=Status(session.status),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        teacher_user_id=session.teacher_user_id,
        group_id=session.group_id,
        attendance_finalized_at=session.attendance_finalized_at,
    )


def record_out(record: AttendanceRecord) -> RecordOut:
    return RecordOut(
        status=AttendanceStatus(record.status),
        computed_status=AttendanceStatus(record.computed_status),
        status_source=Decider(record.status_source),
        first_join=record.first_join,
        last_leave=record.last_leave,
        seconds=record.seconds,
        minutes=float(minutes(record.seconds)),
        window_start=record.window_start,
        window_seconds=record.window_seconds,
        reconnects=record.reconnects,
        inferred_end=record.inferred_end,
        sources=[s for s in record.sources.split(",") if s],
        computed_at=record.computed_at,
    )


def tally_out(counted: Tally) -> TallyOut:
    rate = counted.rate
    return TallyOut(
        present=counted.present,
        late=counted.late,
        left_early=counted.left_early,
        partial=counted.partial,
        absent=counted.absent,
        excused=counted.excused,
        no_record=counted.no_record,
        counted=counted.counted,
        attended=counted.attended,
        rate=None if rate is None else float(rate),
        seconds=counted.seconds,
        minutes=float(counted.minutes),
    )


def _outcome(record: AttendanceRecord | None) -> tuple[str | None, int]:
    return (None, 0) if record is None else (record.status, record.seconds)


async def _names(repo: ReportRepository, user_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(user_ids)
    found = await repo.names(wanted)
    # Someone no longer in the academy keeps their place in its history, unnamed.
    return {user_id: found.get(user_id, f"user {user_id}") for user_id in wanted}


def _zone(ctx: AcademyContext) -> str:
    return ctx.academy.time_zone


# --- one session -----------------------------------------------------------------------------


async def session_attendance(
    rt: Runtime, ctx: AcademyContext, session_id: int
) -> SessionAttendanceOut:
    """The session's record for each of its people with their presence timeline. Everyone who
    may see the session may see this; its students and their parents see only their own rows."""
    view = await get_session(rt, ctx, session_id)  # 404 unless the viewer may see it
    session = view.session
    viewer = await viewer_of(rt, ctx)
    repo = ReportRepository(rt.session, ctx.academy.id)
    records = {r.user_id: r for r in await repo.records([session.id])}
    roles: dict[int, str] = {p.user_id: p.role for p in view.participants}
    if session.student_user_id is not None:
        roles.setdefault(session.student_user_id, "student")
    roles[session.teacher_user_id] = "teacher"
    for record in records.values():
        roles.setdefault(record.user_id, record.role)
    if not (viewer.is_staff or viewer.user_id == session.teacher_user_id):
        mine = _own_and_children(viewer)
        roles = {user_id: role for user_id, role in roles.items() if user_id in mine}
    timelines = await _timelines(rt, ctx, repo, session)
    names = await _names(repo, roles)
    people = [
        TimelineOut(
            user_id=user_id,
            name=names[user_id],
            role="teacher" if role == "teacher" else "student",
            record=record_out(records[user_id]) if user_id in records else None,
            intervals=timelines.get(user_id, []),
        )
        for user_id, role in roles.items()
    ]
    people.sort(key=lambda p: (p.role != "teacher", p.name, p.user_id))
    return SessionAttendanceOut(time_zone=_zone(ctx), session=session_brief(session), people=people)


def _own_and_children(viewer: Viewer) -> set[int]:
    mine = set(viewer.children)
    if viewer.user_id is not None:
        mine.add(viewer.user_id)
    return mine


async def _timelines(
    rt: Runtime, ctx: AcademyContext, repo: ReportRepository, session: ClassSession
) -> dict[int, list[IntervalOut]]:
    """Each user's presence, folded from every event on record by the code that finalises it.
    A stay with no leave ends where finalisation ends it (its last confirmation, the room
    finishing, else the scheduled end); while the class is still on, at the latest now."""
    if session.starts_at is None or session.ends_at is None:
        return {}
    events = await repo.presence(session.id, limit=MAX_EVENTS + 1)
    if len(events) > MAX_EVENTS:
        raise _too_many(
            "presence events", MAX_EVENTS, "the presence of this session is too long to show"
        )
    merge = effective_settings(ctx.academy.settings).reconnect_merge_seconds
    folded = fold(
        [as_folding(event) for event in events],
        window_start=session.starts_at,
        window_end=session.ends_at,
        scheduled_end=min(session.ends_at, rt.clock.now()),
        merge_seconds=merge,
    )
    return {
        user_id: [
            IntervalOut(start=i.start, end=i.end, seconds=(i.end - i.start) // SECOND)
            for i in presence.intervals
        ]
        for user_id, presence in folded.items()
    }


# --- one student -----------------------------------------------------------------------------


async def _require_member(repo: ReportRepository, user_id: int, what: str) -> None:
    if not await repo.is_member(user_id):
        raise NotFound(f"no {what} {user_id} in this academy")


async def student_attendance(
    rt: Runtime, ctx: AcademyContext, student_id: int, period: Period
) -> StudentAttendanceOut:
    repo = ReportRepository(rt.session, ctx.academy.id)
    await _require_member(repo, student_id, "student")
    viewer = await viewer_of(rt, ctx)
    only_taught_by: int | None = None
    if not viewer.is_staff and student_id not in _own_and_children(viewer):
        if viewer.user_id is None or Role.TEACHER not in viewer.roles:
            raise Forbidden(
                "you may see your own attendance, and your children's", code="not_allowed"
            )
        if not await repo.teaches(viewer.user_id, student_id):
            raise Forbidden("you teach this student in no session", code="not_allowed")
        only_taught_by = viewer.user_id
    sessions = _capped(
        await repo.sessions_of_student(
            student_id, period.window, teacher_id=only_taught_by, limit=MAX_SESSIONS + 1
        ),
        period,
        MAX_SESSIONS,
    )
    records = {
        r.session_id: r for r in await repo.records([s.id for s in sessions], user_id=student_id)
    }
    names = await _names(repo, [student_id])
    rows = [
        StudentSessionOut(
            session=session_brief(s),
            record=record_out(records[s.id]) if s.id in records else None,
            counted=held(s),
        )
        for s in sessions
    ]
    return StudentAttendanceOut(
        time_zone=_zone(ctx),
        period=period.out(),
        student=PersonOut(user_id=student_id, name=names[student_id]),
        only_taught_by=only_taught_by,
        summary=tally_out(tally(_outcome(records.get(s.id)) for s in sessions if held(s))),
        sessions=rows,
    )


# --- one group -------------------------------------------------------------------------------


async def group_attendance(
    rt: Runtime, ctx: AcademyContext, group_id: int, period: Period
) -> GroupAttendanceOut:
    """Each session of the group in the period against each student booked into any of them."""
    viewer = await viewer_of(rt, ctx)
    catalog_viewer = CatalogViewer(user_id=viewer.user_id, sees_all=viewer.is_staff, teaches=True)
    group = await GroupRepository(rt.session, ctx.academy.id).get(catalog_viewer, group_id)
    if group is None:
        raise NotFound(
            f"no group {group_id} in this academy"
            if viewer.is_staff
            else f"no group {group_id} that you teach"
        )
    repo = ReportRepository(rt.session, ctx.academy.id)
    sessions = _capped(
        await repo.sessions_of_group(group.id, period.window, limit=MAX_SESSIONS + 1),
        period,
        MAX_SESSIONS,
    )
    expected = await repo.expected_students(sessions)
    records = {
        (r.session_id, r.user_id): r
        for r in await repo.records([s.id for s in sessions])
        if r.role == "student"
    }
    students = {user_id for _, user_id in records}
    for booked in expected.values():
        students |= booked
    names = await _names(repo, students)
    ordered = sorted(students, key=lambda user_id: (names[user_id], user_id))

    def outcomes(
        of: Sequence[ClassSession], user_ids: Iterable[int]
    ) -> list[tuple[str | None, int]]:
        return [
            _outcome(records.get((s.id, user_id)))
            for s in of
            if held(s)
            for user_id in user_ids
            if user_id in expected[s.id] or (s.id, user_id) in records
        ]

    columns = [
        GroupSessionOut(
            session=session_brief(s),
            expected=len(expected[s.id]),
            summary=tally_out(tally(outcomes([s], ordered))),
        )
        for s in sessions
    ]
    rows = []
    for user_id in ordered:
        cells = []
        for s in sessions:
            record = records.get((s.id, user_id))
            cells.append(
                CellOut(
                    session_id=s.id,
                    expected=user_id in expected[s.id],
                    status=None if record is None else AttendanceStatus(record.status),
                    seconds=None if record is None else record.seconds,
                )
            )
        rows.append(
            GroupStudentOut(
                user_id=user_id,
                name=names[user_id],
                summary=tally_out(tally(outcomes(sessions, [user_id]))),
                cells=cells,
            )
        )
    return GroupAttendanceOut(
        time_zone=_zone(ctx),
        period=period.out(),
        group=GroupOut(
            id=group.id, name=group.name, kind=group.kind, teacher_user_id=group.teacher_user_id
        ),
        summary=tally_out(tally(outcomes(sessions, ordered))),
        sessions=columns,
        students=rows,
    )


# --- one teacher -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Taught:
    """Some sessions' students (each session's) and records (by session and user)."""

    expected: dict[int, set[int]]
    records: dict[tuple[int, int], AttendanceRecord]

    def students_of(self, s: ClassSession) -> list[tuple[str | None, int]]:
        """The outcome of each of the session's students; none unless the class was held."""
        if not held(s):
            return []
        return [
            _outcome(self.records.get((s.id, user_id))) for user_id in sorted(self.expected[s.id])
        ]


async def _taught(repo: ReportRepository, sessions: Sequence[ClassSession]) -> _Taught:
    """The students each session books, and any other its records counted as a student."""
    expected = await repo.expected_students(sessions)
    records = {(r.session_id, r.user_id): r for r in await repo.records([s.id for s in sessions])}
    for (session_id, user_id), record in records.items():
        if record.role == "student":
            expected[session_id].add(user_id)  # a record is kept for every student it counted
    return _Taught(expected, records)


async def teacher_attendance(
    rt: Runtime, ctx: AcademyContext, teacher_id: int, period: Period
) -> TeacherAttendanceOut:
    """The teacher's sessions in the period: their own attendance in each, and their students'."""
    repo = ReportRepository(rt.session, ctx.academy.id)
    await _require_member(repo, teacher_id, "teacher")
    viewer = await viewer_of(rt, ctx)
    if not viewer.is_staff and viewer.user_id != teacher_id:
        raise Forbidden("teachers see their own report only", code="not_allowed")
    sessions = _capped(
        await repo.sessions_of_teacher(teacher_id, period.window, limit=MAX_SESSIONS + 1),
        period,
        MAX_SESSIONS,
    )
    taught = await _taught(repo, sessions)
    expected, records = taught.expected, taught.records
    per_session = {s.id: taught.students_of(s) for s in sessions}
    rows = [
        TeacherSessionOut(
            session=session_brief(s),
            record=record_out(records[(s.id, teacher_id)])
            if (s.id, teacher_id) in records
            else None,
            expected=len(expected[s.id]),
            students=tally_out(tally(per_session[s.id])),
        )
        for s in sessions
    ]
    own = tally(_outcome(records.get((s.id, teacher_id))) for s in sessions if settles_teacher(s))
    names = await _names(repo, [teacher_id])
    return TeacherAttendanceOut(
        time_zone=_zone(ctx),
        period=period.out(),
        teacher=PersonOut(user_id=teacher_id, name=names[teacher_id]),
        own=tally_out(own),
        students=tally_out(tally(o for s in sessions for o in per_session[s.id])),
        sessions=rows,
    )


# --- across the academy ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClassTally:
    """A class held in the academy: when it started, and how its students' attendance came out
    (as the students' figures of its teacher's report)."""

    starts_at: datetime
    students: Tally


async def class_tallies(rt: Runtime, ctx: AcademyContext, period: Period) -> list[ClassTally]:
    """Every class held in the period, whoever taught it, in order of their starts: the sessions
    of every teacher's report at once, in a few queries rather than a few per teacher. Staff
    only."""
    viewer = await viewer_of(rt, ctx)
    if not viewer.is_staff:
        raise Forbidden("only staff see the whole academy's attendance", code="not_allowed")
    repo = ReportRepository(rt.session, ctx.academy.id)
    sessions = _capped(
        await repo.sessions_held(period.window, limit=MAX_CLASSES + 1), period, MAX_CLASSES
    )
    taught = await _taught(repo, sessions)
    return [
        ClassTally(s.starts_at, tally(taught.students_of(s)))
        for s in sessions
        if s.starts_at is not None  # always: the session started in the period
    ]


def _teacher_scope(viewer: Viewer, teacher_id: int | None) -> tuple[int | None, bool]:
    """Whose sessions a viewer's academy-wide list covers: (teacher filter, sees nothing).
    Staff see everyone's, narrowed by `teacher_id` if given; a teacher only their own (a
    filter naming somebody else finds nothing); an API key without a staff role, nothing."""
    if viewer.is_staff:
        return teacher_id, False
    if viewer.user_id is None or (teacher_id is not None and teacher_id != viewer.user_id):
        return None, True
    return viewer.user_id, False


async def absentees(
    rt: Runtime,
    ctx: AcademyContext,
    period: Period,
    *,
    teacher_id: int | None,
    group_id: int | None,
) -> AbsenteesOut:
    """Expected against actual: each student booked into a session that took place in the
    period (completed, or absent) whose record says absent, or who has no record yet. Excused
    students are not absentees; cancelled sessions expect nobody."""
    viewer = await viewer_of(rt, ctx)
    teacher_filter, nothing = _teacher_scope(viewer, teacher_id)
    repo = ReportRepository(rt.session, ctx.academy.id)
    found = (
        []
        if nothing
        else await repo.absentees(
            period.window, teacher_id=teacher_filter, group_id=group_id, limit=MAX_ROWS + 1
        )
    )
    if len(found) > MAX_ROWS:
        raise _too_many("absentees", MAX_ROWS, "choose fewer days, a group or a teacher")
    names = await _names(repo, {a.student_id for a in found})
    items = [
        AbsenteeOut(
            session=session_brief(a.session),
            student=PersonOut(user_id=a.student_id, name=names[a.student_id]),
            reason="no_record" if a.record is None else "absent",
            status_source=None if a.record is None else Decider(a.record.status_source),
        )
        for a in found
    ]
    return AbsenteesOut(time_zone=_zone(ctx), period=period.out(), total=len(items), items=items)


async def consecutive_absences(
    rt: Runtime,
    ctx: AcademyContext,
    period: Period,
    *,
    at_least: int,
    teacher_id: int | None,
    group_id: int | None,
) -> ConsecutiveAbsencesOut:
    """The students whose current run of consecutive absences (absences.current_run) is at
    least `at_least` long, looking at the sessions that took place in the period; longest first.
    A teacher's runs are counted over the sessions they teach."""
    viewer = await viewer_of(rt, ctx)
    teacher_filter, nothing = _teacher_scope(viewer, teacher_id)
    repo = ReportRepository(rt.session, ctx.academy.id)
    found = (
        []
        if nothing
        else await repo.student_outcomes(
            period.window,
            teacher_id=teacher_filter,
            group_id=group_id,
            min_absences=at_least,
            limit=MAX_OUTCOMES + 1,
        )
    )
    if len(found) > MAX_OUTCOMES:
        raise _too_many("attendance records", MAX_OUTCOMES, "choose a later from, or a group")
    per_student: dict[int, list[absences.Outcome]] = defaultdict(list)
    for row in found:
        per_student[row.student_id].append(
            absences.Outcome(row.session_id, row.starts_at, AttendanceStatus(row.status))
        )
    runs = absences.flagged(
        {student: absences.current_run(outcomes) for student, outcomes in per_student.items()},
        at_least,
    )
    names = await _names(repo, {student for student, _ in runs})
    items = []
    for student, run in runs:
        assert run.first is not None  # at_least >= 1
        assert run.last is not None
        items.append(
            RunOut(
                student=PersonOut(user_id=student, name=names[student]),
                consecutive=run.length,
                excused_within=run.excused,
                first_absent_at=run.first.starts_at,
                last_absent_at=run.last.starts_at,
                session_ids=[o.session_id for o in run.absences],
                may_be_longer=run.unbroken,
            )
        )
    return ConsecutiveAbsencesOut(
        time_zone=_zone(ctx), period=period.out(), at_least=at_least, items=items
    )
