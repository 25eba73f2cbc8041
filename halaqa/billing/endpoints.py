"""HTTP API for the session ledger: a session's charges, a subscription's ledger, and the
charges held for an admin."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.billing import service
from halaqa.billing.schemas import DismissIn, LedgerEntryOut, LedgerFlagOut
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/academies/{slug}", tags=["ledger"])

AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Staff = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
Id = Annotated[int, Path(ge=1, le=2**62)]
Pages = Annotated[PageParams, Depends(page_params)]


@router.get(
    "/sessions/{session_id}/ledger",
    response_model=list[LedgerEntryOut],
    summary="A session's charges and refunds, per student, oldest first",
)
async def session_ledger(
    session_id: Id, ctx: AnyMember, rt: CurrentRuntime
) -> list[LedgerEntryOut]:
    entries = await service.session_ledger(rt, ctx, session_id)
    return [LedgerEntryOut.model_validate(e, from_attributes=True) for e in entries]


@router.get(
    "/subscriptions/{subscription_id}/ledger",
    response_model=Page[LedgerEntryOut],
    summary="A subscription's ledger, newest first (staff, its student and their parents, its "
    "teacher)",
)
async def subscription_ledger(
    subscription_id: Id, ctx: AnyMember, rt: CurrentRuntime, pages: Pages
) -> Page[LedgerEntryOut]:
    entries, total = await service.subscription_ledger(
        rt, ctx, subscription_id, offset=pages.offset, limit=pages.per_page
    )
    items = [LedgerEntryOut.model_validate(e, from_attributes=True) for e in entries]
    return Page.of(items, total, pages)


@router.get(
    "/ledger-flags",
    response_model=list[LedgerFlagOut],
    summary="Charges held for an admin (the cycle had no session left), newest first",
)
async def flags(
    ctx: Staff,
    rt: CurrentRuntime,
    status: Annotated[Literal["open", "resolved", "dismissed"] | None, Query()] = "open",
) -> list[LedgerFlagOut]:
    found = await service.flags(rt, ctx, status)
    return [LedgerFlagOut.model_validate(f, from_attributes=True) for f in found]


@router.post(
    "/ledger-flags/{flag_id}/retry",
    response_model=LedgerFlagOut,
    summary="Charge the held session again (after the quota was raised)",
)
async def retry(flag_id: Id, ctx: Staff, rt: CurrentRuntime) -> LedgerFlagOut:
    return LedgerFlagOut.model_validate(
        await service.retry_flag(rt, ctx, flag_id), from_attributes=True
    )


@router.post(
    "/ledger-flags/{flag_id}/dismiss",
    response_model=LedgerFlagOut,
    summary="Leave the held session uncharged, with a note",
)
async def dismiss(flag_id: Id, body: DismissIn, ctx: Staff, rt: CurrentRuntime) -> LedgerFlagOut:
    flag = await service.dismiss_flag(rt, ctx, flag_id, body.note)
    return LedgerFlagOut.model_validate(flag, from_attributes=True)
