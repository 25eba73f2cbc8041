"""Student pages: upcoming classes with Join, past classes, the package balance and absence
requests (which parents, teachers and staff use too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import Field

from halaqa.academies.repository import GuardianshipRepository
from halaqa.academies.roles import Role
from halaqa.attendance import corrections
from halaqa.attendance.schemas import AbsenceRequestIn, AbsenceRequestOut, DecisionIn
from halaqa.exceptions import AppError, NotFound
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.endpoints import session_out
from halaqa.scheduling.repository import SessionFilter, SessionRepository
from halaqa.web.forms import FORM, FieldErrors, errors_of, read_form, validate
from halaqa.web.nav import N_
from halaqa.web.pages import AcademyPage, academy_page, render, see_other
from halaqa.web.routes import studies
from halaqa.web.templating import clock_time, day

router = APIRouter(include_in_schema=False)

Student = Annotated[AcademyPage, Depends(academy_page(Role.STUDENT))]
Member = Annotated[AcademyPage, Depends(academy_page())]
RequestId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/a/{slug}/learn")
async def upcoming(page: Student) -> Response:
    me = page.user.id
    return render(
        page,
        "learning/upcoming.html",
        classes=await studies.classes_from_today(page, me),
        subscriptions=await studies.subscriptions_of(page, me, running_only=True),
        **studies.context(page),
    )


@router.get("/a/{slug}/learn/history")
async def history(page: Student, request: Request) -> Response:
    period, form, errors = studies.choose_period(page, request.query_params)
    return render(
        page,
        "learning/history.html",
        422 if errors else 200,
        history=await studies.history_of(page, page.user.id, period),
        form=form,
        errors=errors,
        **studies.context(page),
    )


@router.get("/a/{slug}/learn/balance")
async def balance(page: Student) -> Response:
    return render(
        page,
        "learning/balance.html",
        packages=await studies.packages_of(page, page.user.id),
        **studies.context(page),
    )


# --- absence requests ------------------------------------------------------------------------


class AbsenceForm(AbsenceRequestIn):
    """The API's request body, with the class it is for (the API has it in the path)."""

    session_id: Annotated[int, Field(ge=1, le=2**62)]


# The services' refusals, in words for the person who asked, translated where shown.
REFUSALS = {
    "already_requested": N_("You have already asked to be excused from this class."),
    "already_begun": N_("The class has begun: ask the teacher to excuse you instead."),
    "session_not_upcoming": N_("This class is no longer coming up."),
    "already_decided": N_("This request was already decided or withdrawn."),
    "not_allowed": N_("You are not allowed to do this."),
}
DONE = {
    "requested": N_("Your request was sent. The teacher will decide on it."),
    "withdrawn": N_("The request was withdrawn."),
    "approved": N_("The request was approved: the student is excused from the class."),
    "declined": N_("The request was declined."),
}
REQUEST_STATUS_LABELS = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
}


@dataclass(frozen=True)
class RequestLine:
    request: AbsenceRequestOut
    session_id: int
    session_title: str
    starts_at: datetime | None
    student: str
    may_decide: bool  # the class's teacher or the staff, while it is pending
    may_withdraw: bool  # the student, their parent or the staff, while it is pending


def _refusal(error: AppError, gettext: Callable[[str], str], field: str = FORM) -> FieldErrors:
    if error.code in REFUSALS:
        return {field: gettext(REFUSALS[error.code])}
    return errors_of(error, gettext)


async def _attempt(page: AcademyPage, change: Callable[[], Awaitable[object]]) -> AppError | None:
    """Runs one service call in a savepoint: refused, nothing of it is kept and the page can
    still be shown from the same transaction."""
    try:
        async with page.rt.session.begin_nested():
            await change()
    except AppError as error:
        return error
    return None


async def _children(page: AcademyPage) -> dict[int, str]:
    if Role.PARENT not in page.roles:
        return {}
    found = await GuardianshipRepository(page.rt.session, page.academy.id).children_by_parent(
        [page.user.id]
    )
    return {child.id: child.name for child in found.get(page.user.id, [])}


async def _lines(page: AcademyPage, children: dict[int, str]) -> list[RequestLine]:
    found = await corrections.absence_requests(page.rt, page.ctx, session_id=None, status=None)
    sessions = SessionRepository(page.rt.session, page.academy.id)
    names = await studies.names_of(page, (r.student_user_id for r in found))
    lines = []
    for request in found:
        # The request's visibility was decided by the service; the class is read for its name.
        session = await sessions.get(request.session_id)
        assert session is not None  # a request goes with its class
        pending = request.status == "pending"
        mine = request.student_user_id == page.user.id or request.student_user_id in children
        lines.append(
            RequestLine(
                request=AbsenceRequestOut.model_validate(request, from_attributes=True),
                session_id=session.id,
                session_title=session.title,
                starts_at=session.starts_at,
                student=names.get(request.student_user_id, ""),
                may_decide=pending and (page.is_staff or session.teacher_user_id == page.user.id),
                may_withdraw=pending and (mine or page.is_staff),
            )
        )
    return lines


