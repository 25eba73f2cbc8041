"""Teacher pages: today and this week, scheduling a session, make-ups owed.

The lists are the sessions service's own (the viewer's scope and zone applied as for
GET /sessions?scope=…); the forms take the API's input schemas, with the start typed in the
viewer's own time zone."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from halaqa.academies.repository import MemberRepository
from halaqa.academies.roles import Role
from halaqa.catalog import service as catalog
from halaqa.catalog.lifecycle import GroupStatus
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.catalog.subscription_repository import SubscriptionFilter
from halaqa.catalog.subscription_service import list_subscriptions
from halaqa.kit.pagination import PageParams
from halaqa.models import Group
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.endpoints import session_out
from halaqa.scheduling.repository import SessionFilter
from halaqa.scheduling.schemas import MakeupRequest, SessionCreate, SessionOut
from halaqa.web.forms import FieldErrors, read_form, validate
from halaqa.web.pages import AcademyPage, academy_page, render, see_other
from halaqa.web.routes.session import (
    KINDS,
    Refused,
    attempt,
    group_names,
    local_instant,
    names_of,
    remember_notices,
    renamed,
    session_url,
)

router = APIRouter(include_in_schema=False)

Teaching = Annotated[AcademyPage, Depends(academy_page(Role.TEACHER, Role.ADMIN, Role.SUPERVISOR))]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
# Enough for a day or a week of one teacher's classes, and for the choices of a form.
LISTED = 100
CHOICES = PageParams(page=1, per_page=100)
MEMBERS = 1000
# Subscriptions whose student may still be taught: those not over.
TAUGHT = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)


async def _listed(page: AcademyPage, views: list[scheduling.SessionView]) -> list[dict[str, Any]]:
    """Sessions as the API shows them, each with who it is for (its student or its group)."""
    rt, ctx = page.rt, page.ctx
    shown = [await session_out(rt, ctx, view) for view in views]
    names = await names_of(rt, [s.student_user_id for s in shown])
    groups = await group_names(rt, ctx.academy.id, [s.group_id for s in shown])
    return [{"session": s, "who": _who(s, names, groups)} for s in shown]


def _who(session: SessionOut, names: dict[int, str], groups: dict[int, str]) -> str:
    if session.group_id is not None:
        return groups.get(session.group_id, "")
    return names.get(session.student_user_id or 0, "")


@router.get("/a/{slug}/teach")
async def today(page: Teaching) -> Response:
    rt, ctx = page.rt, page.ctx
    now, zone = rt.clock.now(), page.visitor.zone
    mine = SessionFilter(teacher_user_id=page.user.id)
    day = scheduling.within_scope(mine, "today", now, zone)
    week = scheduling.within_scope(mine, "week", now, zone)
    later = replace(week, starts_from=day.starts_before)
    today_views, _ = await scheduling.list_sessions(rt, ctx, day, offset=0, limit=LISTED)
    later_views, _ = await scheduling.list_sessions(rt, ctx, later, offset=0, limit=LISTED)
    _, owed = await scheduling.owed_makeups(rt, ctx, mine, offset=0, limit=1)
    return render(
        page,
        "teaching/today.html",
        today=await _listed(page, today_views),
        later=await _listed(page, later_views),
        owed=owed,
    )


# --- scheduling one session ------------------------------------------------------------------

# The form's fields that are the schema's own (the start is typed as a date and a time).
CREATE_FIELDS = (
    "kind",
    "title",
    "teacher_user_id",
    "student_user_id",
    "group_id",
    "duration_minutes",
    "meeting_url",
    "description",
    "homework",
)
# Where the service's errors show: an error about the start next to the date.
CREATE_ERRORS = {"starts_at": "date", "local_start": "date", **{n: n for n in CREATE_FIELDS}}


async def _students(page: AcademyPage) -> list[tuple[int, str]]:
    """Whom the viewer may schedule a lesson for: staff, any active student; a teacher, the
    students of their subscriptions and of their groups (what the API shows them)."""
    rt, ctx = page.rt, page.ctx
    if page.is_staff:
        rows, _ = await MemberRepository(rt.session, ctx.academy.id).page(
            search=None, role=Role.STUDENT.value, active=True, offset=0, limit=MEMBERS
        )
        return [(user.id, user.name) for _, user in rows]
    ids: set[int] = set()
    for status in TAUGHT:
        where = SubscriptionFilter(teacher_user_id=page.user.id, status=status.value)
        subscriptions, _ = await list_subscriptions(rt, ctx, CHOICES, where)
        ids |= {s.student_user_id for s in subscriptions}
    for group in await _groups(page):
        ids |= set(await scheduling.enrolled_students(rt, ctx, group))
    ids.discard(page.user.id)
    names = await names_of(rt, ids)
    return sorted(names.items(), key=lambda item: item[1])


async def _groups(page: AcademyPage) -> list[Group]:
    """Groups the viewer may schedule for: those still running (all for staff, their own for a
    teacher)."""
    teacher = None if page.is_staff else page.user.id
    groups, _ = await catalog.list_groups(page.rt, page.ctx, CHOICES, teacher_user_id=teacher)
    return [g for g in groups if g.status not in (GroupStatus.COMPLETED, GroupStatus.CANCELLED)]


async def _teachers(page: AcademyPage) -> list[tuple[int, str]]:
    rows, _ = await MemberRepository(page.rt.session, page.ctx.academy.id).page(
        search=None, role=Role.TEACHER.value, active=True, offset=0, limit=MEMBERS
    )
    return [(user.id, user.name) for _, user in rows]


async def _new_session_page(
    page: AcademyPage,
    *,
    status_code: int = 200,
    errors: FieldErrors | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    gettext = page.visitor.gettext
    blank = [("", "—")]
    teachers = blank + await _teachers(page) if page.is_staff else []
    local_today = page.rt.clock.now().astimezone(ZoneInfo(page.visitor.zone)).date().isoformat()
    defaults = {"kind": "individual", "duration_minutes": 60, "date": local_today}
    return render(
        page,
        "teaching/new_session.html",
        status_code,
        kinds=[(k, gettext(v)) for k, v in KINDS.items()],
        teachers=teachers,
        students=blank + await _students(page),
        groups=blank + [(g.id, g.name) for g in await _groups(page)],
        errors=errors or {},
        form={**defaults, **(form or {})},
    )


def _create_errors(page: AcademyPage) -> dict[str, str]:
    """A teacher's form has no teacher field: what is said of the teacher goes above it."""
    if page.is_staff:
        return CREATE_ERRORS
    return {k: v for k, v in CREATE_ERRORS.items() if k != "teacher_user_id"}


