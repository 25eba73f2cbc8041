"""HTTP API of outbound webhooks: an academy's admins manage its endpoints and read the log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from halaqa.academies.auth import AcademyContext, require_roles
from halaqa.academies.roles import Role
from halaqa.kit.deps import CurrentRuntime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.models import WebhookDelivery, WebhookEndpoint
from halaqa.notifications import hooks
from halaqa.notifications.hook_schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
)

router = APIRouter(prefix="/api/v1/academies/{slug}/webhooks", tags=["webhooks"])
Admin = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN))]
Pages = Annotated[PageParams, Depends(page_params)]
EndpointId = Annotated[int, Path(ge=1, le=2**62)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint, from_attributes=True)


def with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret(**endpoint_out(endpoint).model_dump(), secret=secret)


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


@router.get("", response_model=list[EndpointOut], summary="The academy's webhook endpoints")
async def list_endpoints(ctx: Admin, rt: CurrentRuntime) -> list[EndpointOut]:
    return [endpoint_out(e) for e in await hooks.endpoints(rt, ctx)]


@router.post(
    "",
    status_code=201,
    response_model=EndpointWithSecret,
    summary="Add an endpoint; its signing secret is shown once",
)
async def create_endpoint(
    body: EndpointCreate, ctx: Admin, rt: CurrentRuntime
) -> EndpointWithSecret:
    return with_secret(*await hooks.create(rt, ctx, body))


@router.get("/{endpoint_id}", response_model=EndpointOut, summary="One endpoint")
async def get_endpoint(endpoint_id: EndpointId, ctx: Admin, rt: CurrentRuntime) -> EndpointOut:
    return endpoint_out(await hooks.endpoint(rt, ctx, endpoint_id))


@router.patch(
    "/{endpoint_id}", response_model=EndpointOut, summary="Change its address, events or state"
)
async def update_endpoint(
    endpoint_id: EndpointId, body: EndpointUpdate, ctx: Admin, rt: CurrentRuntime
) -> EndpointOut:
    return endpoint_out(await hooks.update(rt, ctx, endpoint_id, body))


@router.delete("/{endpoint_id}", status_code=204, summary="Remove an endpoint and its log")
async def delete_endpoint(endpoint_id: EndpointId, ctx: Admin, rt: CurrentRuntime) -> Response:
    await hooks.delete(rt, ctx, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="A new signing secret, shown once",
)
async def rotate_secret(
    endpoint_id: EndpointId, ctx: Admin, rt: CurrentRuntime
) -> EndpointWithSecret:
    return with_secret(*await hooks.rotate_secret(rt, ctx, endpoint_id))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log, newest first, with each last answer",
)
async def list_deliveries(
    endpoint_id: EndpointId,
    ctx: Admin,
    rt: CurrentRuntime,
    pages: Pages,
    status: Literal["pending", "delivered", "failed"] | None = None,
) -> Page[DeliveryOut]:
    found, total = await hooks.deliveries(
        rt, ctx, endpoint_id, status=status, offset=pages.offset, limit=pages.per_page
    )
    return Page.of([delivery_out(d) for d in found], total, pages)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/resend",
    response_model=DeliveryOut,
    summary="Send a delivery again",
)
async def resend_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, ctx: Admin, rt: CurrentRuntime
) -> DeliveryOut:
    return delivery_out(await hooks.resend(rt, ctx, endpoint_id, delivery_id))
