"""One session's page for every role: details, actions, live presence, attendance, reports.

Every figure on it comes from the services the API uses (who may see what included): the page
only chooses which of the actions the lifecycle allows to show as buttons, and calls the same
service when one is pressed. A refused action is said on the page again, next to its field when
it names one; nothing it began stays written (each runs in a savepoint of its own)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from halaqa.academies.repository import UserRepository
from halaqa.academies.settings import effective_settings
from halaqa.attendance import corrections
from halaqa.attendance import service as attendance
from halaqa.attendance.finalisation import assess_session
from halaqa.attendance.policy import AttendanceStatus
from halaqa.attendance.schemas import AbsenceRequestIn, OverrideIn
from halaqa.catalog.repository import GroupRepository
from halaqa.catalog.repository import Viewer as CatalogViewer
from halaqa.evaluations import quran
from halaqa.evaluations import service as evaluations
from halaqa.evaluations.endpoints import report_out
from halaqa.evaluations.schemas import ReportIn
from halaqa.exceptions import AppError, NotFound
from halaqa.kit.deps import Runtime
from halaqa.scheduling import lifecycle
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.endpoints import session_out
from halaqa.scheduling.lifecycle import Part, Status
from halaqa.scheduling.recurrence import AmbiguousLocalTime, RecurrenceError, resolve_local
from halaqa.scheduling.schemas import CancelRequest, LocalStart, RescheduleRequest
from halaqa.web.charts.timeline import Lane, Timeline, layout
from halaqa.web.forms import FORM, FieldErrors, errors_of, read_form, validate
from halaqa.web.i18n import direction
from halaqa.web.nav import N_
from halaqa.web.pages import AcademyPage, academy_page, render, see_other

router = APIRouter(include_in_schema=False)

Member = Annotated[AcademyPage, Depends(academy_page())]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
UserId = Annotated[int, Path(ge=1, le=2**62)]
T = TypeVar("T")

# Said once after a successful action: ?done=<key>.
DONE = {
    "created": N_("The session is scheduled."),
    "started": N_("The class has started."),
    "completed": N_("The class is completed."),
    "marked_absent": N_("The student is marked absent."),
    "reopened": N_("The class is open again."),
    "cancelled": N_("The session is cancelled."),
    "rescheduled": N_("The session is moved."),
    "corrected": N_("The attendance is corrected."),
    "requested": N_("Your absence request is sent."),
    "approved": N_("The absence request is approved."),
    "declined": N_("The absence request is declined."),
    "reported": N_("The report is saved."),
    "makeup": N_("The make-up is planned."),
}
# The status actions a page button runs (the lifecycle says which are allowed now).
ACTIONS = {
    "start": (N_("Start the class"), "started"),
    "complete": (N_("End the class"), "completed"),
    "mark_absent": (N_("Mark the student absent"), "marked_absent"),
    "reopen": (N_("Reopen the class"), "reopened"),
}
ATTENDANCE_STATUSES = {
    "present": N_("Present"),
    "late": N_("Late"),
    "left_early": N_("Left early"),
    "partial": N_("Partly present"),
    "absent": N_("Absent"),
    "excused": N_("Excused"),
}
DECIDERS = {"auto": N_("Automatic"), "teacher": N_("Teacher"), "admin": N_("Admin")}
ROLES = {"teacher": N_("Teacher"), "student": N_("Student"), "observer": N_("Observer")}
KINDS = {
    "individual": N_("Individual lesson"),
    "group": N_("Group class"),
    "trial": N_("Trial lesson"),
    "assessment": N_("Assessment"),
}
ROOM_STATUSES = {
    "pending": N_("The room is being prepared."),
    "open": N_("The room is open."),
    "failed": N_("The room could not be opened."),
    "closed": N_("The room is closed."),
}
REQUEST_STATUSES = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}
# Why the system changed a status, as the history records it, in words for people.
SYSTEM_REASONS = {
    "attendance": N_("as the attendance showed"),
    "first participant in": N_("the first participant came in"),
    "automatic": N_("at its set time"),
    "teacher_absent": N_("the teacher did not come"),
    "student_excused": N_("the student was excused"),
    "ended now": N_("ended from the classroom"),
}
VERDICTS = {"done": N_("Done"), "partly_done": N_("Partly done"), "not_done": N_("Not done")}
# The service's one refusal of a report that says nothing, in the catalogue's words.
EMPTY_REPORT = N_("the report says nothing: give a grade, a passage, homework or notes")
NO_SUCH_TIME = N_("This time does not exist on that day: the clocks change then.")
TWICE_THAT_TIME = N_("This time comes twice on that day: the clocks change then. Choose another.")

# Warnings a service gave with what it just made, carried to the next page (a one-time cookie).
NOTICE_COOKIE = "halaqa_notice"


# --- shared by the teacher's pages -----------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """A service said no: what to show next to each field, and the answer's status."""

    errors: FieldErrors
    status_code: int


