"""Webhooks in: verified with the SDK over the raw body, kept raw and once, answered at once, and
processed by a job afterwards (a slow handler would hold LiveKit's per-room queue)."""

from __future__ import annotations

import logging
from typing import Any

import jwt
from google.protobuf import json_format
from livekit import api as lk

from halaqa.exceptions import NotAuthenticated
from halaqa.kit.deps import Runtime
from halaqa.meetings.providers.base import InvalidWebhook, ProviderError
from halaqa.meetings.providers.livekit import NOT_PEOPLE, LiveKitProvider
from halaqa.meetings.repository import add_event, configs_with_key, event, room_named
from halaqa.meetings.service import provider_for
from halaqa.models import MeetingEvent
from halaqa.worker.jobs import enqueue, handles

log = logging.getLogger("halaqa.webhooks")

PROCESS = "meetings.process_event"


def _issuer(authorization: str) -> str:
    try:
        claims: dict[str, Any] = jwt.decode(authorization, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return str(claims.get("iss", ""))


async def receive_livekit(rt: Runtime, body: str, authorization: str | None) -> bool:
    """Verifies the webhook with the secret of the academy whose API key signed it and stores
    it; True when it is new, False for a duplicate. Unverified: NotAuthenticated, nothing kept."""
    if not authorization:
        raise NotAuthenticated("a LiveKit webhook carries its signature in Authorization")
    verified: lk.WebhookEvent | None = None
    academy_id = None
    for config in await configs_with_key(rt.session, _issuer(authorization)):
        try:
            provider = provider_for(rt, config)
            assert isinstance(provider, LiveKitProvider)  # configs_with_key: LiveKit only
            verified = provider.verify_webhook(body, authorization)
        except (InvalidWebhook, ProviderError) as error:
            log.warning("webhook for academy %s refused: %s", config.academy_id, error)
            continue
        academy_id = config.academy_id
        break
    if verified is None:
        log.warning("unverified LiveKit webhook refused")
        raise NotAuthenticated("the webhook's signature does not verify", code="invalid_signature")
    row_id = await add_event(
        rt.session,
        MeetingEvent(
            provider="livekit",
            event_id=verified.id or f"{verified.event}:{verified.created_at}",
            event=verified.event,
            room_name=verified.room.name or None,
            academy_id=academy_id,
            body=body,
            status="received",
            received_at=rt.clock.now(),
        ),
    )
    if row_id is None:
        return False  # LiveKit sent it again: already kept
    await enqueue(rt, PROCESS, {"event_row_id": row_id}, academy_id=academy_id)
    return True


@handles(PROCESS)
async def process_event(rt: Runtime, payload: dict[str, Any]) -> None:
    """Maps the event to its session through the room's recorded name. Presence is read from the
    kept events by attendance; here the event is matched, and recorders and agents set aside."""
    stored = await event(rt.session, payload["event_row_id"])
    if stored is None or stored.status != "received":
        return  # processed already: handlers run again after a crash
    parsed = json_format.Parse(stored.body, lk.WebhookEvent(), ignore_unknown_fields=True)
    stored.processed_at = rt.clock.now()
    if parsed.participant.sid and parsed.participant.kind in NOT_PEOPLE:
        stored.status = "ignored"
        return
    room = None
    if stored.academy_id is not None and stored.room_name is not None:
        room = await room_named(rt.session, stored.academy_id, stored.room_name)
    if room is None:
        stored.status = "unknown_room"
        log.warning("LiveKit event %s for unknown room %s", stored.event_id, stored.room_name)
        return
    stored.session_id = room.session_id
    stored.status = "processed"
    if stored.event == "room_finished" and room.status == "open":
        room.status, room.closed_at = "closed", rt.clock.now()
