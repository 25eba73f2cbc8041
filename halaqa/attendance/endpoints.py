"""HTTP API: presence from Halaqa's own meeting page, who is in a class now, the attendance on
record with its corrections, and absence requests."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.attendance import corrections, intake, service, stream
from halaqa.attendance.policy import AttendanceStatus
from halaqa.attendance.schemas import (
    AbsenceRequestIn,
    AbsenceRequestOut,
    DecisionIn,
    HeartbeatIn,
    HeartbeatOut,
    OverrideIn,
    OverrideOut,
    PresenceMarkIn,
    PresenceOut,
    RecordOut,
    SessionAttendanceOut,
)
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.models import AbsenceRequest
from halaqa.scheduling.service import get_session

router = APIRouter(prefix="/api/v1/academies/{slug}/sessions", tags=["attendance"])
requests_router = APIRouter(prefix="/api/v1/academies/{slug}/absence-requests", tags=["attendance"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
UserId = Annotated[int, Path(ge=1, le=2**62)]
RequestId = Annotated[int, Path(ge=1, le=2**62)]


@router.post(
    "/{session_id}/heartbeat",
    response_model=HeartbeatOut,
    summary="The meeting page says its viewer is still in the class (while they may be in it)",
    responses={429: {"description": "This page sent one moments ago; Retry-After says when"}},
)
async def heartbeat(
    session_id: SessionId, body: HeartbeatIn, ctx: AnyMember, rt: CurrentRuntime
) -> HeartbeatOut:
    await intake.heartbeat(rt, ctx, session_id, body.page_id)
    return HeartbeatOut(next_in_seconds=int(intake.HEARTBEAT_EVERY.total_seconds()))


@router.get(
    "/{session_id}/presence",
    response_model=list[PresenceOut],
    summary="Who is in the class now, since when, and present how long so far",
)
async def presence(session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime) -> list[PresenceOut]:
    people = await service.live_presence(rt, ctx, session_id)
    return [PresenceOut.model_validate(p, from_attributes=True) for p in people]


async def _attendance(
    rt: CurrentRuntime, ctx: AcademyContext, session_id: int
) -> SessionAttendanceOut:
    found = await corrections.session_attendance(rt, ctx, session_id)
    return SessionAttendanceOut(
        session_id=found.session_id,
        finalized=found.finalized_at is not None,
        finalized_at=found.finalized_at,
        records=[RecordOut.of(r) for r in found.records],
        overrides=[OverrideOut.model_validate(o, from_attributes=True) for o in found.overrides],
    )


@router.get(
    "/{session_id}/attendance",
    response_model=SessionAttendanceOut,
    summary="Each participant's attendance: on record once finalised, provisional before",
)
async def attendance(
    session_id: SessionId, ctx: AnyMember, rt: CurrentRuntime
) -> SessionAttendanceOut:
    return await _attendance(rt, ctx, session_id)


@router.put(
    "/{session_id}/attendance/{user_id}",
    response_model=SessionAttendanceOut,
    summary="Correct someone's attendance status, with a note (the teacher: its students; "
    "admins: anyone)",
)
async def correct(
    session_id: SessionId, user_id: UserId, body: OverrideIn, ctx: AnyMember, rt: CurrentRuntime
) -> SessionAttendanceOut:
    await corrections.override(
        rt, ctx, session_id, user_id, AttendanceStatus(body.status), body.note
    )
    return await _attendance(rt, ctx, session_id)


@router.get(
    "/{session_id}/events",
    response_class=StreamingResponse,
    summary="Server-sent events: the session's status and who is in its room, as they change",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    session_id: SessionId,
    ctx: AnyMember,
    rt: CurrentRuntime,
    request: Request,
    follow: Annotated[
        bool, Query(description="false: send the state as it is now, then close")
    ] = True,
) -> StreamingResponse:
    state = request.app.state

    def rt_of(db: AsyncSession) -> Runtime:
        return Runtime(session=db, clock=state.clock, settings=state.settings, secret=state.secret)

    await get_session(rt, ctx, session_id)  # 404 before any stream, in the request's transaction
    return StreamingResponse(
        stream.session_events(state.database, rt_of, ctx, session_id, follow=follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/{session_id}/presence-marks",
    response_model=SessionAttendanceOut,
    status_code=201,
    summary="Mark someone's presence by hand, from and to (the teacher: its students; admins: "
    "anyone)",
)
async def mark_presence(
    session_id: SessionId, body: PresenceMarkIn, ctx: AnyMember, rt: CurrentRuntime
) -> SessionAttendanceOut:
    await corrections.mark_presence(
        rt, ctx, session_id, body.user_id, body.from_, body.to, body.note
    )
    return await _attendance(rt, ctx, session_id)


def _request_out(request: AbsenceRequest) -> AbsenceRequestOut:
    return AbsenceRequestOut.model_validate(request, from_attributes=True)


@router.post(
    "/{session_id}/absence-requests",
    response_model=AbsenceRequestOut,
    status_code=201,
    summary="Ask, before the class, for a student's absence to be excused",
)
async def request_absence(
    session_id: SessionId, body: AbsenceRequestIn, ctx: AnyMember, rt: CurrentRuntime
) -> AbsenceRequestOut:
    made = await corrections.request_absence(rt, ctx, session_id, body.student_id, body.reason)
    return _request_out(made)


@requests_router.get(
    "",
    response_model=list[AbsenceRequestOut],
    summary="Absence requests the viewer may see, newest first",
)
async def absence_requests(
    ctx: AnyMember,
    rt: CurrentRuntime,
    session_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[
        Literal["pending", "approved", "declined", "withdrawn"] | None, Query()
    ] = None,
) -> list[AbsenceRequestOut]:
    found = await corrections.absence_requests(rt, ctx, session_id=session_id, status=status)
    return [_request_out(r) for r in found]


@requests_router.post(
    "/{request_id}/approve",
    response_model=AbsenceRequestOut,
    summary="Approve: the student is excused from the class",
)
async def approve(
    request_id: RequestId, body: DecisionIn, ctx: AnyMember, rt: CurrentRuntime
) -> AbsenceRequestOut:
    decided = await corrections.decide_absence(rt, ctx, request_id, approve=True, note=body.note)
    return _request_out(decided)


@requests_router.post("/{request_id}/decline", response_model=AbsenceRequestOut, summary="Decline")
async def decline(
    request_id: RequestId, body: DecisionIn, ctx: AnyMember, rt: CurrentRuntime
) -> AbsenceRequestOut:
    decided = await corrections.decide_absence(rt, ctx, request_id, approve=False, note=body.note)
    return _request_out(decided)


@requests_router.post(
    "/{request_id}/withdraw",
    response_model=AbsenceRequestOut,
    summary="Take back a request still pending (the student or their parent)",
)
async def withdraw(request_id: RequestId, ctx: AnyMember, rt: CurrentRuntime) -> AbsenceRequestOut:
    return _request_out(await corrections.withdraw_absence(rt, ctx, request_id))