async def attempt(page: AcademyPage, call: Callable[[], Awaitable[T]]) -> T | Refused:
    """Runs one service call in a savepoint: if it is refused, nothing it began stays written,
    and the rest of the request (the page shown again) goes on in the same transaction."""
    try:
        async with page.rt.session.begin_nested():
            return await call()
    except AppError as error:
        return Refused(errors_of(error, page.visitor.gettext), error.status_code)


def renamed(errors: FieldErrors, names: Mapping[str, str]) -> FieldErrors:
    """Errors keyed by a schema's field names, moved to the form's own names (the form may hold
    several forms, whose fields must not share names); others go above the form."""
    found: FieldErrors = {}
    for key, message in errors.items():
        found.setdefault(names.get(key, key if key == FORM else FORM), message)
    return found


def local_instant(
    page: AcademyPage, data: Mapping[str, Any], date_field: str, time_field: str
) -> tuple[datetime | None, FieldErrors]:
    """A date and a time typed in the viewer's own zone, as the instant they name."""
    given = {"date": data.get(date_field, ""), "time": data.get(time_field, "")}
    start, errors = validate(LocalStart, given, page.visitor.gettext)
    errors = renamed(errors, {"date": date_field, "time": time_field})
    if start is None:
        return None, errors
    try:
        return resolve_local(start.date, start.time, page.visitor.zone), {}
    except AmbiguousLocalTime:
        return None, {time_field: page.visitor.gettext(TWICE_THAT_TIME)}
    except RecurrenceError:
        return None, {time_field: page.visitor.gettext(NO_SUCH_TIME)}


