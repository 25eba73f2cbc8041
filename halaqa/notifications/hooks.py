"""The academy's outbound webhook endpoints: added, changed, removed, their secret renewed, and
deliveries sent again by hand (admins only; every change audited, secrets never logged)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from halaqa.academies.auth import AcademyContext
from halaqa.academies.service import audit
from halaqa.exceptions import Conflict, InvalidInput, NotFound
from halaqa.kit.crypto import SecretUnreadable
from halaqa.kit.deps import Runtime
from halaqa.models import WebhookDelivery, WebhookEndpoint
from halaqa.models.webhooks import DeliveryStatus
from halaqa.notifications.destinations import DestinationRefused, check_saved
from halaqa.notifications.hook_schemas import EndpointCreate, EndpointUpdate
from halaqa.notifications.hooks_repository import HookRepository, all_endpoints
from halaqa.notifications.outbound import requeue, secret_context


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _repository(rt: Runtime, ctx: AcademyContext) -> HookRepository:
    return HookRepository(rt.session, ctx.academy.id)


async def _audit(rt: Runtime, ctx: AcademyContext, action: str, endpoint: WebhookEndpoint) -> None:
    await audit(
        rt,
        ctx.actor,
        f"webhook.{action}",
        academy_id=ctx.academy.id,
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        after={"url": endpoint.url, "events": endpoint.events, "active": endpoint.active},
    )


def _check_destination(rt: Runtime, url: str) -> None:
    try:
        check_saved(url, others_allowed=rt.settings.webhook_private_addresses)
    except DestinationRefused as refused:
        raise InvalidInput.field("url", str(refused)) from refused


async def endpoints(rt: Runtime, ctx: AcademyContext) -> Sequence[WebhookEndpoint]:
    return await _repository(rt, ctx).endpoints()


async def endpoint(rt: Runtime, ctx: AcademyContext, endpoint_id: int) -> WebhookEndpoint:
    found = await _repository(rt, ctx).endpoint(endpoint_id)
    if found is None:
        raise NotFound("no such webhook endpoint")
    return found


async def create(
    rt: Runtime, ctx: AcademyContext, data: EndpointCreate
) -> tuple[WebhookEndpoint, str]:
    _check_destination(rt, data.url)
    secret = _new_secret()
    added = await _repository(rt, ctx).add_endpoint(
        WebhookEndpoint(
            academy_id=ctx.academy.id,
            url=data.url,
            events=list(data.events),
            description=data.description,
            secret_sealed=rt.settings.secret_box().seal(
                secret, context=secret_context(ctx.academy.id)
            ),
            active=True,
        )
    )
    await _audit(rt, ctx, "created", added)
    return added, secret


async def update(
    rt: Runtime, ctx: AcademyContext, endpoint_id: int, data: EndpointUpdate
) -> WebhookEndpoint:
    found = await endpoint(rt, ctx, endpoint_id)
    if data.url is not None:
        _check_destination(rt, data.url)
        found.url = data.url
    if data.events is not None:
        found.events = list(data.events)
    if "description" in data.model_fields_set:
        found.description = data.description
    if data.active is not None:
        found.active = data.active
    await rt.session.flush()
    await _audit(rt, ctx, "updated", found)
    return found


async def delete(rt: Runtime, ctx: AcademyContext, endpoint_id: int) -> None:
    found = await endpoint(rt, ctx, endpoint_id)
    await _audit(rt, ctx, "deleted", found)
    await _repository(rt, ctx).delete_endpoint(found)


async def rotate_secret(
    rt: Runtime, ctx: AcademyContext, endpoint_id: int
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, at once: deliveries from now on are signed with it."""
    found = await endpoint(rt, ctx, endpoint_id)
    secret = _new_secret()
    found.secret_sealed = rt.settings.secret_box().seal(
        secret, context=secret_context(ctx.academy.id)
    )
    await rt.session.flush()
    await _audit(rt, ctx, "secret_rotated", found)
    return found, secret


async def deliveries(
    rt: Runtime,
    ctx: AcademyContext,
    endpoint_id: int,
    *,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[WebhookDelivery], int]:
    await endpoint(rt, ctx, endpoint_id)
    return await _repository(rt, ctx).deliveries(
        endpoint_id, status=status, offset=offset, limit=limit
    )


async def resend(
    rt: Runtime, ctx: AcademyContext, endpoint_id: int, delivery_id: int
) -> WebhookDelivery:
    """Sends a delivery again (failed, or delivered and wanted once more); the same event id, so
    a receiver that already has it can tell."""
    found = await _repository(rt, ctx).delivery_with_endpoint(delivery_id, endpoint_id)
    if found is None:
        raise NotFound("no such delivery of this endpoint")
    delivery, _endpoint = found
    if delivery.status == DeliveryStatus.PENDING.value:
        raise Conflict("this delivery is still being tried", code="delivery_pending")
    await requeue(rt, delivery)
    await audit(
        rt,
        ctx.actor,
        "webhook.delivery_resent",
        academy_id=ctx.academy.id,
        entity_type="webhook_delivery",
        entity_id=delivery.id,
    )
    return delivery


async def reseal_secrets(rt: Runtime) -> tuple[int, int]:
    """Every endpoint's secret sealed again under the current server secret (after a rotation)."""
    box = rt.settings.secret_box()
    resealed = current = 0
    for found in await all_endpoints(rt.session):
        if box.is_current(found.secret_sealed):
            current += 1
            continue
        context = secret_context(found.academy_id)
        try:
            plain = box.open(found.secret_sealed, context=context)
        except SecretUnreadable as error:
            raise Conflict(
                f"the secret of webhook endpoint {found.id} cannot be opened ({error}); list the "
                "secret it was sealed under in HALAQA_PREVIOUS_SECRET_KEYS"
            ) from None
        found.secret_sealed = box.seal(plain, context=context)
        resealed += 1
    await rt.session.flush()
    return resealed, current