async def _class_options(page: AcademyPage, children: dict[int, str]) -> list[tuple[str, str]]:
    """The classes one may still ask to be excused from: coming up, for oneself as a student
    or for one's children."""
    rt, ctx = page.rt, page.ctx
    views, _ = await scheduling.list_sessions(
        rt,
        ctx,
        SessionFilter(starts_from=rt.clock.now(), statuses=("scheduled", "ready")),
        offset=0,
        limit=studies.LISTED,
    )
    students = set(children) | ({page.user.id} if Role.STUDENT in page.roles else set())
    options = []
    for view in views:
        session = await session_out(rt, ctx, view)
        taking_part = [p.user_id for p in session.participants if p.role == "student"]
        for_whom = [children[i] for i in taking_part if i in children]
        if not students & set(taking_part):
            continue
        zone, language = page.visitor.zone, page.visitor.language
        starts = session.starts_at
        text = " · ".join(
            (session.title, day(starts, zone, language), clock_time(starts, zone, language))
        )
        if for_whom:
            text += f" ({', '.join(for_whom)})"
        options.append((str(session.id), text))
    return options


async def _absences(
    page: AcademyPage,
    status_code: int = 200,
    *,
    errors: FieldErrors | None = None,
    form: dict[str, Any] | None = None,
    done: str | None = None,
) -> Response:
    children = await _children(page)
    may_ask = bool(page.roles & {Role.STUDENT, Role.PARENT})
    # A parent names the child; a parent who studies too may also ask for themself.
    people = [(str(i), name) for i, name in children.items()]
    if people and Role.STUDENT in page.roles:
        people.insert(0, (str(page.user.id), page.visitor.gettext("Myself")))
    return render(
        page,
        "learning/absences.html",
        status_code,
        lines=await _lines(page, children),
        class_options=await _class_options(page, children) if may_ask else [],
        people=people,
        may_ask=may_ask,
        done=DONE.get(done or ""),
        status_labels=REQUEST_STATUS_LABELS,
        errors=errors or {},
        form=form or {},
    )


@router.get("/a/{slug}/absence-requests")
async def absence_requests(page: Member, request: Request) -> Response:
    return await _absences(page, done=request.query_params.get("done"))


@router.post("/a/{slug}/absence-requests")
async def request_absence(page: Member, request: Request) -> Response:
    data = await read_form(request)
    gettext = page.visitor.gettext
    form, errors = validate(AbsenceForm, data, gettext)
    if form is None:
        return await _absences(page, 422, errors=errors, form=data)
    error = await _attempt(
        page,
        lambda: corrections.request_absence(
            page.rt, page.ctx, form.session_id, form.student_id, form.reason
        ),
    )
    if error is None:
        return see_other(page.url("/absence-requests?done=requested"))
    if isinstance(error, NotFound) and form.student_id is not None:
        errors = {"student_id": gettext("Choose a class this child takes part in.")}
    else:
        errors = _refusal(error, gettext, "session_id")
    return await _absences(page, error.status_code, errors=errors, form=data)


@router.post("/a/{slug}/absence-requests/{request_id}/withdraw")
async def withdraw(page: Member, request_id: RequestId) -> Response:
    error = await _attempt(
        page, lambda: corrections.withdraw_absence(page.rt, page.ctx, request_id)
    )
    if error is None:
        return see_other(page.url("/absence-requests?done=withdrawn"))
    return await _absences(page, error.status_code, errors=_refusal(error, page.visitor.gettext))


async def _decide(
    page: AcademyPage, request: Request, request_id: int, *, approve: bool
) -> Response:
    gettext = page.visitor.gettext
    decision, errors = validate(DecisionIn, await read_form(request), gettext)
    if decision is None:
        return await _absences(page, 422, errors={FORM: next(iter(errors.values()))})
    error = await _attempt(
        page,
        lambda: corrections.decide_absence(
            page.rt, page.ctx, request_id, approve=approve, note=decision.note
        ),
    )
    if error is None:
        return see_other(
            page.url(f"/absence-requests?done={'approved' if approve else 'declined'}")
        )
    return await _absences(page, error.status_code, errors=_refusal(error, gettext))


@router.post("/a/{slug}/absence-requests/{request_id}/approve")
async def approve(page: Member, request: Request, request_id: RequestId) -> Response:
    return await _decide(page, request, request_id, approve=True)


@router.post("/a/{slug}/absence-requests/{request_id}/decline")
async def decline(page: Member, request: Request, request_id: RequestId) -> Response:
    return await _decide(page, request, request_id, approve=False)
