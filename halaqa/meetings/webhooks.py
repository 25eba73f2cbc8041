"""Webhooks in: verified with the SDK over the raw body, kept raw and once, answered at once, and
processed by a job afterwards (a slow handler would hold LiveKit's per-room queue)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from google.protobuf import json_format
from livekit import api as lk

from halaqa.attendance.intake import from_webhook
from halaqa.config import Settings
from halaqa.db.session import Database
from halaqa.exceptions import NotAuthenticated
from halaqa.kit.deps import Runtime
from halaqa.kit.metrics import WEBHOOK_EVENTS
from halaqa.meetings.inbox import PROCESS, Arrival
from halaqa.meetings.providers.base import InvalidWebhook, ProviderError
from halaqa.meetings.providers.livekit import NOT_PEOPLE, LiveKitProvider
from halaqa.meetings.recordings import on_egress
from halaqa.meetings.repository import configs_with_key, event, room_named
from halaqa.meetings.service import livekit_provider
from halaqa.worker.jobs import handles

log = logging.getLogger("halaqa.webhooks")

# Academies' LiveKit configurations are read once and kept this long in each process; a key
# that fails to verify is read again sooner (a secret just changed), but not more often than
# RELOAD_SECONDS, so forged requests cannot turn into a stream of queries.
KEEP_SECONDS = 30.0
RELOAD_SECONDS = 1.0
MAX_KEYS = 1000


@dataclass
class _Known:
    loaded: float
    providers: list[tuple[int, LiveKitProvider]] = field(default_factory=list)


def _issuer(authorization: str) -> str:
    try:
        claims: dict[str, Any] = jwt.decode(authorization, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return str(claims.get("iss", ""))


class LiveKitVerifier:
    """Verifies LiveKit webhooks with the secret of the academy whose API key signed them."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database, self.settings = database, settings
        self._known: dict[str, _Known] = {}

    async def verify(self, body: str, authorization: str | None, received_at: datetime) -> Arrival:
        """The verified event; NotAuthenticated (and nothing kept) when it does not verify."""
        if not authorization:
            raise NotAuthenticated("a LiveKit webhook carries its signature in Authorization")
        key = _issuer(authorization)
        known = self._known.get(key)
        if known is None or time.monotonic() - known.loaded > KEEP_SECONDS:
            known = await self._load(key)
        arrival = self._try(known, body, authorization, received_at)
        if arrival is None and time.monotonic() - known.loaded > RELOAD_SECONDS:
            arrival = self._try(await self._load(key), body, authorization, received_at)
        if arrival is None:
            log.warning("unverified LiveKit webhook refused (key %r)", key[:40])
            raise NotAuthenticated(
                "the webhook's signature does not verify", code="invalid_signature"
            )
        return arrival

    async def _load(self, key: str) -> _Known:
        known = _Known(loaded=time.monotonic())
        async with self.database.transaction() as session:
            for config in await configs_with_key(session, key):
                try:
                    known.providers.append(
                        (config.academy_id, livekit_provider(self.settings, config))
                    )
                except ProviderError as error:
                    log.warning("academy %s: %s", config.academy_id, error)
        if len(self._known) >= MAX_KEYS:
            self._known.clear()
        self._known[key] = known
        return known

    @staticmethod
    def _try(known: _Known, body: str, authorization: str, received_at: datetime) -> Arrival | None:
        for academy_id, provider in known.providers:
            try:
                verified = provider.verify_webhook(body, authorization)
            except InvalidWebhook as error:
                log.info("webhook not from academy %s: %s", academy_id, error)
                continue
            return Arrival(
                provider="livekit",
                event_id=verified.id or f"{verified.event}:{verified.created_at}",
                event=verified.event,
                # Egress events name their room inside egress_info.
                room_name=verified.room.name or verified.egress_info.room_name or None,
                academy_id=academy_id,
                body=body,
                received_at=received_at,
            )
        return None


@handles(PROCESS)
async def process_event(rt: Runtime, payload: dict[str, Any]) -> None:
    """Maps the event to its session through the room's recorded name. Presence is read from the
    kept events by attendance; here the event is matched, and recorders and agents set aside."""
    for row_id in payload["event_row_ids"]:
        outcome = await _process(rt, row_id)
        if outcome is not None:
            WEBHOOK_EVENTS.labels(provider="livekit", outcome=outcome).inc()


async def _process(rt: Runtime, row_id: int) -> str | None:
    """The outcome (processed, ignored, unknown_room), or None when it was processed before."""
    stored = await event(rt.session, row_id)
    if stored is None or stored.status != "received":
        return None  # processed already: handlers run again after a crash
    parsed = json_format.Parse(stored.body, lk.WebhookEvent(), ignore_unknown_fields=True)
    stored.processed_at = rt.clock.now()
    if parsed.participant.sid and parsed.participant.kind in NOT_PEOPLE:
        stored.status = "ignored"
        return stored.status
    room = None
    if stored.academy_id is not None and stored.room_name is not None:
        room = await room_named(rt.session, stored.academy_id, stored.room_name)
    if room is None:
        stored.status = "unknown_room"
        log.warning("LiveKit event %s for unknown room %s", stored.event_id, stored.room_name)
        return stored.status
    stored.session_id = room.session_id
    stored.status = "processed"
    await from_webhook(rt, stored, parsed, room)
    if stored.event == "room_finished" and room.status == "open":
        room.status, room.closed_at = "closed", rt.clock.now()
    elif stored.event.startswith("egress_") and parsed.HasField("egress_info"):
        await on_egress(rt, room.academy_id, room, parsed.egress_info)
    return stored.status
