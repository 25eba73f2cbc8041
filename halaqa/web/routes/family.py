"""Parent pages: each child's upcoming classes, attendance history and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from halaqa.academies.repository import GuardianshipRepository
from halaqa.academies.roles import Role
from halaqa.exceptions import NotFound
from halaqa.scheduling.service import viewer_of
from halaqa.web.pages import AcademyPage, academy_page, render
from halaqa.web.routes import studies

router = APIRouter(include_in_schema=False)

Parent = Annotated[AcademyPage, Depends(academy_page(Role.PARENT))]
ChildId = Annotated[int, Path(ge=1, le=2**62)]
NEXT_CLASSES = 3  # shown for each child on the family page


@router.get("/a/{slug}/family")
async def family(page: Parent) -> Response:
    found = await GuardianshipRepository(page.rt.session, page.academy.id).children_by_parent(
        [page.user.id]
    )
    children = [
        (child.id, child.name, await studies.classes_from_today(page, child.id, NEXT_CLASSES))
        for child in found.get(page.user.id, [])
    ]
    return render(page, "family/children.html", children=children, **studies.context(page))


@router.get("/a/{slug}/family/{child_user_id}")
async def child(page: Parent, child_user_id: ChildId, request: Request) -> Response:
    # The children the sessions, reports and ledger services let this parent see.
    if child_user_id not in (await viewer_of(page.rt, page.ctx)).children:
        raise NotFound(f"no child {child_user_id} of yours in this academy")
    period, form, errors = studies.choose_period(page, request.query_params)
    names = await studies.names_of(page, [child_user_id])
    return render(
        page,
        "family/child.html",
        422 if errors else 200,
        child_id=child_user_id,
        child_name=names[child_user_id],
        classes=await studies.classes_from_today(page, child_user_id),
        history=await studies.history_of(page, child_user_id, period),
        subscriptions=await studies.subscriptions_of(page, child_user_id, running_only=True),
        form=form,
        errors=errors,
        **studies.context(page),
    )