async def names_of(rt: Runtime, user_ids: Iterable[int | None]) -> dict[int, str]:
    """People's names, for people the page already may show (a session's own people)."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    return {user.id: user.name for user in await UserRepository(rt.session).get_many(wanted)}


async def group_names(
    rt: Runtime, academy_id: int, group_ids: Iterable[int | None]
) -> dict[int, str]:
    """The names of the groups of sessions the viewer may see (the session's visibility was
    decided already, as the scheduling service reads its group)."""
    groups = GroupRepository(rt.session, academy_id)
    everyone = CatalogViewer(user_id=None, sees_all=True)
    found = {}
    for group_id in {g for g in group_ids if g is not None}:
        group = await groups.get(everyone, group_id)
        if group is not None:
            found[group_id] = group.name
    return found


def session_url(page: AcademyPage, session_id: int, done: str | None = None) -> str:
    return page.url(f"/sessions/{session_id}") + (f"?done={done}" if done else "")


def remember_notices(
    response: Response, page: AcademyPage, session_id: int, notes: list[str]
) -> None:
    """Keeps what a service said with the session it made for the session's page to say
    once (the page the response sends the browser to)."""
    if notes:
        value = base64.urlsafe_b64encode(json.dumps(notes).encode()).decode()
        path = page.url(f"/sessions/{session_id}")
        response.set_cookie(
            NOTICE_COOKIE, value, max_age=300, path=path, httponly=True, samesite="lax"
        )


def _notices(request: Request) -> list[str]:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return []
    try:
        found = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (binascii.Error, ValueError):
        return []
    return [str(note) for note in found] if isinstance(found, list) else []


# --- the page --------------------------------------------------------------------------------


async def _timeline(
    page: AcademyPage, view: scheduling.SessionView, visible: set[int], names: dict[int, str]
) -> Timeline | None:
    """Each visible participant's stays, as the attendance service folds them, once the class
    has begun."""
    session = view.session
    now = page.rt.clock.now()
    if not visible or session.starts_at is None or session.ends_at is None:
        return None
    settings = effective_settings(page.academy.settings)
    assessment = await assess_session(page.rt, session, settings)
    lanes = [
        Lane(
            user_id=attendee.user_id,
            label=names.get(attendee.user_id, str(attendee.user_id)),
            role=attendee.role.value,
            stays=[(i.start, i.end) for i in attendee.presence.intervals]
            if attendee.presence
            else [],
        )
        for attendee in assessment.attendees
        if attendee.user_id in visible
    ]
    return layout(
        lanes,
        scheduled_start=session.starts_at,
        scheduled_end=session.ends_at,
        until=now,
        zone=page.visitor.zone,
        rtl=direction(page.visitor.language) == "rtl",
    )


async def _context(page: AcademyPage, session_id: int) -> dict[str, Any]:
    rt, ctx = page.rt, page.ctx
    view = await scheduling.get_session(rt, ctx, session_id)
    session = view.session
    shown = await session_out(rt, ctx, view)
    viewer = await scheduling.viewer_of(rt, ctx)
    part = lifecycle.part_of(view.facts, viewer)
    runs = viewer.is_staff or part is Part.TEACHER
    presence = await attendance.live_presence(rt, ctx, session_id)
    on_record = await corrections.session_attendance(rt, ctx, session_id)
    reports = [report_out(r) for r in await evaluations.session_reports(rt, ctx, session_id)]
    changes = await scheduling.history(rt, ctx, session_id)
    requests = await corrections.absence_requests(rt, ctx, session_id=session_id, status=None)
    names = await names_of(
        rt,
        [
            session.teacher_user_id,
            *view.facts.student_ids,
            *(p.user_id for p in presence),
            *(c.actor_user_id for c in changes),
            *(o.decided_by_user_id for o in on_record.overrides),
            *(r.student_user_id for r in requests),
        ],
    )
    group = (await group_names(rt, ctx.academy.id, [session.group_id])).get(session.group_id or 0)
    now = rt.clock.now()
    students = sorted(view.facts.student_ids, key=lambda s: names.get(s, ""))
    my_students = [s for s in students if s == ctx.user_id or s in viewer.children]
    before_start = (
        Status(session.status) in {Status.SCHEDULED, Status.READY}
        and session.starts_at is not None
        and now < session.starts_at
    )
    return {
        "session": shown,
        "names": names,
        "group_name": group,
        "students": students,
        "runs": runs,
        "is_staff": viewer.is_staff,
        "teacher_id": session.teacher_user_id,
        "buttons": [(a, ACTIONS[a][0]) for a in shown.status_display.actions if a in ACTIONS],
        "presence": presence,
        "attendance": on_record,
        "reports": reports,
        "reports_writable": runs and Status(session.status) in evaluations.WRITABLE,
        "history": changes,
        "requests": requests,
        "may_request_absence": bool(my_students) and before_start,
        "requesting_for": my_students,
        "timeline": await _timeline(page, view, {r.user_id for r in on_record.records}, names),
        "looks": lifecycle.LOOKS,
        "labels": {
            "attendance": ATTENDANCE_STATUSES,
            "deciders": DECIDERS,
            "roles": ROLES,
            "kinds": KINDS,
            "rooms": ROOM_STATUSES,
            "requests": REQUEST_STATUSES,
            "verdicts": VERDICTS,
            "reasons": SYSTEM_REASONS,
        },
        "page_url": session_url(page, session_id),
        "events_url": f"/api/v1/academies/{page.academy.slug}/sessions/{session_id}/events",
    }


async def show(
    page: AcademyPage,
    session_id: int,
    *,
    status_code: int = 200,
    errors: FieldErrors | None = None,
    form: Mapping[str, Any] | None = None,
) -> Response:
    context = await _context(page, session_id)
    gettext = page.visitor.gettext
    done = page.visitor.request.query_params.get("done")
    notices = _notices(page.visitor.request)
    names = context["names"]
    response = render(
        page,
        "session/page.html",
        status_code,
        **context,
        done=DONE.get(done or ""),
        notices=notices,
        attendance_options=[(k, gettext(v)) for k, v in ATTENDANCE_STATUSES.items()],
        student_options=[(s, names.get(s, str(s))) for s in context["requesting_for"]],
        errors=errors or {},
        form={**_defaults(page, context), **(form or {})},
    )
    if notices:
        response.delete_cookie(NOTICE_COOKIE, path=session_url(page, session_id))
    return response


def _defaults(page: AcademyPage, context: Mapping[str, Any]) -> dict[str, Any]:
    """What the page's forms hold before anything is typed: each record's current status,
    the session's current time (in the viewer's zone) to move it from."""
    values: dict[str, Any] = {"makeup_owed": "true"}
    for record in context["attendance"].records:
        values[f"status-{record.user_id}"] = record.status
    shown = context["session"]
    if shown.starts_at is not None:
        local = shown.starts_at.astimezone(ZoneInfo(page.visitor.zone))
        values["reschedule_date"] = local.date().isoformat()
        values["reschedule_time"] = local.strftime("%H:%M")
        values["reschedule_duration"] = shown.duration_minutes
    return values


@router.get("/a/{slug}/sessions/{session_id}")
async def session_page(session_id: SessionId, page: Member) -> Response:
    return await show(page, session_id)


async def _after(
    page: AcademyPage,
    session_id: int,
    outcome: object,
    done: str,
    form: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
) -> Response:
    """Back to the page with what happened, or the page again with why not."""
    if isinstance(outcome, Refused):
        errors = renamed(outcome.errors, names) if names else outcome.errors
        return await show(
            page, session_id, status_code=outcome.status_code, errors=errors, form=form
        )
    return see_other(session_url(page, session_id, done))


def _status_route(action: str) -> None:
    async def act(session_id: SessionId, page: Member) -> Response:
        outcome = await attempt(
            page,
            lambda: scheduling.act(page.rt, page.ctx, session_id, action, None),
        )
        return await _after(page, session_id, outcome, ACTIONS[action][1], {})

    router.add_api_route(
        f"/a/{{slug}}/sessions/{{session_id}}/{action.replace('_', '-')}",
        act,
        methods=["POST"],
        name=f"page_{action}_session",
    )


for _action in ACTIONS:
    _status_route(_action)


CANCEL_FIELDS = {"reason": "cancel_reason", "makeup_owed": "makeup_owed"}


@router.post("/a/{slug}/sessions/{session_id}/cancel")
async def cancel(session_id: SessionId, page: Member) -> Response:
    data = await read_form(page.visitor.request)
    given = {"reason": data.get("cancel_reason", "")}
    if page.is_staff and data.get("makeup_owed") in {"true", "false"}:
        given["makeup_owed"] = data["makeup_owed"]
    request, errors = validate(CancelRequest, given, page.visitor.gettext)
    if request is None:
        return await show(
            page, session_id, status_code=422, errors=renamed(errors, CANCEL_FIELDS), form=data
        )
    outcome = await attempt(
        page, lambda: scheduling.cancel_session(page.rt, page.ctx, session_id, request)
    )
    return await _after(page, session_id, outcome, "cancelled", data, CANCEL_FIELDS)


RESCHEDULE_FIELDS = {
    "starts_at": "reschedule_date",
    "local_start": "reschedule_date",
    "duration_minutes": "reschedule_duration",
    "reason": "reschedule_reason",
}


@router.post("/a/{slug}/sessions/{session_id}/reschedule")
async def reschedule(session_id: SessionId, page: Member) -> Response:
    data = await read_form(page.visitor.request)
    starts_at, errors = local_instant(page, data, "reschedule_date", "reschedule_time")
    given = {
        "starts_at": starts_at or "",
        "duration_minutes": data.get("reschedule_duration", ""),
        "reason": data.get("reschedule_reason", ""),
    }
    request, more = validate(RescheduleRequest, given, page.visitor.gettext)
    errors = {**renamed(more, RESCHEDULE_FIELDS), **errors}
    if request is None or errors:
        return await show(page, session_id, status_code=422, errors=errors, form=data)
    outcome = await attempt(
        page, lambda: scheduling.reschedule_session(page.rt, page.ctx, session_id, request)
    )
    return await _after(page, session_id, outcome, "rescheduled", data, RESCHEDULE_FIELDS)


@router.post("/a/{slug}/sessions/{session_id}/attendance/{user_id}")
async def correct(session_id: SessionId, user_id: UserId, page: Member) -> Response:
    data = await read_form(page.visitor.request)
    names = {"status": f"status-{user_id}", "note": f"note-{user_id}"}
    given = {"status": data.get(names["status"], ""), "note": data.get(names["note"], "")}
    request, errors = validate(OverrideIn, given, page.visitor.gettext)
    if request is None:
        return await show(
            page, session_id, status_code=422, errors=renamed(errors, names), form=data
        )
    outcome = await attempt(
        page,
        lambda: corrections.override(
            page.rt, page.ctx, session_id, user_id, AttendanceStatus(request.status), request.note
        ),
    )
    return await _after(page, session_id, outcome, "corrected", data, names)


ABSENCE_FIELDS = {"reason": "absence_reason", "student_id": "absence_student"}


@router.post("/a/{slug}/sessions/{session_id}/absence-request")
async def request_absence(session_id: SessionId, page: Member) -> Response:
    data = await read_form(page.visitor.request)
    given = {
        "reason": data.get("absence_reason", ""),
        "student_id": data.get("absence_student", ""),
    }
    request, errors = validate(AbsenceRequestIn, given, page.visitor.gettext)
    if request is None:
        return await show(
            page, session_id, status_code=422, errors=renamed(errors, ABSENCE_FIELDS), form=data
        )
    outcome = await attempt(
        page,
        lambda: corrections.request_absence(
            page.rt, page.ctx, session_id, request.student_id, request.reason
        ),
    )
    return await _after(page, session_id, outcome, "requested", data, ABSENCE_FIELDS)


RequestId = Annotated[int, Path(ge=1, le=2**62)]


def _decision_route(verdict: str) -> None:
    async def decide(session_id: SessionId, request_id: RequestId, page: Member) -> Response:
        outcome = await attempt(
            page,
            lambda: corrections.decide_absence(
                page.rt, page.ctx, request_id, approve=verdict == "approve", note=None
            ),
        )
        done = "approved" if verdict == "approve" else "declined"
        return await _after(page, session_id, outcome, done, {})

    router.add_api_route(
        f"/a/{{slug}}/sessions/{{session_id}}/absence-requests/{{request_id}}/{verdict}",
        decide,
        methods=["POST"],
        name=f"page_{verdict}_absence",
    )


_decision_route("approve")
_decision_route("decline")


# --- a student's report ----------------------------------------------------------------------

PASSAGE_FIELDS = ("from_surah", "from_ayah", "to_surah", "to_ayah", "from_page", "to_page")
PASSAGE_KINDS = {"memorisation": N_("Memorised"), "revision": N_("Revised")}


def nested(data: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted form names ("quran.memorisation.0.from_surah") as the nested body the API takes;
    blank fields are left out, and a passage row left blank with them."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        if value in ("", None) or isinstance(value, list):
            continue
        *path, leaf = key.split(".")
        node = found
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    quran_part = found.get("quran")
    if isinstance(quran_part, dict):
        for kind in PASSAGE_KINDS:
            rows = quran_part.get(kind)
            if isinstance(rows, dict):
                quran_part[kind] = [rows[i] for i in sorted(rows, key=_index)]
    return found


def _index(key: str) -> int:
    return int(key) if key.isdigit() else 0


def flattened(body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of `nested`: the form's fields from a body (passage rows numbered anew)."""
    found: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.update(flattened(value, f"{name}."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found.update(flattened(item, f"{name}.{index}."))
        elif value is not None:
            found[name] = value
    return found


def _report_form(report: Any) -> dict[str, Any]:
    """The written report as the form's fields."""
    body: dict[str, Any] = {"teacher_notes": report.teacher_notes}
    if report.quran is not None:
        body["quran"] = {
            "recitation_grade": report.quran.recitation_grade,
            **{
                kind: [
                    {
                        "from_surah": p.from_surah.number,
                        "from_ayah": p.from_ayah,
                        "to_surah": p.to_surah.number,
                        "to_ayah": p.to_ayah,
                        "from_page": p.from_page,
                        "to_page": p.to_page,
                    }
                    for p in getattr(report.quran, kind)
                ]
                for kind in PASSAGE_KINDS
            },
        }
    if report.academic is not None:
        body["academic"] = report.academic.model_dump()
    if report.homework is not None:
        body["homework"] = report.homework.model_dump()
    return flattened(body)


async def _report_page(
    page: AcademyPage,
    session_id: int,
    student_id: int,
    *,
    status_code: int = 200,
    errors: FieldErrors | None = None,
    form: Mapping[str, Any] | None = None,
) -> Response:
    view = await scheduling.get_session(page.rt, page.ctx, session_id)
    shown = await session_out(page.rt, page.ctx, view)
    lines = await evaluations.session_reports(page.rt, page.ctx, session_id)
    line = next((report_out(r) for r in lines if r.student_user_id == student_id), None)
    if line is None:
        raise NotFound(f"no student {student_id} in this session that you may see")
    values = dict(form) if form is not None else _report_form(line)
    rows = {kind: max(2, 1 + _rows_in(values, kind)) for kind in PASSAGE_KINDS}
    names = await names_of(page.rt, [student_id])
    surahs = [
        (s.number, f"{s.number}. {s.name_ar if page.visitor.language == 'ar' else s.name_en}")
        for s in quran.SURAHS
    ]
    return render(
        page,
        "session/report.html",
        status_code,
        session=shown,
        student_id=student_id,
        student_name=names.get(student_id, str(student_id)),
        line=line,
        rows=rows,
        surahs=surahs,
        kinds=PASSAGE_KINDS,
        verdicts_options=[(k, page.visitor.gettext(v)) for k, v in VERDICTS.items()],
        labels={"attendance": ATTENDANCE_STATUSES},
        errors=errors or {},
        form=values,
    )


def _rows_in(values: Mapping[str, Any], kind: str) -> int:
    prefix = f"quran.{kind}."
    indexes = {
        int(k.split(".")[2]) for k in values if k.startswith(prefix) and k.split(".")[2].isdigit()
    }
    return max(indexes) + 1 if indexes else 0


@router.get("/a/{slug}/sessions/{session_id}/reports/{user_id}")
async def report_page(session_id: SessionId, user_id: UserId, page: Member) -> Response:
    return await _report_page(page, session_id, user_id)


@router.post("/a/{slug}/sessions/{session_id}/reports/{user_id}")
async def write_report(session_id: SessionId, user_id: UserId, page: Member) -> Response:
    data = await read_form(page.visitor.request)
    body = nested(data)
    form = flattened(body)
    report, errors = validate(ReportIn, body, page.visitor.gettext)
    if report is None:
        errors = {key: page.visitor.gettext(message) for key, message in errors.items()}
        return await _report_page(
            page, session_id, user_id, status_code=422, errors=errors, form=form
        )
    outcome = await attempt(
        page, lambda: evaluations.write_report(page.rt, page.ctx, session_id, user_id, report)
    )
    if isinstance(outcome, Refused):
        return await _report_page(
            page,
            session_id,
            user_id,
            status_code=outcome.status_code,
            errors=outcome.errors,
            form=form,
        )
    return see_other(session_url(page, session_id, "reported") + f"#report-{user_id}")
