"""Outbound webhooks: the academy's own systems told of what happens (JSON, signed).

`emit` writes one delivery per subscribed endpoint in the caller's transaction and queues its
job; the job POSTs the body signed with the endpoint's secret, keeps each attempt's outcome in
the delivery log, and retries with growing delays until it gives up (the log says so, and the
delivery can be sent again by hand). Deliveries go to public addresses only, unless the
operator allows the rest (`destinations`).

Signature: header `Halaqa-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, "<unix seconds>." + raw body); receivers check it and that t is recent."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import httpx

from halaqa.kit.deps import Runtime
from halaqa.models import WebhookDelivery, WebhookEndpoint
from halaqa.models.webhooks import DeliveryStatus
from halaqa.notifications.destinations import Destination, DestinationRefused, destinations
from halaqa.notifications.hooks_repository import HookRepository
from halaqa.worker.jobs import enqueue, handles

EVENT_TYPES = (
    "session.scheduled",
    "session.rescheduled",
    "session.cancelled",
    "session.started",
    "session.completed",
    "attendance.finalized",
    "ledger.changed",
    "recording.ready",
)
DELIVER = "webhooks.deliver"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
TIMEOUT_S = 10.0
RESPONSE_CHARS = 1000
USER_AGENT = "Halaqa-Webhooks/1"


def secret_context(academy_id: int) -> str:
    return f"academy:{academy_id}:webhook"


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): the same on every attempt."""
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers_for(delivery: WebhookDelivery, secret: str, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Halaqa-Event": delivery.event_type,
        "Halaqa-Delivery": delivery.event_id,
        "Halaqa-Signature": f"t={timestamp},v1={signature(secret, timestamp, body_of(delivery))}",
    }


async def emit(
    rt: Runtime, academy_id: int, academy_slug: str, event_type: str, data: dict[str, Any]
) -> int:
    """Tells every active endpoint of the academy subscribed to `event_type`; how many."""
    assert event_type in EVENT_TYPES
    hooks = HookRepository(rt.session, academy_id)
    endpoints = [e for e in await hooks.active_endpoints() if event_type in e.events]
    if not endpoints:
        return 0
    now = rt.clock.now()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": now.isoformat(),
        "academy": academy_slug,
        "data": data,
    }
    for endpoint in endpoints:
        delivery = await hooks.add_delivery(
            WebhookDelivery(
                academy_id=academy_id,
                endpoint_id=endpoint.id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                created_at=now,
            )
        )
        await enqueue(rt, DELIVER, _job(delivery), academy_id=academy_id)
    return len(endpoints)


def _job(delivery: WebhookDelivery) -> dict[str, Any]:
    return {"academy_id": delivery.academy_id, "delivery_id": delivery.id}


async def requeue(rt: Runtime, delivery: WebhookDelivery) -> None:
    delivery.status = DeliveryStatus.PENDING.value
    await enqueue(rt, DELIVER, _job(delivery), academy_id=delivery.academy_id)


@handles(DELIVER)
async def deliver(rt: Runtime, payload: dict[str, Any]) -> None:
    hooks = HookRepository(rt.session, payload["academy_id"])
    found = await hooks.delivery_with_endpoint(payload["delivery_id"])
    if found is None:
        return
    delivery, endpoint = found
    if delivery.status != DeliveryStatus.PENDING.value:
        return  # delivered already: running twice sends once
    now = rt.clock.now()
    secret = rt.settings.secret_box().open(
        endpoint.secret_sealed, context=secret_context(endpoint.academy_id)
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        response = await _post(
            endpoint.url,
            body_of(delivery),
            headers_for(delivery, secret, now),
            others_allowed=rt.settings.webhook_private_addresses,
        )
    except (httpx.HTTPError, DestinationRefused) as error:
        delivery.last_status_code = None
        delivery.last_response = None
        delivery.last_error = (str(error) or type(error).__name__)[:2000]
        await _retry_or_give_up(rt, delivery, endpoint)
        return
    delivery.last_status_code = response.status_code
    delivery.last_response = response.text[:RESPONSE_CHARS]
    if response.is_success:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        delivery.last_error = None
        return
    delivery.last_error = f"the endpoint answered {response.status_code}"
    await _retry_or_give_up(rt, delivery, endpoint)


async def _post(
    url: str, body: bytes, headers: dict[str, str], *, others_allowed: bool
) -> httpx.Response:
    """POSTs to the first of the URL's checked addresses that takes the connection."""
    found = await destinations(url, others_allowed=others_allowed, timeout_s=TIMEOUT_S)
    async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        for destination in found[:-1]:
            with suppress(httpx.ConnectError, httpx.ConnectTimeout):
                return await _post_to(client, destination, body, headers)
        return await _post_to(client, found[-1], body, headers)


async def _post_to(
    client: httpx.AsyncClient, destination: Destination, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        destination.url,
        content=body,
        headers={**headers, **destination.headers},
        extensions=destination.extensions,
    )


async def _retry_or_give_up(
    rt: Runtime, delivery: WebhookDelivery, endpoint: WebhookEndpoint
) -> None:
    """Answered here rather than raised: a raise would roll back the record of this attempt."""
    if delivery.attempts >= MAX_ATTEMPTS or not endpoint.active:
        delivery.status = DeliveryStatus.FAILED.value
        return
    delay = min(FIRST_RETRY * 2 ** (delivery.attempts - 1), LONGEST_RETRY)
    await enqueue(rt, DELIVER, _job(delivery), academy_id=delivery.academy_id, delay=delay)
