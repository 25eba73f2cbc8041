"""The classroom page: LiveKit through livekit-client, or the external meeting link; with
heartbeats while it is open.

The page decides nothing: it asks the join endpoint for credentials (which says whether the viewer
may come in now, and why not), runs the class through the same API the teacher's tools use, and
tells Halaqa the viewer is still there through the heartbeat endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from halaqa.attendance.intake import HEARTBEAT_EVERY
from halaqa.scheduling import lifecycle
from halaqa.scheduling.lifecycle import By
from halaqa.scheduling.service import get_session, viewer_of
from halaqa.web.pages import AcademyPage, academy_page, render

router = APIRouter(include_in_schema=False)

Member = Annotated[AcademyPage, Depends(academy_page())]
SessionId = Annotated[int, Path(ge=1, le=2**62)]
# Those the lifecycle lets run a class (start, end, record it) also mute and remove its people.
RUNNERS = frozenset({By.TEACHER, By.STAFF})


@router.get("/a/{slug}/sessions/{session_id}/classroom", response_class=HTMLResponse)
async def classroom(session_id: SessionId, page: Member) -> HTMLResponse:
    view = await get_session(page.rt, page.ctx, session_id)  # 404 unless the viewer may see it
    runs_class = lifecycle.acting_as(view.facts, await viewer_of(page.rt, page.ctx)) in RUNNERS
    return render(
        page,
        "classroom/classroom.html",
        session=view.session,
        runs_class=runs_class,
        students_may_share=bool(view.room and view.room.students_may_share_screen),
        api_url=f"/api/v1/academies/{page.academy.slug}/sessions/{view.session.id}",
        session_url=page.url(f"/sessions/{view.session.id}"),
        heartbeat_seconds=int(HEARTBEAT_EVERY.total_seconds()),
    )
