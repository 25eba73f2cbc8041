"""HTTP API for packages and subscriptions: parse, call the service, shape the answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.repository import UserRepository
from halaqa.academies.roles import STAFF
from halaqa.academies.schemas import PersonRef
from halaqa.catalog import subscription_service as service
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.catalog.subscription_repository import SubscriptionFilter, SubscriptionRepository
from halaqa.catalog.subscription_schemas import (
    CancelRequest,
    CycleOut,
    GroupRef,
    PackageBrief,
    PackageCreate,
    PackageKind,
    PackageOut,
    PackageUpdate,
    PauseChangeOut,
    PauseOut,
    PauseRequest,
    PaymentChange,
    RenewRequest,
    SessionLeftSuspended,
    SessionRef,
    SubscriptionCreate,
    SubscriptionDetailOut,
    SubscriptionOut,
)
from halaqa.catalog.subscription_service import CycleBalance
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import ClassSession, Package, Subscription

packages_router = APIRouter(prefix="/api/v1/academies/{slug}/packages", tags=["packages"])
subscriptions_router = APIRouter(
    prefix="/api/v1/academies/{slug}/subscriptions", tags=["subscriptions"]
)

Pages = Annotated[PageParams, Depends(page_params)]
AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Staff = Annotated[AcademyContext, Depends(require_roles(*STAFF))]
# FastAPI's Path carries the bounds, so an id past 64 bits is a 422, never a database error.
PathId = Annotated[int, Path(ge=1, le=2**62)]
QueryId = Annotated[int | None, Query(ge=1, le=2**62)]
CycleNumber = Annotated[int, Path(ge=1, le=100_000, description="1 for the first cycle")]


# --- shaping ---------------------------------------------------------------------------------


def _package_out(package: Package) -> PackageOut:
    return PackageOut.model_validate(package, from_attributes=True)


async def _subscriptions_out(
    rt: Runtime, ctx: AcademyContext, subscriptions: Sequence[Subscription]
) -> list[SubscriptionOut]:
    repository = SubscriptionRepository(rt.session, ctx.academy.id)
    packages = await repository.packages({s.package_id for s in subscriptions})
    groups = await repository.group_names({s.group_id for s in subscriptions if s.group_id})
    people = {s.student_user_id for s in subscriptions}
    people |= {s.teacher_user_id for s in subscriptions if s.teacher_user_id is not None}
    names = {u.id: u.name for u in await UserRepository(rt.session).get_many(people)}
    return [
        SubscriptionOut(
            id=s.id,
            package=PackageBrief.model_validate(packages[s.package_id], from_attributes=True),
            student=PersonRef(user_id=s.student_user_id, name=names[s.student_user_id]),
            teacher=None
            if s.teacher_user_id is None
            else PersonRef(user_id=s.teacher_user_id, name=names[s.teacher_user_id]),
            group=None if s.group_id is None else GroupRef(id=s.group_id, name=groups[s.group_id]),
            status=SubscriptionStatus(s.status),
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            expires_after=service.expires_after(ctx, s),
            activated_at=s.activated_at,
            ended_at=s.ended_at,
            notes=s.notes,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in subscriptions
    ]


def _cycle_out(balance: CycleBalance) -> CycleOut:
    cycle = balance.cycle
    return CycleOut.model_validate(
        {
            "number": cycle.number,
            "starts_on": cycle.starts_on,
            "last_day": cycle.ends_on - timedelta(days=1),  # stored: the next cycle's first day
            "quota": cycle.quota,
            "carried_over": cycle.carried_over,
            "used": balance.used,
            "left": balance.left,
            "payment_status": cycle.payment_status,
            "payment_note": cycle.payment_note,
        }
    )


async def detail_out(
    rt: Runtime, ctx: AcademyContext, subscription: Subscription
) -> SubscriptionDetailOut:
    view = await service.view_of(rt, ctx, subscription)
    [summary] = await _subscriptions_out(rt, ctx, [subscription])
    return SubscriptionDetailOut(
        **summary.model_dump(),
        cycles=[_cycle_out(balance) for balance in view.cycles],
        current_cycle=None if view.current is None else _cycle_out(view.current),
        low_balance=view.low_balance,
        pauses=[PauseOut.model_validate(p, from_attributes=True) for p in view.pauses],
    )


def _session_ref(session: ClassSession) -> SessionRef:
    return SessionRef(id=session.id, code=session.code, starts_at=session.starts_at)


async def _pause_change_out(
    rt: Runtime, ctx: AcademyContext, change: service.PauseChange
) -> PauseChangeOut:
    return PauseChangeOut(
        subscription=await detail_out(rt, ctx, change.subscription),
        sessions_suspended=[_session_ref(s) for s in change.suspended],
        sessions_resumed=[_session_ref(s) for s in change.resumed],
        sessions_left_suspended=[
            SessionLeftSuspended(id=s.id, code=s.code, starts_at=s.starts_at, reason=why)
            for s, why in change.left_suspended
        ],
    )


# --- packages --------------------------------------------------------------------------------


@packages_router.get(
    "",
    response_model=Page[PackageOut],
    summary="Packages: staff see all, everyone else those offered now",
)
async def list_packages(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    active: bool | None = None,
    kind: PackageKind | None = None,
) -> Page[PackageOut]:
    rows, total = await service.list_packages(rt, ctx, pages, active=active, kind=kind)
    return Page.of([_package_out(p) for p in rows], total, pages)


@packages_router.post("", status_code=201, response_model=PackageOut, summary="Create a package")
async def create_package(body: PackageCreate, ctx: Staff, rt: CurrentRuntime) -> PackageOut:
    return _package_out(await service.create_package(rt, ctx, body))


@packages_router.get("/{package_id}", response_model=PackageOut, summary="One package")
async def get_package(package_id: PathId, ctx: AnyMember, rt: CurrentRuntime) -> PackageOut:
    return _package_out(await service.get_package(rt, ctx, package_id))


@packages_router.patch(
    "/{package_id}",
    response_model=PackageOut,
    summary="Rename, reprice, change its sessions per cycle, or archive it (active: false)",
)
async def update_package(
    package_id: PathId, body: PackageUpdate, ctx: Staff, rt: CurrentRuntime
) -> PackageOut:
    return _package_out(await service.update_package(rt, ctx, package_id, body))


# --- subscriptions ---------------------------------------------------------------------------


@subscriptions_router.get(
    "",
    response_model=Page[SubscriptionOut],
    summary="Subscriptions you may see: staff all, students their own, parents their "
    "children's, teachers those with them or their groups",
)
async def list_subscriptions(
    ctx: AnyMember,
    rt: CurrentRuntime,
    pages: Pages,
    student_user_id: QueryId = None,
    teacher_user_id: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="With this teacher, or in a group they teach"),
    ] = None,
    group_id: QueryId = None,
    package_id: QueryId = None,
    status: SubscriptionStatus | None = None,
) -> Page[SubscriptionOut]:
    where = SubscriptionFilter(
        student_user_id=student_user_id,
        teacher_user_id=teacher_user_id,
        group_id=group_id,
        package_id=package_id,
        status=status.value if status else None,
    )
    rows, total = await service.list_subscriptions(rt, ctx, pages, where)
    return Page.of(await _subscriptions_out(rt, ctx, rows), total, pages)


@subscriptions_router.post(
    "",
    status_code=201,
    response_model=SubscriptionDetailOut,
    summary="Subscribe a student to a package, with a teacher or in a group (pending)",
)
async def create_subscription(
    body: SubscriptionCreate, ctx: Staff, rt: CurrentRuntime
) -> SubscriptionDetailOut:
    return await detail_out(rt, ctx, await service.create_subscription(rt, ctx, body))


@subscriptions_router.get(
    "/{subscription_id}",
    response_model=SubscriptionDetailOut,
    summary="One subscription, with each cycle's balance and payment and a low-balance signal",
)
async def get_subscription(
    subscription_id: PathId, ctx: AnyMember, rt: CurrentRuntime
) -> SubscriptionDetailOut:
    return await detail_out(rt, ctx, await service.get_subscription(rt, ctx, subscription_id))


@subscriptions_router.post(
    "/{subscription_id}/activate",
    response_model=SubscriptionDetailOut,
    summary="Start a pending subscription",
)
async def activate(
    subscription_id: PathId, ctx: Staff, rt: CurrentRuntime
) -> SubscriptionDetailOut:
    return await detail_out(rt, ctx, await service.activate(rt, ctx, subscription_id))


@subscriptions_router.post(
    "/{subscription_id}/pause",
    response_model=PauseChangeOut,
    summary="Pause for some days: the student's lessons then are suspended, the end moves later",
)
async def pause(
    subscription_id: PathId, body: PauseRequest, ctx: Staff, rt: CurrentRuntime
) -> PauseChangeOut:
    change = await service.pause(rt, ctx, subscription_id, body)
    return await _pause_change_out(rt, ctx, change)


@subscriptions_router.post(
    "/{subscription_id}/resume",
    response_model=PauseChangeOut,
    summary="End the pause now: suspended lessons are scheduled again, the end moves back",
)
async def resume(subscription_id: PathId, ctx: Staff, rt: CurrentRuntime) -> PauseChangeOut:
    change = await service.resume(rt, ctx, subscription_id)
    return await _pause_change_out(rt, ctx, change)


@subscriptions_router.post(
    "/{subscription_id}/cancel",
    response_model=SubscriptionDetailOut,
    summary="End it now, with a reason (sessions before now stay charged to it)",
)
async def cancel(
    subscription_id: PathId, body: CancelRequest, ctx: Staff, rt: CurrentRuntime
) -> SubscriptionDetailOut:
    return await detail_out(rt, ctx, await service.cancel(rt, ctx, subscription_id, body))


@subscriptions_router.post(
    "/{subscription_id}/renew",
    response_model=SubscriptionDetailOut,
    summary="Move the last day later (active, or expired within its grace days)",
)
async def renew(
    subscription_id: PathId, body: RenewRequest, ctx: Staff, rt: CurrentRuntime
) -> SubscriptionDetailOut:
    return await detail_out(rt, ctx, await service.renew(rt, ctx, subscription_id, body))


@subscriptions_router.put(
    "/{subscription_id}/cycles/{cycle_number}/payment",
    response_model=SubscriptionDetailOut,
    summary="Record a cycle's payment: pending, paid, failed or waived",
)
async def set_payment(
    subscription_id: PathId,
    cycle_number: CycleNumber,
    body: PaymentChange,
    ctx: Staff,
    rt: CurrentRuntime,
) -> SubscriptionDetailOut:
    subscription = await service.set_payment(rt, ctx, subscription_id, cycle_number, body)
    return await detail_out(rt, ctx, subscription)