@router.get("/a/{slug}/sessions/new")
async def new_session(page: Teaching) -> Response:
    return await _new_session_page(page)


@router.post("/a/{slug}/sessions/new")
async def create_session(page: Teaching) -> Response:
    data = await read_form(page.visitor.request)
    starts_at, errors = local_instant(page, data, "date", "time")
    given: dict[str, Any] = {name: data.get(name, "") for name in CREATE_FIELDS}
    if not page.is_staff:
        given["teacher_user_id"] = page.user.id  # a teacher schedules their own classes
    given["starts_at"] = starts_at or ""
    request, more = validate(SessionCreate, given, page.visitor.gettext)
    shown = _create_errors(page)
    errors = {**renamed(more, shown), **errors}
    if request is None or errors:
        return await _new_session_page(page, status_code=422, errors=errors, form=data)
    outcome = await attempt(page, lambda: scheduling.create_session(page.rt, page.ctx, request))
    if isinstance(outcome, Refused):
        errors = renamed(outcome.errors, shown)
        return await _new_session_page(
            page, status_code=outcome.status_code, errors=errors, form=data
        )
    session_id = outcome.session.id
    response = see_other(session_url(page, session_id, "created"))
    remember_notices(response, page, session_id, list(outcome.warnings))
    return response


# --- make-ups --------------------------------------------------------------------------------


def _owed_filter(page: AcademyPage) -> SessionFilter:
    """Staff see every make-up owed; a teacher those of their own classes."""
    return SessionFilter() if page.is_staff else SessionFilter(teacher_user_id=page.user.id)


@router.get("/a/{slug}/makeups")
async def makeups(page: Teaching) -> Response:
    owed, total = await scheduling.owed_makeups(
        page.rt, page.ctx, _owed_filter(page), offset=0, limit=LISTED
    )
    listed = await _listed(page, [view for view, _ in owed])
    for item, (_, planned) in zip(listed, owed, strict=True):
        item["makeup"] = planned
    return render(page, "teaching/makeups.html", owed=listed, total=total)


MAKEUP_FIELDS = {
    "starts_at": "date",
    "local_start": "date",
    "duration_minutes": "duration_minutes",
    "title": "title",
    "notes": "notes",
}


async def _makeup_page(
    page: AcademyPage,
    session_id: int,
    *,
    status_code: int = 200,
    errors: FieldErrors | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    view = await scheduling.get_session(page.rt, page.ctx, session_id)
    missed = (await _listed(page, [view]))[0]
    return render(
        page,
        "teaching/makeup.html",
        status_code,
        missed=missed,
        errors=errors or {},
        form={"duration_minutes": view.session.duration_minutes, **(form or {})},
    )


@router.get("/a/{slug}/sessions/{session_id}/makeup")
async def makeup_form(session_id: SessionId, page: Teaching) -> Response:
    return await _makeup_page(page, session_id)


@router.post("/a/{slug}/sessions/{session_id}/makeup")
async def plan_makeup(session_id: SessionId, page: Teaching) -> Response:
    data = await read_form(page.visitor.request)
    starts_at, errors = local_instant(page, data, "date", "time")
    given = {
        "starts_at": starts_at or "",
        "duration_minutes": data.get("duration_minutes", ""),
        "title": data.get("title", ""),
        "notes": data.get("notes", ""),
    }
    request, more = validate(MakeupRequest, given, page.visitor.gettext)
    errors = {**renamed(more, MAKEUP_FIELDS), **errors}
    if request is None or errors:
        return await _makeup_page(page, session_id, status_code=422, errors=errors, form=data)
    outcome = await attempt(
        page, lambda: scheduling.create_makeup(page.rt, page.ctx, session_id, request)
    )
    if isinstance(outcome, Refused):
        return await _makeup_page(
            page,
            session_id,
            status_code=outcome.status_code,
            errors=renamed(outcome.errors, MAKEUP_FIELDS),
            form=data,
        )
    return see_other(session_url(page, outcome.session.id, "makeup"))
