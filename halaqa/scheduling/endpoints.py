"""HTTP API for class sessions: list, detail, create, cancel, start, complete, mark absent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.academies.settings import effective_settings
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.scheduling import lifecycle, service
from halaqa.scheduling.lifecycle import Status
from halaqa.scheduling.repository import SessionFilter
from halaqa.scheduling.schemas import (
    ActionRequest,
    CancelRequest,
    JoinState,
    Kind,
    MakeupBrief,
    MakeupRequest,
    OwedMakeupOut,
    PersonPart,
    RescheduleRequest,
    RoomOut,
    SessionCreate,
    SessionOut,
    StatusChangeOut,
    StatusDisplayOut,
)

router = APIRouter(prefix="/api/v1/academies/{slug}/sessions", tags=["sessions"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Scheduler = Annotated[
    AcademyContext, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.TEACHER))
]
Pages = Annotated[PageParams, Depends(page_params)]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
IdFilter = Annotated[int | None, Query(ge=1, le=2**62)]


async def session_out(rt: Runtime, ctx: AcademyContext, view: service.SessionView) -> SessionOut:
    viewer = await service.viewer_of(rt, ctx)
    settings = effective_settings(ctx.academy.settings)
    now = rt.clock.now()
    display = lifecycle.status_display(view.facts, viewer, settings, now)
    join = lifecycle.can_join(view.facts, viewer, settings, now)
    session = view.session
    return SessionOut(
        id=session.id,
        code=session.code,
        kind=session.kind,
        status=Status(session.status),
        status_display=StatusDisplayOut(**display.__dict__),
        join=JoinState(
            allowed=join.allowed,
            reason=join.reason,
            message=join.message,
            opens_at=join.opens_at,
            closes_at=join.closes_at,
            as_part=join.part,
        ),
        title=session.title,
        teacher_user_id=session.teacher_user_id,
        student_user_id=session.student_user_id,
        group_id=session.group_id,
        participants=[PersonPart(user_id=p.user_id, role=p.role) for p in view.participants],
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        duration_minutes=session.duration_minutes,
        time_zone=view.time_zone,
        meeting_url=session.meeting_url,
        record=session.record,
        room=None
        if view.room is None
        else RoomOut(
            provider=view.room.provider,
            status=view.room.status,
            error=view.room.error,
            attempts=view.room.attempts,
        ),
        description=session.description,
        notes=session.notes,
        homework=session.homework,
        makeup_of_id=session.makeup_of_id,
        makeup_owed=session.makeup_owed,
        schedule_id=session.schedule_id,
        occurrence_key=session.occurrence_key,
        cancellation_reason=session.cancellation_reason,
        cancelled_at=session.cancelled_at,
        late_cancellation=session.late_cancellation,
        created_at=session.created_at,
        updated_at=session.updated_at,
        warnings=list(view.warnings),
    )


@router.get("", response_model=Page[SessionOut], summary="Sessions the viewer may see")
async def list_sessions(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    scope: Annotated[
        Literal["today", "upcoming", "past", "week"] | None,
        Query(description="Days and weeks in your time zone"),
    ] = None,
    starts_from: Annotated[datetime | None, Query(alias="from")] = None,
    starts_before: Annotated[datetime | None, Query(alias="to")] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    teacher_user_id: IdFilter = None,
    student_user_id: IdFilter = None,
    group_id: IdFilter = None,
    kind: Kind | None = None,
    schedule_id: IdFilter = None,
) -> Page[SessionOut]:
    where = SessionFilter(
        starts_from=service.aware(starts_from, "from"),
        starts_before=service.aware(starts_before, "to"),
        statuses=tuple(status or ()),
        teacher_user_id=teacher_user_id,
        student_user_id=student_user_id,
        group_id=group_id,
        kind=kind,
        schedule_id=schedule_id,
    )
    if scope is not None:
        where = service.within_scope(where, scope, rt.clock.now(), await _zone_of(rt, ctx))
    views, total = await service.list_sessions(
        rt, ctx, where, offset=pages.offset, limit=pages.per_page
    )
    return Page.of([await session_out(rt, ctx, v) for v in views], total, pages)


async def _zone_of(rt: Runtime, ctx: AcademyContext) -> str:
    user = ctx.principal.user
    return user.time_zone if user is not None else ctx.academy.time_zone


@router.post("", status_code=201, response_model=SessionOut, summary="Schedule one session")
async def create_session(body: SessionCreate, ctx: Scheduler, rt: CurrentRuntime) -> SessionOut:
    return await session_out(rt, ctx, await service.create_session(rt, ctx, body))


@router.get("/{session_id}", response_model=SessionOut, summary="One session")
async def get_session(session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime) -> SessionOut:
    return await session_out(rt, ctx, await service.get_session(rt, ctx, session_id))


@router.get("/{session_id}/history", response_model=list[StatusChangeOut], summary="Status history")
async def session_history(
    session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime
) -> list[StatusChangeOut]:
    changes = await service.history(rt, ctx, session_id)
    return [StatusChangeOut.model_validate(c, from_attributes=True) for c in changes]


@router.post("/{session_id}/cancel", response_model=SessionOut, summary="Cancel with a reason")
async def cancel_session(
    session_id: SessionId, body: CancelRequest, ctx: AnyMember, rt: CurrentRuntime
) -> SessionOut:
    return await session_out(rt, ctx, await service.cancel_session(rt, ctx, session_id, body))


@router.post(
    "/{session_id}/reschedule",
    response_model=SessionOut,
    summary="Move a session (teachers until the deadline, staff any time)",
)
async def reschedule_session(
    session_id: SessionId, body: RescheduleRequest, ctx: AnyMember, rt: CurrentRuntime
) -> SessionOut:
    return await session_out(rt, ctx, await service.reschedule_session(rt, ctx, session_id, body))


@router.post(
    "/{session_id}/makeup",
    status_code=201,
    response_model=SessionOut,
    summary="Plan the make-up of a cancelled session that is owed one",
)
async def create_makeup(
    session_id: SessionId, body: MakeupRequest, ctx: AnyMember, rt: CurrentRuntime
) -> SessionOut:
    return await session_out(rt, ctx, await service.create_makeup(rt, ctx, session_id, body))


makeups_router = APIRouter(prefix="/api/v1/academies/{slug}/makeups", tags=["sessions"])


@makeups_router.get(
    "",
    response_model=Page[OwedMakeupOut],
    summary="Make-ups owed (until held), with the one planned for each",
)
async def owed_makeups(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    teacher_user_id: IdFilter = None,
    student_user_id: IdFilter = None,
    group_id: IdFilter = None,
) -> Page[OwedMakeupOut]:
    where = SessionFilter(
        teacher_user_id=teacher_user_id, student_user_id=student_user_id, group_id=group_id
    )
    owed, total = await service.owed_makeups(
        rt, ctx, where, offset=pages.offset, limit=pages.per_page
    )
    items = [
        OwedMakeupOut(
            session=await session_out(rt, ctx, view),
            makeup=None
            if makeup is None
            else MakeupBrief(
                id=makeup.id,
                code=makeup.code,
                status=Status(makeup.status),
                starts_at=makeup.starts_at,
            ),
        )
        for view, makeup in owed
    ]
    return Page.of(items, total, pages)


def _action_route(action: str, summary: str) -> None:
    async def endpoint(
        session_id: SessionId, body: ActionRequest, ctx: AnyMember, rt: CurrentRuntime
    ) -> SessionOut:
        view = await service.act(rt, ctx, session_id, action, body.reason)
        return await session_out(rt, ctx, view)

    path = f"/{{session_id}}/{action.replace('_', '-')}"
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        response_model=SessionOut,
        summary=summary,
        name=f"{action}_session",
    )


_action_route("start", "Start the class (teacher or staff, inside the join window)")
_action_route("complete", "Complete the class")
_action_route("mark_absent", "Mark the student of an individual session absent")
_action_route("reopen", "Take a completed session back to ongoing (staff)")
